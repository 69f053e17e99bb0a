// Package lb holds the service load-balancing algorithms the agent computes for the datapath:
// Maglev consistent hashing (Eisenbud et al., "Maglev: A Fast and Reliable Software Network
// Load Balancer", NSDI 2016, section 3.4) and the flow hash the BPF programs pick a table slot
// with (FlowHash, the same function as bpf/lib/lb.h). Pure Go, no BPF.
package lb

import (
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
)

// DefaultTableSize is the Maglev lookup table size M: a prime (the permutation of every
// backend must visit every slot), Cilium's default (--bpf-lb-maglev-table-size 16381), about
// 100x the backends a service is expected to have, for the paper's near-minimal disruption.
const DefaultTableSize = 16381

// Errors of Table.
var (
	ErrTableSize = errors.New("maglev table size must be a prime above the number of backends")
	ErrDuplicate = errors.New("maglev backend names must be unique")
)

// Table returns the Maglev lookup table of size m for backends (stable names, e.g. the
// backend's "IP:port"; every host computes the same table from the same names): entry i is
// the index in backends of the backend serving slot i, whatever the order of backends. Each backend fills floor(m/N) or
// ceil(m/N) slots; with no backend the table is nil. Errors: ErrTableSize when m is not a
// prime greater than len(backends), ErrDuplicate for a repeated name.
//
// Population is the paper's (Pseudocode 1): backend b's preference list is
// permutation[j] = (offset + j*skip) mod m, offset = h1(b) mod m, skip = h2(b) mod (m-1) + 1;
// backends take turns claiming their next preferred free slot until the table is full.
func Table(backends []string, m int) ([]int, error) {
	if !isPrime(m) || m <= len(backends) {
		return nil, fmt.Errorf("%w: %d for %d backends", ErrTableSize, m, len(backends))
	}
	if len(backends) == 0 {
		return nil, nil
	}
	order := make([]int, len(backends)) // turn order: by name, so any input order gives one table
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(x, y int) int { return strings.Compare(backends[x], backends[y]) })
	offset := make([]uint64, len(backends))
	skip := make([]uint64, len(backends))
	for i, b := range backends {
		if i > 0 && backends[order[i]] == backends[order[i-1]] {
			return nil, fmt.Errorf("%w: %q", ErrDuplicate, backends[order[i]])
		}
		offset[i] = hashName(0, b) % uint64(m)
		skip[i] = hashName(1, b)%uint64(m-1) + 1
	}
	entry := make([]int, m)
	for i := range entry {
		entry[i] = -1
	}
	next := make([]uint64, len(backends))
	for filled := 0; ; {
		for _, i := range order {
			c := (offset[i] + next[i]*skip[i]) % uint64(m)
			for entry[c] >= 0 {
				next[i]++
				c = (offset[i] + next[i]*skip[i]) % uint64(m)
			}
			entry[c] = i
			next[i]++
			if filled++; filled == m {
				return entry, nil
			}
		}
	}
}

// hashName is FNV-1a (64 bits) of a seed byte and name: h1 (seed 0) and h2 (seed 1) of the
// paper, two independent hashes of the backend's name.
func hashName(seed byte, name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte{seed})
	h.Write([]byte(name))
	return h.Sum64()
}

// isPrime reports whether n is a prime (trial division; table sizes are small).
func isPrime(n int) bool {
	if n < 2 {
		return false
	}
	for d := 2; d*d <= n; d++ {
		if n%d == 0 {
			return false
		}
	}
	return true
}
