package testbed

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sync"
)

// prefixRE limits bed prefixes to short, shell- and path-safe names.
var prefixRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,15}$`)

// Bed owns the namespaces, netlink handles, processes and temp dir it
// created; Close removes all of it (idempotent). A Bed is safe for
// concurrent use.
type Bed struct {
	prefix string
	tmp    string

	mu     sync.Mutex
	closed bool
	nets   map[string]*nsEntry // short name -> namespace
	order  []string            // creation order of short names
	procs  []*Proc
}

// New makes a Bed whose namespace names all start with prefix + "-".
// prefix must be 1..16 characters of letters, digits and '-', starting with
// a letter or digit (e.g. "t3f9a"; see UniquePrefix). It creates the bed's
// temporary directory; errors are returned for a bad prefix or if the
// directory cannot be created.
func New(prefix string) (*Bed, error) {
	if !prefixRE.MatchString(prefix) {
		return nil, fmt.Errorf("testbed: invalid prefix %q: want 1..16 of [A-Za-z0-9-], not starting with '-'", prefix)
	}
	tmp, err := os.MkdirTemp("", "ebpfnet-testbed-"+prefix+"-")
	if err != nil {
		return nil, fmt.Errorf("testbed %q: temp dir: %w", prefix, err)
	}
	return &Bed{prefix: prefix, tmp: tmp, nets: map[string]*nsEntry{}}, nil
}

// UniquePrefix returns base followed by 4 random lowercase hex characters,
// e.g. UniquePrefix("t") = "t3f9a", so parallel beds do not collide. base
// should be at most 12 characters so the result is a valid New prefix.
func UniquePrefix(base string) string {
	var b [2]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read does not fail on Linux
	return base + hex.EncodeToString(b[:])
}

// Prefix returns the bed's namespace name prefix.
func (b *Bed) Prefix() string { return b.prefix }

// TempDir returns the bed's temporary directory (absolute path), removed by
// Close. Process logs are written here.
func (b *Bed) TempDir() string { return b.tmp }

// Close stops every process the bed started (SIGTERM, then SIGKILL after
// 3s), closes its netlink handles, deletes every namespace it created
// (`ip netns del`) and removes the temp dir. It keeps going after failures
// and returns them joined. Calling Close again returns nil.
func (b *Bed) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	procs, order := b.procs, b.order
	b.mu.Unlock()

	var errs []error
	errs = append(errs, stopAll(procs)...)
	for i := len(order) - 1; i >= 0; i-- {
		if err := b.nets[order[i]].remove(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := os.RemoveAll(b.tmp); err != nil {
		errs = append(errs, fmt.Errorf("testbed %q: remove temp dir: %w", b.prefix, err))
	}
	return errors.Join(errs...)
}

// stopAll stops procs concurrently and returns their errors.
func stopAll(procs []*Proc) []error {
	errCh := make(chan error, len(procs))
	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errCh <- p.Stop()
		}()
	}
	wg.Wait()
	close(errCh)
	var errs []error
	for err := range errCh {
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}
