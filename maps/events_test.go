package maps

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ebpfnet/ebpfnet/bpf"
	"github.com/ebpfnet/ebpfnet/policy"
)

// TestDecodeDropEvent decodes a record laid out as the datapath writes it (the generated
// struct drop_event in native order, addresses and ports in network order) and refuses a
// truncated one.
func TestDecodeDropEvent(t *testing.T) {
	src, dst := netip.MustParseAddr("10.42.1.2"), netip.MustParseAddr("10.42.2.3")
	raw := bpf.DatapathDropEvent{
		TsNs: 1234, Saddr: be32(src), Daddr: be32(dst), Sport: be16(40000), Dport: be16(5432),
		SrcIdentity: 300, DstIdentity: bpf.DatapathIdentityIDENTITY_REMOTE_NODE, Ifindex: 7,
		Rule: bpf.DatapathEventRuleEVENT_DEFAULT_RULE, Proto: policy.ProtoTCP,
		Reason: uint8(bpf.DatapathMetricMETRIC_DROP_POLICY),
	}
	var buf bytes.Buffer
	require.NoError(t, binary.Write(&buf, binary.NativeEndian, raw))

	e, err := decodeDropEvent(buf.Bytes())
	require.NoError(t, err)
	require.Equal(t, DropEvent{
		Time: 1234 * time.Nanosecond, Src: src, Dst: dst, SrcPort: 40000, DstPort: 5432,
		SrcIdentity: 300, DstIdentity: IdentityRemoteNode, IfIndex: 7, Rule: RuleDefault,
		Proto: policy.ProtoTCP, Reason: bpf.DatapathMetricMETRIC_DROP_POLICY,
	}, e)

	_, err = decodeDropEvent(buf.Bytes()[:buf.Len()-8])
	require.Error(t, err)
}
