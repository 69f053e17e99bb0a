package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ebpfnet/ebpfnet/api"
)

// blockingOps holds AddPeer (a mutation) and Peers (a read) until the test lets them go, and
// reports the context each saw once it returns.
type blockingOps struct {
	Operations
	started chan string // the operation's name, when it runs
	release chan struct{}
	ended   chan error // ctx.Err() as the operation ends
}

func (o blockingOps) AddPeer(ctx context.Context, _ api.PeerRequest) (api.Peer, error) {
	o.started <- "AddPeer"
	<-o.release
	o.ended <- ctx.Err()
	return api.Peer{}, nil
}

func (o blockingOps) Peers(ctx context.Context) ([]api.Peer, error) {
	o.started <- "Peers"
	<-ctx.Done() // only the client's leaving ends it
	o.ended <- ctx.Err()
	return nil, nil
}

// TestClientLeavingCancelsReadsNotMutations checks requestContext's contract: a client that
// gives up cancels its read (GET), but not a mutation in progress, which runs to its end with
// a live context (the CNI plugin's retry then finds the change done, not half-made).
func TestClientLeavingCancelsReadsNotMutations(t *testing.T) {
	ops := blockingOps{started: make(chan string), release: make(chan struct{}), ended: make(chan error, 2)}
	srv := httptest.NewServer(Handler(ops))
	t.Cleanup(srv.Close)

	send := func(method, body string) context.CancelFunc {
		ctx, cancel := context.WithCancel(t.Context())
		req, err := http.NewRequestWithContext(ctx, method, srv.URL+"/v1/peers", strings.NewReader(body))
		require.NoError(t, err)
		go func() {
			if resp, err := srv.Client().Do(req); err == nil {
				resp.Body.Close()
			}
		}()
		return cancel
	}

	leavePost := send(http.MethodPost, `{}`)
	require.Equal(t, "AddPeer", <-ops.started)
	leaveGet := send(http.MethodGet, "")
	require.Equal(t, "Peers", <-ops.started)

	leavePost()
	leaveGet()
	require.ErrorIs(t, <-ops.ended, context.Canceled, "the read ends when its client leaves")
	close(ops.release) // the mutation's client left before the read's was noticed
	require.NoError(t, <-ops.ended, "the mutation's context outlives its client")
}
