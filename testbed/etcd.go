package testbed

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// DefaultEtcdBinary is the etcd server of Debian's etcd-server package.
const DefaultEtcdBinary = "/usr/bin/etcd"

// EtcdBinary returns the etcd server to run: $EBPFNET_ETCD, else DefaultEtcdBinary, else
// "etcd" from PATH; an error (naming the Debian package) when none exists.
func EtcdBinary() (string, error) {
	for _, p := range []string{os.Getenv("EBPFNET_ETCD"), DefaultEtcdBinary} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath("etcd"); err == nil {
		return p, nil
	}
	return "", errors.New("no etcd server found: install Debian's etcd-server (apt-get install etcd-server) or set EBPFNET_ETCD")
}

// EtcdReadyTimeout bounds how long StartEtcd and Etcd.Start wait for "ready to serve".
const EtcdReadyTimeout = 20 * time.Second

// EtcdOptions says where a test etcd runs.
type EtcdOptions struct {
	// Bed and Netns run etcd inside that namespace of the bed, listening on IP (which must be
	// configured there) at ClientPort/PeerPort (default 2379/2380). The bed tracks the process.
	// Without a Bed, etcd runs in the caller's namespace on 127.0.0.1 at free ports.
	Bed   *Bed
	Netns string
	IP    netip.Addr
	// ClientPort and PeerPort are TCP ports; 0 = 2379/2380 in a namespace, free ports on loopback.
	ClientPort, PeerPort int
	// TLS serves clients over HTTPS with the server certificate and requires client
	// certificates signed by the CA (see WriteTLSCerts). nil = plain HTTP.
	TLS *TLSCerts
	// Binary is the etcd server; "" = EtcdBinary().
	Binary string
}

// Etcd is a single-member etcd server for tests, with its data in a temp dir. Stop/Kill and
// Start restart it on the same data dir and ports, as an outage would. Close stops it and
// removes the data. Safe for concurrent use.
type Etcd struct {
	opts    EtcdOptions
	dir     string // temp dir: data/ and logs
	url     string
	argv    []string
	mu      sync.Mutex
	proc    *Proc
	starts  int
	closed  bool
	ownProc bool // started in the caller's netns (not through the bed)
}

// StartEtcd starts etcd as opts says and waits until it serves clients. Errors: no etcd
// binary, bad options, etcd exiting or not getting ready within EtcdReadyTimeout (with its log).
func StartEtcd(opts EtcdOptions) (*Etcd, error) {
	if opts.Binary == "" {
		b, err := EtcdBinary()
		if err != nil {
			return nil, err
		}
		opts.Binary = b
	}
	if opts.Bed != nil && (opts.Netns == "" || !opts.IP.Is4()) {
		return nil, errors.New("etcd in a bed namespace needs Netns and an IPv4 IP")
	}
	dir, err := os.MkdirTemp("", "ebpfnet-etcd-")
	if err != nil {
		return nil, err
	}
	e := &Etcd{opts: opts, dir: dir, ownProc: opts.Bed == nil}
	for attempt := 0; ; attempt++ {
		err = e.configure()
		if err == nil {
			err = e.Start()
		}
		// Free loopback ports can be taken between picking and binding: pick again.
		if err == nil || !e.ownProc || attempt == 4 || !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	if err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

// configure picks the ports and builds the command line.
func (e *Etcd) configure() error {
	ip, cport, pport := e.opts.IP, e.opts.ClientPort, e.opts.PeerPort
	if e.ownProc {
		ip = netip.MustParseAddr("127.0.0.1")
		var err error
		if cport == 0 {
			if cport, err = freePort(); err != nil {
				return err
			}
		}
		if pport == 0 {
			if pport, err = freePort(); err != nil {
				return err
			}
		}
	}
	if cport == 0 {
		cport = 2379
	}
	if pport == 0 {
		pport = 2380
	}
	scheme := "http"
	if e.opts.TLS != nil {
		scheme = "https"
	}
	e.url = fmt.Sprintf("%s://%s", scheme, net.JoinHostPort(ip.String(), strconv.Itoa(cport)))
	peer := fmt.Sprintf("http://%s", net.JoinHostPort(ip.String(), strconv.Itoa(pport)))
	e.argv = []string{e.opts.Binary,
		"--name", "test", "--data-dir", filepath.Join(e.dir, "data"),
		"--listen-client-urls", e.url, "--advertise-client-urls", e.url,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--initial-cluster", "test=" + peer, "--initial-cluster-state", "new",
		"--heartbeat-interval", "100", "--election-timeout", "500",
		"--logger", "zap", "--log-outputs", "stderr",
	}
	if t := e.opts.TLS; t != nil {
		e.argv = append(e.argv, "--cert-file", t.ServerCert, "--key-file", t.ServerKey,
			"--client-cert-auth", "--trusted-ca-file", t.CA)
	}
	return nil
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// URL is the client URL, e.g. http://172.31.0.254:2379 (https with TLS).
func (e *Etcd) URL() string { return e.url }

// DataDir is etcd's data directory (kept across Stop and Start).
func (e *Etcd) DataDir() string { return filepath.Join(e.dir, "data") }

// Log returns the log of the current (or last) run.
func (e *Etcd) Log() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.proc == nil {
		return ""
	}
	return e.proc.Log()
}

// Running reports whether the server process is up.
func (e *Etcd) Running() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.proc != nil && !e.proc.Exited()
}

// Start (re)starts the server on the same data dir and ports and waits until it serves
// clients ("serving client traffic" in its log). A no-op while it runs.
func (e *Etcd) Start() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return errors.New("etcd: closed")
	}
	if e.proc != nil && !e.proc.Exited() {
		return nil
	}
	e.starts++
	var p *Proc
	var err error
	if e.ownProc {
		p, err = startOwn(e.argv, filepath.Join(e.dir, fmt.Sprintf("etcd-%d.log", e.starts)))
	} else {
		p, err = e.opts.Bed.Start(e.opts.Netns, e.argv...)
	}
	if err != nil {
		return err
	}
	e.proc = p
	ctx, cancel := context.WithTimeout(context.Background(), EtcdReadyTimeout)
	defer cancel()
	if err := p.WaitLog(ctx, "serving client traffic"); err != nil {
		_ = p.Kill()
		return fmt.Errorf("etcd %s: %w", e.url, err)
	}
	return nil
}

// startOwn starts argv in the caller's netns in its own process group, logging to logPath.
func startOwn(argv []string, logPath string) (*Proc, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = f, f
	// Pdeathsig: a test binary that panics (skipping every cleanup) takes etcd with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", argv[0], err)
	}
	p := &Proc{cmd: cmd, desc: fmt.Sprintf("%q on 127.0.0.1", argv[0]), logPath: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

// Stop ends the server gracefully (SIGTERM, then SIGKILL after StopGrace); data stays.
func (e *Etcd) Stop() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.proc == nil {
		return nil
	}
	return e.proc.Stop()
}

// Kill ends the server with SIGKILL, as a crash would; data stays.
func (e *Etcd) Kill() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.proc == nil {
		return nil
	}
	return e.proc.Kill()
}

// Close stops the server (by its PID) and removes its data and logs. Idempotent.
func (e *Etcd) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	p := e.proc
	e.mu.Unlock()
	var errs []error
	if p != nil {
		errs = append(errs, p.Stop())
	}
	errs = append(errs, os.RemoveAll(e.dir))
	return errors.Join(errs...)
}

// StartEtcd runs an etcd server for the cluster's agents inside the underlay switch namespace
// "sw" (clusters of 3 or more hosts), on address ip (e.g. 172.31.0.254, added to br0 with the
// underlay's /24), so every host reaches it over the underlay; with certs (nil = plain HTTP) it
// serves HTTPS and requires client certificates (certs must name ip, see WriteTLSCerts). The
// bed stops it at Close; the returned Etcd's Close also removes its data.
func (c *Cluster) StartEtcd(ip netip.Addr, certs *TLSCerts) (*Etcd, error) {
	if len(c.Hosts) < 3 {
		return nil, errors.New("cluster etcd needs the bridged underlay of 3 or more hosts")
	}
	if _, err := c.Bed.Run(context.Background(), "sw", "ip", "addr", "add", netip.PrefixFrom(ip, 24).String(), "dev", "br0"); err != nil {
		return nil, err
	}
	return StartEtcd(EtcdOptions{Bed: c.Bed, Netns: "sw", IP: ip, TLS: certs})
}

// TLSCerts are PEM files of a test CA, a server certificate for 127.0.0.1 and the given IPs,
// and a client certificate, all signed by the CA (ECDSA P-256, valid 24 h).
type TLSCerts struct {
	CA                    string // the CA's certificate
	ServerCert, ServerKey string
	ClientCert, ClientKey string
	OtherCA               string // a second CA that signed nothing here (to test rejection)

	dir       string
	serverIPs []netip.Addr
	caKey     *ecdsa.PrivateKey
	caCert    *x509.Certificate
	serial    int64
}

// WriteTLSCerts writes a CA, a server certificate (SANs 127.0.0.1, localhost and ips) and a
// client certificate into dir.
func WriteTLSCerts(dir string, ips ...netip.Addr) (*TLSCerts, error) {
	t := &TLSCerts{dir: dir, serverIPs: append([]netip.Addr{netip.MustParseAddr("127.0.0.1")}, ips...)}
	var err error
	if t.caKey, t.caCert, t.CA, err = t.writeCA("ca"); err != nil {
		return nil, err
	}
	if _, _, t.OtherCA, err = t.writeCA("other-ca"); err != nil {
		return nil, err
	}
	if t.ServerCert, t.ServerKey, err = t.writeLeaf("server", true); err != nil {
		return nil, err
	}
	if t.ClientCert, t.ClientKey, err = t.writeLeaf("client", false); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *TLSCerts) writeCA(name string) (*ecdsa.PrivateKey, *x509.Certificate, string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, "", err
	}
	t.serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(t.serial), Subject: pkix.Name{CommonName: "ebpfnet test " + name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, "", err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, "", err
	}
	path := filepath.Join(t.dir, name+".pem")
	return key, cert, path, writePEM(path, "CERTIFICATE", der)
}

func (t *TLSCerts) writeLeaf(name string, server bool) (string, string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	t.serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(t.serial), Subject: pkix.Name{CommonName: "ebpfnet test " + name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if server {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
		tmpl.DNSNames = []string{"localhost"}
		for _, ip := range t.serverIPs {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip.AsSlice())
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, t.caCert, &key.PublicKey, t.caKey)
	if err != nil {
		return "", "", err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return "", "", err
	}
	certPath, keyPath := filepath.Join(t.dir, name+".pem"), filepath.Join(t.dir, name+"-key.pem")
	if err := writePEM(certPath, "CERTIFICATE", der); err != nil {
		return "", "", err
	}
	return certPath, keyPath, writePEM(keyPath, "EC PRIVATE KEY", keyDER)
}

func writePEM(path, typ string, der []byte) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600)
}
