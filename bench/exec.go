package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/vishvananda/netns"

	"github.com/ebpfnet/ebpfnet/testbed"
)

// startServer starts argv in namespace ns (tracked by the bed, so Bed.Close kills it by PID
// if the caller does not) and waits until something listens on TCP port there.
func startServer(ctx context.Context, bed *testbed.Bed, ns string, port int, argv ...string) (*testbed.Proc, error) {
	p, err := bed.Start(ns, argv...)
	if err != nil {
		return nil, err
	}
	if err := waitListening(ctx, bed, ns, port, p); err != nil {
		_ = p.Stop()
		return nil, err
	}
	return p, nil
}

// waitListening polls `ss -Hltn sport = :port` in ns every 50 ms (at most 10 s) until a TCP
// listener shows up; it fails early when p exits.
func waitListening(ctx context.Context, bed *testbed.Bed, ns string, port int, p *testbed.Proc) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		out, err := bed.Run(ctx, ns, "ss", "-Hltn", "sport", "=", ":"+strconv.Itoa(port))
		if err == nil && strings.TrimSpace(out) != "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no listener on port %d in %s: %w; log: %s", port, ns, ctx.Err(), lastLines(p.Log(), 5))
		case <-p.Done():
			return fmt.Errorf("server exited before listening on port %d in %s: %v; log: %s", port, ns, p.Wait(), lastLines(p.Log(), 5))
		case <-tick.C:
		}
	}
}

// runOut runs argv in ns with a timeout and returns its stdout; stderr goes into the error.
func runOut(ctx context.Context, bed *testbed.Bed, ns string, timeout time.Duration, argv ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return bed.Run(ctx, ns, argv...)
}

// timedExecIn runs argv (with extra environment and stdin) directly inside namespace ns and
// returns its wall-clock time. The calling OS thread is switched into ns for the fork, so the
// child starts there without an nsenter in between: the time is the command's own, as an
// operator typing it in that namespace would see it.
func timedExecIn(ctx context.Context, bed *testbed.Bed, ns string, env []string, stdin []byte, argv ...string) (time.Duration, string, error) {
	target, err := bed.NsHandle(ns)
	if err != nil {
		return 0, "", err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(cmd.Environ(), env...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out

	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		return 0, "", fmt.Errorf("current netns: %w", err)
	}
	defer orig.Close()
	if err := netns.Set(target); err != nil {
		return 0, "", fmt.Errorf("enter netns %s: %w", ns, err)
	}
	start := time.Now()
	err = cmd.Start()
	if serr := netns.Set(orig); serr != nil {
		panic(fmt.Sprintf("bench: cannot return to the original netns: %v", serr)) // thread unusable
	}
	if err == nil {
		err = cmd.Wait()
	}
	d := time.Since(start)
	if err != nil {
		return d, out.String(), fmt.Errorf("%s in %s: %w: %s", strings.Join(argv, " "), ns, err, lastLines(out.String(), 5))
	}
	return d, out.String(), nil
}

// pinned prefixes argv with `taskset -c <CPU>`: the per-packet measures (request/response,
// UDP packet rate, new connections) run client, server and so all their packet processing on
// one CPU. Each figure is then the per-packet cost on one CPU, and the VM's cross-CPU wake-up
// of an idle vCPU (about 40 us here, which made round trips bimodal, 15 or 55 us, depending
// on where the scheduler put the two ends) stays out of it. TCP streams run unpinned.
func pinned(argv ...string) []string {
	cpu := "0"
	if runtime.NumCPU() > 1 {
		cpu = "1"
	}
	return append([]string{"taskset", "-c", cpu}, argv...)
}

// lastLines returns the last n non-empty lines of s, joined by " | ".
func lastLines(s string, n int) string {
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// logf writes a progress line to w (nil = discard).
func logf(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, format+"\n", args...)
	}
}
