package testbed

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Binaries the testbed runs: the CLI, the agent binary that `ebpfnet agent` executes from
// beside it, and the userspace WireGuard helper the agent starts from beside itself.
const (
	CLIBinary       = "ebpfnet"
	AgentBinary     = "ebpfnet-agent"
	WireGuardBinary = "ebpfnet-wireguard"
)

// BuildCLI builds the ebpfnet CLI, ebpfnet-agent and ebpfnet-wireguard into dir with `go build`
// (run from inside the module) and returns the CLI's path. Errors carry go build's output.
func BuildCLI(ctx context.Context, dir string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", dir+string(filepath.Separator),
		"github.com/ebpfnet/ebpfnet/cmd/"+CLIBinary, "github.com/ebpfnet/ebpfnet/cmd/"+AgentBinary,
		"github.com/ebpfnet/ebpfnet/cmd/"+WireGuardBinary)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/%s ./cmd/%s ./cmd/%s (run from the repository): %w\n%s", CLIBinary, AgentBinary, WireGuardBinary, err, out)
	}
	return filepath.Join(dir, CLIBinary), nil
}

// CheckCLI returns the absolute path of a given CLI binary after checking that it and
// ebpfnet-agent beside it are executable files.
func CheckCLI(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	for _, p := range []string{abs, filepath.Join(filepath.Dir(abs), AgentBinary)} {
		if st, err := os.Stat(p); err != nil || st.IsDir() || st.Mode().Perm()&0o111 == 0 {
			return "", fmt.Errorf("%s: not an executable file (the CLI needs %s beside it)", p, AgentBinary)
		}
	}
	return abs, nil
}
