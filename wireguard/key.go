package wireguard

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"
)

// KeyFile is the name of the private key file in the agent's state dir.
const KeyFile = "wireguard.key"

// keyMode is the only mode a private key file may have: owner read/write.
const keyMode fs.FileMode = 0o600

// LoadOrCreateKey returns the node's Curve25519 private key from <stateDir>/wireguard.key
// (one line, standard base64 of 32 bytes, the format of `wg genkey`), creating the file with a
// new key (wgtypes.GeneratePrivateKey, clamped per RFC 7748) and mode 0600 when it does not
// exist. Errors: a file whose mode grants group or other any access ("... has mode 0644, want
// 0600: chmod 600 it"), a malformed key, I/O errors. Nothing is written on error.
func LoadOrCreateKey(stateDir string) (wgtypes.Key, error) {
	path := filepath.Join(stateDir, KeyFile)
	k, err := loadKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	if k, err = NewKey(); err != nil {
		return wgtypes.Key{}, err
	}
	return k, SaveKey(stateDir, k)
}

// NewKey returns a new Curve25519 private key (wgtypes.GeneratePrivateKey, clamped per RFC
// 7748). Errors: the system's random source failed.
func NewKey() (wgtypes.Key, error) {
	k, err := wgtypes.GeneratePrivateKey()
	if err != nil {
		return wgtypes.Key{}, fmt.Errorf("generate WireGuard key: %w", err)
	}
	return k, nil
}

// SaveKey writes private key k to <stateDir>/wireguard.key (one base64 line, mode 0600),
// replacing the file atomically by rename. Errors: I/O.
func SaveKey(stateDir string, k wgtypes.Key) error {
	path := filepath.Join(stateDir, KeyFile)
	tmp, err := os.CreateTemp(stateDir, KeyFile+".*")
	if err != nil {
		return fmt.Errorf("write WireGuard key: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	_, err = tmp.WriteString(k.String() + "\n")
	err = errors.Join(err, tmp.Chmod(keyMode), tmp.Sync(), tmp.Close())
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("write WireGuard key %s: %w", path, err)
	}
	return nil
}

// loadKey reads and checks the key file at path; errors wrap fs.ErrNotExist when it is missing.
func loadKey(path string) (wgtypes.Key, error) {
	st, err := os.Stat(path)
	if err != nil {
		return wgtypes.Key{}, fmt.Errorf("WireGuard key file: %w", err)
	}
	if st.Mode().Perm()&^keyMode != 0 || !st.Mode().IsRegular() {
		return wgtypes.Key{}, fmt.Errorf("WireGuard key file %s has mode %v, want a regular file with mode 0600 (chmod 600 it)", path, st.Mode())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return wgtypes.Key{}, fmt.Errorf("WireGuard key file: %w", err)
	}
	k, err := ParseKey(strings.TrimSpace(string(b)))
	if err != nil {
		return wgtypes.Key{}, fmt.Errorf("WireGuard key file %s: %w", path, err)
	}
	return k, nil
}

// ParseKey parses a WireGuard key (private or public): standard base64 of 32 bytes, 44
// characters, as `wg genkey`/`wg pubkey` print it. The all-zero key is refused (it is
// wgtypes' "no key" and not a valid Curve25519 public key). Errors name the input.
func ParseKey(s string) (wgtypes.Key, error) {
	k, err := wgtypes.ParseKey(s)
	if err != nil {
		return wgtypes.Key{}, fmt.Errorf("malformed WireGuard key %q: want 44 characters of base64 (32 bytes, as `wg genkey` prints)", s)
	}
	if k == (wgtypes.Key{}) {
		return wgtypes.Key{}, fmt.Errorf("malformed WireGuard key %q: all zero", s)
	}
	return k, nil
}
