// Package loader loads ebpfnet's BPF programs, pins their maps and links under a bpffs
// directory, and attaches, upgrades and detaches them. It is the only package that touches
// programs and links. Pinned maps and links outlive the agent process, so forwarding goes on
// while the agent restarts; a new agent replaces the programs of pinned links in place
// (BPF_LINK_UPDATE), as Cilium does.
package loader

import (
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/cilium/ebpf"

	"github.com/ebpfnet/ebpfnet/bpf"
	"github.com/ebpfnet/ebpfnet/maps"
)

// DefaultPinDir is the default bpffs directory for maps and links.
const DefaultPinDir = "/sys/fs/bpf/ebpfnet"

// Datapath is the loaded programs and pinned maps of one host.
type Datapath struct {
	pinDir string
	objs   bpf.DatapathObjects
	// legacyTC forces tc clsact attachment even where tcx exists (tests of the fallback).
	legacyTC bool
}

// Options tune Load.
type Options struct {
	// LegacyTC attaches with tc clsact + direct-action filters instead of tcx. Chosen
	// automatically when the kernel lacks tcx (before Linux 6.6).
	LegacyTC bool
	// CTMax sizes the conntrack/NAT map (entries); 0 keeps the compiled default (262,144).
	// A pinned map of another size is refused: remove it to resize.
	CTMax int
	// Logger receives what an upgrade did with pinned maps of another layout; nil:
	// slog.Default().
	Logger *slog.Logger
}

// Load loads the datapath, reusing maps already pinned in pinDir (their entries survive) and
// pinning new ones. A pinned map of another layout (an upgrade) is replaced or migrated as
// upgradeMaps describes; errors wrap ebpf.ErrMapIncompatible when a pinned stateful map's
// layout differs with no migration defined (nothing is changed then), and carry the verifier
// log on rejection.
func Load(pinDir string, opts Options) (*Datapath, error) {
	if err := EnsurePinDir(pinDir); err != nil {
		return nil, err
	}
	d := &Datapath{pinDir: pinDir, legacyTC: opts.LegacyTC}
	spec, err := bpf.LoadDatapath()
	if err != nil {
		return nil, fmt.Errorf("load datapath spec: %w", err)
	}
	if opts.CTMax > 0 {
		spec.Maps[bpf.DatapathMapCt].MaxEntries = uint32(opts.CTMax)
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	if err := upgradeMaps(spec, pinDir, log); err != nil {
		return nil, err
	}
	err = spec.LoadAndAssign(&d.objs, &ebpf.CollectionOptions{
		Maps: ebpf.MapOptions{PinPath: pinDir},
	})
	var verr *ebpf.VerifierError
	if errors.As(err, &verr) {
		return nil, fmt.Errorf("load datapath: %+v", verr)
	}
	if err != nil {
		return nil, fmt.Errorf("load datapath: %w", err)
	}
	return d, nil
}

// PinDir is the bpffs directory holding this datapath's maps and links.
func (d *Datapath) PinDir() string { return d.pinDir }

// Maps returns typed views of the datapath's maps.
func (d *Datapath) Maps() maps.Set { return maps.NewSet(&d.objs.DatapathMaps) }

// DropEvents opens the reader of the drop-event ring buffer (one reader per datapath).
func (d *Datapath) DropEvents() (*maps.DropEvents, error) {
	return maps.NewDropEvents(d.objs.DropEvents)
}

// Programs exposes the loaded programs, for BPF_PROG_TEST_RUN unit tests.
func (d *Datapath) Programs() *bpf.DatapathPrograms { return &d.objs.DatapathPrograms }

// Close releases this process's file descriptors; pinned maps and links stay in the kernel
// and keep forwarding.
func (d *Datapath) Close() error { return d.objs.Close() }

// Remove deletes every pin under pinDir, which detaches pinned tcx links once no process
// holds them. Used when a host is torn down for good (tests, demo).
func Remove(pinDir string) error {
	if err := os.RemoveAll(pinDir); err != nil {
		return fmt.Errorf("remove pins in %s: %w", pinDir, err)
	}
	return nil
}
