package cni

import (
	"encoding/json"
	"fmt"
	"maps"
	"strings"

	"github.com/containernetworking/cni/pkg/types"

	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/endpoint"
)

// Labels the plugin sets on every endpoint it creates. The io.ebpfnet.cni. prefix is reserved.
const (
	LabelContainerID = "io.ebpfnet.cni.containerid" // full CNI_CONTAINERID, for DEL and GC
	LabelNetwork     = "io.ebpfnet.cni.network"     // network name, so GC of one network spares another
	LabelPodNS       = "io.kubernetes.pod.namespace"
	LabelPodName     = "io.kubernetes.pod.name"
	reservedPrefix   = "io.ebpfnet.cni."
)

// DefaultIPAM is the IPAM plugin used when the config has no ipam section.
const DefaultIPAM = "host-local"

// NetConf is the plugin's network configuration (stdin), as in a conflist's plugin entry:
//
//	{"type": "ebpfnet-cni", "agentSocket": "/run/ebpfnet/agent.sock", "mtu": 1450,
//	 "linkMTUOverhead": 0, "ipam": {"type": "host-local"}, "dns": {...},
//	 "args": {"labels": {"app": "web"}}, "capabilities": {"portMappings": true}}
type NetConf struct {
	types.PluginConf // cniVersion, name, type, capabilities, ipam.type, dns, prevResult, valid attachments

	// AgentSocket is the ebpfnet agent's API socket; default api.DefaultSocket.
	AgentSocket string `json:"agentSocket,omitempty"`
	// MTU is the base MTU; 0 = the agent's container MTU. The container gets MTU − LinkMTUOverhead
	// (rancher-cni-bridge's rule), which must not exceed the agent's MTU.
	MTU             int `json:"mtu,omitempty"`
	LinkMTUOverhead int `json:"linkMTUOverhead,omitempty"`
	// Network is the ebpfnet network to attach to; "" = the one named as the conflist, else
	// the default network (see network).
	Network string `json:"network,omitempty"`
	// Args carries labels for every endpoint of this network.
	Args struct {
		Labels map[string]string `json:"labels,omitempty"`
	} `json:"args"`
	// RuntimeConfig is filled by the runtime for the capabilities the config enables.
	RuntimeConfig struct {
		PortMappings []PortMapping `json:"portMappings,omitempty"`
	} `json:"runtimeConfig"`

	// raw is the whole config as decoded JSON, the base of what the IPAM plugin receives.
	raw map[string]any
	// ipam is the raw ipam section (type included), defaulted when absent.
	ipam map[string]any
	// ports are RuntimeConfig.PortMappings, validated.
	ports []Port
}

// ParseConfig decodes and validates stdin. Malformed JSON is a decoding error (code 6), bad
// values are invalid network config (code 7); both carry the offending field.
func ParseConfig(stdin []byte) (*NetConf, error) {
	conf := &NetConf{}
	if err := json.Unmarshal(stdin, conf); err != nil {
		return nil, decodeError("decode network config: %v", err)
	}
	if err := json.Unmarshal(stdin, &conf.raw); err != nil || conf.raw == nil {
		return nil, decodeError("decode network config: want a JSON object")
	}
	if conf.AgentSocket == "" {
		conf.AgentSocket = api.DefaultSocket
	}
	if conf.MTU < 0 || conf.LinkMTUOverhead < 0 {
		return nil, configError("mtu %d, linkMTUOverhead %d: want values >= 0", conf.MTU, conf.LinkMTUOverhead)
	}
	if conf.MTU > 0 {
		if mtu := conf.MTU - conf.LinkMTUOverhead; mtu < endpoint.MinMTU || mtu > endpoint.MaxMTU {
			return nil, configError("container MTU %d (mtu %d - linkMTUOverhead %d) is out of range %d..%d",
				mtu, conf.MTU, conf.LinkMTUOverhead, endpoint.MinMTU, endpoint.MaxMTU)
		}
	}
	conf.ipam = map[string]any{"type": DefaultIPAM}
	if ipam, ok := conf.raw["ipam"].(map[string]any); ok { // an object or null: decoded above
		if conf.IPAM.Type == "" {
			return nil, configError("ipam: no type given (e.g. %q)", DefaultIPAM)
		}
		conf.ipam = ipam
	}
	for k, v := range conf.Args.Labels {
		if err := checkLabel(k, v); err != nil {
			return nil, configError("args.labels: %v", err)
		}
		if strings.HasPrefix(k, reservedPrefix) {
			return nil, configError("args.labels: key %q: the prefix %s is reserved for the plugin", k, reservedPrefix)
		}
	}
	ports, err := parsePortMappings(conf.RuntimeConfig.PortMappings)
	if err != nil {
		return nil, err
	}
	conf.ports = ports
	return conf, nil
}

// checkLabel enforces what the agent accepts as "key=value": a non-empty key without '='.
func checkLabel(k, v string) error {
	if k == "" || strings.Contains(k, "=") {
		return fmt.Errorf("invalid label key %q (value %q): want a non-empty key without '='", k, v)
	}
	return nil
}

// IPAMType is the delegated IPAM plugin's type.
func (c *NetConf) IPAMType() string { t, _ := c.ipam["type"].(string); return t }

// ContainerMTU is the MTU of the veth pair on a node whose container MTU is nodeMTU.
func (c *NetConf) ContainerMTU(nodeMTU int) (int, error) {
	base := c.MTU
	if base == 0 {
		base = nodeMTU
	}
	mtu := base - c.LinkMTUOverhead
	if mtu < endpoint.MinMTU || mtu > nodeMTU {
		return 0, configError("container MTU %d (mtu %d - linkMTUOverhead %d) is out of range: the agent allows %d..%d",
			mtu, base, c.LinkMTUOverhead, endpoint.MinMTU, nodeMTU)
	}
	return mtu, nil
}

// k8sArgs are the CNI_ARGS keys the plugin reads. Other keys are an error unless
// IgnoreUnknown=1 is given, the libcni convention runtimes follow.
type k8sArgs struct {
	types.CommonArgs
	K8S_POD_NAMESPACE          types.UnmarshallableString
	K8S_POD_NAME               types.UnmarshallableString
	K8S_POD_INFRA_CONTAINER_ID types.UnmarshallableString
	K8S_POD_UID                types.UnmarshallableString
}

// Labels returns the endpoint labels of attachment containerID: the config's args.labels, the
// pod namespace and name from CNI_ARGS (K8S_POD_NAMESPACE, K8S_POD_NAME) and the plugin's own
// labels (container ID, network name). A malformed CNI_ARGS is an invalid environment (code 4).
func (c *NetConf) Labels(containerID, cniArgs string) (map[string]string, error) {
	var ka k8sArgs
	if err := types.LoadArgs(cniArgs, &ka); err != nil {
		return nil, envError("CNI_ARGS %q: %v", cniArgs, err)
	}
	labels := maps.Clone(c.Args.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	if ka.K8S_POD_NAMESPACE != "" {
		labels[LabelPodNS] = string(ka.K8S_POD_NAMESPACE)
	}
	if ka.K8S_POD_NAME != "" {
		labels[LabelPodName] = string(ka.K8S_POD_NAME)
	}
	labels[LabelContainerID] = containerID
	labels[LabelNetwork] = c.Name
	return labels, nil
}

// ipamConfig is the config handed to the IPAM plugin: the plugin's own config with the ipam
// section completed for node. A host-local section without ranges or subnet gets the node's
// pod CIDR and gateway; without a pod CIDR that is an error naming the fix.
func (c *NetConf) ipamConfig(node api.Node) ([]byte, error) {
	ipam := maps.Clone(c.ipam)
	if c.needsPodCIDR() {
		if !node.PodCIDR.IsValid() {
			return nil, configError("ipam: the agent at %s has no pod CIDR to allocate from; "+
				"start it with --pod-cidr or give ipam.ranges in the network config", c.AgentSocket)
		}
		ipam["ranges"] = []any{[]any{map[string]any{"subnet": node.PodCIDR.String(), "gateway": node.Gateway.String()}}}
	}
	raw := maps.Clone(c.raw)
	raw["ipam"] = ipam
	return json.Marshal(raw)
}

// needsPodCIDR reports whether ipamConfig fills in ranges from the node's pod CIDR.
func (c *NetConf) needsPodCIDR() bool {
	_, hasRanges := c.ipam["ranges"]
	_, hasSubnet := c.ipam["subnet"]
	return c.IPAMType() == DefaultIPAM && !hasRanges && !hasSubnet
}

// validAttachments is the GC keep-set: (container ID, ifname) pairs.
func (c *NetConf) validAttachments() map[types.GCAttachment]bool {
	keep := make(map[types.GCAttachment]bool, len(c.ValidAttachments))
	for _, a := range c.ValidAttachments {
		keep[a] = true
	}
	return keep
}
