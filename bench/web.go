package bench

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"github.com/ebpfnet/ebpfnet/testbed"
)

// Web says where the nginx server of the published-port measure runs and how it is reached.
type Web struct {
	Server string         // namespace nginx runs in
	Listen netip.AddrPort // nginx listen address inside Server
	Client string         // namespace wrk runs in
	Via    netip.AddrPort // address wrk connects to (hostIP:hostPort, or Listen directly)
}

// nginxConf is a minimal nginx configuration: one worker, no logs, no keep-alive (every
// request is a new connection), a fixed 200 answer without touching the file system.
const nginxConf = `daemon off;
master_process on;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 8192; }
http {
	access_log off;
	keepalive_timeout 0;
	client_body_temp_path %[1]s/body;
	proxy_temp_path %[1]s/proxy;
	fastcgi_temp_path %[1]s/fastcgi;
	uwsgi_temp_path %[1]s/uwsgi;
	scgi_temp_path %[1]s/scgi;
	server {
		listen %[2]s backlog=4096;
		location / { return 200 "ok\n"; }
	}
}
`

// startNginx writes a configuration under the bed's temp dir and starts nginx in the
// foreground inside w.Server, listening on w.Listen, pinned to the CPU wrk runs on (see
// pinned). Bed.Close stops it.
func startNginx(ctx context.Context, bed *testbed.Bed, w Web) (*testbed.Proc, error) {
	dir := filepath.Join(bed.TempDir(), "nginx-"+w.Server)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(nginxConf, dir, w.Listen)), 0o644); err != nil {
		return nil, err
	}
	return startServer(ctx, bed, w.Server, int(w.Listen.Port()), pinned("nginx", "-c", conf, "-p", dir, "-e", filepath.Join(dir, "error.log"))...)
}

// wrkResult is one wrk run with a new connection per request.
type wrkResult struct {
	PerSec       float64 // completed requests (= new connections) per second
	Requests     int64
	SocketErrors int64 // connect + read + write + timeout errors
	Non2xx       int64
}

var (
	wrkRateRE = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	wrkReqRE  = regexp.MustCompile(`(\d+) requests in`)
	wrkSockRE = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	wrkNon2RE = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
)

// parseWrk reads wrk's text report.
func parseWrk(out string) (wrkResult, error) {
	m := wrkRateRE.FindStringSubmatch(out)
	if m == nil {
		return wrkResult{}, fmt.Errorf("wrk: no Requests/sec line: %s", lastLines(out, 3))
	}
	var r wrkResult
	r.PerSec, _ = strconv.ParseFloat(m[1], 64)
	if m := wrkReqRE.FindStringSubmatch(out); m != nil {
		r.Requests, _ = strconv.ParseInt(m[1], 10, 64)
	}
	if m := wrkSockRE.FindStringSubmatch(out); m != nil {
		for _, s := range m[1:] {
			n, _ := strconv.ParseInt(s, 10, 64)
			r.SocketErrors += n
		}
	}
	if m := wrkNon2RE.FindStringSubmatch(out); m != nil {
		r.Non2xx, _ = strconv.ParseInt(m[1], 10, 64)
	}
	if r.PerSec <= 0 || r.Requests == 0 {
		return r, fmt.Errorf("wrk: no request completed: %s", lastLines(out, 4))
	}
	return r, nil
}

// Load-generator shape: 1 thread (on nginx's CPU), 64 connections kept busy, each request on
// a new connection.
const (
	wrkThreads     = 1
	wrkConnections = 64
)

// wrkNewConns runs wrk from w.Client against http://w.Via/ for d with "Connection: close", so
// the request rate is the rate of new TCP connections through the published port.
func wrkNewConns(ctx context.Context, bed *testbed.Bed, w Web, d time.Duration) (wrkResult, error) {
	out, err := runOut(ctx, bed, w.Client, d+30*time.Second, pinned("wrk",
		"-t", strconv.Itoa(wrkThreads), "-c", strconv.Itoa(wrkConnections), "-d", secs(d)+"s", "--timeout", "2s",
		"-H", "Connection: close", "http://"+w.Via.String()+"/")...)
	if err != nil {
		return wrkResult{}, err
	}
	return parseWrk(out)
}

// tuneClient widens the ephemeral port range and lets TIME_WAIT ports be reused in the client
// namespace (a namespace of ours; these sysctls are per network namespace), so tens of
// thousands of short connections do not run out of source ports.
func tuneClient(ctx context.Context, bed *testbed.Bed, ns string) error {
	_, err := bed.Run(ctx, ns, "sysctl", "-q", "-w", "net.ipv4.ip_local_port_range=1024 65535", "net.ipv4.tcp_tw_reuse=1")
	return err
}
