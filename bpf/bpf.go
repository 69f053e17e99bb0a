// Package bpf holds ebpfnet's BPF programs, compiled by bpf2go from ebpfnet.c and lib/*.h.
//
// The generated DatapathObjects/LoadDatapath, the map key/value types (DatapathEndpointKey,
// DatapathCtKey, DatapathDropEvent, ...) and the enums (DatapathMetric, DatapathIdentity,
// DatapathEndpointFlag, DatapathCtDir, DatapathPolicyVerdict, DatapathEventRule, ...) are
// the C structs and enums of lib/*.h byte for byte and value for value (bpf2go -type): Go
// uses these constants, never copies. A C enum reaches BTF, and so bpf2go, only when a
// type or function the object keeps refers to it; hence the fixed-size enums
// (enum x : __u16) typing the map fields that hold their values. Fields typed __be32 in C
// are IPv4 addresses in network byte order.
package bpf

//go:generate go tool bpf2go -cc clang-19 -strip llvm-strip-19 -cflags "-O2 -g -Wall -Werror -I/usr/include/x86_64-linux-gnu" -target bpfel -type endpoint_key -type endpoint_info -type ipcache_key -type ipcache_info -type peer_key -type peer_info -type node_params -type metric -type metric_value -type ct_key -type ct_entry -type port_key -type port_target -type policy_key -type policy_value -type ct_quota_value -type drop_event -type identity -type endpoint_flag -type ipcache_flag -type peer_flag -type ct_dir -type ct_flag -type policy_verdict -type event_rule -type network_info -type network_flag -type network_subnet_key -type network_ref -type network_vni_key -type lb_service_key -type lb_service -type lb_backend_key -type lb_backend -type lb_flag -type prefilter_key -type prefilter_state Datapath ebpfnet.c
