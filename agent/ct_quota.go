package agent

import (
	"cmp"
	"context"
	"net/netip"
	"slices"

	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/maps"
)

// ctTopUsers is how many endpoints `ebpfnet status` lists by conntrack use.
const ctTopUsers = 10

// ctQuotaLimit is each endpoint's conntrack limit with n local endpoints: --ct-max-per-endpoint,
// or the fair share ct-max / (n + 1). The extra share is the host's (its own flows, masquerade
// of other endpoints), and the quotas of all endpoints together stay below ct-max, so no
// endpoint can take another's share.
func (a *Agent) ctQuotaLimit(n int) int {
	if a.cfg.CTMaxPerEndpoint > 0 {
		return a.cfg.CTMaxPerEndpoint
	}
	return a.cfg.CTMax / (n + 1)
}

// syncCTQuotas gives every endpoint of the endpoints map its limit, keeping its count, and
// removes the quotas of endpoints that are gone; it also refreshes the endpoint names status
// shows (from the store, so status itself never waits on it). Callers hold a.mu.
func (a *Agent) syncCTQuotas(ctx context.Context) error {
	eps, err := a.dmaps.endpoints.All()
	if err != nil {
		return err
	}
	if stored, err := a.store.Endpoints(ctx); err == nil {
		a.epNames = make(map[netip.Addr]string, len(stored))
		for _, e := range stored {
			a.epNames[e.IP] = e.Name
		}
	}
	have, err := a.maps.CTQuota.All()
	if err != nil {
		return err
	}
	limit := a.ctQuotaLimit(len(eps))
	want := make(map[netip.Addr]bool, len(eps))
	for _, e := range eps {
		want[e.IP] = true
		if q, ok := have[e.IP]; !ok || q.Limit != limit {
			q.Limit = limit
			if err := a.maps.CTQuota.Set(e.IP, q); err != nil {
				return err
			}
		}
	}
	for ip := range have {
		if !want[ip] {
			if err := a.maps.CTQuota.Delete(ip); err != nil {
				return err
			}
		}
	}
	return nil
}

// recountCTQuotas sets every endpoint's count to the entries of live (the ct table after
// expiry) charged to it, undoing the datapath's charges for entries that expired.
func (a *Agent) recountCTQuotas(live []maps.CTEntry) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	have, err := a.maps.CTQuota.All()
	if err != nil {
		return err
	}
	local := make(map[netip.Addr]bool, len(have))
	for ip := range have {
		local[ip] = true
	}
	counts := map[netip.Addr]int{}
	for _, e := range live {
		if o := e.Owner(local); o.IsValid() {
			counts[o]++
		}
	}
	for ip, q := range have {
		if q.Count != counts[ip] {
			q.Count = counts[ip]
			if err := a.maps.CTQuota.Set(ip, q); err != nil {
				return err
			}
		}
	}
	return nil
}

// ctTop lists the endpoints with the most conntrack entries charged, at most ctTopUsers.
// Callers hold a.mu.
func (a *Agent) ctTop() ([]api.CTUse, error) {
	have, err := a.maps.CTQuota.All()
	if err != nil {
		return nil, err
	}
	out := make([]api.CTUse, 0, len(have))
	for ip, q := range have {
		out = append(out, api.CTUse{Endpoint: a.epNames[ip], IP: ip, Entries: q.Count, Limit: q.Limit})
	}
	slices.SortFunc(out, func(x, y api.CTUse) int {
		return cmp.Or(cmp.Compare(y.Entries, x.Entries), x.IP.Compare(y.IP))
	})
	return out[:min(len(out), ctTopUsers)], nil
}
