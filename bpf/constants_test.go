package bpf_test

import (
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ebpfnet/ebpfnet/bpf"
	"github.com/ebpfnet/ebpfnet/maps"
	"github.com/ebpfnet/ebpfnet/policy"
	"github.com/ebpfnet/ebpfnet/store"
)

// TestGeneratedConstants fails when a Go constant that cannot be a generated enum value
// drifts from its C counterpart in the committed object (enum values reach Go through bpf2go
// -type and need no check).
func TestGeneratedConstants(t *testing.T) {
	spec, err := bpf.LoadDatapath()
	require.NoError(t, err)

	// POLICY_RULES_MAX is the size of policy_drops.
	require.EqualValues(t, spec.Maps["policy_drops"].MaxEntries, maps.PolicyRulesMax)
	require.EqualValues(t, spec.Maps["prefilter_v4_0"].MaxEntries, maps.PrefilterMax)
	require.EqualValues(t, spec.Maps["prefilter_v4_1"].MaxEntries, maps.PrefilterMax)

	// The store hands out label identities from FIRST_LABEL_IDENTITY on; the store package
	// keeps its own copy so it does not link the BPF object.
	require.EqualValues(t, bpf.DatapathIdentityFIRST_LABEL_IDENTITY, store.FirstIdentity)
	require.EqualValues(t, maps.FirstLabelIdentity, store.FirstIdentity)

	// Protocol numbers are the kernel's IPPROTO_* (<linux/in.h>, which the C code uses).
	require.EqualValues(t, syscall.IPPROTO_TCP, policy.ProtoTCP)
	require.EqualValues(t, syscall.IPPROTO_UDP, policy.ProtoUDP)
	require.EqualValues(t, syscall.IPPROTO_ICMP, policy.ProtoICMP)

	// Policy verdicts: policy.Verdict is what the compiler emits, maps writes the C enum.
	require.EqualValues(t, bpf.DatapathPolicyVerdictPOLICY_ALLOW, policy.VerdictAllow)
	require.EqualValues(t, bpf.DatapathPolicyVerdictPOLICY_DENY, policy.VerdictDeny)
}
