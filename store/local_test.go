package store

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ebpfnet/ebpfnet/api"
)

func TestLocalPersistsAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenLocal(dir)
	require.NoError(t, err)
	ep := api.Endpoint{Name: "web1", Netns: "/run/netns/c1", IP: netip.MustParseAddr("10.42.1.2"), Labels: map[string]string{"app": "web"}}
	require.NoError(t, s.PutEndpoint(t.Context(), ep))
	peer := api.Peer{CIDR: netip.MustParsePrefix("10.42.2.0/24"), HostIP: netip.MustParseAddr("172.31.0.2")}
	require.NoError(t, s.PutPeer(t.Context(), peer))
	web, err := s.Identity(t.Context(), "app=web")
	require.NoError(t, err)
	db, err := s.Identity(t.Context(), "app=db")
	require.NoError(t, err)
	require.Equal(t, uint32(FirstIdentity), web)
	require.Equal(t, uint32(FirstIdentity+1), db)
	require.NoError(t, s.Close())

	s, err = OpenLocal(dir)
	require.NoError(t, err)
	defer s.Close()
	eps, err := s.Endpoints(t.Context())
	require.NoError(t, err)
	require.Equal(t, []api.Endpoint{ep}, eps)
	peers, err := s.Peers(t.Context())
	require.NoError(t, err)
	require.Equal(t, []api.Peer{peer}, peers)
	again, err := s.Identity(t.Context(), "app=web")
	require.NoError(t, err)
	require.Equal(t, web, again, "identity stable across restarts")
	next, err := s.Identity(t.Context(), "app=cache")
	require.NoError(t, err)
	require.Equal(t, uint32(FirstIdentity+2), next)

	require.NoError(t, s.DeleteEndpoint(t.Context(), "web1"))
	require.ErrorIs(t, s.DeleteEndpoint(t.Context(), "web1"), ErrNotFound)
	require.ErrorIs(t, s.DeletePeer(t.Context(), netip.MustParsePrefix("10.42.9.0/24")), ErrNotFound)
}

func TestLocalSecondOpenIsLocked(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenLocal(dir)
	require.NoError(t, err)
	defer s.Close()
	_, err = OpenLocal(dir)
	require.ErrorIs(t, err, ErrLocked)
}
