package wireguard

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
)

// Impl selects the WireGuard implementation behind the device.
type Impl string

const (
	// ImplAuto uses the kernel's WireGuard when the module exists, else userspace.
	ImplAuto Impl = "auto"
	// ImplKernel is the kernel's `wireguard` link, created with netlink.
	ImplKernel Impl = "kernel"
	// ImplUserspace is golang.zx2c4.com/wireguard over a TUN device, served by the
	// ebpfnet-wireguard helper process.
	ImplUserspace Impl = "userspace"
)

// ParseImpl parses "auto", "kernel" or "userspace"; anything else is an error naming the value.
func ParseImpl(s string) (Impl, error) {
	switch i := Impl(s); i {
	case ImplAuto, ImplKernel, ImplUserspace:
		return i, nil
	}
	return "", fmt.Errorf("invalid WireGuard implementation %q: want auto, kernel or userspace", s)
}

// Overhead is what WireGuard over IPv4 adds to each packet, in bytes: outer IPv4 20 + UDP 8 +
// WireGuard data header 16 + Poly1305 tag 16 (WireGuard whitepaper, section 5.4.6).
const Overhead = 60

// DefaultPort is WireGuard's customary UDP listen port.
const DefaultPort = 51820

// DeviceName returns the WireGuard device name of the node with underlay address underlay
// and state dir stateDir: "ebwg" + the first 8 hex digits of SHA-256 of both (12 characters,
// within IFNAMSIZ). It is stable across restarts and unique per node even when several
// namespaced nodes share a machine (as in tests), which matters because the userspace
// device's UAPI socket, /var/run/wireguard/<name>.sock, is shared by all network namespaces.
func DeviceName(underlay netip.Addr, stateDir string) string {
	sum := sha256.Sum256(append(underlay.AsSlice(), stateDir...))
	return "ebwg" + hex.EncodeToString(sum[:4])
}
