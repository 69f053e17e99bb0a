package bpf_test

import (
	"net"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/stretchr/testify/require"
)

// nopOptions gives ip 4 bytes of IP options (4 NOPs, IHL 6), what an unprivileged
// setsockopt(IP_OPTIONS) adds to every packet of a socket.
func nopOptions(ip *layers.IPv4) *layers.IPv4 {
	nop := layers.IPv4Option{OptionType: 1}
	ip.Options = []layers.IPv4Option{nop, nop, nop, nop}
	return ip
}

// tcpSynOpts is tcpSyn with IP options.
func tcpSynOpts(t *testing.T, smac, dmac net.HardwareAddr, src netip.Addr, sport uint16, dst netip.Addr, dport uint16) []byte {
	return serialize(t, eth(smac, dmac, layers.EthernetTypeIPv4), nopOptions(ipv4(src, dst, 64, layers.IPProtocolTCP)),
		&layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), SYN: true, Seq: 1000, Window: 64240},
		gopacket.Payload("syn"))
}

// udpPacketOpts is udpPacket with IP options.
func udpPacketOpts(t *testing.T, smac, dmac net.HardwareAddr, src netip.Addr, sport uint16, dst netip.Addr, dport uint16) []byte {
	return serialize(t, eth(smac, dmac, layers.EthernetTypeIPv4), nopOptions(ipv4(src, dst, 64, layers.IPProtocolUDP)),
		&layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}, gopacket.Payload("nat-test"))
}

// udpFragments is a UDP datagram src:sport -> dst:dport with size bytes of payload, cut into
// IPv4 fragments of at most mtu bytes the way the kernel's ip_fragment does (IP ID id, offsets
// in 8-byte units, MF on all but the last); the first fragment holds the UDP header.
func udpFragments(t *testing.T, smac, dmac net.HardwareAddr, src netip.Addr, sport uint16, dst netip.Addr, dport uint16,
	id uint16, size, mtu int) [][]byte {
	t.Helper()
	ip := ipv4(src, dst, 64, layers.IPProtocolUDP)
	udp := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
	require.NoError(t, udp.SetNetworkLayerForChecksum(ip))
	buf := gopacket.NewSerializeBuffer()
	require.NoError(t, gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		udp, gopacket.Payload(make([]byte, size))))
	l4 := buf.Bytes()
	per := (mtu - 20) / 8 * 8
	var frames [][]byte
	for off := 0; off < len(l4); off += per {
		end := min(off+per, len(l4))
		frag := ipv4(src, dst, 64, layers.IPProtocolUDP)
		frag.Id, frag.FragOffset = id, uint16(off/8)
		if end < len(l4) {
			frag.Flags = layers.IPv4MoreFragments
		}
		frames = append(frames, serialize(t, eth(smac, dmac, layers.EthernetTypeIPv4), frag, gopacket.Payload(l4[off:end])))
	}
	return frames
}
