/* Rate limit of the drop events of floods: the XDP program and the tc prefilter drop at line
 * rate, and one ring-buffer record per packet would starve the ring buffer and the agent. */
#pragma once

#include "metrics.h"

/* Drop events per reason and CPU in one second beyond which the programs that drop floods
 * (XDP, the tc prefilter) report no more: a flood costs the ring buffer and the agent at most
 * this many events a second per reason and CPU, and the counters still count every packet. */
#define EVENT_BUDGET_PER_SEC 100

struct event_budget {
	__u64 window_ns; /* bpf_ktime_get_ns() at the start of the current one-second window */
	__u32 sent;      /* events reported in that window */
	__u32 pad;
};

/* Per-CPU event budget, keyed by drop reason (enum metric; METRIC_MAX entries). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, METRIC_MAX);
	__type(key, __u32);
	__type(value, struct event_budget);
} event_budgets SEC(".maps");

/* Whether a drop event for reason may be reported now (EVENT_BUDGET_PER_SEC per reason, CPU
 * and second; a fixed window, as Cilium's rate-limited monitor notifications). */
static __always_inline int event_budget_take(__u32 reason)
{
	struct event_budget *b = bpf_map_lookup_elem(&event_budgets, &reason);
	__u64 now = bpf_ktime_get_ns();

	if (!b)
		return 0;
	if (now - b->window_ns >= 1000000000ULL) {
		b->window_ns = now;
		b->sent = 0;
	}
	if (b->sent >= EVENT_BUDGET_PER_SEC)
		return 0;
	b->sent++;
	return 1;
}
