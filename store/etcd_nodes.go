package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/ebpfnet/ebpfnet/api"
)

// cidrRecord is the value of cidrs/<cidr>: which node the pod CIDR is allocated to. It is not
// leased, so a node keeps its CIDR across restarts and lease expiries.
type cidrRecord struct {
	Node string `json:"node"`
	// OrphanedAt is when a node (any agent) first saw the record without its owner's node key,
	// by that node's clock (UTC). The CIDR may go to another node CIDRGrace after it; the owner
	// itself takes it back (clearing this) whenever it returns.
	OrphanedAt time.Time `json:"orphanedAt,omitzero"`
}

// liveNode is a decoded nodes/<name> key.
type liveNode struct {
	rec   api.NodeRecord
	lease clientv3.LeaseID
	rev   int64 // ModRevision
}

// decodeNodes decodes node keys, skipping (and logging) unusable ones.
func (s *Etcd) decodeNodes(kvs []*mvccpb.KeyValue) []liveNode {
	out := make([]liveNode, 0, len(kvs))
	for _, kv := range kvs {
		var rec api.NodeRecord
		err := json.Unmarshal(kv.Value, &rec)
		if err == nil && (!rec.PodCIDR.IsValid() || !rec.UnderlayIP.Is4() || rec.Name != strings.TrimPrefix(string(kv.Key), s.prefix+etcdNodes)) {
			err = errors.New("want name (matching the key), podCIDR and an IPv4 underlayIP")
		}
		if err != nil {
			s.log.Warn("ignoring unusable node record", "key", string(kv.Key), "err", err)
			continue
		}
		out = append(out, liveNode{rec: rec, lease: clientv3.LeaseID(kv.Lease), rev: kv.ModRevision})
	}
	return out
}

// cidrSnap is one consistent read of cidrs/ and nodes/.
type cidrSnap struct {
	records map[netip.Prefix]cidrEntry
	live    map[string]bool
}

type cidrEntry struct {
	rec cidrRecord
	rev int64 // ModRevision
}

func (s *Etcd) cidrKey(p netip.Prefix) string { return s.prefix + etcdCIDRs + p.String() }
func (s *Etcd) nodeKey(name string) string    { return s.prefix + etcdNodes + name }

// snapshot reads cidrs/ and nodes/ at one revision.
func (s *Etcd) snapshot(ctx context.Context) (cidrSnap, error) {
	resp, err := s.cli.Txn(ctx).Then(
		clientv3.OpGet(s.prefix+etcdCIDRs, clientv3.WithPrefix()),
		clientv3.OpGet(s.prefix+etcdNodes, clientv3.WithPrefix(), clientv3.WithKeysOnly()),
	).Commit()
	if err != nil {
		return cidrSnap{}, s.wrap("read pod CIDR allocations", err)
	}
	snap := cidrSnap{records: map[netip.Prefix]cidrEntry{}, live: map[string]bool{}}
	for _, kv := range resp.Responses[0].GetResponseRange().Kvs {
		p, err := netip.ParsePrefix(strings.TrimPrefix(string(kv.Key), s.prefix+etcdCIDRs))
		var rec cidrRecord
		if err == nil {
			err = json.Unmarshal(kv.Value, &rec)
		}
		if err != nil || rec.Node == "" {
			return cidrSnap{}, fmt.Errorf("decode pod CIDR allocation %s: %v", kv.Key, err)
		}
		snap.records[p] = cidrEntry{rec: rec, rev: kv.ModRevision}
	}
	for _, kv := range resp.Responses[1].GetResponseRange().Kvs {
		snap.live[strings.TrimPrefix(string(kv.Key), s.prefix+etcdNodes)] = true
	}
	return snap, nil
}

// cidrState is what a node may do with one pod CIDR.
type cidrState int

const (
	cidrFree     cidrState = iota // no record: create it
	cidrOwn                       // ours already
	cidrInUse                     // owner is live, or orphaned less than the grace period ago
	cidrOrphan                    // owner gone and not yet stamped: stamp it, do not take it
	cidrReusable                  // owner gone for at least the grace period: take it over
)

func (snap cidrSnap) state(p netip.Prefix, me string, grace time.Duration, now time.Time) cidrState {
	e, ok := snap.records[p]
	switch {
	case !ok:
		return cidrFree
	case e.rec.Node == me:
		return cidrOwn
	case snap.live[e.rec.Node]:
		return cidrInUse
	case e.rec.OrphanedAt.IsZero():
		return cidrOrphan
	case now.Sub(e.rec.OrphanedAt) >= grace:
		return cidrReusable
	}
	return cidrInUse
}

// blocked reports another node's allocation that overlaps p without being p.
func (snap cidrSnap) blocked(p netip.Prefix, me string) (netip.Prefix, string, bool) {
	for q, e := range snap.records {
		if q != p && q.Overlaps(p) && e.rec.Node != me {
			return q, e.rec.Node, true
		}
	}
	return netip.Prefix{}, "", false
}

// take writes p's record for this node if it is still in the state snap saw: a free CIDR only
// if nobody created it meanwhile, an own or reusable one only if the record is unchanged and
// (for reuse) its owner is still not live. Reports whether it committed.
func (s *Etcd) take(ctx context.Context, snap cidrSnap, p netip.Prefix, st cidrState) (bool, error) {
	data, _ := json.Marshal(cidrRecord{Node: s.node})
	key := s.cidrKey(p)
	var cmps []clientv3.Cmp
	switch st {
	case cidrFree:
		cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(key), "=", 0))
	case cidrOwn:
		if snap.records[p].rec.OrphanedAt.IsZero() {
			return true, nil // nothing to clear
		}
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(key), "=", snap.records[p].rev))
	case cidrReusable:
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(key), "=", snap.records[p].rev),
			clientv3.Compare(clientv3.CreateRevision(s.nodeKey(snap.records[p].rec.Node)), "=", 0))
	default:
		return false, nil
	}
	resp, err := s.cli.Txn(ctx).If(cmps...).Then(clientv3.OpPut(key, string(data))).Commit()
	if err != nil {
		return false, s.wrap("allocate pod CIDR "+p.String(), err)
	}
	if resp.Succeeded && st == cidrReusable {
		s.log.Info("reusing the pod CIDR of a node gone for longer than the grace period",
			"cidr", p, "previousOwner", snap.records[p].rec.Node, "orphanedAt", snap.records[p].rec.OrphanedAt)
	}
	return resp.Succeeded, nil
}

// stamp records now as the time p's owner was first seen gone, if the record is unchanged and
// the owner still has no node key.
func (s *Etcd) stamp(ctx context.Context, snap cidrSnap, p netip.Prefix, now time.Time) error {
	e := snap.records[p]
	data, _ := json.Marshal(cidrRecord{Node: e.rec.Node, OrphanedAt: now.UTC()})
	_, err := s.cli.Txn(ctx).If(
		clientv3.Compare(clientv3.ModRevision(s.cidrKey(p)), "=", e.rev),
		clientv3.Compare(clientv3.CreateRevision(s.nodeKey(e.rec.Node)), "=", 0),
	).Then(clientv3.OpPut(s.cidrKey(p), string(data))).Commit()
	return s.wrap("mark pod CIDR "+p.String()+" orphaned", err)
}

// MarkOrphanedCIDRs stamps every pod CIDR allocation whose owner has no node key with the
// current time, which starts its grace period (see AllocatePodCIDR). Already stamped records
// keep their time. Agents call it when a node key disappears.
func (s *Etcd) MarkOrphanedCIDRs(ctx context.Context) error {
	snap, err := s.snapshot(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	for p := range snap.records {
		if snap.state(p, s.node, 0, now) == cidrOrphan {
			if err := s.stamp(ctx, snap, p, now); err != nil {
				return err
			}
		}
	}
	return nil
}

// maxAttempts bounds the optimistic read-then-transaction rounds of CIDR allocation.
const maxAttempts = 64

// AllocatePodCIDR returns this node's pod CIDR, allocating one on first use: the CIDR already
// recorded for this node (cidrs/<cidr> = this node) if there is one, whatever its size, else the
// lowest /bits subnet of cluster that is free or reusable. Allocation is a transaction that
// only commits if the record is still as read, so concurrent nodes never get the same CIDR. A
// CIDR whose owner has no node key becomes reusable grace after a node first saw it so (it is
// stamped on that first sighting); subnets overlapping another node's allocation of a
// different size are skipped. Errors: bad arguments, ErrCIDRTaken (wrapped) when no subnet is
// free, ErrUnavailable.
func (s *Etcd) AllocatePodCIDR(ctx context.Context, cluster netip.Prefix, bits int, grace time.Duration) (netip.Prefix, error) {
	n, err := podCIDRCount(cluster, bits)
	if err != nil {
		return netip.Prefix{}, err
	}
	for range maxAttempts {
		snap, err := s.snapshot(ctx)
		if err != nil {
			return netip.Prefix{}, err
		}
		if own, ok := snap.own(s.node, cluster); ok {
			if ok, err := s.take(ctx, snap, own, cidrOwn); err != nil || ok {
				return own, err
			}
			continue
		}
		now, raced := time.Now(), false
		var waiting int
		for i := range n {
			p := subnet(cluster, bits, i)
			if _, _, blocked := snap.blocked(p, s.node); blocked {
				continue
			}
			switch st := snap.state(p, s.node, grace, now); st {
			case cidrFree, cidrReusable:
				ok, err := s.take(ctx, snap, p, st)
				if err != nil {
					return netip.Prefix{}, err
				}
				if ok {
					return p, nil
				}
				raced = true
			case cidrOrphan:
				if err := s.stamp(ctx, snap, p, now); err != nil {
					return netip.Prefix{}, err
				}
				waiting++
			case cidrInUse:
				if e := snap.records[p]; !snap.live[e.rec.Node] {
					waiting++
				}
			}
			if raced {
				break
			}
		}
		if !raced {
			return netip.Prefix{}, fmt.Errorf("no free /%d in cluster CIDR %s (%d allocated, %d of them held for the grace period %s after their node left): %w",
				bits, cluster, len(snap.records), waiting, grace, ErrCIDRTaken)
		}
	}
	return netip.Prefix{}, fmt.Errorf("allocate pod CIDR: gave up after %d conflicting attempts", maxAttempts)
}

// podCIDRCount is the number of /bits subnets of cluster (an IPv4 network address); errors
// for a size outside /cluster../30 or more than 65536 subnets.
func podCIDRCount(cluster netip.Prefix, bits int) (int, error) {
	if !cluster.Addr().Is4() || cluster != cluster.Masked() {
		return 0, fmt.Errorf("cluster CIDR %s: want an IPv4 network address", cluster)
	}
	if bits < cluster.Bits() || bits > 30 {
		return 0, fmt.Errorf("pod CIDR size /%d: want /%d (the cluster CIDR) to /30", bits, cluster.Bits())
	}
	if bits-cluster.Bits() > 16 {
		return 0, fmt.Errorf("pod CIDR size /%d: more than 65536 subnets of %s, want /%d or larger", bits, cluster, cluster.Bits()+16)
	}
	return 1 << (bits - cluster.Bits()), nil
}

// own returns the CIDR inside cluster recorded for node me (the lowest, should there be more).
func (snap cidrSnap) own(me string, cluster netip.Prefix) (netip.Prefix, bool) {
	var mine []netip.Prefix
	for p, e := range snap.records {
		if e.rec.Node == me && cluster.Contains(p.Addr()) && p.Bits() >= cluster.Bits() {
			mine = append(mine, p)
		}
	}
	if len(mine) == 0 {
		return netip.Prefix{}, false
	}
	slices.SortFunc(mine, func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) })
	return mine[0], true
}

// subnet returns the i-th /bits subnet of p.
func subnet(p netip.Prefix, bits, i int) netip.Prefix {
	b := p.Addr().As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v += uint32(i) << (32 - bits)
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), bits)
}

// ClaimPodCIDR records cidr (given with --pod-cidr) as this node's pod CIDR: free, already
// ours, or reusable after the grace period as in AllocatePodCIDR; other CIDRs recorded for
// this node are released. Errors: ErrCIDRTaken (wrapped, naming the owner) when another node
// holds cidr or an overlapping CIDR, ErrUnavailable.
func (s *Etcd) ClaimPodCIDR(ctx context.Context, cidr netip.Prefix, grace time.Duration) error {
	for range maxAttempts {
		snap, err := s.snapshot(ctx)
		if err != nil {
			return err
		}
		if q, owner, blocked := snap.blocked(cidr, s.node); blocked {
			return fmt.Errorf("pod CIDR %s overlaps %s of node %s: %w", cidr, q, owner, ErrCIDRTaken)
		}
		now := time.Now()
		st := snap.state(cidr, s.node, grace, now)
		switch st {
		case cidrOrphan:
			if err := s.stamp(ctx, snap, cidr, now); err != nil {
				return err
			}
			fallthrough
		case cidrInUse:
			e := snap.records[cidr]
			why := "which is live"
			if !snap.live[e.rec.Node] {
				why = fmt.Sprintf("which left; it is held for the grace period %s", grace)
			}
			return fmt.Errorf("pod CIDR %s is allocated to node %s, %s: %w", cidr, e.rec.Node, why, ErrCIDRTaken)
		}
		ok, err := s.take(ctx, snap, cidr, st)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		for p, e := range snap.records {
			if p != cidr && e.rec.Node == s.node {
				if _, err := s.cli.Delete(ctx, s.cidrKey(p)); err != nil {
					return s.wrap("release pod CIDR "+p.String(), err)
				}
			}
		}
		return nil
	}
	return fmt.Errorf("claim pod CIDR %s: gave up after %d conflicting attempts", cidr, maxAttempts)
}

// Registration is this node's live membership: its key nodes/<name> attached to a lease that a
// background keep-alive renews until Close, or until the lease is lost (expired while etcd
// was unreachable, revoked, or the connection closed), which closes Lost.
type Registration struct {
	lease  clientv3.LeaseID
	cancel context.CancelFunc
	lost   chan struct{}
	once   sync.Once
}

// Lost is closed when the lease is no longer kept alive; register again then.
func (r *Registration) Lost() <-chan struct{} { return r.lost }

// LeaseID is the etcd lease the node key is attached to.
func (r *Registration) LeaseID() int64 { return int64(r.lease) }

// Close stops renewing the lease without revoking it: the node key stays until the lease's TTL
// runs out, so a quick restart is invisible to other nodes.
func (r *Registration) Close() { r.once.Do(r.cancel) }

// Register writes rec (rec.Name must be this node) as nodes/<name> attached to a new lease of
// ttl (whole seconds, at least 1 s; etcd may enforce a larger minimum) and keeps the lease
// alive. It commits only if rec.PodCIDR is still allocated to this node (cidrs/), clearing
// the record's orphan mark, else it fails with ErrCIDRTaken; it refuses with ErrNodeNameTaken while a live key of the same name
// has another underlay IP (a restarted agent of the same host takes its key over). The lease
// of a key it replaces is revoked.
func (s *Etcd) Register(ctx context.Context, rec api.NodeRecord, ttl time.Duration) (*Registration, error) {
	if rec.Name != s.node {
		return nil, fmt.Errorf("register node %q: the store is opened for node %q", rec.Name, s.node)
	}
	secs := int64(math.Ceil(ttl.Seconds()))
	if secs < 1 {
		return nil, fmt.Errorf("node TTL %s: want at least 1s", ttl)
	}
	data, err := json.Marshal(rec)
	if err != nil {
		return nil, err
	}
	nodeKey, cidrKey := s.nodeKey(rec.Name), s.cidrKey(rec.PodCIDR)
	for range maxAttempts {
		resp, err := s.cli.Txn(ctx).Then(clientv3.OpGet(nodeKey), clientv3.OpGet(cidrKey)).Commit()
		if err != nil {
			return nil, s.wrap("register node", err)
		}
		nodeCmp, old := clientv3.Compare(clientv3.CreateRevision(nodeKey), "=", 0), clientv3.LeaseID(0)
		if kvs := resp.Responses[0].GetResponseRange().Kvs; len(kvs) > 0 {
			var cur api.NodeRecord
			if json.Unmarshal(kvs[0].Value, &cur) == nil && cur.UnderlayIP != rec.UnderlayIP {
				return nil, fmt.Errorf("node %s is registered with underlay IP %s until its lease expires (this node is %s): %w; pick another --node-name",
					rec.Name, cur.UnderlayIP, rec.UnderlayIP, ErrNodeNameTaken)
			}
			nodeCmp, old = clientv3.Compare(clientv3.ModRevision(nodeKey), "=", kvs[0].ModRevision), clientv3.LeaseID(kvs[0].Lease)
		}
		kvs := resp.Responses[1].GetResponseRange().Kvs
		var cr cidrRecord
		if len(kvs) == 0 || json.Unmarshal(kvs[0].Value, &cr) != nil || cr.Node != rec.Name {
			owner := "nobody"
			if cr.Node != "" {
				owner = "node " + cr.Node
			}
			return nil, fmt.Errorf("register node %s: pod CIDR %s is allocated to %s: %w", rec.Name, rec.PodCIDR, owner, ErrCIDRTaken)
		}
		lease, err := s.cli.Grant(ctx, secs)
		if err != nil {
			return nil, s.wrap("grant node lease", err)
		}
		ops := []clientv3.Op{clientv3.OpPut(nodeKey, string(data), clientv3.WithLease(lease.ID))}
		if !cr.OrphanedAt.IsZero() { // back before anyone took it: the grace period ends here
			clean, _ := json.Marshal(cidrRecord{Node: rec.Name})
			ops = append(ops, clientv3.OpPut(cidrKey, string(clean)))
		}
		txn, err := s.cli.Txn(ctx).If(
			nodeCmp, clientv3.Compare(clientv3.ModRevision(cidrKey), "=", kvs[0].ModRevision),
		).Then(ops...).Commit()
		if err != nil || !txn.Succeeded {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.timeout)
			_, _ = s.cli.Revoke(rctx, lease.ID)
			cancel()
			if err != nil {
				return nil, s.wrap("register node", err)
			}
			continue
		}
		if old != 0 && old != lease.ID {
			_, _ = s.cli.Revoke(ctx, old) // it carries nothing any more
		}
		return s.keepAlive(lease.ID)
	}
	return nil, fmt.Errorf("register node %s: gave up after %d conflicting attempts", rec.Name, maxAttempts)
}

// UpdateNodeRecord rewrites this node's registered record (e.g. with a new WireGuard key),
// keeping the lease it is attached to. Errors: the node is not registered (its lease is
// gone: registering again publishes rec), rec names another node or another underlay IP, the
// store is unavailable, or the record changed concurrently.
func (s *Etcd) UpdateNodeRecord(ctx context.Context, rec api.NodeRecord) error {
	if rec.Name != s.node {
		return fmt.Errorf("update node %q: the store is opened for node %q", rec.Name, s.node)
	}
	data, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	key := s.nodeKey(rec.Name)
	resp, err := s.cli.Get(ctx, key)
	if err != nil {
		return s.wrap("read node record", err)
	}
	if len(resp.Kvs) == 0 {
		return fmt.Errorf("update node %s: not registered (lease expired)", rec.Name)
	}
	kv := resp.Kvs[0]
	var cur api.NodeRecord
	if json.Unmarshal(kv.Value, &cur) == nil && cur.UnderlayIP != rec.UnderlayIP {
		return fmt.Errorf("update node %s: registered with underlay IP %s, not %s", rec.Name, cur.UnderlayIP, rec.UnderlayIP)
	}
	txn, err := s.cli.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(key), "=", kv.ModRevision)).
		Then(clientv3.OpPut(key, string(data), clientv3.WithLease(clientv3.LeaseID(kv.Lease)))).Commit()
	if err != nil {
		return s.wrap("update node record", err)
	}
	if !txn.Succeeded {
		return fmt.Errorf("update node %s: the record changed meanwhile; try again", rec.Name)
	}
	return nil
}

// keepAlive starts renewing lease and returns its Registration.
func (s *Etcd) keepAlive(lease clientv3.LeaseID) (*Registration, error) {
	kctx, cancel := context.WithCancel(context.Background())
	ch, err := s.cli.KeepAlive(kctx, lease)
	if err != nil {
		cancel()
		return nil, s.wrap("keep node lease alive", err)
	}
	r := &Registration{lease: lease, cancel: cancel, lost: make(chan struct{})}
	go func() {
		for range ch {
			// drain renewals until the keep-alive ends
		}
		close(r.lost)
	}()
	return r, nil
}

// LiveNodes lists the registered nodes (nodes/), this one included, ordered by name.
func (s *Etcd) LiveNodes(ctx context.Context) ([]api.NodeRecord, error) {
	resp, err := s.cli.Get(ctx, s.prefix+etcdNodes, clientv3.WithPrefix())
	if err != nil {
		return nil, s.wrap("list nodes", err)
	}
	var out []api.NodeRecord
	for _, n := range s.decodeNodes(resp.Kvs) {
		out = append(out, n.rec)
	}
	return out, nil
}

// Nodes lists every registered node with its lease's remaining TTL, then every node that
// holds a pod CIDR allocation but has no node key (LeaseHealthy false), ordered by name.
func (s *Etcd) Nodes(ctx context.Context) ([]api.NodeInfo, error) {
	resp, err := s.cli.Txn(ctx).Then(
		clientv3.OpGet(s.prefix+etcdNodes, clientv3.WithPrefix()),
		clientv3.OpGet(s.prefix+etcdCIDRs, clientv3.WithPrefix()),
	).Commit()
	if err != nil {
		return nil, s.wrap("list nodes", err)
	}
	var out []api.NodeInfo
	seen := map[string]bool{}
	for _, n := range s.decodeNodes(resp.Responses[0].GetResponseRange().Kvs) {
		info := api.NodeInfo{NodeRecord: n.rec, Self: n.rec.Name == s.node}
		if n.lease != 0 {
			ttl, err := s.cli.TimeToLive(ctx, n.lease)
			if err != nil {
				return nil, s.wrap("read lease of node "+n.rec.Name, err)
			}
			info.LeaseTTL, info.LeaseHealthy = max(ttl.TTL, 0), ttl.TTL > 0
		}
		seen[n.rec.Name] = true
		out = append(out, info)
	}
	for _, kv := range resp.Responses[1].GetResponseRange().Kvs {
		var cr cidrRecord
		p, err := netip.ParsePrefix(strings.TrimPrefix(string(kv.Key), s.prefix+etcdCIDRs))
		if err != nil || json.Unmarshal(kv.Value, &cr) != nil || seen[cr.Node] {
			continue
		}
		seen[cr.Node] = true
		out = append(out, api.NodeInfo{NodeRecord: api.NodeRecord{Name: cr.Node, PodCIDR: p}, Self: cr.Node == s.node})
	}
	slices.SortStableFunc(out, func(a, b api.NodeInfo) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Watch reports changes of the node set (nodes/), of the pod CIDR and network slice
// allocations (cidrs/), of this node's static peers
// (peers/<node>/), of the endpoints (endpoints/), of the identities (identities/) and of the
// network policy (policy/) and of the services (services/): the
// returned channel (capacity 1) receives a value after each change and
// each time a watch is (re)established, coalescing bursts, so that a receiver that then reads
// the store sees every change. It keeps watching across etcd outages and closes when ctx ends.
func (s *Etcd) Watch(ctx context.Context) <-chan struct{} {
	out := make(chan struct{}, 1)
	notify := func() {
		select {
		case out <- struct{}{}:
		default:
		}
	}
	var wg sync.WaitGroup
	for _, prefix := range []string{s.prefix + etcdNodes, s.prefix + etcdCIDRs, s.prefix + etcdPeers + s.node + "/",
		s.prefix + etcdIdentities, s.prefix + EtcdPolicyDir, s.prefix + etcdEndpoints, s.prefix + etcdServices} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				wctx, cancel := context.WithCancel(ctx)
				ch := s.cli.Watch(clientv3.WithRequireLeader(wctx), prefix, clientv3.WithPrefix(), clientv3.WithCreatedNotify())
				for resp := range ch {
					if resp.Err() != nil || resp.Canceled {
						break
					}
					if resp.Created || len(resp.Events) > 0 {
						notify()
					}
				}
				cancel()
				select {
				case <-ctx.Done():
				case <-time.After(500 * time.Millisecond):
				}
			}
		}()
	}
	go func() {
		wg.Wait()
		close(out)
	}()
	return out
}
