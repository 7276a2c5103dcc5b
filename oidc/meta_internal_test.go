package oidc

import (
	"fmt"
	"testing"
)

// TestMetaIssuersBounded: tokens naming ever new URLs that match a pattern
// keep at most MaxMetaIssuers issuers, forgetting the oldest first.
func TestMetaIssuersBounded(t *testing.T) {
	var m metaIssuers
	if err := m.add(IssuerConfig{URL: "https://oidc.example.com/id/*", Type: TypeKubernetes}); err != nil {
		t.Fatal(err)
	}
	first, _ := m.lookup("https://oidc.example.com/id/0")
	for i := 1; i < MaxMetaIssuers+50; i++ {
		if _, ok := m.lookup(fmt.Sprintf("https://oidc.example.com/id/%d", i)); !ok {
			t.Fatalf("issuer %d did not match", i)
		}
	}
	if len(m.matched) != MaxMetaIssuers || len(m.order) != MaxMetaIssuers {
		t.Errorf("%d issuers kept (%d in order), want %d", len(m.matched), len(m.order), MaxMetaIssuers)
	}
	again, _ := m.lookup("https://oidc.example.com/id/0")
	if again == first {
		t.Error("the oldest issuer was not forgotten")
	}
	last := fmt.Sprintf("https://oidc.example.com/id/%d", MaxMetaIssuers+48)
	a, _ := m.lookup(last)
	b, _ := m.lookup(last)
	if a != b {
		t.Error("a recent issuer was made twice")
	}
}
