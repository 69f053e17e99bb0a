package testbed

import (
	"context"
	"net/netip"
	"time"
)

// Transfer is the result of one TCP transfer.
type Transfer struct {
	// Bytes is the number of payload bytes received by the server.
	Bytes int64
	// Seconds is the receiver-side test duration.
	Seconds float64
	// Gbps is the receiver-side goodput in Gbit/s (1e9 bits per second).
	Gbps float64
	// Retransmits is the sender's TCP retransmission count.
	Retransmits int
	// ClientSeen is the client's address as the server saw it (NAT shows here).
	ClientSeen netip.Addr
}

// TCPTransfer measures a TCP transfer from clientNS to serverIP:port in
// serverNS with iperf3: a one-shot server `iperf3 -s -1 -B serverIP -p port
// -J` is started in serverNS, the client waits until it listens, then
// `iperf3 -c serverIP -p port -t secs -J` runs in clientNS. duration is
// rounded up to whole seconds (minimum 1). If ctx has no deadline,
// duration+30s applies. Errors: bad arguments, server not listening, client
// failure (iperf3's own "error" message, e.g. "unable to connect to server:
// Connection timed out" after a 3s connect timeout), unparsable JSON.
func (b *Bed) TCPTransfer(ctx context.Context, clientNS, serverNS string, serverIP netip.Addr, port int, duration time.Duration) (Transfer, error) {
	r, err := b.iperf(ctx, clientNS, serverNS, serverIP, port, duration)
	return transferOf(r), err
}

// TCPTransferVia is TCPTransfer with the server bound to bind in serverNS and the client
// connecting to via (e.g. a published hostIP:hostPort).
func (b *Bed) TCPTransferVia(ctx context.Context, clientNS, serverNS string, bind, via netip.AddrPort, duration time.Duration) (Transfer, error) {
	r, err := b.iperfVia(ctx, clientNS, serverNS, bind, via, duration)
	return transferOf(r), err
}

func transferOf(r iperfReport) Transfer {
	rcv := r.End.SumReceived
	return Transfer{
		Bytes:       rcv.Bytes,
		Seconds:     rcv.Seconds,
		Gbps:        rcv.BitsPerSecond / 1e9,
		Retransmits: r.End.SumSent.Retransmits,
		ClientSeen:  r.ClientSeen,
	}
}
