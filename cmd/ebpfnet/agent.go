package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"
)

// agentBinary is the node agent's binary, run by `ebpfnet agent`.
const agentBinary = "ebpfnet-agent"

// newAgentCmd is `ebpfnet [--socket PATH] agent [FLAGS]`: it replaces this process with
// ebpfnet-agent (same PID, so signals and supervisors see the agent), with --socket from the
// CLI (flag or EBPFNET_SOCKET) and the flags after `agent` passed through as they are.
func newAgentCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:                "agent [--underlay-dev DEV ...]",
		Short:              "Run the node agent (" + agentBinary + ", see `ebpfnet agent --help`)",
		DisableFlagParsing: true, // the agent's flags are ebpfnet-agent's
		RunE: func(cmd *cobra.Command, _ []string) error {
			before, after := splitAtCommand(os.Args[1:], cmd.Name())
			if err := cmd.Root().PersistentFlags().Parse(before); err != nil {
				return err
			}
			bin, err := findAgent()
			if err != nil {
				return err
			}
			argv := append([]string{bin, "--socket", g.socket}, after...)
			return syscall.Exec(bin, argv, os.Environ())
		},
	}
}

// splitAtCommand splits argv at the command word name into the root's flags before it and the
// command's arguments after it. (Cobra hands a command without flag parsing both mixed.) The
// root's flags that take a value (--socket, -o/--output) are skipped with their value.
func splitAtCommand(argv []string, name string) (before, after []string) {
	for i := 0; i < len(argv); i++ {
		switch argv[i] {
		case name:
			return argv[:i], argv[i+1:]
		case "--socket", "-o", "--output":
			i++
		}
	}
	return argv, nil
}

// findAgent looks for ebpfnet-agent beside this executable, then in PATH.
func findAgent() (string, error) {
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), agentBinary)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	p, err := exec.LookPath(agentBinary)
	if errors.Is(err, exec.ErrNotFound) {
		return "", fmt.Errorf("%s not found beside %s or in PATH: install it with the CLI (make build puts both in bin/)", agentBinary, os.Args[0])
	}
	return p, err
}
