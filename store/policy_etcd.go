package store

import (
	"encoding/json"
	"fmt"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/ebpfnet/ebpfnet/policy"
)

// policyKey holds the cluster's network policy as one JSON document, so every change (apply,
// add or delete a rule) is a single atomic write that all nodes see through their watch.
func (s *Etcd) policyKey() string { return s.prefix + EtcdPolicyDir + "policy" }

// Identities lists every cluster-wide identity (identities/<labelsKey> -> identity).
func (s *Etcd) Identities() (map[string]uint32, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	prefix := s.prefix + etcdIdentities
	resp, err := s.cli.Get(ctx, prefix, clientv3.WithPrefix())
	if err != nil {
		return nil, s.wrap("list identities", err)
	}
	out := make(map[string]uint32, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		id, err := parseIdentity(kv.Key, kv.Value)
		if err != nil {
			return nil, err
		}
		out[strings.TrimPrefix(string(kv.Key), prefix)] = id
	}
	return out, nil
}

// Policy returns the cluster's network policy, or the zero Policy.
func (s *Etcd) Policy() (policy.Policy, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	var p policy.Policy
	resp, err := s.cli.Get(ctx, s.policyKey())
	if err != nil {
		return p, s.wrap("read policy", err)
	}
	if len(resp.Kvs) == 0 {
		return p, nil
	}
	if err := json.Unmarshal(resp.Kvs[0].Value, &p); err != nil {
		return p, fmt.Errorf("decode %s: %w", s.policyKey(), err)
	}
	return p, nil
}

// PutPolicy replaces the cluster's network policy.
func (s *Etcd) PutPolicy(p policy.Policy) error {
	data, err := json.Marshal(p)
	if err != nil {
		return err
	}
	ctx, cancel := s.ctx()
	defer cancel()
	if _, err := s.cli.Put(ctx, s.policyKey(), string(data)); err != nil {
		return s.wrap("write policy", err)
	}
	return nil
}
