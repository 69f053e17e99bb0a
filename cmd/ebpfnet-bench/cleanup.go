package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ebpfnet/ebpfnet/testbed"
)

// leftovers lists what still carries prefix, libcni cache files of this run included.
func leftovers(prefix string) []string {
	return testbed.Leftovers(prefix, filepath.Join("/var/lib/cni/results", "ebpfnet-bench-"+prefix+"-*"))
}

// sweep removes whatever still carries one of prefixes and reports what is left.
func sweep(prefixes []string) error {
	var errs []string
	for _, p := range prefixes {
		for _, l := range leftovers(p) {
			if err := testbed.RemoveLeftover(l); err != nil {
				errs = append(errs, err.Error())
			} else {
				fmt.Fprintf(os.Stderr, "cleanup: removed leftover %s\n", l)
			}
		}
		if left := leftovers(p); len(left) > 0 {
			errs = append(errs, "still present: "+strings.Join(left, ", "))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("cleanup: %s", strings.Join(errs, "; "))
	}
	return nil
}
