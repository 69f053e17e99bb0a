package policy

import "testing"

func TestParsePort(t *testing.T) {
	good := map[string]Port{
		"80":        {ProtoTCP, 80},
		"80/tcp":    {ProtoTCP, 80},
		"53/udp":    {ProtoUDP, 53},
		"53/UDP":    {ProtoUDP, 53},
		"1":         {ProtoTCP, 1},
		"65535/udp": {ProtoUDP, 65535},
		"0080":      {ProtoTCP, 80},
	}
	for in, want := range good {
		got, err := ParsePort(in)
		if err != nil || got != want {
			t.Errorf("ParsePort(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	bad := map[string]string{
		"0":                       "port 0 out of range 1-65535",
		"70000":                   "port 70000 out of range 1-65535",
		"0/udp":                   "port 0 out of range 1-65535",
		"99999999999999999999999": "port 99999999999999999999999 out of range 1-65535",
		"http":                    `"http" is not a port number`,
		"":                        `"" is not a port number`,
		"-1":                      `"-1" is not a port number`,
		"+80":                     `"+80" is not a port number`,
		"80/sctp":                 `protocol "sctp" is not tcp or udp`,
		"80/":                     `protocol "" is not tcp or udp`,
		"80/tcp/x":                `"80/tcp/x" is not PORT or PORT/PROTO`,
	}
	for in, want := range bad {
		_, err := ParsePort(in)
		if err == nil || err.Error() != want {
			t.Errorf("ParsePort(%q) error = %v; want %q", in, err, want)
		}
	}
}

func TestPortString(t *testing.T) {
	if s := (Port{ProtoUDP, 53}).String(); s != "53/udp" {
		t.Errorf("got %q", s)
	}
	if s := trafficString(ProtoICMP, 0); s != "icmp" {
		t.Errorf("got %q", s)
	}
	if s := trafficString(47, 0); s != "proto 47" {
		t.Errorf("got %q", s)
	}
}
