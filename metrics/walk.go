package metrics

import (
	"sync"
	"time"

	"github.com/ebpfnet/ebpfnet/maps"
)

// Snapshot is one walk over the datapath's keyed maps.
type Snapshot struct {
	Maps      []maps.Fill    // entries and capacity of every keyed map
	Conntrack map[string]int // ct entries by kind (snat-out, snat-in, dnat-reply, policy)
	NATPorts  map[string]int // distinct masquerade ports in use by protocol (tcp, udp, icmp)
	Taken     time.Time      // when the walk ran
	Duration  time.Duration  // how long it took
}

// Walker walks the datapath's maps; its cost grows with the number of entries.
type Walker interface {
	Walk() (Snapshot, error)
}

// WalkerFunc adapts a function to Walker.
type WalkerFunc func() (Snapshot, error)

// Walk calls f.
func (f WalkerFunc) Walk() (Snapshot, error) { return f() }

// CachedWalker walks at most once per TTL and answers every other call from the last walk,
// so scraping every second and `ebpfnet status` cost one walk per TTL however often they
// come. Failed walks are not cached. Safe for concurrent use.
type CachedWalker struct {
	w   Walker
	ttl time.Duration
	now func() time.Time

	mu   sync.Mutex
	last Snapshot
	ok   bool
}

// NewCachedWalker wraps w with a cache of ttl (at least 1 s is advised: a walk of a full
// 262,144-entry ct map takes 65-165 ms).
func NewCachedWalker(w Walker, ttl time.Duration) *CachedWalker {
	return &CachedWalker{w: w, ttl: ttl, now: time.Now}
}

// Walk returns the cached snapshot if it is younger than the TTL, else walks again. The
// returned snapshot's maps are shared: callers must not modify them.
func (c *CachedWalker) Walk() (Snapshot, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ok && c.now().Sub(c.last.Taken) < c.ttl {
		return c.last, nil
	}
	start := c.now()
	s, err := c.w.Walk()
	if err != nil {
		return Snapshot{}, err
	}
	s.Taken, s.Duration = start, c.now().Sub(start)
	c.last, c.ok = s, true
	return s, nil
}
