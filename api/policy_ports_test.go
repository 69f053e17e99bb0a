package api

import "testing"

func TestParsePolicyPort(t *testing.T) {
	good := map[string]PolicyPort{
		"80":        {ProtoTCP, 80},
		"80/tcp":    {ProtoTCP, 80},
		"53/udp":    {ProtoUDP, 53},
		"53/UDP":    {ProtoUDP, 53},
		"1":         {ProtoTCP, 1},
		"65535/udp": {ProtoUDP, 65535},
		"0080":      {ProtoTCP, 80},
	}
	for in, want := range good {
		got, err := ParsePolicyPort(in)
		if err != nil || got != want {
			t.Errorf("ParsePolicyPort(%q) = %v, %v; want %v", in, got, err, want)
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
		_, err := ParsePolicyPort(in)
		if err == nil || err.Error() != want {
			t.Errorf("ParsePolicyPort(%q) error = %v; want %q", in, err, want)
		}
	}
}
