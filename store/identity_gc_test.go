package store

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// checkDeleteIdentity: an identity is deleted only while it still has the number the caller
// saw; its number is not handed out again; a new allocation gets a new one.
func checkDeleteIdentity(t *testing.T, s Store) {
	t.Helper()
	web, err := s.Identity(t.Context(), "app=web")
	require.NoError(t, err)
	db, err := s.Identity(t.Context(), "app=db")
	require.NoError(t, err)
	require.NoError(t, s.DeleteIdentity(t.Context(), "app=web", db), "wrong number: nothing happens")
	ids, err := s.Identities(t.Context())
	require.NoError(t, err)
	require.Equal(t, map[string]uint32{"app=web": web, "app=db": db}, ids)

	require.NoError(t, s.DeleteIdentity(t.Context(), "app=web", web))
	ids, err = s.Identities(t.Context())
	require.NoError(t, err)
	require.Equal(t, map[string]uint32{"app=db": db}, ids)
	again, err := s.Identity(t.Context(), "app=web")
	require.NoError(t, err)
	require.Greater(t, again, db, "a freed number is not reused")
	require.NoError(t, s.DeleteIdentity(t.Context(), "app=gone", 999), "absent: nothing to do")
}

func TestLocalDeleteIdentity(t *testing.T) {
	s, err := OpenLocal(t.TempDir())
	require.NoError(t, err)
	defer s.Close()
	checkDeleteIdentity(t, s)
}

func TestEtcdDeleteIdentity(t *testing.T) {
	t.Parallel()
	checkDeleteIdentity(t, openNode(t, sharedEtcd(t), testPrefix(t), "n1"))
}
