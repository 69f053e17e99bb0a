package main

import (
	"bytes"
	"net"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeAgent serves answers[path] (raw JSON) on a unix socket, as an agent with nothing in it
// would, and returns the socket path.
func fakeAgent(t *testing.T, answers map[string]string) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.Listen("unix", sock)
	require.NoError(t, err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := answers[r.URL.Path]
		if !ok {
			http.Error(w, `{"error":"not found"}`, http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(body))
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return sock
}

// runCLI runs the CLI in-process with args and returns its standard output.
func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

// An agent with no endpoints, peers, nodes, NAT entries, ports or rules answers null (a nil
// Go slice); every list command prints an empty JSON list ([] or {}), never null.
func TestListCommandsPrintEmptyJSON(t *testing.T) {
	sock := fakeAgent(t, map[string]string{
		"/v1/endpoints": "null",
		"/v1/peers":     "null",
		"/v1/nodes":     "null",
		"/v1/nat":       "null",
		"/v1/ports":     "null",
		"/v1/policy":    `{"defaultPolicyAction":"allow","rules":null}`,
	})
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"endpoint", "list"}, "[]\n"},
		{[]string{"peer", "list"}, "[]\n"},
		{[]string{"node", "list"}, "[]\n"},
		{[]string{"nat", "list"}, "[]\n"},
		{[]string{"publish", "list"}, "{}\n"},
	} {
		out, err := runCLI(t, append([]string{"--socket", sock, "-o", "json"}, tc.args...)...)
		require.NoError(t, err, tc.args)
		assert.Equal(t, tc.want, out, "%v -o json", tc.args)
	}
	out, err := runCLI(t, "--socket", sock, "-o", "json", "policy", "list")
	require.NoError(t, err)
	assert.Contains(t, out, `"rules": []`)
	assert.NotContains(t, out, "null")
}
