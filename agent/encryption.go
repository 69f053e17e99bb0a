package agent

import (
	"context"
	"fmt"
	"net/netip"
	"os"

	"github.com/vishvananda/netlink"

	"github.com/ebpfnet/ebpfnet/agent/cluster"
	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/wireguard"
)

// Encryption modes of --encryption.
const (
	EncryptionNone      = "none"
	EncryptionWireGuard = "wireguard"
)

// encryptionOverhead is what --encryption adds per packet on top of VXLAN, in bytes.
func encryptionOverhead(mode string) int {
	if mode == EncryptionWireGuard {
		return wireguard.Overhead
	}
	return 0
}

// checkEncryption validates the encryption settings of c.
func checkEncryption(c Config) error {
	switch c.Encryption {
	case EncryptionNone, EncryptionWireGuard:
	default:
		return fmt.Errorf("encryption %q: want %s or %s", c.Encryption, EncryptionNone, EncryptionWireGuard)
	}
	if _, err := wireguard.ParseImpl(c.WireGuardImpl); err != nil {
		return err
	}
	if c.WireGuardPort < 1 || c.WireGuardPort > 65535 {
		return fmt.Errorf("WireGuard port %d out of range 1..65535", c.WireGuardPort)
	}
	return nil
}

// loadWireGuardKey loads the node's private key, creating it on first start; with encryption
// off it does nothing. Called before anything else is touched, so a key file with a loose mode
// or a malformed key stops the agent with nothing changed.
func (a *Agent) loadWireGuardKey() error {
	if a.cfg.Encryption != EncryptionWireGuard {
		return nil
	}
	if err := os.MkdirAll(a.cfg.StateDir, 0o700); err != nil {
		return fmt.Errorf("state dir: %w", err)
	}
	var err error
	a.wgKey, err = wireguard.LoadOrCreateKey(a.cfg.StateDir)
	return err
}

// openWireGuard creates or adopts the WireGuard device (MTU = underlay MTU - 60) and attaches
// from_wireguard to it. It returns the device's ifindex for node_params.wg_ifindex, 0 with
// encryption off (then a device an earlier run left is removed). Peers and the key are set by
// syncWireGuard.
func (a *Agent) openWireGuard() (int, error) {
	name := wireguard.DeviceName(a.node.UnderlayIP, a.cfg.StateDir)
	if a.cfg.Encryption != EncryptionWireGuard {
		return 0, wireguard.Remove(a.cfg.StateDir, name) // left by an earlier run with encryption
	}
	ul, err := netlink.LinkByName(a.cfg.UnderlayDev)
	if err != nil {
		return 0, fmt.Errorf("underlay device %q: %w", a.cfg.UnderlayDev, err)
	}
	dev, err := wireguard.Open(wireguard.Options{
		Name: name, Impl: wireguard.Impl(a.cfg.WireGuardImpl),
		MTU: ul.Attrs().MTU - wireguard.Overhead, StateDir: a.cfg.StateDir, Helper: a.cfg.WireGuardHelper, Logger: a.log,
	})
	if err != nil {
		return 0, err
	}
	a.wg = dev
	ifindex, err := dev.Ifindex()
	if err != nil {
		return 0, err
	}
	if err := a.dp.AttachWireGuard(dev.Name(), ifindex); err != nil {
		return 0, err
	}
	a.log.Info("encryption on", "device", dev.Name(), "impl", dev.Impl(), "adopted", dev.Adopted(),
		"publicKey", a.wgKey.PublicKey(), "port", a.cfg.WireGuardPort)
	return ifindex, nil
}

// syncWireGuard makes the device's peers exactly the peer hosts with a usable key (not plain
// VXLAN ones) and returns those hosts, whose VXLAN the datapath then encrypts (PEER_F_ENCRYPT).
// A malformed stored key is logged and skipped: that host gets drop_no_key, never clear text.
// Returns nil with encryption off. a.mu is held.
func (a *Agent) syncWireGuard(peers []api.Peer) (map[netip.Addr]bool, error) {
	if a.wg == nil {
		return nil, nil
	}
	encrypted := map[netip.Addr]bool{}
	var wgPeers []wireguard.Peer
	for _, p := range peers {
		if p.WGPublicKey == "" || p.PlainVXLAN || encrypted[p.HostIP] {
			continue
		}
		key, err := wireguard.ParseKey(p.WGPublicKey)
		if err != nil {
			a.log.Warn("peer host without a usable WireGuard key: nothing is sent to it", "host", p.HostIP, "error", err)
			continue
		}
		port := p.WGPort
		if port == 0 {
			port = uint16(a.cfg.WireGuardPort)
		}
		encrypted[p.HostIP] = true
		wgPeers = append(wgPeers, wireguard.Peer{PublicKey: key, Endpoint: netip.AddrPortFrom(p.HostIP, port)})
	}
	if err := a.wg.Configure(a.wgKey, a.cfg.WireGuardPort, wgPeers); err != nil {
		return nil, err
	}
	return encrypted, nil
}

// wgPublicKey is this node's WireGuard public key (base64), "" with encryption off.
func (a *Agent) wgPublicKey() string {
	if a.wg == nil {
		return ""
	}
	return a.wgKey.PublicKey().String()
}

// wireGuardStatus reports the device and its peers for `ebpfnet status`; nil with encryption
// off. A device that cannot be read is reported in Error, not as a failure of Status.
func (a *Agent) wireGuardStatus() *api.WireGuardStatus {
	if a.wg == nil {
		return nil
	}
	st := &api.WireGuardStatus{Impl: string(a.wg.Impl()), Device: a.wg.Name(), PID: a.wg.PID(),
		PublicKey: a.wgPublicKey(), ListenPort: a.cfg.WireGuardPort}
	ws, err := a.wg.Status()
	if err != nil {
		st.Error = err.Error()
		return st
	}
	st.ListenPort = ws.ListenPort
	for _, p := range ws.Peers {
		st.Peers = append(st.Peers, api.WireGuardPeer{
			HostIP: p.Endpoint.Addr(), PublicKey: p.PublicKey.String(), Endpoint: p.Endpoint.String(),
			LastHandshake: p.LastHandshake, RxBytes: p.RxBytes, TxBytes: p.TxBytes,
		})
	}
	return st
}

// parsePeerKey validates the WireGuard public key of a `peer add` request ("" = none) and
// returns its canonical base64 form.
func parsePeerKey(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	k, err := wireguard.ParseKey(s)
	if err != nil {
		return "", invalid("peer WireGuard public key: %v", err)
	}
	return k.String(), nil
}

// addWireGuardPeers fills the WireGuard field of every node this node has an encrypted tunnel
// to (matched by underlay IP) for `ebpfnet node list`.
func (a *Agent) addWireGuardPeers(nodes []api.NodeInfo) {
	st := a.wireGuardStatus()
	if st == nil {
		return
	}
	for i := range nodes {
		for _, p := range st.Peers {
			if p.HostIP == nodes[i].UnderlayIP {
				nodes[i].WireGuard = &p
			}
		}
	}
}

// RotateWireGuardKey gives this node a new WireGuard key pair: with etcd the new public key is
// published in the node record first (other nodes switch within a watch event), then the
// private key is saved and the device switched to it. With the local store every peer host
// must be given the new public key (`ebpfnet peer set-key`). Traffic to and from this node
// pauses until both sides use the new key (TCP retransmits carry connections over); nothing
// is ever sent in clear. Errors: encryption off, the store unavailable (nothing changed), I/O.
func (a *Agent) RotateWireGuardKey(ctx context.Context) (api.WireGuardStatus, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.wg == nil {
		return api.WireGuardStatus{}, invalid("encryption is off: start the agent with --encryption wireguard")
	}
	key, err := wireguard.NewKey()
	if err != nil {
		return api.WireGuardStatus{}, err
	}
	old := a.wgKey
	a.wgKey = key
	if a.cl != nil {
		if err := a.cl.PublishNodeRecord(ctx); err != nil {
			a.wgKey = old
			return api.WireGuardStatus{}, cluster.UnavailableError(fmt.Errorf("publish the new WireGuard key: %w (the old key stays)", err))
		}
	}
	if err := wireguard.SaveKey(a.cfg.StateDir, key); err != nil {
		return api.WireGuardStatus{}, err
	}
	if err := a.reconcilePeerHosts(ctx); err != nil { // switches the device to the new key
		return api.WireGuardStatus{}, err
	}
	a.log.Info("WireGuard key rotated", "publicKey", key.PublicKey())
	return *a.wireGuardStatus(), nil
}

// SetPeerKey sets the WireGuard public key of every stored peer route via host (the local
// store's way to follow a peer's `node rotate-key`) and reconfigures the device. Errors:
// malformed input, the etcd store (keys come from node records), no stored peer via host.
func (a *Agent) SetPeerKey(ctx context.Context, req api.PeerKeyRequest) ([]api.Peer, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	host, err := parseIPv4("peer host IP", req.HostIP)
	if err != nil {
		return nil, err
	}
	key, err := parsePeerKey(req.WGPublicKey)
	if err != nil {
		return nil, err
	}
	if key == "" {
		return nil, invalid("peer WireGuard public key: missing")
	}
	if a.cl != nil {
		return nil, invalid("with --store etcd the peers' keys come from their node records (they publish rotations themselves)")
	}
	peers, err := a.store.Peers(ctx)
	if err != nil {
		return nil, err
	}
	var changed []api.Peer
	for _, p := range peers {
		if p.HostIP != host {
			continue
		}
		p.WGPublicKey = key
		if err := a.store.PutPeer(ctx, p); err != nil {
			return nil, fmt.Errorf("store peer %s: %w", p.CIDR, err)
		}
		changed = append(changed, p)
	}
	if len(changed) == 0 {
		return nil, notFound("no peer route via host %s (peer add it first)", host)
	}
	return changed, a.reconcilePeerHosts(ctx)
}
