package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/ebpfnet/ebpfnet/agent"
	"github.com/ebpfnet/ebpfnet/agent/cluster"
	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/store"
)

// etcdOnlyFlags are the agent flags that only mean something with --store etcd; with the
// local store they are refused, and their help says so.
var etcdOnlyFlags = []string{"etcd-endpoints", "etcd-cacert", "etcd-cert", "etcd-key", "etcd-prefix",
	"node-name", "node-ttl", "pod-cidr-size", "cidr-grace"}

// addStoreFlags registers the agent's store and cluster flags into cfg.Store.
func addStoreFlags(f *pflag.FlagSet, cfg *agent.Config) {
	sc := &cfg.Store
	host, _ := os.Hostname()
	f.StringVar(&sc.Kind, "store", api.StoreLocal, "desired-state store: local (bbolt in --state-dir) or etcd (shared by all hosts)")
	f.StringSliceVar(&sc.Etcd.Endpoints, "etcd-endpoints", nil, "etcd client URLs, comma-separated")
	f.StringVar(&sc.Etcd.CACert, "etcd-cacert", "", "PEM file of the CA that signed etcd's server certificates")
	f.StringVar(&sc.Etcd.Cert, "etcd-cert", "", "PEM file of this agent's etcd client certificate")
	f.StringVar(&sc.Etcd.Key, "etcd-key", "", "PEM file of this agent's etcd client key")
	f.StringVar(&sc.Etcd.Prefix, "etcd-prefix", store.DefaultEtcdPrefix, "etcd key prefix of this cluster")
	f.StringVar(&sc.Etcd.NodeName, "node-name", host, "this host's node name in the cluster")
	f.DurationVar(&sc.NodeTTL, "node-ttl", cluster.DefaultNodeTTL, "lease TTL of the node's registration; other hosts drop its routes this long after the agent dies")
	f.IntVar(&sc.PodCIDRSize, "pod-cidr-size", cluster.DefaultPodCIDRSize, "prefix length of the pod CIDR allocated when --pod-cidr is not given")
	f.DurationVar(&sc.CIDRGrace, "cidr-grace", cluster.DefaultCIDRGrace, "how long a departed node's pod CIDR stays reserved for it")
	for _, name := range etcdOnlyFlags {
		f.Lookup(name).Usage += " (--store etcd only)"
	}
}

// checkStoreFlags rejects etcd flags without --store etcd and --store etcd without endpoints.
func checkStoreFlags(cmd *cobra.Command, cfg *agent.Config) error {
	switch cfg.Store.Kind {
	case api.StoreEtcd:
		if len(cfg.Store.Etcd.Endpoints) == 0 {
			return fmt.Errorf("--store etcd needs --etcd-endpoints (e.g. http://10.0.0.1:2379)")
		}
	case api.StoreLocal:
		for _, name := range etcdOnlyFlags {
			if cmd.Flags().Changed(name) {
				return fmt.Errorf("--%s needs --store etcd (the local store has no cluster: no node name, lease or CIDR allocation)", name)
			}
		}
	default:
		return fmt.Errorf("invalid --store %q: want local or etcd", cfg.Store.Kind)
	}
	return nil
}
