// Package testbed builds throwaway network-namespace topologies for ebpfnet's
// end-to-end tests, demo binary and benchmarks.
//
// A Bed owns everything it creates — named network namespaces (visible
// under /run/netns), netlink handles bound to them, processes started in
// them and a temporary directory — and Bed.Close removes all of it. Nothing
// in the caller's (root) network namespace is modified: links, addresses
// and routes are configured through netlink handles bound to the bed's
// namespaces, and commands run via `nsenter --net=<path>` (which, unlike
// `ip netns exec`, keeps the caller's /sys so /sys/fs/bpf stays visible).
//
// The package does not import "testing"; it is used by non-test binaries.
package testbed
