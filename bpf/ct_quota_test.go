package bpf_test

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ebpfnet/ebpfnet/bpf"
	"github.com/ebpfnet/ebpfnet/loader"
	"github.com/ebpfnet/ebpfnet/maps"
	"github.com/ebpfnet/ebpfnet/policy"
)

// TestConntrackQuota (issue 10 item 8): a container flooding new flows is stopped at its
// conntrack quota (drop_ct_quota), so the table keeps room for the others' new flows. On main
// the flood filled the table and every other container's new flow was dropped (drop_ct_full).
func TestConntrackQuota(t *testing.T) {
	f := newFixtureWith(t, loader.Options{CTMax: 64})
	require.NoError(t, f.m.Endpoints.Put(maps.Endpoint{IP: c1IP, IfIndex: f.lxc1, MAC: c1MAC, Identity: c1ID, HostNAT: true}))
	for _, ip := range []netip.Addr{c1IP, c2IP} {
		require.NoError(t, f.m.CTQuota.Set(ip, maps.Quota{Limit: 64 / 3})) // the agent's fair share
	}
	setPolicy(t, f, true, maps.PolicyEntry{Src: c2ID, Dst: c1ID, Proto: policy.ProtoTCP, Port: 9999}) // enforced
	prog := f.dp.Programs().FromContainer

	// c1 floods: policy flows to c2 (1 entry each), then masqueraded flows out (2 each).
	before := f.counters(t)
	passed := 0
	for i := range 100 {
		v, _ := f.run(t, prog, f.lxc1, udpPacket(t, c1MAC, routerMAC, c1IP, uint16(10000+i), c2IP, 53))
		if v == tcActRedirect {
			passed++
		}
	}
	v, _ := f.run(t, prog, f.lxc1, udpPacket(t, c1MAC, routerMAC, c1IP, 20000, outsideIP, 53))
	require.Equal(t, uint32(tcActShot), v, "masquerade needs entries too")
	require.Equal(t, 21, passed, "c1 got its quota")
	require.Equal(t, uint64(80), counted(t, f, bpf.DatapathMetricMETRIC_DROP_CT_QUOTA, before))
	q, err := f.m.CTQuota.All()
	require.NoError(t, err)
	require.Equal(t, maps.Quota{Count: 21, Limit: 21}, q[c1IP])

	// c2's new flows still get entries; an established flow of c1 goes on.
	for i := range 10 {
		v, _ := f.run(t, prog, f.lxc2, udpPacket(t, c2MAC, routerMAC, c2IP, uint16(30000+i), c1IP, 53))
		require.Equal(t, uint32(tcActRedirect), v, "c2's new flow %d", i)
	}
	v, _ = f.run(t, prog, f.lxc1, udpPacket(t, c1MAC, routerMAC, c1IP, 10000, c2IP, 53))
	require.Equal(t, uint32(tcActRedirect), v, "c1's established flow")
	require.Zero(t, counted(t, f, bpf.DatapathMetricMETRIC_DROP_CT_FULL, before))
}
