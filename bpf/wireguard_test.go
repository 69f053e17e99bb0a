package bpf_test

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"

	"github.com/ebpfnet/ebpfnet/bpf"
	"github.com/ebpfnet/ebpfnet/maps"
)

// withWireGuard turns encryption on in the fixture: a device standing for the WireGuard device
// (its ifindex goes in node_params.wg_ifindex) and the given peer hosts.
func (f *fixture) withWireGuard(t *testing.T, on bool, peers ...maps.Peer) {
	t.Helper()
	n, err := f.m.Node.Get()
	require.NoError(t, err)
	n.WireGuardIfIndex = 0
	if on {
		h, err := netlink.NewHandleAt(f.ns)
		require.NoError(t, err)
		defer h.Close()
		if l, err := h.LinkByName("wg0"); err == nil {
			n.WireGuardIfIndex = l.Attrs().Index
		} else {
			n.WireGuardIfIndex = addVeth(t, h, "wg0", nil) // no dummy module here; any device will do
		}
	}
	require.NoError(t, f.m.Node.Set(n))
	for _, p := range peers {
		require.NoError(t, f.m.Peers.Put(p))
	}
}

// TestEncryptedEncap: with encryption on, the finished VXLAN-GBP packet for a peer with a key
// is redirected without a route lookup (outer MACs stay zero: the WireGuard device is L3; a
// peer the underlay has no route to is still reached), a peer without a key gets nothing
// (drop_no_key) unless it is an explicit plain VXLAN peer, which gets it in clear.
func TestEncryptedEncap(t *testing.T) {
	f := newFixture(t)
	prog := f.dp.Programs().FromContainer
	farPeer := netip.MustParseAddr("192.0.2.9") // no underlay route: only the tunnel reaches it
	farCIDR := netip.MustParsePrefix("10.42.3.0/24")
	require.NoError(t, f.m.IPCache.Put(maps.Route{Prefix: farCIDR, TunnelEndpoint: farPeer, Identity: 3}))
	remote := netip.MustParseAddr("10.42.2.5")
	far := netip.MustParseAddr("10.42.3.5")
	zeroMAC := net.HardwareAddr{0, 0, 0, 0, 0, 0}

	send := func(dst netip.Addr) (uint32, []byte) {
		return f.run(t, prog, f.lxc1, icmpEcho(t, c1MAC, routerMAC, c1IP, dst, 64))
	}
	expect := func(smac, dmac net.HardwareAddr, peer, dst netip.Addr, out []byte) []byte {
		vtep := []byte{0x0e, 0x00}
		vtep = append(vtep, peer.AsSlice()...)
		sport := binary.BigEndian.Uint16(out[34:36])
		return vxlanFrame(t, smac, dmac, underlayIP, peer, sport, testVNI, 256, icmpEcho(t, routerMAC, vtep, c1IP, dst, 63))
	}

	f.withWireGuard(t, true, maps.Peer{IP: peerIP, Encrypt: true}, maps.Peer{IP: farPeer, Encrypt: true})
	for _, dst := range []netip.Addr{remote, far} {
		peer := peerIP
		if dst == far {
			peer = farPeer
		}
		before := f.counters(t)
		verdict, out := send(dst)
		require.Equal(t, uint32(tcActRedirect), verdict, "to %s: counters %v", dst, f.counters(t))
		require.Equal(t, expect(zeroMAC, zeroMAC, peer, dst, out), out, "to %s: VXLAN-GBP with identity 256, no route lookup", dst)
		require.Equal(t, before[bpf.DatapathMetricMETRIC_FWD_ENCAP].Packets+1, f.counters(t)[bpf.DatapathMetricMETRIC_FWD_ENCAP].Packets)
	}

	// Encryption off: the same peers get plain VXLAN through the underlay next hop again.
	f.withWireGuard(t, false)
	verdict, out := send(remote)
	require.Equal(t, uint32(tcActRedirect), verdict)
	require.Equal(t, expect(f.underlayMAC, peerMAC, peerIP, remote, out), out)
	verdict, _ = send(far)
	require.Equal(t, uint32(tcActShot), verdict, "no route to the far peer in clear")

	// Encryption on, peer without a key: nothing in clear; a plain VXLAN peer: clear.
	f.withWireGuard(t, true, maps.Peer{IP: peerIP})
	f.runCases(t, prog, []tcCase{
		{
			name: "peer without key: drop_no_key", ifindex: f.lxc1, in: icmpEcho(t, c1MAC, routerMAC, c1IP, remote, 64),
			verdict: tcActShot, metric: bpf.DatapathMetricMETRIC_DROP_NO_KEY,
		},
	})
	require.NoError(t, f.m.Peers.Delete(peerIP))
	f.runCases(t, prog, []tcCase{
		{
			name: "unknown peer host: drop_no_key", ifindex: f.lxc1, in: icmpEcho(t, c1MAC, routerMAC, c1IP, remote, 64),
			verdict: tcActShot, metric: bpf.DatapathMetricMETRIC_DROP_NO_KEY,
		},
	})
	f.withWireGuard(t, true, maps.Peer{IP: peerIP, PlainVXLAN: true})
	verdict, out = send(remote)
	require.Equal(t, uint32(tcActRedirect), verdict)
	require.Equal(t, expect(f.underlayMAC, peerMAC, peerIP, remote, out), out, "explicit plain VXLAN peer: clear")
}

// TestFromOverlayUnencrypted: with encryption on, plaintext VXLAN on the underlay from a host
// that has a key is dropped (drop_unencrypted), whatever it carries; from a plain VXLAN peer,
// or with encryption off, it is delivered.
func TestFromOverlayUnencrypted(t *testing.T) {
	f := newFixture(t)
	prog := f.dp.Programs().FromOverlay
	remote := netip.MustParseAddr("10.42.2.5")
	peerVTEPMAC := []byte{0x0e, 0x00, 172, 31, 0, 2}
	in := vxlanFrame(t, peerMAC, f.underlayMAC, peerIP, underlayIP, 40000, testVNI, 0,
		icmpEcho(t, peerVTEPMAC, routerMAC, remote, c1IP, 63))
	delivered := icmpEcho(t, routerMAC, c1MAC, remote, c1IP, 63)

	f.withWireGuard(t, true, maps.Peer{IP: peerIP, Encrypt: true})
	f.runCases(t, prog, []tcCase{{
		name: "plaintext VXLAN from a host with a key", in: in,
		verdict: tcActShot, metric: bpf.DatapathMetricMETRIC_DROP_UNENCRYPTED,
	}})
	f.withWireGuard(t, true, maps.Peer{IP: peerIP, PlainVXLAN: true})
	f.runCases(t, prog, []tcCase{{
		name: "plaintext VXLAN from a plain VXLAN peer", in: in,
		verdict: tcActRedirect, want: delivered, metric: bpf.DatapathMetricMETRIC_FWD_DECAP,
	}})
	f.withWireGuard(t, false, maps.Peer{IP: peerIP, Encrypt: true})
	f.runCases(t, prog, []tcCase{{
		name: "encryption off", in: in,
		verdict: tcActRedirect, want: delivered, metric: bpf.DatapathMetricMETRIC_FWD_DECAP,
	}})
}
