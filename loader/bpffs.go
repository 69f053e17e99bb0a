package loader

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// DefaultBPFFS is where bpffs is conventionally mounted; it is not mounted at boot on every
// distribution (Debian 12 does not).
const DefaultBPFFS = "/sys/fs/bpf"

// onBPFFS reports whether path (which must exist) lives on a bpf filesystem (BPF_FS_MAGIC).
func onBPFFS(path string) (bool, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return false, fmt.Errorf("statfs %s: %w", path, err)
	}
	return uint32(st.Type) == unix.BPF_FS_MAGIC, nil
}

// EnsurePinDir creates pinDir on bpffs, mounting bpffs at /sys/fs/bpf first when pinDir is
// below it and nothing is mounted there yet. Errors if pinDir ends up outside any bpffs.
func EnsurePinDir(pinDir string) error {
	pinDir = filepath.Clean(pinDir)
	if rel, err := filepath.Rel(DefaultBPFFS, pinDir); err == nil && filepath.IsLocal(rel) {
		ok, err := onBPFFS(DefaultBPFFS)
		if err != nil {
			return err
		}
		if !ok {
			if err := unix.Mount("bpf", DefaultBPFFS, "bpf", 0, "mode=0700"); err != nil {
				return fmt.Errorf("mount bpffs at %s: %w", DefaultBPFFS, err)
			}
		}
	}
	if err := os.MkdirAll(filepath.Join(pinDir, linksDir), 0o700); err != nil {
		return fmt.Errorf("create pin dir: %w", err)
	}
	ok, err := onBPFFS(pinDir)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("pin dir %s is not on a bpf filesystem (mount -t bpf bpf <dir>)", pinDir)
	}
	return nil
}
