package bpf_test

import (
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/stretchr/testify/require"

	"github.com/ebpfnet/ebpfnet/bpf"
)

func TestFromOverlay(t *testing.T) {
	f := newFixture(t)
	prog := f.dp.Programs().FromOverlay
	remote := netip.MustParseAddr("10.42.2.5")
	peerVTEPMAC := []byte{0x0e, 0x00, 172, 31, 0, 2}
	inner := icmpEcho(t, peerVTEPMAC, routerMAC, remote, c1IP, 63)
	vx := func(vni uint32, inner []byte) []byte {
		return vxlanFrame(t, peerMAC, f.underlayMAC, peerIP, underlayIP, 40000, vni, 0, inner)
	}
	dns := serialize(t, eth(peerMAC, f.underlayMAC, layers.EthernetTypeIPv4),
		ipv4(peerIP, underlayIP, 64, layers.IPProtocolUDP),
		&layers.UDP{SrcPort: 40000, DstPort: 53}, gopacket.Payload("query"))

	require.Len(t, vx(testVNI, inner), len(inner)+50, "VXLAN adds 50 bytes in front of the inner frame")
	f.runCases(t, prog, []tcCase{
		{
			name: "VXLAN to local endpoint decapsulated and delivered", in: vx(testVNI, inner),
			verdict: tcActRedirect,
			want:    icmpEcho(t, routerMAC, c1MAC, remote, c1IP, 63),
			metric:  bpf.DatapathMetricMETRIC_FWD_DECAP,
		},
		{
			name: "foreign VNI dropped", in: vx(77, inner),
			verdict: tcActShot, metric: bpf.DatapathMetricMETRIC_DROP_BAD_VNI,
		},
		{
			name:    "unknown inner destination dropped",
			in:      vx(testVNI, icmpEcho(t, peerVTEPMAC, routerMAC, remote, netip.MustParseAddr("10.42.1.99"), 63)),
			verdict: tcActShot, metric: bpf.DatapathMetricMETRIC_DROP_UNKNOWN_ENDPOINT,
		},
		{
			name: "VXLAN without the VNI flag dropped", in: withByte(vx(testVNI, inner), 42, 0),
			verdict: tcActShot, metric: bpf.DatapathMetricMETRIC_DROP_INVALID,
		},
		{
			name: "other UDP to the host passes untouched", in: dns, verdict: tcActOK, uncounted: true,
		},
		{
			name: "ARP on the underlay passes untouched", in: arpRequest(t, peerMAC, peerIP, underlayIP), verdict: tcActOK, uncounted: true,
		},
	})
}
