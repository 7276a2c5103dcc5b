package policy

import (
	"context"
	"errors"
	"testing"
	"time"
)

// FuzzEvaluatePolicy evaluates arbitrary CUE and Rego policy text against
// arbitrary input: the evaluator must never panic, must return within its
// timeout (plus slack for a loaded machine), and must give the same
// verdict when the same policy and input are evaluated again from the
// cache.
func FuzzEvaluatePolicy(f *testing.F) {
	seeds := []struct {
		typ           uint8
		policy, input string
	}{
		{0, `predicateType: "https://cosign.sigstore.dev/attestation/v1"` + "\npredicate: Data: \"foobar e2e test\"", cosignCustomAttestation},
		{0, `predicateType: "https://cosign.sigstore.dev/attestation/vuln/v1"`, cosignVulnAttestation},
		{0, `{"wontgo`, cosignCIPInput},
		{0, `import "struct"` + "\nauthorityMatches: keyatt: attestations: struct.MaxFields(1)", cosignCIPInput},
		{1, "package sigstore\ndefault isCompliant = false\nisCompliant { count(input.authorityMatches) == 3 }", cosignCIPInput},
		{1, "package sigstore\nisCompliant[r] { r := {\"result\": false, \"error\": \"no\"} }", `{}`},
		{1, "package sigstore\nisCompliant[x] { x := 1 }", `[1, 2]`},
		{1, noCriticalCVEs, vulnStatement("CRITICAL")},
		{1, slowRego, `{}`},
		{1, "package sigstore\nisCompliant { input.x }", `not json`},
	}
	for _, s := range seeds {
		f.Add(s.typ, s.policy, []byte(s.input))
	}
	const timeout = 200 * time.Millisecond
	e := newTestEvaluator(f, EvaluatorOptions{Timeout: timeout, MaxCUEEvaluations: 2, CacheSize: 64})
	types := []string{PolicyTypeCUE, PolicyTypeRego}
	f.Fuzz(func(t *testing.T, typ uint8, policy string, input []byte) {
		p := &Policy{Type: types[int(typ)%len(types)], Data: policy}
		start := time.Now()
		first := e.EvaluatePolicy(context.Background(), "fuzz", p, input)
		if elapsed := time.Since(start); elapsed > timeout+10*time.Second {
			t.Fatalf("evaluation took %s, timeout %s", elapsed, timeout)
		}
		second := e.EvaluatePolicy(context.Background(), "fuzz", p, input)
		// Timeouts depend on load; verdicts must not.
		if isTimeout(first) || isTimeout(second) {
			return
		}
		if (first == nil) != (second == nil) {
			t.Fatalf("verdict changed on re-evaluation: %v, then %v", first, second)
		}
	})
}

func isTimeout(err error) bool {
	return err != nil && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled))
}
