// Command ebpfnet-cni is the ebpfnet CNI plugin; see package cni and README.md.
package main

import (
	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/version"

	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/cni"
)

func main() {
	p := &cni.Plugin{}
	skel.PluginMainFuncs(p.Funcs(), version.All, "CNI plugin ebpfnet-cni "+api.Version)
}
