package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/maps"
)

// maxPrefixErrors is how many malformed entries one refusal lists.
const maxPrefixErrors = 10

// parsePrefixes parses deny-list entries, each an IPv4 CIDR ("198.51.100.0/24") or address (a
// /32); blank entries and comments (from "#" or ";" to the end, as blocklist feeds such as
// Spamhaus DROP write them) are skipped, duplicates kept once. what names an entry in errors
// ("line" for a file, "prefix" for arguments), numbered from 1. Errors (api.ErrInvalid) list
// the first maxPrefixErrors malformed entries: not IPv4, host bits set, not a prefix.
func parsePrefixes(entries []string, what string) ([]netip.Prefix, error) {
	var (
		out  []netip.Prefix
		bad  []string
		seen = map[netip.Prefix]bool{}
	)
	for i, e := range entries {
		if j := strings.IndexAny(e, "#;"); j >= 0 {
			e = e[:j]
		}
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		p, err := parsePrefix(e)
		if err != nil {
			if len(bad) < maxPrefixErrors {
				bad = append(bad, fmt.Sprintf("%s %d: %v", what, i+1, err))
			}
			continue
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	if len(bad) > 0 {
		return nil, api.Errorf(api.ErrInvalid, "malformed prefilter prefixes, nothing changed:\n  %s", strings.Join(bad, "\n  "))
	}
	return out, nil
}

// parsePrefix parses one IPv4 CIDR or address.
func parsePrefix(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil || !a.Is4() {
			return netip.Prefix{}, fmt.Errorf("%q is not an IPv4 address or CIDR", s)
		}
		return netip.PrefixFrom(a, 32), nil
	}
	p, err := netip.ParsePrefix(s)
	switch {
	case err != nil || !p.Addr().Is4():
		return netip.Prefix{}, fmt.Errorf("%q is not an IPv4 CIDR", s)
	case p != p.Masked():
		return netip.Prefix{}, fmt.Errorf("%q has host bits set (the network is %s)", s, p.Masked())
	}
	return p, nil
}

// Prefilter lists the deny list in force.
func (a *Agent) Prefilter(context.Context) (api.Prefilter, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	pfxs, err := a.maps.Prefilter.List()
	return api.Prefilter{Prefixes: pfxs, Capacity: maps.PrefilterMax}, err
}

// AddPrefilter puts req's prefixes on the deny list. Errors: malformed prefixes
// (api.ErrInvalid, with their positions), more than the list holds (api.ErrFull); then
// nothing changed.
func (a *Agent) AddPrefilter(_ context.Context, req api.PrefilterRequest) (api.PrefilterChange, error) {
	return a.editPrefilter(req, func(pfxs []netip.Prefix) error {
		have, err := a.maps.Prefilter.List()
		if err != nil {
			return err
		}
		if n := len(mergePrefixes(have, pfxs)); n > maps.PrefilterMax {
			return api.Errorf(api.ErrFull, "prefilter: %d prefixes, the list holds %d", n, maps.PrefilterMax)
		}
		return a.maps.Prefilter.Add(pfxs)
	})
}

// mergePrefixes is the union of have and add.
func mergePrefixes(have, add []netip.Prefix) map[netip.Prefix]bool {
	all := make(map[netip.Prefix]bool, len(have)+len(add))
	for _, p := range append(have, add...) {
		all[p] = true
	}
	return all
}

// DeletePrefilter removes req's prefixes from the deny list. Errors: malformed prefixes
// (api.ErrInvalid), a prefix not on the list (api.ErrNotFound); then nothing changed.
func (a *Agent) DeletePrefilter(_ context.Context, req api.PrefilterRequest) (api.PrefilterChange, error) {
	return a.editPrefilter(req, func(pfxs []netip.Prefix) error {
		err := a.maps.Prefilter.Delete(pfxs)
		if errors.Is(err, maps.ErrNotFound) {
			return api.Errorf(api.ErrNotFound, "prefilter: %v; nothing changed", err)
		}
		return err
	})
}

// editPrefilter parses req's prefixes (arguments, numbered from 1 in errors) and applies edit
// to them under a.mu; it answers with the list's new size and the time the edit took.
func (a *Agent) editPrefilter(req api.PrefilterRequest, edit func([]netip.Prefix) error) (api.PrefilterChange, error) {
	pfxs, err := parsePrefixes(req.Prefixes, "prefix")
	if err != nil {
		return api.PrefilterChange{}, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	start := time.Now()
	if err := edit(pfxs); err != nil {
		return api.PrefilterChange{}, err
	}
	took := time.Since(start).Seconds()
	all, err := a.maps.Prefilter.List()
	return api.PrefilterChange{Prefixes: len(all), Seconds: took}, err
}

// ApplyPrefilter replaces the deny list with the prefixes of list (one a line, a blocklist
// feed), atomically (maps.Prefilter.Replace). Errors: malformed lines (api.ErrInvalid, with
// their line numbers), more than the list holds (api.ErrFull); then nothing changed.
func (a *Agent) ApplyPrefilter(_ context.Context, list []byte) (api.PrefilterChange, error) {
	pfxs, err := parsePrefixes(strings.Split(string(bytes.TrimSuffix(list, []byte("\n"))), "\n"), "line")
	if err != nil {
		return api.PrefilterChange{}, err
	}
	if len(pfxs) > maps.PrefilterMax {
		return api.PrefilterChange{}, api.Errorf(api.ErrFull, "prefilter: %d prefixes, the list holds %d", len(pfxs), maps.PrefilterMax)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	start := time.Now()
	if err := a.maps.Prefilter.Replace(pfxs); err != nil {
		return api.PrefilterChange{}, err
	}
	ch := api.PrefilterChange{Prefixes: len(pfxs), Seconds: time.Since(start).Seconds()}
	a.log.Info("prefilter replaced", "prefixes", ch.Prefixes, "seconds", ch.Seconds)
	go a.clearPrefilterSpare()
	return ch, nil
}

// clearPrefilterSpare empties the trie the last replace left the old list in, after the
// answer: whichever trie is spare when it runs is not in force, and the next replace empties
// it anyway (a failure here is only logged).
func (a *Agent) clearPrefilterSpare() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.maps.Prefilter.ClearSpare(); err != nil {
		a.log.Warn("prefilter: emptying the spare list failed", "err", err)
	}
}
