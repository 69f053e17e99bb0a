// Package cni is ebpfnet's CNI plugin (spec 1.1: ADD, DEL, CHECK, GC, STATUS), built as
// cmd/ebpfnet-cni. The plugin runs in the host's network namespace and only talks to the
// node's ebpfnet agent over its API socket: addresses come from a delegated IPAM plugin
// (host-local on the agent's pod CIDR by default), the agent creates the veth into the
// container, configures it and programs the datapath.
package cni
