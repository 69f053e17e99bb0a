package bench

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of the CPU times in /proc/PID/stat (clock ticks; USER_HZ is 100 on
// every Linux architecture that matters here, proc(5)).
const userHZ = 100

// procCPU returns the CPU time the processes pids have used so far: user + system time,
// fields 14 and 15 (utime, stime) of /proc/PID/stat (proc(5)). Errors: a process is gone or
// its stat line is malformed.
func procCPU(pids []int) (time.Duration, error) {
	var ticks uint64
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return 0, fmt.Errorf("CPU time of helper process: %w", err)
		}
		t, err := statTicks(string(b))
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
		}
		ticks += t
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}

// statTicks returns utime + stime of one /proc/PID/stat line. The command name (field 2) is
// in parentheses and may hold spaces, so fields are counted after its closing parenthesis.
func statTicks(line string) (uint64, error) {
	i := strings.LastIndexByte(line, ')')
	if i < 0 {
		return 0, fmt.Errorf("no command name in %q", line)
	}
	f := strings.Fields(line[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, fmt.Errorf("%d fields after the command name, want at least 13", len(f))
	}
	var sum uint64
	for _, s := range f[11:13] { // fields 14 (utime) and 15 (stime)
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("utime/stime %q: %w", s, err)
		}
		sum += v
	}
	return sum, nil
}
