package bpf_test

import (
	"net"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/stretchr/testify/require"
)

// serialize builds a packet from layers, fixing lengths and computing checksums (L4 checksums
// use the IPv4 layer found in ls).
func serialize(t *testing.T, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	var ip *layers.IPv4
	for _, l := range ls {
		if v, ok := l.(*layers.IPv4); ok {
			ip = v
		}
	}
	for _, l := range ls {
		switch v := l.(type) {
		case *layers.UDP:
			require.NoError(t, v.SetNetworkLayerForChecksum(ip))
		case *layers.TCP:
			require.NoError(t, v.SetNetworkLayerForChecksum(ip))
		}
	}
	buf := gopacket.NewSerializeBuffer()
	require.NoError(t, gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...))
	return buf.Bytes()
}

func eth(src, dst net.HardwareAddr, typ layers.EthernetType) *layers.Ethernet {
	return &layers.Ethernet{SrcMAC: src, DstMAC: dst, EthernetType: typ}
}

func ipv4(src, dst netip.Addr, ttl uint8, proto layers.IPProtocol) *layers.IPv4 {
	return &layers.IPv4{Version: 4, IHL: 5, TTL: ttl, Protocol: proto, SrcIP: src.AsSlice(), DstIP: dst.AsSlice(), Id: 0x1234}
}

// icmpEcho is an IPv4 ICMP echo request src->dst with TTL ttl, framed src MAC -> dst MAC.
func icmpEcho(t *testing.T, smac, dmac net.HardwareAddr, src, dst netip.Addr, ttl uint8) []byte {
	return serialize(t, eth(smac, dmac, layers.EthernetTypeIPv4), ipv4(src, dst, ttl, layers.IPProtocolICMPv4),
		&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoRequest, 0), Id: 7, Seq: 1},
		gopacket.Payload("ebpfnet-test-payload"))
}

// arpRequest asks "who has target? tell sender" from smac, broadcast.
func arpRequest(t *testing.T, smac net.HardwareAddr, sender, target netip.Addr) []byte {
	return serialize(t, eth(smac, layers.EthernetBroadcast, layers.EthernetTypeARP), &layers.ARP{
		AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
		Operation: layers.ARPRequest, SourceHwAddress: smac, SourceProtAddress: sender.AsSlice(),
		DstHwAddress: make([]byte, 6), DstProtAddress: target.AsSlice(),
	})
}

// arpReply is the reply the responder must produce to arpRequest(t, dmac, dip, sip).
func arpReply(t *testing.T, smac, dmac net.HardwareAddr, sip, dip netip.Addr) []byte {
	return serialize(t, eth(smac, dmac, layers.EthernetTypeARP), &layers.ARP{
		AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
		Operation: layers.ARPReply, SourceHwAddress: smac, SourceProtAddress: sip.AsSlice(),
		DstHwAddress: dmac, DstProtAddress: dip.AsSlice(),
	})
}

// vxlanFrame wraps inner (a full Ethernet frame) in Ethernet/IPv4/UDP/VXLAN the way the kernel
// VXLAN driver and our encapsulation do: DF set, IP ID 0, TTL 64, UDP checksum 0; a nonzero
// identity goes in the GBP Group Policy ID (draft-smith-vxlan-group-policy).
func vxlanFrame(t *testing.T, smac, dmac net.HardwareAddr, src, dst netip.Addr, sport uint16, vni uint32, identity uint16, inner []byte) []byte {
	t.Helper()
	// UDP checksum stays 0 (RFC 7348 section 5), so UDP+VXLAN are serialized without checksums.
	buf := gopacket.NewSerializeBuffer()
	require.NoError(t, gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true},
		&layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: 4789},
		&layers.VXLAN{ValidIDFlag: true, VNI: vni, GBPExtension: identity != 0, GBPGroupPolicyID: identity},
		gopacket.Payload(inner)))
	outer := ipv4(src, dst, 64, layers.IPProtocolUDP)
	outer.Id = 0
	outer.Flags = layers.IPv4DontFragment
	return serialize(t, eth(smac, dmac, layers.EthernetTypeIPv4), outer, gopacket.Payload(buf.Bytes()))
}

// withByte returns a copy of pkt with pkt[off] = v.
func withByte(pkt []byte, off int, v byte) []byte {
	out := append([]byte(nil), pkt...)
	out[off] = v
	return out
}
