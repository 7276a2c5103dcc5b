package admission

import (
	"net"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/signetproject/signet/oci"
	"github.com/signetproject/signet/policy"
)

func TestPlacementDefaults(t *testing.T) {
	type defaults struct {
		Addr, Namespace, CASecret string
		PatchCABundle             bool
		Hosts                     []string
	}
	listen := &net.TCPAddr{IP: net.IPv4zero, Port: 8443}
	tests := []struct {
		p    Placement
		want defaults
	}{
		{Placement{}, defaults{"127.0.0.1:8443", DefaultNamespace, "", false, []string{"127.0.0.1"}}},
		{Placement{PodNamespace: "ops"}, defaults{"127.0.0.1:8443", "ops", "", false, []string{"127.0.0.1"}}},
		{Placement{InCluster: true}, defaults{"0.0.0.0:8443", DefaultNamespace, DefaultCASecret, true,
			[]string{"hook." + DefaultNamespace + ".svc", "hook." + DefaultNamespace + ".svc.cluster.local"}}},
		{Placement{InCluster: true, PodNamespace: "ops"}, defaults{"0.0.0.0:8443", "ops", DefaultCASecret, true,
			[]string{"hook.ops.svc", "hook.ops.svc.cluster.local"}}},
	}
	for _, tt := range tests {
		got := defaults{tt.p.ListenAddr(), tt.p.Namespace(), tt.p.CASecret(), tt.p.PatchCABundle(), tt.p.Hosts(listen, "hook", tt.p.Namespace())}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%+v (-want +got):\n%s", tt.p, diff)
		}
	}
	for addr, want := range map[*net.TCPAddr]string{
		{IP: net.ParseIP("10.0.0.7"), Port: 1}: "10.0.0.7",
		{IP: net.IPv6unspecified, Port: 1}:     "127.0.0.1",
		{Port: 1}:                              "127.0.0.1",
		{IP: net.IPv6loopback, Port: 1}:        "::1",
	} {
		if got := (Placement{}).Hosts(addr, "hook", "ns"); len(got) != 1 || got[0] != want {
			t.Errorf("Hosts(%s) = %q, want %q", addr, got, want)
		}
	}
}

func TestEngineOptions(t *testing.T) {
	if _, err := EngineOptions("sometimes", nil); err == nil {
		t.Error("EngineOptions accepted an unknown no-match policy")
	}
	opts, err := EngineOptions(policy.NoMatchWarn, nil)
	if err != nil {
		t.Fatal(err)
	}
	if opts.NoMatch != policy.NoMatchWarn || opts.Evaluator == nil {
		t.Errorf("EngineOptions = %+v, want warn and the default evaluator", opts)
	}
	mine := &policy.Evaluator{}
	if opts, err := EngineOptions("", mine); err != nil || opts.Evaluator != mine {
		t.Errorf("EngineOptions kept evaluator %v, %v", opts.Evaluator, err)
	}
}

func TestRegistryCheckers(t *testing.T) {
	c, err := RegistryCheckers(oci.New(oci.Options{}), nil).NewChecker(nil)
	if err != nil || c == nil {
		t.Fatalf("NewChecker = %v, %v", c, err)
	}
}
