package maps

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/ringbuf"
)

// Rule values of a DropEvent that no rule decided (EVENT_NO_RULE, EVENT_DEFAULT_RULE in
// bpf/lib/events.h).
const (
	RuleNone    = 0xffff
	RuleDefault = 0xfffe
)

// DropEvent is one record of the "drop_events" ring buffer (struct drop_event, 40 bytes).
type DropEvent struct {
	Time             time.Duration // bpf_ktime_get_ns(): CLOCK_MONOTONIC
	Src, Dst         netip.Addr    // zero when the packet was not IPv4
	SrcPort, DstPort uint16
	SrcIdentity      uint32
	DstIdentity      uint32
	IfIndex          int
	Rule             uint16 // deciding policy rule, RuleDefault or RuleNone
	Proto            uint8
	Reason           Metric
}

const dropEventSize = 40

// decodeDropEvent parses the C layout: u64 ts, be32 saddr, be32 daddr, be16 sport, be16 dport,
// u32 src_identity, u32 dst_identity, u32 ifindex, u16 rule, u8 proto, u8 reason.
func decodeDropEvent(b []byte) (DropEvent, error) {
	if len(b) < dropEventSize {
		return DropEvent{}, fmt.Errorf("drop event of %d bytes, want %d", len(b), dropEventSize)
	}
	ne := binary.NativeEndian
	e := DropEvent{
		Time:        time.Duration(ne.Uint64(b[0:])),
		SrcPort:     binary.BigEndian.Uint16(b[16:]),
		DstPort:     binary.BigEndian.Uint16(b[18:]),
		SrcIdentity: ne.Uint32(b[20:]),
		DstIdentity: ne.Uint32(b[24:]),
		IfIndex:     int(ne.Uint32(b[28:])),
		Rule:        ne.Uint16(b[32:]),
		Proto:       b[34],
		Reason:      Metric(b[35]),
	}
	if s := [4]byte(b[8:12]); s != [4]byte{} {
		e.Src, e.Dst = netip.AddrFrom4(s), netip.AddrFrom4([4]byte(b[12:16]))
	}
	return e, nil
}

// DropEvents reads the pinned "drop_events" ring buffer. One reader per ring buffer: the agent.
type DropEvents struct{ r *ringbuf.Reader }

// NewDropEvents opens a reader on the drop_events map.
func NewDropEvents(m *ebpf.Map) (*DropEvents, error) {
	r, err := ringbuf.NewReader(m)
	if err != nil {
		return nil, fmt.Errorf("open drop events: %w", err)
	}
	return &DropEvents{r: r}, nil
}

// Read blocks for the next event; after Close it returns an error wrapping ringbuf.ErrClosed.
func (d *DropEvents) Read() (DropEvent, error) {
	rec, err := d.r.Read()
	if err != nil {
		return DropEvent{}, err
	}
	return decodeDropEvent(rec.RawSample)
}

// SetDeadline makes Read return os.ErrDeadlineExceeded after t (zero: no deadline).
func (d *DropEvents) SetDeadline(t time.Time) { d.r.SetDeadline(t) }

// Close unblocks Read and releases the reader.
func (d *DropEvents) Close() error { return d.r.Close() }
