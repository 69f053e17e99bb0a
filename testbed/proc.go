package testbed

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// StopGrace is how long Stop (and Close) wait after SIGTERM before SIGKILL.
const StopGrace = 3 * time.Second

// killWait is how long to wait for exit after SIGKILL before giving up.
const killWait = 5 * time.Second

// Proc is a long-running process started by Bed.Start in its own process
// group. Its stdout and stderr go to a log file in the bed's temp dir.
type Proc struct {
	cmd     *exec.Cmd
	desc    string // "argv0 in netns full-name", for errors
	logPath string
	done    chan struct{}
	err     error // cmd.Wait result, valid after done is closed
}

// Start starts argv in namespace name, tracked by the bed: Close stops it.
// stdout/stderr go to <TempDir>/<n>-<name>-<argv0>.log. The process runs in
// its own process group; signals go to that group so helpers it forks die
// with it. Errors: unknown namespace, empty argv, closed bed, exec failure.
func (b *Bed) Start(name string, argv ...string) (*Proc, error) {
	cmd := b.Command(name, argv...)
	if cmd.Err != nil {
		return nil, fmt.Errorf("start in netns %q: %w", name, cmd.Err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, fmt.Errorf("testbed %q: closed", b.prefix)
	}
	logPath := filepath.Join(b.tmp, fmt.Sprintf("%02d-%s-%s.log", len(b.procs), name, filepath.Base(argv[0])))
	f, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("start %q in netns %q: log file: %w", argv[0], name, err)
	}
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %q in netns %q: %w", strings.Join(argv, " "), name, err)
	}
	p := &Proc{cmd: cmd, desc: fmt.Sprintf("%q in netns %q", argv[0], b.prefix+"-"+name), logPath: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	b.procs = append(b.procs, p)
	return p, nil
}

// PID returns the process ID (the nsenter process execs argv in place, so
// this is argv's PID; it is also the process group ID).
func (p *Proc) PID() int { return p.cmd.Process.Pid }

// LogPath returns the path of the process's combined stdout/stderr log.
func (p *Proc) LogPath() string { return p.logPath }

// Log returns the log's current contents ("" if it cannot be read).
func (p *Proc) Log() string {
	b, _ := os.ReadFile(p.logPath)
	return string(b)
}

// Done returns a channel closed when the process has exited and been reaped.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Exited reports (without blocking) whether the process has exited.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Wait blocks until the process exits and returns its exit error (nil for
// status 0, *exec.ExitError otherwise). Safe to call repeatedly.
func (p *Proc) Wait() error {
	<-p.done
	return p.err
}

// Stop sends SIGTERM to the process group, waits up to StopGrace, then sends
// SIGKILL and waits. It returns nil once the process has exited (whatever
// its status; use Wait for that) and an error if it could not be stopped.
func (p *Proc) Stop() error {
	if p.Exited() {
		return nil
	}
	p.signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(StopGrace):
	}
	return p.Kill()
}

// Kill sends SIGKILL to the process group and waits up to 5s for exit.
func (p *Proc) Kill() error {
	if p.Exited() {
		return nil
	}
	p.signal(syscall.SIGKILL)
	select {
	case <-p.done:
		return nil
	case <-time.After(killWait):
		return fmt.Errorf("process %d (%s) did not exit after SIGKILL", p.PID(), p.desc)
	}
}

// signal sends sig to the process group (falling back to the PID alone).
// Callers only signal processes not yet seen to exit.
func (p *Proc) signal(sig syscall.Signal) {
	if err := syscall.Kill(-p.PID(), sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		_ = p.cmd.Process.Signal(sig)
	}
}

// WaitLog polls the log every 50ms until it contains substr. It fails if
// ctx ends first or the process exits without having logged substr; the
// error includes the log's tail.
func (p *Proc) WaitLog(ctx context.Context, substr string) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if strings.Contains(p.Log(), substr) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: waiting for %q in log: %w; log: %s", p.desc, substr, ctx.Err(), tail(p.Log()))
		case <-p.done:
			if strings.Contains(p.Log(), substr) {
				return nil
			}
			return fmt.Errorf("%s exited (%v) before logging %q; log: %s", p.desc, p.err, substr, tail(p.Log()))
		case <-tick.C:
		}
	}
}

// tail returns the last maxErrOutput bytes of s, trimmed.
func tail(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > maxErrOutput {
		return "..." + s[len(s)-maxErrOutput:]
	}
	return s
}
