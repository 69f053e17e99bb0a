package agent

import "github.com/ebpfnet/ebpfnet/api"

// Refusals by meaning (api.ErrInvalid and the others); the HTTP layer (agent/httpapi) alone
// turns them into status codes.

func invalid(format string, a ...any) error { return api.Errorf(api.ErrInvalid, format, a...) }

func notFound(format string, a ...any) error { return api.Errorf(api.ErrNotFound, format, a...) }

func conflict(format string, a ...any) error { return api.Errorf(api.ErrConflict, format, a...) }

func full(format string, a ...any) error {
	return api.Errorf(api.ErrFull, format, a...)
}
