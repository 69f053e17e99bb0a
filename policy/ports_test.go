package policy

import "testing"

func TestPortString(t *testing.T) {
	if s := (Port{Proto: ProtoUDP, Port: 53}).String(); s != "53/udp" {
		t.Errorf("got %q", s)
	}
	if s := trafficString(ProtoICMP, 0); s != "icmp" {
		t.Errorf("got %q", s)
	}
	if s := trafficString(47, 0); s != "proto 47" {
		t.Errorf("got %q", s)
	}
}
