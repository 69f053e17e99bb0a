package api

import (
	"errors"
	"fmt"
)

// Errors by meaning, shared by the agent and its client: the agent's operations return them
// (wrapped, see Errorf), its HTTP layer alone maps them to status codes (400, 404, 409, 507,
// 503, 501; anything else is 500) and the client maps the codes back, so callers on either
// side of the socket test them with errors.Is.
var (
	ErrInvalid     = errors.New("invalid request")         // bad input (HTTP 400)
	ErrNotFound    = errors.New("not found")               // unknown name (HTTP 404)
	ErrConflict    = errors.New("conflict")                // clashes with existing state (HTTP 409)
	ErrFull        = errors.New("capacity exceeded")       // more than a map holds (HTTP 507)
	ErrUnavailable = errors.New("temporarily unavailable") // cluster store down (HTTP 503)
	ErrUnsupported = errors.New("not supported")           // not with this agent's configuration (HTTP 501)
)

// KindError is an error of one of the kinds above whose text is its message alone (the API and
// the CLI show exactly that); errors.Is(err, Kind) holds.
type KindError struct {
	Kind error
	Msg  string
}

func (e *KindError) Error() string { return e.Msg }

// Unwrap returns the kind, for errors.Is.
func (e *KindError) Unwrap() error { return e.Kind }

// Errorf returns a *KindError of kind with the formatted message.
func Errorf(kind error, format string, a ...any) error {
	return &KindError{Kind: kind, Msg: fmt.Sprintf(format, a...)}
}
