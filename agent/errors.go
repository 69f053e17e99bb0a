package agent

import (
	"errors"
	"fmt"
	"net/http"
)

// Error is an agent error with the HTTP status the API answers it with: 400 for bad input,
// 404 for unknown names, 409 for conflicts, 507 for full maps, 500 otherwise.
type Error struct {
	Status int
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

func badRequest(format string, a ...any) error {
	return &Error{Status: http.StatusBadRequest, Msg: fmt.Sprintf(format, a...)}
}

func notFound(format string, a ...any) error {
	return &Error{Status: http.StatusNotFound, Msg: fmt.Sprintf(format, a...)}
}

func conflict(format string, a ...any) error {
	return &Error{Status: http.StatusConflict, Msg: fmt.Sprintf(format, a...)}
}

func insufficientStorage(format string, a ...any) error {
	return &Error{Status: http.StatusInsufficientStorage, Msg: fmt.Sprintf(format, a...)}
}

// statusOf maps an error to its HTTP status.
func statusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return http.StatusInternalServerError
}
