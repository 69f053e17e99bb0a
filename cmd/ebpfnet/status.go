package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/ebpfnet/ebpfnet/api"
)

func newStatusCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use: "status", Short: "Show the node, its datapath and its counters", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := g.agent().Status()
			if err != nil {
				return err
			}
			return render(cmd.OutOrStdout(), g, st, func(w io.Writer) {
				n := st.Node
				row(w, "agent", st.Version)
				row(w, "underlay", fmt.Sprintf("%s %s (VTEP MAC %s)", n.UnderlayDev, n.UnderlayIP, n.RouterMAC))
				row(w, "vni", n.VNI)
				row(w, "cluster CIDR", n.Cluster)
				if n.PodCIDR.IsValid() {
					row(w, "pod CIDR", n.PodCIDR)
				}
				row(w, "gateway", n.Gateway)
				row(w, "container MTU", n.MTU)
				row(w, "encryption", n.Encryption)
				row(w, "xdp", xdpLine(st.XDP))
				wireGuardRows(w, st.WireGuard)
				row(w, "pin dir", st.PinDir)
				row(w, "state", st.StatePath)
				row(w, "store", storeLine(st.Store))
				if st.Store.Kind == api.StoreEtcd {
					row(w, "node", fmt.Sprintf("%s (registered: %t)", st.Store.NodeName, st.Store.Registered))
					row(w, "nodes", st.Nodes)
				}
				row(w, "endpoints", st.Endpoints)
				row(w, "peers", st.Peers)
				for _, p := range st.OffLinkPeers {
					row(w, "WARNING native", p)
				}
				for _, u := range st.Conntrack {
					row(w, "conntrack "+u.Endpoint, fmt.Sprintf("%d of %d entries (%s; table %d)", u.Entries, u.Limit, u.IP, st.CTMax))
				}
				for _, c := range st.Counters {
					row(w, c.Name, fmt.Sprintf("%d packets, %d bytes", c.Packets, c.Bytes))
				}
				for _, m := range st.Maps {
					row(w, "map "+m.Map, fillLine(m))
				}
			})
		},
	}
}

func newVersionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use: "version", Short: "Print the version", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := map[string]string{"version": api.Version}
			return render(cmd.OutOrStdout(), g, v, func(w io.Writer) { row(w, "ebpfnet", api.Version) })
		},
	}
}

// fillWarn is the fill level above which `ebpfnet status` warns about a map.
const fillWarn = 0.9

// fillLine is a map row of `ebpfnet status`: entries of capacity, percent, and a warning above
// fillWarn (a full ct map refuses new flows, a full endpoints or policy map refuses changes).
func fillLine(m api.MapFill) string {
	pct := 100 * float64(m.Entries) / float64(max(m.Capacity, 1))
	line := fmt.Sprintf("%d / %d entries (%.1f%%)", m.Entries, m.Capacity, pct)
	if pct > 100*fillWarn {
		line += fmt.Sprintf(" WARNING: over %.0f%% full", 100*fillWarn)
	}
	return line
}

// storeLine is the store row of `ebpfnet status`: kind and health.
func storeLine(s api.StoreStatus) string {
	if s.Healthy {
		if s.Error != "" {
			return fmt.Sprintf("%s, healthy (%s)", s.Kind, s.Error)
		}
		return s.Kind + ", healthy"
	}
	return fmt.Sprintf("%s, UNHEALTHY: %s", s.Kind, s.Error)
}

// wireGuardRows prints the WireGuard device and one row per encrypted peer host.
func wireGuardRows(w io.Writer, wg *api.WireGuardStatus) {
	if wg == nil {
		return
	}
	row(w, "wireguard", fmt.Sprintf("%s %s, port %d, public key %s", wg.Impl, wg.Device, wg.ListenPort, wg.PublicKey))
	if wg.Error != "" {
		row(w, "wireguard error", wg.Error)
	}
	for _, p := range wg.Peers {
		row(w, "wireguard peer "+p.HostIP.String(), fmt.Sprintf("handshake %s, rx %d bytes, tx %d bytes, key %s",
			handshakeAge(p.LastHandshake), p.RxBytes, p.TxBytes, p.PublicKey))
	}
}

// handshakeAge says how long ago a WireGuard handshake was, or "never".
func handshakeAge(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return time.Since(t).Round(time.Second).String() + " ago"
}

// xdpLine is the XDP row of status: requested and kernel attach mode, the deny list's size and
// where it is enforced.
func xdpLine(x api.XDPStatus) string {
	where := "XDP"
	if x.TCPrefilter {
		where = "tc"
	}
	return fmt.Sprintf("%s (requested %s, attached: %t), prefilter %d prefixes at %s", x.Mode, x.Requested, x.Attached, x.Prefixes, where)
}
