package maps

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/ringbuf"

	"github.com/ebpfnet/ebpfnet/bpf"
)

// Rule values of a DropEvent that no rule decided (enum event_rule in bpf/lib/events.h).
const (
	RuleNone    = uint16(bpf.DatapathEventRuleEVENT_NO_RULE)
	RuleDefault = uint16(bpf.DatapathEventRuleEVENT_DEFAULT_RULE)
)

// DropEvent is one record of the "drop_events" ring buffer (struct drop_event).
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

// decodeDropEvent parses a record with the bpf2go-generated struct drop_event (native byte
// order; addresses and ports in network order, as the packet carries them). A record shorter
// than the struct is an error.
func decodeDropEvent(b []byte) (DropEvent, error) {
	var raw bpf.DatapathDropEvent
	if _, err := binary.Decode(b, binary.NativeEndian, &raw); err != nil {
		return DropEvent{}, fmt.Errorf("drop event of %d bytes, want %d: %w", len(b), binary.Size(raw), err)
	}
	e := DropEvent{
		Time:        time.Duration(raw.TsNs),
		SrcPort:     fromBE16(raw.Sport),
		DstPort:     fromBE16(raw.Dport),
		SrcIdentity: uint32(raw.SrcIdentity),
		DstIdentity: uint32(raw.DstIdentity),
		IfIndex:     int(raw.Ifindex),
		Rule:        uint16(raw.Rule),
		Proto:       raw.Proto,
		Reason:      Metric(raw.Reason),
	}
	if raw.Saddr != 0 {
		e.Src, e.Dst = addrFromBE32(raw.Saddr), addrFromBE32(raw.Daddr)
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
