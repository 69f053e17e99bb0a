// Package bpf holds ebpfnet's BPF programs, compiled by bpf2go from ebpfnet.c and lib/*.h.
//
// The generated DatapathObjects/LoadDatapath and the map key/value types (DatapathEndpointKey,
// DatapathEndpointInfo, DatapathIpcacheKey, DatapathIpcacheInfo, DatapathPeerKey,
// DatapathPeerInfo, DatapathNodeParams, DatapathMetric, DatapathMetricValue) mirror the C structs in lib/maps.h and lib/metrics.h
// byte for byte. Fields typed __be32 in C are IPv4 addresses in network byte order.
package bpf

//go:generate go tool bpf2go -cc clang-19 -strip llvm-strip-19 -cflags "-O2 -g -Wall -Werror -I/usr/include/x86_64-linux-gnu" -target bpfel -type endpoint_key -type endpoint_info -type ipcache_key -type ipcache_info -type peer_key -type peer_info -type node_params -type metric -type metric_value -type ct_key -type ct_entry -type port_key -type port_target -type policy_key -type policy_value -type ct_quota_value -type drop_event -type identity -type endpoint_flag -type ipcache_flag -type peer_flag -type ct_dir -type ct_flag -type policy_verdict -type event_rule Datapath ebpfnet.c
