// Package endpoint plumbs a container's network endpoint: a veth pair whose
// host side lives in a host network namespace and whose peer lives in the
// container's network namespace, configured with an IPv4 address, MTU, MACs
// and a default route.
//
// All netlink work is done through handles bound to the relevant namespace
// (netlink.NewHandleAt), so the calling goroutine's OS thread never switches
// namespaces. The package never touches sysctls.
//
// It is shared by the ebpfnet agent and the CNI plugin.
package endpoint
