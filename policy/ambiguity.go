package policy

import "fmt"

// AmbiguityError is [Compile]'s refusal when endpoints that share identities need
// different verdicts because one links to its peer and another does not
// (`within: linked`). Src and Dst are the identities; Linked and Unlinked name an
// endpoint pair (source, destination) of each kind; the packet Proto/Port (port 0 for
// ICMP) is decided LinkedVerdict for the first and UnlinkedVerdict for the second.
type AmbiguityError struct {
	Src, Dst                       uint32
	Linked, Unlinked               [2]string
	Proto                          uint8
	Port                           uint16
	LinkedVerdict, UnlinkedVerdict Verdict
}

// Error reads e.g. `identities 5 -> 7: "web1" links to "db1" and gets allow for
// 80/tcp, "web2" does not link to "db2" and gets deny; give endpoints with different
// links different identities`.
func (e *AmbiguityError) Error() string {
	return fmt.Sprintf("identities %d -> %d: %q links to %q and gets %s for %s, %q does not link to %q and gets %s; give endpoints with different links different identities",
		e.Src, e.Dst, e.Linked[0], e.Linked[1], e.LinkedVerdict, trafficString(e.Proto, e.Port),
		e.Unlinked[0], e.Unlinked[1], e.UnlinkedVerdict)
}
