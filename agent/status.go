package agent

import (
	"context"
	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/maps"
)

// Status reports the node configuration, object counts, datapath counters and map fill levels.
func (a *Agent) Status(ctx context.Context) (api.Status, error) {
	fills, err := a.mapFills() // cached walk, outside a.mu: changes never wait for it
	if err != nil {
		return api.Status{}, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	counters, err := a.maps.Metrics.Read()
	if err != nil {
		return api.Status{}, err
	}
	st := api.Status{
		Version: api.Version, Node: a.node, PinDir: a.cfg.PinDir, StatePath: a.statePath,
		WireGuard: a.wireGuardStatus(),
	}
	if err := a.storeStatus(ctx, &st); err != nil { // counts; store health (etcd: never waits on a known outage)
		return api.Status{}, err
	}
	if st.Store.Healthy { // never waits on a known store outage
		if st.OffLinkPeers, err = a.offLinkPeers(ctx); err != nil {
			a.log.Warn("status: off-link peers", "err", err)
		}
	}
	if st.Conntrack, err = a.ctTop(); err != nil {
		return api.Status{}, err
	}
	st.CTMax = a.maps.CT.MaxEntries()
	if st.XDP, err = a.xdpStatus(a.underlay); err != nil {
		return api.Status{}, err
	}
	for _, m := range maps.AllMetrics() {
		c := counters[m]
		st.Counters = append(st.Counters, api.Counter{Name: maps.MetricName(m), Packets: c.Packets, Bytes: c.Bytes})
	}
	st.Maps = fills
	return st, nil
}
