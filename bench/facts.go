package bench

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Facts describes the machine and the tools a run used.
type Facts struct {
	Kernel       string            `json:"kernel"`
	Arch         string            `json:"arch"`
	CPUs         int               `json:"cpus"`
	CPUModel     string            `json:"cpu_model"`
	MemTotal     string            `json:"mem_total"`
	LoadAvgStart string            `json:"loadavg_start"`
	LoadAvgEnd   string            `json:"loadavg_end,omitempty"`
	Go           string            `json:"go"`
	Commit       string            `json:"commit"`
	Tools        map[string]string `json:"tools"`
	Packages     map[string]string `json:"debian_packages"`
}

// benchPackages are the Debian packages whose versions are recorded.
var benchPackages = []string{"iperf3", "sockperf", "wrk", "nginx", "containernetworking-plugins", "iptables", "iproute2"}

// CollectFacts gathers kernel, CPU, memory, load and tool versions; cnitool and ebpfnet are
// the binaries used. Missing facts are left empty.
func CollectFacts(ctx context.Context, cnitool, ebpfnet string) Facts {
	f := Facts{Arch: runtime.GOARCH, CPUs: runtime.NumCPU(), Go: runtime.Version(),
		Tools: map[string]string{}, Packages: map[string]string{}}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		f.Kernel = unix.ByteSliceToString(u.Release[:])
	}
	f.CPUModel = procField("/proc/cpuinfo", "model name")
	f.MemTotal = procField("/proc/meminfo", "MemTotal")
	f.LoadAvgStart = LoadAvg()
	f.Commit = firstLine(cmdOut(ctx, "git", "rev-parse", "--short", "HEAD"))
	if dirty := cmdOut(ctx, "git", "status", "--porcelain", "--untracked-files=no"); strings.TrimSpace(dirty) != "" {
		f.Commit += "-dirty"
	}
	f.Tools["iperf3"] = firstLine(cmdOut(ctx, "iperf3", "--version"))
	f.Tools["sockperf"] = firstLine(strings.TrimPrefix(ansiRE.ReplaceAllString(cmdOut(ctx, "sockperf", "--version"), ""), "sockperf: "))
	f.Tools["wrk"] = firstLine(cmdOut(ctx, "wrk", "--version"))
	f.Tools["nginx"] = firstLine(cmdOut(ctx, "nginx", "-v"))
	f.Tools["iptables"] = firstLine(cmdOut(ctx, "iptables", "-V"))
	f.Tools["cnitool"] = moduleVersion(ctx, cnitool, "github.com/containernetworking/cni")
	f.Tools["ebpfnet"] = ebpfnet
	for _, p := range benchPackages {
		f.Packages[p] = strings.TrimSpace(cmdOut(ctx, "dpkg-query", "-W", "-f=${Version}", p))
	}
	return f
}

// LoadAvg returns the 1, 5 and 15 minute load averages.
func LoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	fs := strings.Fields(string(b))
	if len(fs) < 3 {
		return ""
	}
	return strings.Join(fs[:3], " ")
}

// procField returns the value of the first "key: value" line of a /proc file.
func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.Join(strings.Fields(v), " ")
		}
	}
	return ""
}

// cmdOut runs a command in this namespace (version queries only) and returns its combined
// output, "" on failure to start.
func cmdOut(ctx context.Context, name string, args ...string) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, name, args...).CombinedOutput()
	return string(out)
}

// moduleVersion returns "<module> <version>" of mod inside the Go binary bin.
func moduleVersion(ctx context.Context, bin, mod string) string {
	for _, l := range strings.Split(cmdOut(ctx, "go", "version", "-m", bin), "\n") {
		fs := strings.Fields(l)
		if len(fs) >= 3 && (fs[0] == "mod" || fs[0] == "dep") && fs[1] == mod {
			return fs[1] + " " + fs[2]
		}
	}
	return ""
}

// firstLine returns the first non-empty line of s, trimmed.
func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return ""
}
