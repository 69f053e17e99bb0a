package wireguard

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.zx2c4.com/wireguard/wgctrl"
)

// HelperName is the userspace device helper's executable name.
const HelperName = "ebpfnet-wireguard"

// helperReady bounds how long startHelper waits for the helper's UAPI socket.
const helperReady = 10 * time.Second

// helperExit bounds how long StopHelper waits for the helper to exit.
const helperExit = 5 * time.Second

// pidPath returns <stateDir>/wireguard-<name>.pid.
func pidPath(stateDir, name string) string {
	return filepath.Join(stateDir, "wireguard-"+name+".pid")
}

// logPath returns <stateDir>/wireguard-<name>.log, the helper's stdout and stderr.
func logPath(stateDir, name string) string {
	return filepath.Join(stateDir, "wireguard-"+name+".log")
}

// helperPath returns opts.Helper, or HelperName next to the running executable.
func helperPath(opts Options) (string, error) {
	if opts.Helper != "" {
		return opts.Helper, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find %s: %w", HelperName, err)
	}
	return filepath.Join(filepath.Dir(exe), HelperName), nil
}

// startHelper starts the helper for opts.Name detached (its own session, so it outlives the
// agent and its process group), in the caller's network namespace, records its PID and waits
// until its UAPI socket answers. On failure the helper is killed and the error carries the
// tail of its log.
func startHelper(opts Options) (int, error) {
	path, err := helperPath(opts)
	if err != nil {
		return 0, err
	}
	if _, err := os.Stat(path); err != nil {
		return 0, fmt.Errorf("userspace WireGuard needs %s: %w", HelperName, err)
	}
	logFile, err := os.OpenFile(logPath(opts.StateDir, opts.Name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return 0, fmt.Errorf("WireGuard helper log: %w", err)
	}
	defer logFile.Close()
	args := []string{"--name", opts.Name}
	if opts.MTU > 0 {
		args = append(args, "--mtu", strconv.Itoa(opts.MTU))
	}
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("start %s: %w", path, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }() // reaps it if it exits while this process runs
	pid := cmd.Process.Pid
	if err := waitUAPI(opts.Name, exited); err != nil {
		_ = cmd.Process.Kill()
		return 0, fmt.Errorf("%s for %s: %w; log %s: %s", HelperName, opts.Name, err, logPath(opts.StateDir, opts.Name), logTail(opts.StateDir, opts.Name))
	}
	if err := os.WriteFile(pidPath(opts.StateDir, opts.Name), []byte(strconv.Itoa(pid)+"\n"), 0o600); err != nil {
		_ = cmd.Process.Kill()
		return 0, fmt.Errorf("WireGuard helper pid file: %w", err)
	}
	opts.Logger.Info("started userspace WireGuard device", "device", opts.Name, "pid", pid, "helper", path)
	return pid, nil
}

// waitUAPI polls until device name answers on its UAPI socket, the helper exits, or
// helperReady passes.
func waitUAPI(name string, exited <-chan error) error {
	wg, err := wgctrl.New()
	if err != nil {
		return err
	}
	defer wg.Close()
	deadline := time.Now().Add(helperReady)
	for time.Now().Before(deadline) {
		if _, err := wg.Device(name); err == nil {
			return nil
		}
		select {
		case err := <-exited:
			return fmt.Errorf("exited before serving its device: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	return fmt.Errorf("UAPI socket did not answer within %v", helperReady)
}

// logTail returns the last lines of the helper's log.
func logTail(stateDir, name string) string {
	b, _ := os.ReadFile(logPath(stateDir, name))
	s := strings.TrimSpace(string(b))
	if len(s) > 1024 {
		s = s[len(s)-1024:]
	}
	return s
}

// readPID returns the PID in the helper's pid file if that process still runs the helper,
// else 0.
func readPID(stateDir, name string) int {
	b, err := os.ReadFile(pidPath(stateDir, name))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !strings.Contains(string(cmdline), HelperName) {
		return 0
	}
	return pid
}

// HelperPID returns the PID of the running userspace helper of device name, from its pid file
// in stateDir (checked to be that helper), or 0 when none runs (e.g. the kernel device).
func HelperPID(stateDir, name string) int { return readPID(stateDir, name) }

// StopHelper stops the userspace helper of device name recorded in stateDir's pid file
// (SIGTERM, checked to be that helper, then waits up to 5 s) and removes the pid file. It is a
// no-op when no helper runs. Errors: the helper did not exit in time.
func StopHelper(stateDir, name string) error {
	pid := readPID(stateDir, name)
	if pid != 0 {
		_ = syscall.Kill(pid, syscall.SIGTERM)
		deadline := time.Now().Add(helperExit)
		for readPID(stateDir, name) != 0 {
			if time.Now().After(deadline) {
				return fmt.Errorf("%s (pid %d) for %s did not exit after SIGTERM", HelperName, pid, name)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if err := os.Remove(pidPath(stateDir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove WireGuard helper pid file: %w", err)
	}
	return nil
}
