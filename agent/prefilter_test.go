package agent

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ebpfnet/ebpfnet/api"
)

// TestParsePrefixes: blocklist lines with comments, addresses as /32, duplicates once; every
// malformed line is named by its number.
func TestParsePrefixes(t *testing.T) {
	got, err := parsePrefixes([]string{"; Spamhaus DROP", "198.51.100.0/24 ; SBL1", "", "203.0.113.7", "198.51.100.0/24", "  10.0.0.0/8  # private"}, "line")
	require.NoError(t, err)
	require.Equal(t, []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("203.0.113.7/32"),
		netip.MustParsePrefix("10.0.0.0/8")}, got)

	_, err = parsePrefixes([]string{"10.0.0.0/8", "10.0.0.1/8", "2001:db8::/32", "10.1.2.0/33", "x", "::1"}, "line")
	require.True(t, errors.Is(err, api.ErrInvalid))
	require.Equal(t, `malformed prefilter prefixes, nothing changed:
  line 2: "10.0.0.1/8" has host bits set (the network is 10.0.0.0/8)
  line 3: "2001:db8::/32" is not an IPv4 CIDR
  line 4: "10.1.2.0/33" is not an IPv4 CIDR
  line 5: "x" is not an IPv4 address or CIDR
  line 6: "::1" is not an IPv4 address or CIDR`, err.Error())

	many := make([]string, 30)
	for i := range many {
		many[i] = "bad"
	}
	_, err = parsePrefixes(many, "prefix")
	require.Contains(t, err.Error(), "prefix 10:")
	require.NotContains(t, err.Error(), "prefix 11:", "at most 10 listed")
}
