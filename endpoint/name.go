package endpoint

import (
	"crypto/sha256"
	"encoding/hex"
)

// hostIfPrefix is the prefix of every derived host-side interface name.
const hostIfPrefix = "lxc"

// HostIfName derives a stable host-side veth name from key (typically a
// container ID or "<namespace>/<pod>"): "lxc" followed by the first 11
// lowercase hex characters of sha256(key). The result is always 14 bytes,
// within the kernel's 15-byte IFNAMSIZ limit, and never starts with "eth".
func HostIfName(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hostIfPrefix + hex.EncodeToString(sum[:])[:11]
}
