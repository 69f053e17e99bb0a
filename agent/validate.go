package agent

import (
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

func parseName(s string) (string, error) {
	if !nameRE.MatchString(s) {
		return "", invalid("invalid endpoint name %q: want 1-64 characters of [A-Za-z0-9_.-], starting with a letter or digit", s)
	}
	return s, nil
}

// parseIPv4 parses a dotted-quad IPv4 address; what names the field in errors.
func parseIPv4(what, s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil || !a.Is4() {
		return netip.Addr{}, invalid("invalid %s %q: want an IPv4 address such as 10.42.1.2", what, s)
	}
	return a, nil
}

// parseCIDR parses an IPv4 network in CIDR notation that has no host bits set.
func parseCIDR(what, s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(strings.TrimSpace(s))
	if err != nil || !p.Addr().Is4() {
		return netip.Prefix{}, invalid("invalid %s %q: want an IPv4 CIDR such as 10.42.2.0/24", what, s)
	}
	if p != p.Masked() {
		return netip.Prefix{}, invalid("invalid %s %q: host bits set (did you mean %s?)", what, s, p.Masked())
	}
	return p, nil
}

// parseMAC parses a unicast 48-bit MAC; empty means "let the kernel choose".
func parseMAC(s string) (net.HardwareAddr, error) {
	if s == "" {
		return nil, nil
	}
	mac, err := net.ParseMAC(s)
	if err != nil || len(mac) != 6 {
		return nil, invalid("invalid MAC %q: want six hex bytes such as 02:42:0a:2a:01:02", s)
	}
	if mac[0]&1 != 0 {
		return nil, invalid("invalid MAC %q: multicast bit set, an endpoint needs a unicast MAC", s)
	}
	return mac, nil
}

// maxInstanceLabelValue bounds the values of per-instance labels (a 64-character CNI container
// id does not fit Kubernetes' 63), as a DNS subdomain is bounded (RFC 1123).
const maxInstanceLabelValue = 253

// parseLabels parses "key=value" labels; keys are unique. Keys are Kubernetes qualified
// names (an optional DNS-subdomain prefix of at most 253 characters, "/", a name of at most
// 63 of [A-Za-z0-9_.-] starting and ending alphanumeric) and values Kubernetes label values
// (at most 63 such characters, or empty), as k8s.io/apimachinery's validation checks them;
// per-instance labels (see identityLabels) may have values up to 253 characters.
func parseLabels(in []string) (map[string]string, error) {
	out := make(map[string]string, len(in))
	for _, l := range in {
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" {
			return nil, invalid("invalid label %q: want key=value", l)
		}
		if strings.EqualFold(k, ReservedLabel) {
			return nil, invalid("invalid label key %q: reserved for reserved identities (remote-node)", k)
		}
		if strings.EqualFold(k, NetworkLabel) {
			return nil, invalid("invalid label key %q: reserved, the agent sets it to the endpoint's network (use --network)", k)
		}
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			return nil, invalid("invalid label key %q: %s", abbrev(k), strings.Join(errs, "; "))
		}
		if isPerInstance(k) {
			if len(v) > maxInstanceLabelValue {
				return nil, invalid("invalid value of label %s: %d characters, at most %d", k, len(v), maxInstanceLabelValue)
			}
		} else if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
			return nil, invalid("invalid value of label %s (%q): %s", k, abbrev(v), strings.Join(errs, "; "))
		}
		if old, dup := out[k]; dup && old != v {
			return nil, invalid("label %q given twice with different values", k)
		}
		out[k] = v
	}
	return out, nil
}

// abbrev shortens s for an error message.
func abbrev(s string) string {
	if len(s) <= 80 {
		return s
	}
	return fmt.Sprintf("%s... (%d characters)", s[:64], len(s))
}

// labelsKey is the canonical form of a label set: its JSON object with sorted keys
// (encoding/json sorts map keys), unambiguous whatever the labels contain.
func labelsKey(labels map[string]string) string {
	if labels == nil {
		labels = map[string]string{}
	}
	b, _ := json.Marshal(labels) // a map[string]string always marshals
	return string(b)
}

// labelsOf is the inverse of labelsKey.
func labelsOf(key string) (map[string]string, error) {
	labels := map[string]string{}
	if err := json.Unmarshal([]byte(key), &labels); err != nil {
		return nil, fmt.Errorf("identity label set %q: %w", key, err)
	}
	return labels, nil
}

// lastAddr is the broadcast address of an IPv4 prefix.
func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	hostBits := 32 - p.Bits()
	for i := 3; i >= 0 && hostBits > 0; i-- {
		n := min(hostBits, 8)
		a[i] |= byte(1<<n - 1)
		hostBits -= n
	}
	return netip.AddrFrom4(a)
}

// nonHostRanges are the special-purpose IPv4 blocks (RFC 6890) that are never a cluster
// host's underlay address, with what `peer add --host` says about them.
var nonHostRanges = []struct {
	prefix netip.Prefix
	what   string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), `a "this network" address (RFC 1122)`},
	{netip.MustParsePrefix("127.0.0.0/8"), "a loopback address"},
	{netip.MustParsePrefix("169.254.0.0/16"), "a link-local address (RFC 3927: not stable, not routed)"},
	{netip.MustParsePrefix("224.0.0.0/4"), "a multicast address"},
	{netip.MustParsePrefix("240.0.0.0/4"), "a reserved or broadcast address (RFC 1112, RFC 919)"},
}

// checkPeerHost refuses addresses that cannot be a cluster host's underlay IPv4: the blocks
// of nonHostRanges and addresses inside the cluster CIDR (container addresses). The host
// becomes a key of the peers map, whose VXLAN the datapath trusts.
func checkPeerHost(host netip.Addr, cluster netip.Prefix) error {
	for _, r := range nonHostRanges {
		if r.prefix.Contains(host) {
			return invalid("peer host IP %s is %s: want a cluster host's unicast underlay IPv4", host, r.what)
		}
	}
	if cluster.Contains(host) {
		return invalid("peer host IP %s is inside the cluster CIDR %s (a container address): want a cluster host's underlay IPv4", host, cluster)
	}
	return nil
}
