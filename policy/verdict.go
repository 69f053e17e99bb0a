package policy

// Verdict is the datapath's decision for a packet, as stored in the BPF policy map:
// 0 drops, 1 passes.
type Verdict uint8

// The two verdicts.
const (
	VerdictDeny  Verdict = 0
	VerdictAllow Verdict = 1
)

// String is "deny" or "allow" (or "verdict(N)" for other values).
func (v Verdict) String() string {
	switch v {
	case VerdictDeny:
		return "deny"
	case VerdictAllow:
		return "allow"
	}
	return "verdict(" + itoa(int(v)) + ")"
}

// verdictOf maps an action to its verdict; anything but allow denies (fail closed).
func verdictOf(a Action) Verdict {
	if a == ActionAllow {
		return VerdictAllow
	}
	return VerdictDeny
}
