package endpoint

import "errors"

// ErrNotFound is wrapped by Lookup when the host-side veth does not exist.
// Test with errors.Is(err, ErrNotFound).
var ErrNotFound = errors.New("endpoint not found")
