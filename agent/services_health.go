package agent

// Service health checks: each agent probes its own backends; the verdict travels in the
// endpoint record, so every host drops an unhealthy backend at its next reconcile.

import (
	"context"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/endpoint"
)

// Health check timing: a probe every serviceHealthInterval, failed after serviceHealthTimeout.
// With etcd an unhealthy backend leaves every host within the interval plus a watch event.
const (
	serviceHealthInterval = time.Second
	serviceHealthTimeout  = 500 * time.Millisecond
)

// parseHealthCheck parses `--health-check`: "" (none), "tcp" (the service port) or "tcp:PORT".
func parseHealthCheck(s string, port uint16) (uint16, error) {
	if s == "" {
		return 0, nil
	}
	kind, p, hasPort := strings.Cut(s, ":")
	if kind != "tcp" {
		return 0, invalid("health check %q: want tcp or tcp:PORT", s)
	}
	if !hasPort {
		return port, nil
	}
	n, err := strconv.ParseUint(p, 10, 16)
	if err != nil || n == 0 {
		return 0, invalid("health check %q: port %q: want 1-65535", s, p)
	}
	return uint16(n), nil
}

// serviceHealth probes the local backends of health-checked services (outside the agent lock:
// probes wait on the network) and records each endpoint's failing service ports in the store
// when they change, then reconciles the services. Its reads take no agent lock (the store is
// safe for concurrent use) and are skipped while the cluster store is known to be down, so an
// outage never holds up the API behind a store timeout. With no health-checked service in the
// cluster and no endpoint marked, it stops reading the store every interval until
// reconcileServices sees one (healthEpoch).
func (a *Agent) serviceHealth(ctx context.Context, _ time.Time) {
	epoch := a.healthEpoch.Load()
	if a.healthIdleAt.Load() == epoch+1 || (a.cl != nil && !a.cl.Healthy()) {
		return
	}
	svcs, err := a.store.Services(ctx)
	var eps []api.Endpoint
	if err == nil {
		eps, err = a.store.Endpoints(ctx)
	}
	if err != nil {
		return
	}
	checked := slices.ContainsFunc(svcs, func(s api.Service) bool { return s.HealthCheck != 0 })
	marked := slices.ContainsFunc(eps, func(e api.Endpoint) bool { return len(e.Unhealthy) > 0 })
	if !checked && !marked {
		a.healthIdleAt.Store(epoch + 1)
		return
	}
	changed := map[string][]uint16{}
	for _, ep := range eps {
		var bad []uint16
		for _, s := range svcs {
			sel, err := labels.Parse(s.Selector)
			if s.HealthCheck == 0 || err != nil || !sel.Matches(labels.Set(ep.Labels)) || slices.Contains(bad, s.Port) {
				continue
			}
			if endpoint.ProbeTCP(ep.Netns, netip.AddrPortFrom(ep.IP, s.HealthCheck), serviceHealthTimeout) != nil {
				bad = append(bad, s.Port)
			}
		}
		slices.Sort(bad)
		if !slices.Equal(bad, ep.Unhealthy) {
			changed[ep.Name] = bad
		}
	}
	if len(changed) == 0 {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for name, bad := range changed {
		ep, err := a.findEndpoint(ctx, name)
		if err != nil { // deleted meanwhile
			continue
		}
		ep.Unhealthy = bad
		if err := a.store.PutEndpoint(ctx, ep); err != nil {
			a.log.Warn("store health of endpoint", "name", name, "err", err)
			return
		}
		a.log.Info("endpoint health changed", "name", name, "unhealthyPorts", bad)
	}
	if err := a.reconcileServices(ctx); err != nil {
		a.log.Warn("services after health change", "err", err)
	}
}
