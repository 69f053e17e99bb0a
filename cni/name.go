package cni

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
)

// agentNameRE is the agent's endpoint name rule (agent/validate.go).
var agentNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// EndpointName is the agent endpoint name of the attachment (containerID, ifName):
// "<containerID>-<ifName>" when that is a valid agent name (1..64 of [A-Za-z0-9_.-], e.g.
// cnitool's 28-character IDs), otherwise the first 12 characters of the ID (Docker's short ID),
// 10 hex digits of sha256(containerID "/" ifName) and the ifName with characters outside that
// set replaced by '_': "0123456789ab-1f2e3d4c5b-eth0". Either form is stable, so DEL finds the
// endpoint from the CNI arguments alone; the hash keeps long IDs with a common prefix apart.
func EndpointName(containerID, ifName string) string {
	if name := containerID + "-" + ifName; agentNameRE.MatchString(name) {
		return name
	}
	sum := sha256.Sum256([]byte(containerID + "/" + ifName))
	return sanitize(containerID[:min(12, len(containerID))]) + "-" + hex.EncodeToString(sum[:5]) + "-" + sanitize(ifName)
}

// sanitize replaces every character the agent does not allow in names with '_'.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '.', r == '-':
			return r
		}
		return '_'
	}, s)
}
