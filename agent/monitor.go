package agent

import (
	"context"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cilium/ebpf/ringbuf"

	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/maps"
)

// monitor fans drop events out to the API's subscribers (`ebpfnet monitor`). Slow subscribers
// lose events rather than stall the reader.
type monitor struct {
	mu   sync.Mutex
	subs map[chan api.DropEvent]struct{}
	// stale marks the names cache out of date (policy, endpoints or identities changed).
	stale atomic.Bool
}

func (m *monitor) subscribe() chan api.DropEvent {
	ch := make(chan api.DropEvent, 256)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.subs == nil {
		m.subs = map[chan api.DropEvent]struct{}{}
	}
	m.subs[ch] = struct{}{}
	return ch
}

func (m *monitor) unsubscribe(ch chan api.DropEvent) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.subs, ch)
}

// SubscribeDrops returns a channel of the datapath's drop events (named, see dropContext) and
// the function that ends the subscription. A slow reader loses events.
func (a *Agent) SubscribeDrops() (<-chan api.DropEvent, func()) {
	ch := a.mon.subscribe()
	return ch, func() { a.mon.unsubscribe(ch) }
}

func (m *monitor) publish(e api.DropEvent) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for ch := range m.subs {
		select {
		case ch <- e:
		default:
		}
	}
}

// dropContext names addresses and identities in drop events; refreshed every second and after
// every change of the policy or the maps (monitor.stale).
type dropContext struct {
	at         time.Time
	endpoints  map[[4]byte]string
	labels     map[uint32]map[string]string
	rules      []string
	ownDefault map[string]bool // networks with their own default policy action
}

// runMonitor reads the drop-event ring buffer until ctx is done and publishes each event with
// endpoint names, identity labels and the deciding rule.
func (a *Agent) runMonitor(ctx context.Context) {
	ev, err := a.dp.DropEvents()
	if err != nil {
		a.log.Warn("drop monitor unavailable", "err", err)
		return
	}
	go func() { <-ctx.Done(); ev.Close() }()
	var dc dropContext
	for {
		e, err := ev.Read()
		if errors.Is(err, ringbuf.ErrClosed) || errors.Is(err, os.ErrClosed) {
			return
		}
		if err != nil {
			a.log.Warn("read drop event", "err", err)
			continue
		}
		if a.mon.stale.Swap(false) || time.Since(dc.at) > time.Second {
			dc = a.dropContext(ctx)
		}
		a.mon.publish(describeDrop(e, &dc))
	}
}

func (a *Agent) dropContext(ctx context.Context) dropContext {
	a.mu.Lock()
	defer a.mu.Unlock()
	dc := dropContext{at: time.Now(), endpoints: map[[4]byte]string{}, labels: map[uint32]map[string]string{}}
	if eps, err := a.store.ClusterEndpoints(ctx); err == nil {
		for _, e := range eps {
			dc.endpoints[e.IP.As4()] = e.Name
		}
	}
	if ids, err := a.store.Identities(ctx); err == nil {
		for key, id := range ids {
			if l, err := labelsOf(key); err == nil {
				dc.labels[id] = l
			}
		}
	}
	if p, err := a.store.Policy(ctx); err == nil {
		for _, r := range p.Rules {
			dc.rules = append(dc.rules, r.String())
		}
	}
	if nws, err := a.store.Networks(ctx); err == nil {
		dc.ownDefault = map[string]bool{}
		for _, n := range nws {
			dc.ownDefault[n.Name] = n.DefaultPolicy != ""
		}
	}
	return dc
}

// describeDrop turns a raw event into what an operator reads.
func describeDrop(e maps.DropEvent, dc *dropContext) api.DropEvent {
	out := api.DropEvent{
		Time:        time.Now().Add(-(monotonicNow() - e.Time)),
		Reason:      maps.MetricName(e.Reason),
		Proto:       api.ProtoName(e.Proto),
		Src:         e.Src,
		SrcPort:     e.SrcPort,
		Dst:         e.Dst,
		DstPort:     e.DstPort,
		SrcIdentity: e.SrcIdentity,
		DstIdentity: e.DstIdentity,
		SrcLabels:   dc.labels[e.SrcIdentity],
		DstLabels:   dc.labels[e.DstIdentity],
		Rule:        -2,
	}
	if e.Src.IsValid() {
		out.SrcEndpoint, out.DstEndpoint = dc.endpoints[e.Src.As4()], dc.endpoints[e.Dst.As4()]
	}
	switch {
	case e.Rule == maps.RuleDefault:
		out.Rule, out.RuleText = -1, "default action"
		if nw := out.DstLabels[NetworkLabel]; dc.ownDefault[nw] {
			out.RuleText = "network " + nw + "'s default action"
		}
	case e.Rule != maps.RuleNone:
		out.Rule = int(e.Rule)
		if out.Rule < len(dc.rules) {
			out.RuleText = dc.rules[out.Rule]
		}
	}
	return out
}
