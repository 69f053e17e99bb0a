package testbed

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"time"
)

// UDPStats is the result of one UDP probe, in datagrams unless noted.
type UDPStats struct {
	// Sent is the number of datagrams the client sent.
	Sent int64
	// Received is the number of datagrams the server received.
	Received int64
	// LossPercent is (Sent-Received)/Sent*100 (0 if nothing was sent).
	LossPercent float64
	// Bytes is the payload bytes received by the server.
	Bytes int64
	// JitterMs is the receiver-measured jitter in milliseconds.
	JitterMs float64
	// ClientSeen is the client's address as the server saw it (NAT shows here).
	ClientSeen netip.Addr
}

// UDPProbe sends UDP from clientNS to serverIP:port in serverNS for
// duration (rounded up to whole seconds, minimum 1) at bitsPerSec (> 0)
// using iperf3 -u, with the same server handling as TCPTransfer. Loss, even
// total, is reported in the stats, not as an error; the iperf3 control
// connection is TCP, though, so TCP to the server must work.
func (b *Bed) UDPProbe(ctx context.Context, clientNS, serverNS string, serverIP netip.Addr, port int, duration time.Duration, bitsPerSec int64) (UDPStats, error) {
	if bitsPerSec <= 0 {
		return UDPStats{}, fmt.Errorf("udp probe: bitsPerSec %d must be > 0", bitsPerSec)
	}
	bind := netip.AddrPortFrom(serverIP, uint16(port))
	return b.UDPProbeVia(ctx, clientNS, serverNS, bind, bind, duration, bitsPerSec)
}

// UDPProbeVia is UDPProbe with the server bound to bind and the client sending to via. iperf3
// also opens a TCP control connection to via, so a published via needs tcp and udp.
func (b *Bed) UDPProbeVia(ctx context.Context, clientNS, serverNS string, bind, via netip.AddrPort, duration time.Duration, bitsPerSec int64) (UDPStats, error) {
	if bitsPerSec <= 0 {
		return UDPStats{}, fmt.Errorf("udp probe: bitsPerSec %d must be > 0", bitsPerSec)
	}
	r, err := b.iperfVia(ctx, clientNS, serverNS, bind, via, duration, "-u", "-b", strconv.FormatInt(bitsPerSec, 10))
	if err != nil {
		return UDPStats{}, err
	}
	return udpStats(r), nil
}

// udpStats derives UDPStats from an iperf3 -u client report.
func udpStats(r iperfReport) UDPStats {
	rcv := r.End.SumReceived
	st := UDPStats{
		Sent:       r.End.SumSent.Packets,
		Received:   max(0, rcv.Packets-rcv.LostPackets),
		Bytes:      rcv.Bytes,
		JitterMs:   rcv.JitterMs,
		ClientSeen: r.ClientSeen,
	}
	if st.Sent > 0 {
		st.LossPercent = float64(st.Sent-st.Received) / float64(st.Sent) * 100
	}
	return st
}
