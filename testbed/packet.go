package testbed

import (
	"encoding/binary"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// PacketSocket is an AF_PACKET socket bound to one device of a bed namespace (packet(7)): it
// sends hand-made Ethernet frames (any source address, as an attacker on the wire can) and
// reads every frame the device sees, in both directions, for tests that count what arrived
// below the socket layer.
type PacketSocket struct{ f *os.File }

// OpenPacketSocket opens a packet socket on device ifname of namespace name. The caller
// closes it; Close also ends a blocked Read.
func (b *Bed) OpenPacketSocket(name, ifname string) (*PacketSocket, error) {
	h, err := b.Handle(name)
	if err != nil {
		return nil, err
	}
	link, err := h.LinkByName(ifname)
	if err != nil {
		return nil, fmt.Errorf("packet socket: device %s in %q: %w", ifname, name, err)
	}
	var s *PacketSocket
	err = b.inNetns(name, func() error {
		proto := htons(unix.ETH_P_ALL)
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, int(proto))
		if err != nil {
			return fmt.Errorf("packet socket: %w", err)
		}
		if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: proto, Ifindex: link.Attrs().Index}); err != nil {
			unix.Close(fd)
			return fmt.Errorf("bind packet socket to %s: %w", ifname, err)
		}
		s = &PacketSocket{f: os.NewFile(uintptr(fd), "packet:"+ifname)} // non-blocking: served by the poller
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("packet socket on %s in %q: %w", ifname, name, err)
	}
	return s, nil
}

// Send transmits frame (a whole Ethernet frame) out of the bound device as it is.
func (s *PacketSocket) Send(frame []byte) error {
	_, err := s.f.Write(frame)
	return err
}

// Read reads the next frame seen on the device into buf and returns its length.
func (s *PacketSocket) Read(buf []byte) (int, error) { return s.f.Read(buf) }

// Close closes the socket.
func (s *PacketSocket) Close() error { return s.f.Close() }

// htons is v in network byte order as the kernel's socket calls expect it.
func htons(v uint16) uint16 {
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], v)
	return binary.NativeEndian.Uint16(b[:])
}
