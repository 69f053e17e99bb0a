// Package maps holds typed Go views of every ebpfnet BPF map. Each view converts between Go
// types (net/netip addresses, net.HardwareAddr) and the C layouts of bpf/lib/maps.h; it holds no
// other state. IPv4 addresses are stored in network byte order in the kernel, exactly as the
// packet carries them.
package maps

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// ErrNotFound is returned (wrapped) by lookups and deletes of a key the map does not hold.
var ErrNotFound = errors.New("not found")

// ErrFull is returned (wrapped) when a map has no room for a new key (E2BIG from the kernel).
var ErrFull = errors.New("map is full")

// be32 returns the uint32 whose in-memory bytes are the IPv4 address in network order, the
// representation of a C __be32 field. a must be IPv4.
func be32(a netip.Addr) uint32 {
	b := a.As4()
	return binary.NativeEndian.Uint32(b[:])
}

// addrFromBE32 is the inverse of be32.
func addrFromBE32(v uint32) netip.Addr {
	var b [4]byte
	binary.NativeEndian.PutUint32(b[:], v)
	return netip.AddrFrom4(b)
}

// requireIPv4 rejects addresses the IPv4-only datapath cannot store.
func requireIPv4(what string, a netip.Addr) error {
	if !a.Is4() {
		return fmt.Errorf("%s %q is not an IPv4 address", what, a)
	}
	return nil
}

// mapErr translates kernel errors of map m into ErrNotFound/ErrFull, keeping the original.
func mapErr(m *ebpf.Map, op string, err error) error {
	if err == nil {
		return nil
	}
	switch {
	case errors.Is(err, ebpf.ErrKeyNotExist):
		return fmt.Errorf("%s %s: %w", m.String(), op, ErrNotFound)
	case errors.Is(err, unix.E2BIG), errors.Is(err, unix.ENOSPC):
		return fmt.Errorf("%s %s: %w (%d entries): %w", m.String(), op, ErrFull, m.MaxEntries(), err)
	}
	return fmt.Errorf("%s %s: %w", m.String(), op, err)
}
