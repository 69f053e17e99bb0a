package policy

import (
	"fmt"
	"maps"
	"slices"
)

// identGroup is the endpoints that share one identity.
type identGroup struct {
	id      uint32
	labels  map[string]string // equal for every member
	network string            // equal for every member
	members []int             // indices into the endpoint slice
}

// endpointIndex groups the cluster's endpoints by identity and counts, per ordered
// pair of groups, the endpoint pairs whose source links to its destination.
type endpointIndex struct {
	eps    []Endpoint
	groups []identGroup // sorted by identity
	group  []int        // endpoint index → group index
	byName map[string]int
	linked map[[2]int]int // (src group, dst group) → distinct linked endpoint pairs
}

// indexEndpoints builds the index. It refuses endpoints that share a non-empty name
// (`endpoints[3].name: "web1" is also endpoints[1]`, links would be ambiguous) and
// endpoints that share an identity but not their labels (`endpoints[4].labels:
// identity 7 is also endpoints[1] ("web1"), whose labels differ`) or networks: an
// identity stands for one label set on one network, as in Cilium.
func indexEndpoints(eps []Endpoint) (*endpointIndex, error) {
	ix := &endpointIndex{
		eps:    eps,
		group:  make([]int, len(eps)),
		byName: make(map[string]int, len(eps)),
		linked: make(map[[2]int]int),
	}
	var errs []error
	byID := make(map[uint32]int)
	for i, ep := range eps {
		if ep.Name != "" {
			if j, dup := ix.byName[ep.Name]; dup {
				errs = append(errs, fieldErr(fmt.Sprintf("endpoints[%d].name", i), fmt.Sprintf("%q is also endpoints[%d]", ep.Name, j)))
			} else {
				ix.byName[ep.Name] = i
			}
		}
		g, seen := byID[ep.Identity]
		if !seen {
			g = len(ix.groups)
			byID[ep.Identity] = g
			ix.groups = append(ix.groups, identGroup{id: ep.Identity, labels: ep.Labels, network: ep.Network})
		} else if first := ix.groups[g].members[0]; !maps.Equal(ix.groups[g].labels, ep.Labels) {
			errs = append(errs, fieldErr(fmt.Sprintf("endpoints[%d].labels", i),
				fmt.Sprintf("identity %d is also endpoints[%d] (%q), whose labels differ", ep.Identity, first, eps[first].Name)))
		} else if ix.groups[g].network != ep.Network {
			errs = append(errs, fieldErr(fmt.Sprintf("endpoints[%d].network", i),
				fmt.Sprintf("identity %d is also endpoints[%d] (%q), on network %q", ep.Identity, first, eps[first].Name, ix.groups[g].network)))
		}
		ix.groups[g].members = append(ix.groups[g].members, i)
	}
	if err := joinErrs(errs); err != nil {
		return nil, err
	}

	// Sort groups by identity so the output is deterministic, then map endpoints.
	slices.SortFunc(ix.groups, func(a, b identGroup) int { return cmpU32(a.id, b.id) })
	for g, grp := range ix.groups {
		for _, i := range grp.members {
			ix.group[i] = g
		}
	}

	// Count linked endpoint pairs per group pair (each pair once, however often listed).
	for s, ep := range eps {
		seen := make(map[int]bool, len(ep.Links))
		for _, name := range ep.Links {
			d, ok := ix.byName[name]
			if !ok || name == "" || seen[d] {
				continue
			}
			seen[d] = true
			ix.linked[[2]int{ix.group[s], ix.group[d]}]++
		}
	}
	return ix, nil
}

// linkClasses says which kinds of endpoint pairs group pair (a, b) holds: some whose
// source links to the destination, and some whose source does not.
func (ix *endpointIndex) linkClasses(a, b int) (hasLinked, hasUnlinked bool) {
	n := ix.linked[[2]int{a, b}]
	total := len(ix.groups[a].members) * len(ix.groups[b].members)
	return n > 0, n < total
}

// examplePairs finds, for error messages, one linked and one unlinked endpoint pair
// of group pair (a, b).
func (ix *endpointIndex) examplePairs(a, b int) (linked, unlinked [2]string) {
	var foundL, foundU bool
	for _, s := range ix.groups[a].members {
		for _, d := range ix.groups[b].members {
			isLinked := linksTo(ix.eps[s], ix.eps[d])
			if isLinked && !foundL {
				linked, foundL = [2]string{ix.eps[s].Name, ix.eps[d].Name}, true
			}
			if !isLinked && !foundU {
				unlinked, foundU = [2]string{ix.eps[s].Name, ix.eps[d].Name}, true
			}
			if foundL && foundU {
				return linked, unlinked
			}
		}
	}
	return linked, unlinked
}

// cmpU32 compares two uint32s.
func cmpU32(a, b uint32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
