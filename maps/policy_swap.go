package maps

import (
	"fmt"

	"github.com/ebpfnet/ebpfnet/policy"
)

// PolicyCapacityError says a policy does not fit beside the one in force: a swap holds both
// generations in the map at once. It matches ErrFull with errors.Is.
type PolicyCapacityError struct {
	Needed   int // entries of the new policy
	InForce  int // entries of the policy in force, kept until the flip
	Capacity int // size of the policy map
}

func (e *PolicyCapacityError) Error() string {
	return fmt.Sprintf("policy compiles to %d entries; the policy map holds %d and the policy in force uses %d "+
		"until the swap (%d needed side by side, %d free)", e.Needed, e.Capacity, e.InForce, e.Needed+e.InForce, e.Capacity-e.InForce)
}

// Is makes errors.Is(err, ErrFull) true.
func (e *PolicyCapacityError) Is(target error) bool { return target == ErrFull }

// SwapPolicy replaces the policy in force with want, atomically for the datapath:
//  1. want is written as the generation not in force (node_params.policy_rev & 1 names the
//     one in force), after clearing what a failed swap may have left there; it must fit
//     beside the entries in force, else a *PolicyCapacityError and nothing changes;
//  2. commit runs (e.g. storing the policy; nil: nothing); an error undoes step 1;
//  3. one node_config update flips policy_rev to the next revision, with edit applied to the
//     rest of the node parameters (default action, enforcement) in the same write;
//  4. the old generation's entries are deleted.
//
// Bumping the revision also makes the datapath re-decide established flows on their next
// packet (CT_POLICY entries carry the revision they were decided under).
//
// With no commit, a want equal to the generation in force and an edit that changes nothing
// is a no-op (no revision bump): a resync that recompiles the same policy leaves the maps
// byte for byte as they were and established flows alone.
func SwapPolicy(pol *Policy, node *NodeConfig, want []PolicyEntry, commit func() error, edit func(*Node)) error {
	n, err := node.Get()
	if err != nil {
		return err
	}
	if commit == nil {
		same, err := pol.inForce(n, want, edit)
		if same || err != nil {
			return err
		}
	}
	next := n.PolicyRev + 1
	gen := uint8(next & 1)
	counts, err := pol.Counts()
	if err != nil {
		return err
	}
	inForce := counts[1-gen]
	if len(want)+inForce > pol.Capacity() {
		return &PolicyCapacityError{Needed: len(want), InForce: inForce, Capacity: pol.Capacity()}
	}
	if err := pol.sweep(gen); err != nil {
		return err
	}
	if err := pol.stage(gen, want); err != nil {
		return fmt.Errorf("%w (%d entries)", err, len(want))
	}
	if commit != nil {
		if err := commit(); err != nil {
			_ = pol.sweep(gen)
			return err
		}
	}
	n.PolicyRev = next
	if edit != nil {
		edit(&n)
	}
	if err := node.Set(n); err != nil {
		return err
	}
	return pol.sweep(1 - gen)
}

// PolicyEntriesOf converts a compiled policy to policy map entries (rule -1, the default
// action, becomes RuleDefault).
func PolicyEntriesOf(c policy.Compiled) []PolicyEntry {
	out := make([]PolicyEntry, len(c.Entries))
	for i, e := range c.Entries {
		rule := uint16(e.Rule)
		if e.Rule < 0 {
			rule = RuleDefault
		}
		out[i] = PolicyEntry{Src: e.Src, Dst: e.Dst, Proto: e.Proto, Port: e.Port, Allow: e.Verdict == policy.VerdictAllow, Rule: rule}
	}
	return out
}
