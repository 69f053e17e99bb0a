package testbed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// DefaultRunTimeout bounds Run when its context has no deadline.
const DefaultRunTimeout = 60 * time.Second

// maxErrOutput caps how much command output is copied into an error.
const maxErrOutput = 4096

// Command returns an exec.Cmd that runs argv inside namespace name via
// `nsenter --net=/run/netns/<prefix>-<name> -- argv...`. If name is not a
// namespace of this bed or argv is empty, the returned Cmd's Err is set, so
// Start/Run/Output fail with that error.
func (b *Bed) Command(name string, argv ...string) *exec.Cmd {
	path, err := b.Path(name)
	return nsenterCmd(exec.Command, path, err, argv)
}

// commandContext is Command bound to ctx: when ctx ends, the command's whole
// process group is killed (SIGKILL).
func (b *Bed) commandContext(ctx context.Context, name string, argv ...string) *exec.Cmd {
	path, err := b.Path(name)
	cmd := nsenterCmd(func(n string, a ...string) *exec.Cmd {
		return exec.CommandContext(ctx, n, a...)
	}, path, err, argv)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	return cmd
}

// nsenterCmd builds the nsenter command with mk, recording err (or an
// empty-argv error) in Cmd.Err.
func nsenterCmd(mk func(string, ...string) *exec.Cmd, path string, err error, argv []string) *exec.Cmd {
	cmd := mk("nsenter", append([]string{"--net=" + path, "--"}, argv...)...)
	switch {
	case err != nil:
		cmd.Err = err
	case len(argv) == 0:
		cmd.Err = errors.New("testbed: empty command")
	}
	return cmd
}

// Run runs argv in namespace name and returns its combined stdout+stderr.
// If ctx has no deadline, DefaultRunTimeout applies. A non-zero exit,
// timeout or start failure returns an error that includes the (tail of
// the) output, e.g. `run "ping -c 1 10.0.0.9" in netns "t3f9a-a": exit
// status 1: <output>`.
func (b *Bed) Run(ctx context.Context, name string, argv ...string) (string, error) {
	ctx, cancel := withDefaultTimeout(ctx, DefaultRunTimeout)
	defer cancel()
	out, err := b.commandContext(ctx, name, argv...).CombinedOutput()
	if err != nil {
		return string(out), b.runError(ctx, name, argv, err, out)
	}
	return string(out), nil
}

// runSplit is Run with stdout and stderr kept apart (stdout returned; the
// error includes stderr).
func (b *Bed) runSplit(ctx context.Context, name string, argv ...string) (string, error) {
	ctx, cancel := withDefaultTimeout(ctx, DefaultRunTimeout)
	defer cancel()
	cmd := b.commandContext(ctx, name, argv...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), b.runError(ctx, name, argv, err, stderr.Bytes())
	}
	return string(out), nil
}

// runError formats a Run failure with context and output.
func (b *Bed) runError(ctx context.Context, name string, argv []string, err error, out []byte) error {
	if ctx.Err() != nil {
		err = fmt.Errorf("%w (%w)", err, ctx.Err())
	}
	s := strings.TrimSpace(string(out))
	if len(s) > maxErrOutput {
		s = "..." + s[len(s)-maxErrOutput:]
	}
	return fmt.Errorf("run %q in netns %q: %w: %s", strings.Join(argv, " "), b.prefix+"-"+name, err, s)
}

// withDefaultTimeout adds timeout to ctx unless it already has a deadline.
func withDefaultTimeout(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, timeout)
}
