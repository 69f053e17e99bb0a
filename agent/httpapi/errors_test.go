package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/client"
)

// refusingOps answers DeleteEndpoint with err; the other operations are not called.
type refusingOps struct {
	Operations
	err error
}

func (o refusingOps) DeleteEndpoint(context.Context, string) error { return o.err }

// TestErrorKindsRoundTrip checks that every error kind crosses the socket: the server answers
// its status code and message, the client turns the code back into the same kind.
func TestErrorKindsRoundTrip(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "api.sock")
	ops := &refusingOps{}
	ln, err := net.Listen("unix", sock)
	require.NoError(t, err)
	srv := &http.Server{Handler: Handler(ops)}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	c := client.NewClient(sock)

	for _, tc := range []struct {
		kind   error
		status int
	}{
		{api.ErrInvalid, http.StatusBadRequest},
		{api.ErrNotFound, http.StatusNotFound},
		{api.ErrConflict, http.StatusConflict},
		{api.ErrFull, http.StatusInsufficientStorage},
		{api.ErrUnavailable, http.StatusServiceUnavailable},
		{api.ErrUnsupported, http.StatusNotImplemented},
	} {
		ops.err = fmt.Errorf("delete: %w", api.Errorf(tc.kind, "endpoint web1: %v", tc.kind))
		err := c.DeleteEndpoint("web1")
		var refused *client.Error
		require.ErrorAs(t, err, &refused)
		require.Equal(t, tc.status, refused.Status)
		require.ErrorIs(t, err, tc.kind)
		require.Equal(t, "delete: endpoint web1: "+tc.kind.Error(), err.Error(), "the agent's message as it is")
	}

	ops.err = errors.New("disk on fire")
	err = c.DeleteEndpoint("web1")
	var refused *client.Error
	require.ErrorAs(t, err, &refused)
	require.Equal(t, http.StatusInternalServerError, refused.Status)
	for _, kind := range []error{api.ErrInvalid, api.ErrNotFound, api.ErrConflict, api.ErrFull, api.ErrUnavailable, api.ErrUnsupported} {
		require.NotErrorIs(t, err, kind, "an error of no kind is none of them")
	}
}
