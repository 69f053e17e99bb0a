package wireguard

import (
	"fmt"
	"net"
	"net/netip"
	"time"

	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"
)

// Peer is one other cluster host as a WireGuard peer.
type Peer struct {
	PublicKey wgtypes.Key
	Endpoint  netip.AddrPort // the host's underlay IPv4 and WireGuard port
}

// Keepalive is the persistent keepalive of every peer (WireGuard's recommended 25 s). Besides
// keeping idle sessions fresh, turning it on for a peer that was (re)added makes the device
// send a handshake at once: when a host removed and re-added a peer (its node lease expired
// while the peer's datapath kept running, or the peer rotated its key), the peer may still
// hold the old session and would otherwise keep sending on it, unreadable, until its own
// 15 s no-reply timer starts a new handshake.
const Keepalive = 25 * time.Second

// Configure sets the device's private key and UDP listen port (1..65535) and makes its peers
// exactly peers: each gets its Endpoint, AllowedIPs = the endpoint's address /32 (the VXLAN
// packets to that host are what enters the tunnel) and Keepalive. It changes only what differs, so
// sessions of unchanged peers are kept (replace_peers would drop every handshake). Errors: a
// bad port, a peer without a key or an invalid endpoint, two peers with one key or endpoint,
// wgctrl failures.
func (d *Device) Configure(key wgtypes.Key, port int, peers []Peer) error {
	if port < 1 || port > 65535 {
		return fmt.Errorf("WireGuard listen port %d out of range 1..65535", port)
	}
	cur, err := d.wg.Device(d.name)
	if err != nil {
		return fmt.Errorf("WireGuard device %s: %w", d.name, err)
	}
	cfg, err := peerDiff(cur.Peers, peers)
	if err != nil {
		return fmt.Errorf("WireGuard device %s: %w", d.name, err)
	}
	if cur.PrivateKey != key {
		cfg.PrivateKey = &key
	}
	if cur.ListenPort != port {
		cfg.ListenPort = &port
	}
	if cfg.PrivateKey == nil && cfg.ListenPort == nil && len(cfg.Peers) == 0 {
		return nil
	}
	if err := d.wg.ConfigureDevice(d.name, cfg); err != nil {
		return fmt.Errorf("configure WireGuard device %s: %w", d.name, err)
	}
	return nil
}

// peerDiff returns the configuration that turns the device's peers cur into want: removals,
// additions, and updates of peers whose endpoint, keepalive or allowed IPs differ.
func peerDiff(cur []wgtypes.Peer, want []Peer) (wgtypes.Config, error) {
	var cfg wgtypes.Config
	have := make(map[wgtypes.Key]wgtypes.Peer, len(cur))
	for _, p := range cur {
		have[p.PublicKey] = p
	}
	seen := make(map[wgtypes.Key]bool, len(want))
	endpoints := make(map[netip.Addr]bool, len(want))
	for _, p := range want {
		if p.PublicKey == (wgtypes.Key{}) {
			return cfg, fmt.Errorf("peer %s has no public key", p.Endpoint)
		}
		if !p.Endpoint.IsValid() || !p.Endpoint.Addr().Is4() || p.Endpoint.Port() == 0 {
			return cfg, fmt.Errorf("peer %s: endpoint %s is not IPv4:port", p.PublicKey, p.Endpoint)
		}
		if seen[p.PublicKey] || endpoints[p.Endpoint.Addr()] {
			return cfg, fmt.Errorf("peer %s (%s) listed twice", p.PublicKey, p.Endpoint)
		}
		seen[p.PublicKey], endpoints[p.Endpoint.Addr()] = true, true
		ep := net.UDPAddrFromAddrPort(p.Endpoint)
		allowed := net.IPNet{IP: p.Endpoint.Addr().AsSlice(), Mask: net.CIDRMask(32, 32)}
		if old, ok := have[p.PublicKey]; ok && sameEndpoint(old.Endpoint, ep) && old.PersistentKeepaliveInterval == Keepalive &&
			len(old.AllowedIPs) == 1 && old.AllowedIPs[0].String() == allowed.String() {
			continue
		}
		keepalive := Keepalive
		cfg.Peers = append(cfg.Peers, wgtypes.PeerConfig{
			PublicKey: p.PublicKey, Endpoint: ep, ReplaceAllowedIPs: true, AllowedIPs: []net.IPNet{allowed},
			PersistentKeepaliveInterval: &keepalive,
		})
	}
	for _, p := range cur {
		if !seen[p.PublicKey] {
			cfg.Peers = append(cfg.Peers, wgtypes.PeerConfig{PublicKey: p.PublicKey, Remove: true})
		}
	}
	return cfg, nil
}

// sameEndpoint compares a device's peer endpoint with a wanted one.
func sameEndpoint(a, b *net.UDPAddr) bool {
	return a != nil && b != nil && unmapped(a.AddrPort()) == unmapped(b.AddrPort())
}

// PeerStatus is one peer as the device reports it.
type PeerStatus struct {
	PublicKey     wgtypes.Key
	Endpoint      netip.AddrPort // where the device sends to (may follow roaming)
	LastHandshake time.Time      // zero if no handshake completed yet
	RxBytes       int64          // bytes received from the peer (decrypted payload + headers, as WireGuard counts)
	TxBytes       int64          // bytes sent to the peer
}

// Status is the device's state.
type Status struct {
	Name       string
	Impl       Impl
	PublicKey  wgtypes.Key
	ListenPort int
	Peers      []PeerStatus
}

// Status reads the device's public key, listen port and per-peer handshake and byte counters.
func (d *Device) Status() (Status, error) {
	dev, err := d.wg.Device(d.name)
	if err != nil {
		return Status{}, fmt.Errorf("WireGuard device %s: %w", d.name, err)
	}
	st := Status{Name: d.name, Impl: d.impl, PublicKey: dev.PublicKey, ListenPort: dev.ListenPort}
	for _, p := range dev.Peers {
		ps := PeerStatus{PublicKey: p.PublicKey, LastHandshake: p.LastHandshakeTime, RxBytes: p.ReceiveBytes, TxBytes: p.TransmitBytes}
		if p.Endpoint != nil {
			ps.Endpoint = unmapped(p.Endpoint.AddrPort())
		}
		st.Peers = append(st.Peers, ps)
	}
	return st, nil
}

// unmapped turns an IPv4-mapped IPv6 address (as net.UDPAddr often holds IPv4) into IPv4.
func unmapped(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
