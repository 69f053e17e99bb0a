package cni

import (
	"errors"
	"os"

	"github.com/containernetworking/cni/pkg/types"
)

// ownNetns is the network namespace the plugin runs in: the host's, where the runtime and the
// agent are.
const ownNetns = "/proc/self/ns/net"

// checkContainerNetns refuses a CNI_NETNS that does not exist (ErrUnknownContainer, 3) or that
// is the host's own network namespace (ErrInvalidEnvironmentVariables, 4: the spec's code for
// a bad CNI_* variable, naming it). It runs before IPAM: host-local refuses the host netns
// only after it has allocated ("plugin's netns and netns from CNI_NETNS should not be the
// same", skel), and its error then reaches the runtime garbled, with code 0, and leaks the
// address.
func checkContainerNetns(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return newError(types.ErrUnknownContainer, "container netns %q: %v", path, errors.Unwrap(err))
	}
	if isHostNetns(fi) {
		return envError("CNI_NETNS %q is the host's network namespace, not a container's", path)
	}
	return nil
}

// isHostNetns reports whether fi (os.Stat of a netns path) is the plugin's own namespace.
func isHostNetns(fi os.FileInfo) bool {
	own, err := os.Stat(ownNetns)
	return err == nil && os.SameFile(fi, own)
}
