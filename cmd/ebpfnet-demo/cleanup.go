package main

import (
	"errors"

	"github.com/ebpfnet/ebpfnet/testbed"
)

// freePrefix returns a random bed prefix ("demo" + 4 hex digits) that no existing namespace or
// pin dir uses, so that anything carrying it later was made by this run and the leftover sweep
// in cleanup can never touch someone else's namespaces.
func freePrefix() (string, error) {
	for range 20 {
		p := testbed.UniquePrefix("demo")
		if len(testbed.Leftovers(p)) == 0 {
			return p, nil
		}
	}
	return "", errors.New("no free namespace prefix found")
}
