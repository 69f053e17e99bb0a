# ebpfnet — see README.md. Targets that touch the kernel (deps, demo, test) need root.
#
#   make                 build bin/ebpfnet, bin/ebpfnet-agent and bin/ebpfnet-cni
#   sudo make demo       2 hosts x 2 containers in network namespaces, all 12 pairs tested
#   sudo make test       unit + end-to-end tests, then the end-to-end tests again encrypted
#   make generate        regenerate the BPF objects (clang-19)
#   make check-generate  fail if the committed BPF objects are stale
#   make vet             gofmt + go vet
#   sudo make bench      ebpfnet vs kernel baseline vs ceiling (about 10 min), results in bench/results/
#   sudo make bench-smoke  every benchmark measure once, briefly (under 3 min), checks the harness

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

# sudo's secure_path usually lacks Go's default install location.
export PATH := $(PATH):/usr/local/go/bin
export DEBIAN_FRONTEND := noninteractive

GO ?= go

# Debian 12 packages the build, the tests, the demo and the benchmark need (podman, runc and
# busybox-static: test/cni's TestPodman drives the CNI plugin through podman). (On a machine
# with systemd, installing nginx also starts its default site; the benchmark runs its own
# nginx inside network namespaces only.)
DEB_PACKAGES := clang-19 llvm-19 libbpf-dev linux-libc-dev bpftool iproute2 iperf3 \
	iputils-ping util-linux tcpdump iptables nftables etcd-server \
	sockperf wrk nginx containernetworking-plugins podman runc busybox-static

# cnitool drives the CNI plugins of the benchmark's kernel baseline.
CNITOOL_VERSION := v1.3.1

.PHONY: all build deps generate demo test check-generate vet bench bench-smoke bench-bin

all: build

# The CLI, the node agent it runs (`ebpfnet agent` executes bin/ebpfnet-agent beside it), the
# CNI plugin and ebpfnet-wireguard, which serves the userspace WireGuard device of
# --encryption wireguard (the agent looks for it next to its own executable).
build:
	$(GO) build -o bin/ ./cmd/ebpfnet ./cmd/ebpfnet-agent ./cmd/ebpfnet-cni ./cmd/ebpfnet-wireguard

# Idempotent: apt only runs when a package is missing, bpffs is only mounted when it is not.
deps:
	@command -v $(GO) >/dev/null || { echo "deps: '$(GO)' not found: install Go 1.26 (e.g. to /usr/local/go)" >&2; exit 1; }
	@missing=""; \
	for p in $(DEB_PACKAGES); do \
		[ "$$(dpkg-query -W -f='$${db:Status-Abbrev}' "$$p" 2>/dev/null)" = "ii " ] || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		[ "$$(id -u)" = 0 ] || { echo "deps: missing packages:$$missing; run as root (sudo make deps)" >&2; exit 1; }; \
		echo "deps: installing$$missing"; \
		apt-get update -q; \
		apt-get install -y -q --no-install-recommends $(DEB_PACKAGES); \
	else \
		echo "deps: all packages installed"; \
	fi
	@if ! mountpoint -q /sys/fs/bpf; then \
		[ "$$(id -u)" = 0 ] || { echo "deps: /sys/fs/bpf is not mounted; run as root (sudo make deps)" >&2; exit 1; }; \
		echo "deps: mounting bpffs at /sys/fs/bpf"; \
		mount -t bpf bpf /sys/fs/bpf; \
	fi
	$(GO) mod download

generate:
	@command -v clang-19 >/dev/null && command -v llvm-strip-19 >/dev/null || \
		{ echo "generate: clang-19 and llvm-strip-19 needed (make deps)" >&2; exit 1; }
	$(GO) generate ./bpf/...

demo: deps build
	$(GO) build -o bin/ebpfnet-demo ./cmd/ebpfnet-demo
	./bin/ebpfnet-demo --binary bin/ebpfnet

# The second pass runs the whole end-to-end package (all pairs, policy, NAT, published ports,
# the trusted-overlay attacks) with --encryption wireguard on every agent (issue 9: the
# cross-host tables must pass encrypted as well as in clear; about 6 min on 2 cores). The
# summary counts the packages of the first pass and reports the encrypted pass on its own.
test: deps
	@[ "$$(id -u)" = 0 ] || echo "test: WARNING: not root, tests that need root are skipped" >&2
	@log=$$(mktemp); trap 'rm -f "$$log"' EXIT; \
	rc=0; $(GO) test -count=1 -timeout 30m ./... 2>&1 | tee "$$log" || rc=$$?; \
	echo "==> end-to-end tests again with EBPFNET_E2E_ENCRYPTION=wireguard"; \
	encrc=0; EBPFNET_E2E_ENCRYPTION=wireguard $(GO) test -count=1 -timeout 30m ./test/e2e/ 2>&1 || encrc=$$?; \
	ok=$$(grep -c '^ok ' "$$log" || true); \
	failed=$$(grep -E '^FAIL[[:space:]]' "$$log" | awk '{print $$2}' | sort -u | xargs || true); \
	enc=ok; [ "$$encrc" = 0 ] || { enc="FAIL (exit $$encrc)"; failed="$${failed:+$$failed }test/e2e (encrypted)"; }; \
	[ "$$rc" != 0 ] || rc=$$encrc; \
	echo; \
	if [ "$$rc" = 0 ]; then \
		echo "==> make test: PASS ($$ok packages ok; e2e encrypted ok)"; \
	else \
		echo "==> make test: FAIL (exit $$rc; $$ok packages ok; e2e encrypted $$enc; failed: $${failed:-see output above})"; \
	fi; \
	exit $$rc

check-generate: generate
	@changes=$$(git status --porcelain bpf/); \
	if [ -n "$$changes" ]; then \
		echo "$$changes"; \
		git --no-pager diff --stat -- bpf/; \
		echo "generated BPF code is stale: run make generate and commit" >&2; \
		exit 1; \
	fi; \
	echo "check-generate: generated BPF code is up to date"

vet:
	@unformatted=$$(find . -path ./.git -prune -o -name '*.go' ! -name '*_bpfel.go' -print | xargs gofmt -l); \
	if [ -n "$$unformatted" ]; then \
		echo "gofmt needed:" >&2; echo "$$unformatted" >&2; exit 1; \
	fi
	$(GO) vet ./...

bin/cnitool:
	GOBIN=$(CURDIR)/bin $(GO) install github.com/containernetworking/cni/cnitool@$(CNITOOL_VERSION)

bench-bin: build bin/cnitool
	$(GO) build -o bin/ebpfnet-bench ./cmd/ebpfnet-bench

# Full benchmark: 7 interleaved runs per measure; writes bench/results/bench.{json,png} and a dated copy in bench/results/history/
bench: deps bench-bin
	./bin/ebpfnet-bench --binary bin/ebpfnet --cnitool bin/cnitool --out bench/results

# Every measure once for 1 s; fails only when the harness breaks, never on timings.
bench-smoke: deps bench-bin
	@out=$$(mktemp -d); trap 'rm -rf "$$out"' EXIT; \
	./bin/ebpfnet-bench --smoke --binary bin/ebpfnet --cnitool bin/cnitool --out "$$out"
