package policy

import (
	"fmt"
	"testing"
)

// BenchmarkCompile: the example policy over 1,000 endpoints in 50 stacks of 4
// services; every identity (500 label sets) is shared by two endpoints.
func BenchmarkCompile(b *testing.B) {
	apps := []string{"web", "db", "dns", "cache"}
	var eps []Endpoint
	for i := range 1000 {
		set := i % 500
		stack, svc := set%50, (set/50)%4
		lbl := fmt.Sprintf("%s=s%d,%s=s%d.v%d,app=%s,env=prod,tier=t%d,n=%d",
			stackKey, stack, serviceKey, stack, svc, apps[svc], set%3, set)
		eps = append(eps, ep(fmt.Sprintf("e%d", i), uint32(1000+set), lbl))
	}
	c, err := Compile(rancherPolicy, eps)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if _, err := Compile(rancherPolicy, eps); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(c.Entries)), "entries")
}
