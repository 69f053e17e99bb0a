package loader

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// ErrPinDirBusy means another process (normally a running agent) holds the pin directory.
var ErrPinDirBusy = errors.New("pin directory is in use by another ebpfnet agent")

// LockPinDir takes an exclusive, non-blocking flock on pinDir (which must exist, see
// EnsurePinDir) so that two agents never drive the same maps. The lock goes with the process;
// unlock releases it earlier.
func LockPinDir(pinDir string) (unlock func() error, err error) {
	f, err := os.Open(pinDir)
	if err != nil {
		return nil, fmt.Errorf("lock pin dir: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s: %w", pinDir, ErrPinDirBusy)
		}
		return nil, fmt.Errorf("lock pin dir %s: %w", pinDir, err)
	}
	return f.Close, nil
}
