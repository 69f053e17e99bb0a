package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/ebpfnet/ebpfnet/policy"
)

// policyKey holds the cluster's network policy as one JSON document, so every change (apply,
// add or delete a rule) is a single atomic write that all nodes see through their watch.
func (s *Etcd) policyKey() string { return s.prefix + EtcdPolicyDir + "policy" }

// Identities lists every cluster-wide identity (identities/<labelsKey> -> identity).
func (s *Etcd) Identities(ctx context.Context) (map[string]uint32, error) {
	ctx, cancel := s.ctx(ctx)
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

// DeleteIdentity removes identities/<labelsKey> and its reverse key in one transaction that
// commits only while the key still holds id, so an identity another node re-allocated in the
// meantime stays.
func (s *Etcd) DeleteIdentity(ctx context.Context, labelsKey string, id uint32) error {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	idKey, num := s.prefix+etcdIdentities+labelsKey, strconv.FormatUint(uint64(id), 10)
	_, err := s.cli.Txn(ctx).If(clientv3.Compare(clientv3.Value(idKey), "=", num)).Then(
		clientv3.OpDelete(idKey), clientv3.OpDelete(s.prefix+etcdIdentityIDs+num),
	).Commit()
	return s.wrap("delete identity", err)
}

// Policy returns the cluster's network policy, or the zero Policy.
func (s *Etcd) Policy(ctx context.Context) (policy.Policy, error) {
	ctx, cancel := s.ctx(ctx)
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
func (s *Etcd) PutPolicy(ctx context.Context, p policy.Policy) error {
	return s.putJSON(ctx, s.policyKey(), "write policy", p)
}
