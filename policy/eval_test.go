package policy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// Inputs of cosign v2.5.0's TestEvalPolicy (pkg/policy/eval_test.go),
// which is what policy-controller v0.13.1 evaluates policies with.
const (
	cosignCustomAttestation = `
	{
		"_type": "https://in-toto.io/Statement/v0.1",
		"predicateType": "https://cosign.sigstore.dev/attestation/v1",
		"subject": [
		  {
			"name": "registry.local:5000/policy-controller/demo",
			"digest": {
			  "sha256": "416cc82c76114b1744ea58bcbf2f411a0f2de4b0456703bf1bb83d33656951bc"
			}
		  }
		],
		"predicate": {
		  "Data": "foobar e2e test",
		  "Timestamp": "2022-04-20T18:17:19Z"
		}
	  }`

	cosignVulnAttestation = `
	{
		"_type": "https://in-toto.io/Statement/v0.1",
		"predicateType": "https://cosign.sigstore.dev/attestation/vuln/v1",
		"subject": [
		  {
			"name": "registry.local:5000/policy-controller/demo",
			"digest": {
			  "sha256": "416cc82c76114b1744ea58bcbf2f411a0f2de4b0456703bf1bb83d33656951bc"
			}
		  }
		],
		"predicate": {
		  "invocation": {
			"parameters": null,
			"uri": "invocation.example.com/cosign-testing",
			"event_id": "",
			"builder.id": ""
		  },
		  "scanner": {
			"uri": "fakescanner.example.com/cosign-testing",
			"version": "",
			"db": {
			  "uri": "",
			  "version": ""
			},
			"result": null
		  },
		  "metadata": {
			"scanStartedOn": "2022-04-12T00:00:00Z",
			"scanFinishedOn": "2022-04-12T00:10:00Z"
		  }
		}
	  }`

	cosignCIPInput = "{\"authorityMatches\":{\"keyatt\":{\"signatures\":null,\"attestations\":{\"vuln-key\":[{\"subject\":\"PLACEHOLDER\",\"issuer\":\"PLACEHOLDER\"}]}},\"keysignature\":{\"signatures\":[{\"subject\":\"PLACEHOLDER\",\"issuer\":\"PLACEHOLDER\"}],\"attestations\":null},\"keylessatt\":{\"signatures\":null,\"attestations\":{\"custom-keyless\":[{\"subject\":\"PLACEHOLDER\",\"issuer\":\"PLACEHOLDER\"}]}}}}"
)

// evalCase is one policy evaluation and its expected outcome: no error
// when wantErr is empty, else an error containing every wantErr string.
type evalCase struct {
	name    string
	typ     string
	policy  string
	input   string
	wantErr []string
}

// outcome summarises an evaluation for cmp: whether it passed, and the
// wanted substrings the error lacks.
type outcome struct {
	Passed  bool
	Missing []string
}

func (tc evalCase) want() outcome { return outcome{Passed: len(tc.wantErr) == 0} }

func outcomeOf(err error, wantErr []string) outcome {
	o := outcome{Passed: err == nil}
	for _, w := range wantErr {
		if err == nil || !strings.Contains(err.Error(), w) {
			o.Missing = append(o.Missing, w)
		}
	}
	if o.Passed {
		o.Missing = nil
	}
	return o
}

func runEvalCases(t *testing.T, e *Evaluator, cases []evalCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := e.EvaluatePolicy(context.Background(), tc.name, &Policy{Type: tc.typ, Data: tc.policy}, []byte(tc.input))
			if diff := cmp.Diff(tc.want(), outcomeOf(err, tc.wantErr)); diff != "" {
				t.Errorf("outcome (-want +got):\n%s\nerror: %v", diff, err)
			}
		})
	}
}

func newTestEvaluator(t testing.TB, opts EvaluatorOptions) *Evaluator {
	t.Helper()
	e, err := NewEvaluator(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		defer e.Close()
		// Let abandoned CUE evaluations finish before the next test.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := e.Wait(ctx); err != nil {
			t.Errorf("wait for CUE evaluations: %v", err)
		}
	})
	return e
}

// TestEvaluatePolicyCosignCases ports cosign's TestEvalPolicy table
// verbatim (policy, input and expected error). Its one "warning" case
// fails here with the warning, as policy-controller's webhook fails it.
func TestEvaluatePolicyCosignCases(t *testing.T) {
	cases := []evalCase{{
		name:    "custom attestation, mismatched predicateType",
		typ:     "cue",
		input:   cosignCustomAttestation,
		policy:  `predicateType: "https://cosign.sigstore.dev/attestation/vuln/v1"`,
		wantErr: []string{`conflicting values "https://cosign.sigstore.dev/attestation/v1" and "https://cosign.sigstore.dev/attestation/vuln/v1"`},
	}, {
		name:  "custom attestation, predicateType and data checks out",
		typ:   "cue",
		input: cosignCustomAttestation,
		policy: `predicateType: "https://cosign.sigstore.dev/attestation/v1"
		predicate: Data: "foobar e2e test"`,
	}, {
		name:  "custom attestation, data mismatch",
		typ:   "cue",
		input: cosignCustomAttestation,
		policy: `predicateType: "https://cosign.sigstore.dev/attestation/v1"
		predicate: Data: "invalid data here"`,
		wantErr: []string{`predicate.Data: conflicting values "foobar e2e test" and "invalid data here"`},
	}, {
		name:  "vuln attestation, wrong invocation url",
		typ:   "cue",
		input: cosignVulnAttestation,
		policy: `predicateType: "https://cosign.sigstore.dev/attestation/vuln/v1"
		predicate: invocation: uri: "invocation.example.com/wrong-url-here"`,
		wantErr: []string{`conflicting values "invocation.example.com/cosign-testing" and "invocation.example.com/wrong-url-here"`},
	}, {
		name:  "vuln attestation, checks out",
		typ:   "cue",
		input: cosignVulnAttestation,
		policy: `predicateType: "https://cosign.sigstore.dev/attestation/vuln/v1"
		predicate: invocation: uri: "invocation.example.com/cosign-testing"`,
	}, {
		name:  "cluster image policy main policy, checks out",
		typ:   "cue",
		input: cosignCIPInput,
		policy: `package sigstore
		import "struct"
		import "list"
		authorityMatches: {
		  keyatt: {
			attestations: struct.MaxFields(1) & struct.MinFields(1)
		  },
		  keysignature: {
			signatures: list.MaxItems(1) & list.MinItems(1)
		  },
		  keylessatt: {
			attestations: struct.MaxFields(1) & struct.MinFields(1)
		  },
		  keylesssignature: {
			signatures: list.MaxItems(1) & list.MinItems(1)
		  }
		}`,
	}, {
		name:    "cluster image policy main policy, fails",
		typ:     "cue",
		input:   cosignCIPInput,
		wantErr: []string{`failed evaluating cue policy for cluster image policy main policy, fails: failed to evaluate the policy with error: authorityMatches.keylessattMinAttestations: conflicting values 2 and "Error" (mismatched types int and string)`},
		policy: `package sigstore
		import "struct"
		import "list"
		authorityMatches: {
		  keyatt: {
			attestations: struct.MaxFields(1) & struct.MinFields(1)
		  },
		  keysignature: {
			signatures: list.MaxItems(1) & list.MinItems(1)
		  },
		  if( len(authorityMatches.keylessatt.attestations) < 2) {
			keylessattMinAttestations: 2
			keylessattMinAttestations: "Error"
		  },
		  keylesssignature: {
			signatures: list.MaxItems(1) & list.MinItems(1)
		  }
		}`,
	}, {
		name:  "Rego cluster image policy main policy, checks out",
		typ:   "rego",
		input: cosignCIPInput,
		policy: `package sigstore
			default isCompliant = false
			isCompliant {
				attestationsKeylessATT := input.authorityMatches.keylessatt.attestations
				count(attestationsKeylessATT) == 1
				attestationsKeyATT := input.authorityMatches.keyatt.attestations
				count(attestationsKeyATT) == 1
				keySignature := input.authorityMatches.keysignature.signatures
				count(keySignature) == 1
			}`,
	}, {
		name:    "Rego cluster image policy main policy, fails",
		typ:     "rego",
		input:   cosignCIPInput,
		wantErr: []string{`failed evaluating rego policy for type Rego cluster image policy main policy, fails: policy is not compliant for query 'isCompliant = data.sigstore.isCompliant'`},
		policy: `package sigstore
			default isCompliant = false
			isCompliant {
			    attestationsKeylessATT := input.authorityMatches.keylessatt.attestations
				count(attestationsKeylessATT) == 2
				attestationsKeyATT := input.authorityMatches.keyatt.attestations
				count(attestationsKeyATT) == 1
				keySignature := input.authorityMatches.keysignature.signatures
				count(keySignature) == 1
			}`,
	}, {
		name:  "Rego cluster image policy main policy succeed with empty error msg",
		typ:   "rego",
		input: cosignCIPInput,
		policy: `package sigstore
			isCompliant[response] {
			    attestationsKeylessATT := input.authorityMatches.keylessatt.attestations
				result = (count(attestationsKeylessATT) == 1)
				attestationsKeyATT := input.authorityMatches.keyatt.attestations
				result = (count(attestationsKeyATT) == 1)
				keySignature := input.authorityMatches.keysignature.signatures
				result = (count(keySignature) == 1)

				errorMsg = ""
				warnMsg = ""

				response := {
					"result" : result,
					"error" : errorMsg,
					"warning" : warnMsg
				}
			}`,
	}, {
		name:    "Rego cluster image policy main policy, fails with custom error msg",
		typ:     "rego",
		input:   cosignCIPInput,
		wantErr: []string{`Not found expected list of attestations`},
		policy: `package sigstore
			isCompliant[response] {
			    attestationsKeylessATT := input.authorityMatches.keylessatt.attestations
				result = (count(attestationsKeylessATT) == 1000)

				errorMsg = "Not found expected list of attestations"
				warnMsg = ""

				response := {
					"result" : result,
					"error" : errorMsg,
					"warning" : warnMsg
				}
			}`,
	}, {
		name:    "Rego cluster image policy main policy, returns a custom warning msg",
		typ:     "rego",
		input:   cosignCIPInput,
		wantErr: []string{`warning: Throw warning error even if succeeded`},
		policy: `package sigstore
			isCompliant[response] {
				attestationsKeylessATT := input.authorityMatches.keylessatt.attestations
				result = (count(attestationsKeylessATT) == 1)
				attestationsKeyATT := input.authorityMatches.keyatt.attestations
				result = (count(attestationsKeyATT) == 1)
				keySignature := input.authorityMatches.keysignature.signatures
				result = (count(keySignature) == 1)

				errorMsg = ""
				warnMsg = "Throw warning error even if succeeded"

				response := {
					"result" : result,
					"error" : errorMsg,
					"warning" : warnMsg
				}
			}`,
	}}
	runEvalCases(t, newTestEvaluator(t, EvaluatorOptions{}), cases)
	// CUE worker processes give the same results, errors included.
	t.Run("cue-worker", func(t *testing.T) {
		runEvalCases(t, newTestEvaluator(t, EvaluatorOptions{CUEWorker: testCUEWorker}), cases)
	})
}

// TestEvaluatePolicyWebhookCases ports the policies of policy-controller's
// pkg/webhook/validator_test.go that come with an input or an error.
func TestEvaluatePolicyWebhookCases(t *testing.T) {
	spdx, err := os.ReadFile(filepath.Join("testdata", "eval", "spdx-statement.json"))
	if err != nil {
		t.Fatal(err)
	}
	e := newTestEvaluator(t, EvaluatorOptions{})
	cases := []struct {
		name, policyName, data, input string
		wantErr                       []string
	}{{
		name:       "bad cip policy",
		policyName: KindClusterImagePolicy,
		data:       `{"wontgo`,
		input:      cosignCIPInput,
		wantErr:    []string{"failed evaluating cue policy for ClusterImagePolicy: failed to compile the cue policy with error: string literal not terminated"},
	}, {
		name:       "spdx attestation",
		policyName: "test-att",
		data:       `{"predicateType": "https://spdx.dev/Document"}`,
		input:      string(spdx),
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := e.EvaluatePolicy(context.Background(), tc.policyName, &Policy{Type: PolicyTypeCUE, Data: tc.data}, []byte(tc.input))
			if diff := cmp.Diff(outcome{Passed: len(tc.wantErr) == 0}, outcomeOf(err, tc.wantErr)); diff != "" {
				t.Errorf("outcome (-want +got):\n%s\nerror: %v", diff, err)
			}
		})
	}
}

// e2eCIP loads one of policy-controller's e2e ClusterImagePolicies.
func e2eCIP(t *testing.T, file string) *ClusterImagePolicy {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "policy-controller", "test", "testdata", "policy-controller", "e2e", file))
	if err != nil {
		t.Fatal(err)
	}
	c, err := DecodeClusterImagePolicy(data)
	if err != nil {
		t.Fatalf("decode %s: %v", file, err)
	}
	return c
}

// attestationPolicy returns the policy of the named attestation.
func attestationPolicy(t *testing.T, c *ClusterImagePolicy, name string) *Policy {
	t.Helper()
	for _, a := range c.Spec.Authorities {
		for _, att := range a.Attestations {
			if att.Name == name {
				return att.Policy
			}
		}
	}
	t.Fatalf("%s has no attestation %q", c.Metadata.Name, name)
	return nil
}

// customStatement is the statement `cosign attest --type custom` makes of
// a predicate file.
func customStatement(data, timestamp string) string {
	return fmt.Sprintf(`{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://cosign.sigstore.dev/attestation/v1",`+
		`"subject":[{"name":"registry.local:5000/demo","digest":{"sha256":"416cc82c76114b1744ea58bcbf2f411a0f2de4b0456703bf1bb83d33656951bc"}}],`+
		`"predicate":{"Data":%q,"Timestamp":%q}}`, data, timestamp)
}

func cipInput(t *testing.T, in PolicyInput) string {
	t.Helper()
	raw, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// TestEvaluatePolicyE2ECases evaluates the CUE and Rego policies of
// policy-controller's e2e ClusterImagePolicies (loaded from testdata)
// against the inputs its e2e scripts (test/e2e_test_*.sh) produce, with the
// errors those scripts expect.
func TestEvaluatePolicyE2ECases(t *testing.T) {
	vulnPredicate, err := os.ReadFile(filepath.Join("testdata", "eval", "vuln-predicate.json"))
	if err != nil {
		t.Fatal(err)
	}
	vuln := `{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://cosign.sigstore.dev/attestation/vuln/v1","subject":[],"predicate":` + string(vulnPredicate) + `}`
	two := e2eCIP(t, "cip-requires-two-signatures-and-two-attestations.yaml")
	sig := Signature{ID: "sig", Subject: "https://kubernetes.io/namespaces/default/serviceaccounts/default", Issuer: "https://kubernetes.default.svc"}
	att := VerifiedAttestation{Signature: sig, PredicateType: "https://cosign.sigstore.dev/attestation/v1", Digest: "sha256:aa"}
	twoInput := func(keylessAtts int) string {
		atts := map[string][]VerifiedAttestation{}
		for i := range keylessAtts {
			atts[fmt.Sprintf("att%d", i)] = []VerifiedAttestation{att}
		}
		return cipInput(t, PolicyInput{AuthorityMatches: map[string]AuthorityMatch{
			"keylessatt":       {Attestations: atts},
			"keyatt":           {Attestations: map[string][]VerifiedAttestation{"custom-match-predicate": {att}}},
			"keylesssignature": {Signatures: []Signature{sig}},
			"keysignature":     {Signatures: []Signature{sig}},
		}})
	}
	config := func(user string) map[string]json.RawMessage {
		return map[string]json.RawMessage{
			"linux/amd64":  json.RawMessage(`{"architecture":"amd64","config":{"User":"` + user + `"}}`),
			"linux/arm/v7": json.RawMessage(`{"architecture":"arm","config":{"User":"` + user + `"}}`),
		}
	}
	pod := PolicyInput{
		Spec:       map[string]any{"serviceAccount": "default", "containers": []any{map[string]any{"name": "demo"}}},
		ObjectMeta: ObjectMeta{Name: "demo", Namespace: "demo-include", Labels: map[string]string{"foo": "bar"}},
		TypeMeta:   TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
	}
	podInput := cipInput(t, pod)

	cases := []struct {
		name    string
		cip     *ClusterImagePolicy
		att     string // the attestation whose policy to use; none for spec.policy
		input   string
		wantErr []string
	}{
		{name: "keyless custom attestation cue, right data", cip: e2eCIP(t, "cip-keyless-with-attestations.yaml"), att: "custom-match-predicate",
			input: customStatement("foobar e2e test", "2022-04-20T18:17:19Z")},
		{name: "keyless custom attestation cue, wrong data", cip: e2eCIP(t, "cip-keyless-with-attestations.yaml"), att: "custom-match-predicate",
			input: customStatement("barfoo e2e test", "2022-04-20T18:17:19Z"), wantErr: []string{"failed evaluating cue policy for custom-match-predicate: failed to evaluate the policy with error: predicate.Data: conflicting values"}},
		{name: "keyless custom attestation rego, right data", cip: e2eCIP(t, "cip-keyless-with-attestations-rego.yaml"), att: "custom-match-predicate",
			input: customStatement("foobar e2e test", "2022-04-20T18:17:19Z")},
		{name: "keyless custom attestation rego, wrong data", cip: e2eCIP(t, "cip-keyless-with-attestations-rego.yaml"), att: "custom-match-predicate",
			input: customStatement("barfoo e2e test", "2022-04-20T18:17:19Z"), wantErr: []string{"failed evaluating rego policy for type custom-match-predicate: policy is not compliant for query"}},
		{name: "key custom attestation, right data", cip: e2eCIP(t, "cip-key-with-attestations-rego.yaml"), att: "custom-match-predicate",
			input: customStatement("foobar key e2e test", "2022-04-20T18:17:19Z")},
		{name: "two attestations: custom before 2049", cip: two, att: "customkeyless",
			input: customStatement("foobar e2e test", "2022-04-20T18:17:19Z")},
		{name: "two attestations: custom after 2049", cip: two, att: "customkeyless",
			input: customStatement("foobar e2e test", "2050-01-01T00:00:00Z"), wantErr: []string{"predicate.Timestamp: invalid value"}},
		{name: "two attestations: vuln scanned in window", cip: two, att: "vulnkeyless", input: vuln},
		{name: "two attestations: CIP policy with one keyless attestation", cip: two, input: twoInput(1),
			wantErr: []string{"failed to evaluate the policy with error: authorityMatches.keylessattMinAttestations"}},
		{name: "two attestations: CIP policy with two keyless attestations", cip: two, input: twoInput(2)},
		{name: "config file", cip: e2eCIP(t, "cip-config-file-policy.yaml"), input: cipInput(t, PolicyInput{Config: config("65532")})},
		{name: "config file fails", cip: e2eCIP(t, "cip-config-file-policy-fails.yaml"), input: cipInput(t, PolicyInput{Config: config("65532")}),
			wantErr: []string{`failed evaluating cue policy for ClusterImagePolicy: failed to evaluate the policy with error: config."linux/amd64".config.User: conflicting values`}},
		{name: "include spec", cip: e2eCIP(t, "cip-include-spec.yaml"), input: podInput},
		{name: "include spec fails", cip: e2eCIP(t, "cip-include-spec-fails.yaml"), input: podInput,
			wantErr: []string{`failed evaluating cue policy for ClusterImagePolicy: failed to evaluate the policy with error: spec.serviceAccount: conflicting values "default" and "non-default"`}},
		{name: "include objectmeta", cip: e2eCIP(t, "cip-include-objectmeta.yaml"), input: podInput},
		{name: "include objectmeta fails", cip: e2eCIP(t, "cip-include-objectmeta-fails.yaml"), input: podInput,
			wantErr: []string{`failed evaluating cue policy for ClusterImagePolicy: failed to evaluate the policy with error: metadata.labels.foo: conflicting values "bar" and "non-bar"`}},
		{name: "include typemeta fails on a Job", cip: e2eCIP(t, "cip-include-typemeta.yaml"), input: podInput,
			wantErr: []string{`failed evaluating cue policy for ClusterImagePolicy: failed to evaluate the policy with error: typemeta.kind: conflicting values "Job" and "Pod"`}},
	}
	e := newTestEvaluator(t, EvaluatorOptions{})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			name, policy := KindClusterImagePolicy, tc.cip.Spec.Policy
			if tc.att != "" {
				name, policy = tc.att, attestationPolicy(t, tc.cip, tc.att)
			}
			err := e.EvaluatePolicy(context.Background(), name, policy, []byte(tc.input))
			if diff := cmp.Diff(outcome{Passed: len(tc.wantErr) == 0}, outcomeOf(err, tc.wantErr)); diff != "" {
				t.Errorf("outcome (-want +got):\n%s\nerror: %v", diff, err)
			}
		})
	}
}

// TestEvaluatePolicyBehaviour pins policy-controller's semantics beyond
// its own tests: CUE does not require concreteness or closedness, Rego is
// v0 syntax, result sets, undefined rules, wrong packages.
func TestEvaluatePolicyBehaviour(t *testing.T) {
	cases := []evalCase{
		{name: "cue field missing from input is added, not required", typ: "cue", input: `{"a":1}`, policy: `b: "x"`},
		{name: "cue non-concrete result passes", typ: "cue", input: `{"a":1}`, policy: `b: string`},
		{name: "cue type mismatch", typ: "cue", input: `{"a":1}`, policy: `a: string`, wantErr: []string{"failed evaluating cue policy for cue type mismatch: failed to evaluate the policy with error: a: conflicting values"}},
		{name: "cue bad input", typ: "cue", input: `{"a":`, policy: `a: int`, wantErr: []string{"failed to compile the attestation data with error:"}},
		{name: "rego v1 syntax needs import rego.v1", typ: "rego", input: `{}`, policy: "package sigstore\nisCompliant if { true }", wantErr: []string{"rego_parse_error"}},
		{name: "rego v1 syntax with import rego.v1", typ: "rego", input: `{}`, policy: "package sigstore\nimport rego.v1\nisCompliant if { true }"},
		{name: "rego wrong package", typ: "rego", input: `{}`, policy: "package other\nisCompliant = true", wantErr: []string{"policy is not compliant for query 'isCompliant = data.sigstore.isCompliant'"}},
		{name: "rego undefined", typ: "rego", input: `{}`, policy: "package sigstore\nisCompliant { input.x == 1 }", wantErr: []string{"policy is not compliant for query 'isCompliant = data.sigstore.isCompliant'"}},
		{name: "rego object is not compliant", typ: "rego", input: `{}`, policy: "package sigstore\nisCompliant = {\"result\": true}", wantErr: []string{"policy is not compliant"}},
		{name: "rego empty result set", typ: "rego", input: `{}`, policy: "package sigstore\nisCompliant[x] { x := {\"result\": true}; false }",
			wantErr: []string{`policy is not compliant for query "isCompliant = data.sigstore.isCompliant"`}},
		{name: "rego set of non-objects does not panic", typ: "rego", input: `{}`, policy: "package sigstore\nisCompliant[x] { x := 1 }", wantErr: []string{"due to parsing errors: isCompliant contains json.Number, want an object"}},
		{name: "rego result of wrong type", typ: "rego", input: `{}`, policy: "package sigstore\nisCompliant[x] { x := {\"result\": 1} }",
			wantErr: []string{"due to parsing errors: json: cannot unmarshal number into Go struct field CosignRuleResult.result of type bool"}},
		{name: "rego numbers keep precision", typ: "rego", input: `{"n": 12345678901234567890}`, policy: "package sigstore\nisCompliant { input.n == 12345678901234567890 }"},
		{name: "rego compile error", typ: "rego", input: `{}`, policy: "package sigstore\nisCompliant { x }", wantErr: []string{"failed evaluating rego policy for type rego compile error: ", "1 error occurred: sigstore.rego:2: rego_unsafe_var_error: var x is unsafe"}},
		{name: "unknown type", typ: "wasm", input: `{}`, policy: "x", wantErr: []string{"sorry Type wasm is not supported yet"}},
		{name: "rego http.send is unsafe by default", typ: "rego", input: `{}`, policy: "package sigstore\nisCompliant { input.never == 1; http.send({\"method\": \"get\", \"url\": \"https://example.com\"}) }",
			wantErr: []string{"unsafe built-in function calls in expression: http.send"}},
	}
	runEvalCases(t, newTestEvaluator(t, EvaluatorOptions{}), cases)

	// Opting in compiles the policy; input.never keeps it offline.
	unsafe := newTestEvaluator(t, EvaluatorOptions{UnsafeRegoBuiltins: true})
	err := unsafe.EvaluatePolicy(context.Background(), "net", &Policy{Type: PolicyTypeRego, Data: cases[len(cases)-1].policy}, []byte(`{}`))
	if err == nil || !strings.Contains(err.Error(), "policy is not compliant") {
		t.Errorf("UnsafeRegoBuiltins: got %v, want a compiled policy that is not compliant", err)
	}
}

// vulnStatement is a cosign vuln attestation with a Trivy-style result.
func vulnStatement(severities ...string) string {
	var vulns []string
	for i, s := range severities {
		vulns = append(vulns, fmt.Sprintf(`{"VulnerabilityID":"CVE-2021-%04d","PkgName":"pkg%d","Severity":%q}`, 44228+i, i, s))
	}
	return `{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://cosign.sigstore.dev/attestation/vuln/v1","subject":[],` +
		`"predicate":{"invocation":{"uri":"ci"},"scanner":{"uri":"pkg:github/aquasecurity/trivy@0.50.0","result":{"Results":[{"Target":"app","Vulnerabilities":[` +
		strings.Join(vulns, ",") + `]}]}},"metadata":{"scanStartedOn":"2024-01-01T00:00:00Z","scanFinishedOn":"2024-01-01T00:01:00Z"}}}`
}

const noCriticalCVEs = `package sigstore
import rego.v1

critical contains v.VulnerabilityID if {
	some r in input.predicate.scanner.result.Results
	some v in r.Vulnerabilities
	v.Severity == "CRITICAL"
}

isCompliant contains {"result": true, "error": "", "warning": ""} if count(critical) == 0

isCompliant contains {"result": false, "error": msg, "warning": ""} if {
	count(critical) > 0
	msg := sprintf("critical vulnerabilities: %s", [concat(", ", sort(critical))])
}
`

const slsaBuilderCUE = `predicateType: "https://slsa.dev/provenance/v0.2"
predicate: builder: id: =~"^https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v[0-9]+\\.[0-9]+\\.[0-9]+$"
`

func slsaStatement(builder string) string {
	return `{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://slsa.dev/provenance/v0.2","subject":[{"name":"ghcr.io/org/app","digest":{"sha256":"aa"}}],` +
		`"predicate":{"builder":{"id":` + fmt.Sprintf("%q", builder) + `},"buildType":"https://github.com/slsa-framework/slsa-github-generator/container@v1",` +
		`"invocation":{"configSource":{"uri":"git+https://github.com/org/app@refs/tags/v1.0.0","entryPoint":".github/workflows/release.yml"}},` +
		`"metadata":{"buildStartedOn":"2024-01-01T00:00:00.000Z","completeness":{"parameters":true}}}}`
}

// TestEvaluatePolicyAttestationPolicies runs realistic attestation
// policies through NormalizeAttestation and the evaluator.
func TestEvaluatePolicyAttestationPolicies(t *testing.T) {
	const goodBuilder = "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v1.9.0"
	cases := []struct {
		name, predicateType, typ, policy, statement string
		wantErr                                     []string
	}{
		{name: "no CVEs", predicateType: "vuln", typ: "rego", policy: noCriticalCVEs, statement: vulnStatement()},
		{name: "high CVEs only", predicateType: "vuln", typ: "rego", policy: noCriticalCVEs, statement: vulnStatement("HIGH", "LOW")},
		{name: "critical CVEs", predicateType: "vuln", typ: "rego", policy: noCriticalCVEs, statement: vulnStatement("HIGH", "CRITICAL", "CRITICAL"),
			wantErr: []string{"failed evaluating rego policy for type vuln: policy is not compliant for query 'isCompliant = data.sigstore.isCompliant' with errors: critical vulnerabilities: CVE-2021-44229, CVE-2021-44230"}},
		{name: "slsa builder trusted", predicateType: "slsaprovenance", typ: "cue", policy: slsaBuilderCUE, statement: slsaStatement(goodBuilder)},
		{name: "slsa builder untrusted", predicateType: "slsaprovenance", typ: "cue", policy: slsaBuilderCUE, statement: slsaStatement("https://evil.example/builder@v1"),
			wantErr: []string{`failed evaluating cue policy for slsaprovenance: failed to evaluate the policy with error: predicate.builder.id: invalid value "https://evil.example/builder@v1"`}},
		{name: "slsa builder missing", predicateType: "slsaprovenance", typ: "cue", policy: slsaBuilderCUE,
			statement: `{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://slsa.dev/provenance/v0.2","subject":[],"predicate":{}}`,
			wantErr:   []string{`predicate.builder.id: invalid value ""`}},
	}
	e := newTestEvaluator(t, EvaluatorOptions{})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			input, err := NormalizeAttestation(tc.predicateType, []byte(tc.statement))
			if err != nil {
				t.Fatal(err)
			}
			err = e.EvaluatePolicy(context.Background(), tc.predicateType, &Policy{Type: tc.typ, Data: tc.policy}, input)
			if diff := cmp.Diff(outcome{Passed: len(tc.wantErr) == 0}, outcomeOf(err, tc.wantErr)); diff != "" {
				t.Errorf("outcome (-want +got):\n%s\nerror: %v", diff, err)
			}
		})
	}
}

func TestNormalizeAttestation(t *testing.T) {
	spdx, err := os.ReadFile(filepath.Join("testdata", "eval", "spdx-statement.json"))
	if err != nil {
		t.Fatal(err)
	}
	const header = `"_type":"https://in-toto.io/Statement/v0.1","predicateType":`
	cases := []struct {
		name, predicateType, in, want, wantErr string
	}{
		{name: "spdx as policy-controller shows it is a fixed point", predicateType: "https://spdx.dev/Document", in: string(spdx), want: string(spdx)},
		{name: "generic: fields reordered, extras dropped, numbers as float64, HTML escaped",
			predicateType: "custom",
			in:            `{"predicate":{"z":1.0,"a":12345678901234567890,"h":"<b>"},"extra":true,` + header + `"https://cosign.sigstore.dev/attestation/v1","subject":[{"name":"x","digest":{"sha256":"aa"}}]}`,
			want:          `{` + header + `"https://cosign.sigstore.dev/attestation/v1","subject":[{"name":"x","digest":{"sha256":"aa"}}],"predicate":{"a":12345678901234567000,"h":"\u003cb\u003e","z":1}}`},
		{name: "missing fields become null", predicateType: "https://example.com/p", in: `{"predicateType":"https://example.com/p"}`,
			want: `{"_type":"","predicateType":"https://example.com/p","subject":null,"predicate":null}`},
		{name: "vuln predicate decoded into its schema", predicateType: "vuln",
			in:   `{` + header + `"https://cosign.sigstore.dev/attestation/vuln/v1","subject":[],"predicate":{"scanner":{"uri":"trivy","extra":1},"other":2}}`,
			want: `{` + header + `"https://cosign.sigstore.dev/attestation/vuln/v1","subject":[],"predicate":{"invocation":{"parameters":null,"uri":"","event_id":"","builder.id":""},"scanner":{"uri":"trivy","version":"","db":{"uri":"","version":""},"result":null},"metadata":{"scanStartedOn":"0001-01-01T00:00:00Z","scanFinishedOn":"0001-01-01T00:00:00Z"}}}`},
		{name: "vuln by URI keeps the predicate", predicateType: "https://cosign.sigstore.dev/attestation/vuln/v1",
			in:   `{` + header + `"https://cosign.sigstore.dev/attestation/vuln/v1","subject":[],"predicate":{"other":2}}`,
			want: `{` + header + `"https://cosign.sigstore.dev/attestation/vuln/v1","subject":[],"predicate":{"other":2}}`},
		{name: "vuln with a bad timestamp", predicateType: "vuln",
			in:      `{` + header + `"https://cosign.sigstore.dev/attestation/vuln/v1","predicate":{"metadata":{"scanStartedOn":"yesterday"}}}`,
			wantErr: "unmarshaling CosignVulnStatement: parsing time"},
		{name: "slsa v0.2 predicate decoded into its schema", predicateType: "slsaprovenance",
			in: `{` + header + `"https://slsa.dev/provenance/v0.2","subject":[],"predicate":{"builder":{"id":"b","x":1},"metadata":{"buildStartedOn":"2024-01-01T00:00:00.000Z"}}}`,
			want: `{` + header + `"https://slsa.dev/provenance/v0.2","subject":[],"predicate":{"builder":{"id":"b"},"buildType":"","invocation":{"configSource":{}},` +
				`"metadata":{"buildStartedOn":"2024-01-01T00:00:00Z","completeness":{"parameters":false,"environment":false,"materials":false},"reproducible":false}}}`},
		{name: "link predicate decoded into its schema", predicateType: "link",
			in: `{` + header + `"https://in-toto.io/Link/v1","subject":[],"predicate":{"name":"build","command":["make"],"x":1}}`,
			want: `{` + header + `"https://in-toto.io/Link/v1","subject":[],"predicate":{"_type":"","name":"build","materials":null,"products":null,"byproducts":null,` +
				`"command":["make"],"environment":null}}`},
		{name: "predicate type mismatch", predicateType: "spdxjson", in: `{"predicateType":"https://cyclonedx.org/bom"}`,
			wantErr: `in-toto statement has predicateType "https://cyclonedx.org/bom", want "https://spdx.dev/Document"`},
		{name: "not JSON", predicateType: "custom", in: `{`, wantErr: "unmarshal in-toto statement: unexpected end of JSON input"},
		{name: "digest of wrong type", predicateType: "custom", in: `{"subject":[{"digest":{"sha256":1}}]}`, wantErr: "unmarshal in-toto statement: json: cannot unmarshal number"},
		{name: "no predicate type", in: `{}`, wantErr: "missing predicate type"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NormalizeAttestation(tc.predicateType, []byte(tc.in))
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
				if !strings.Contains(gotErr, tc.wantErr) || tc.wantErr == "" {
					t.Errorf("error = %q, want it to contain %q", gotErr, tc.wantErr)
				}
			} else if tc.wantErr != "" {
				t.Errorf("no error, want %q", tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, string(got)); diff != "" {
				t.Errorf("normalized (-want +got):\n%s", diff)
			}
		})
	}
}

// TestEngineNormalizesAttestations checks the engine hands attestation
// policies the normalized statement.
func TestEngineNormalizesAttestations(t *testing.T) {
	stmt := `{"extra":1,"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://cosign.sigstore.dev/attestation/vuln/v1","subject":[],"predicate":{"scanner":{"uri":"trivy"}}}`
	// Passes only on the normalized statement: no "extra", and the
	// missing scan time filled in as cosign's Go types do.
	const normalizedOnly = `package sigstore
isCompliant {
	not input.extra
	input.predicate.metadata.scanStartedOn == "0001-01-01T00:00:00Z"
}`
	checker := &fakeChecker{atts: map[string][]VerifiedAttestation{"a": {{PredicateType: "https://cosign.sigstore.dev/attestation/vuln/v1", Digest: "sha256:bb", Payload: []byte(stmt)}}}}
	ev := newTestEvaluator(t, EvaluatorOptions{})
	cases := []struct {
		name, predicateType, policy string
		wantAllowed                 bool
	}{
		{name: "normalized", predicateType: "vuln", policy: normalizedOnly, wantAllowed: true},
		{name: "no critical CVEs", predicateType: "vuln", policy: noCriticalCVEs, wantAllowed: true},
		{name: "raw statement would fail", predicateType: "vuln", policy: "package sigstore\nisCompliant { input.extra == 1 }", wantAllowed: false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := cip("p", "**", Authority{Name: "a", Key: &KeyRef{Data: validPublicKey},
				Attestations: []Attestation{{Name: "scan", PredicateType: tc.predicateType, Policy: &Policy{Type: PolicyTypeRego, Data: tc.policy}}}})
			e, err := NewEngine([]*ClusterImagePolicy{p}, checker, Options{Evaluator: ev})
			if err != nil {
				t.Fatal(err)
			}
			d := e.Evaluate(context.Background(), Request{Image: img})
			if d.Allowed != tc.wantAllowed {
				t.Errorf("Allowed = %v, want %v; denials %v", d.Allowed, tc.wantAllowed, d.Denials)
			}
		})
	}
}

// fakeConfigMaps serves ConfigMap data by namespace/name.
type fakeConfigMaps map[string]map[string]string

func (f fakeConfigMaps) ConfigMapData(_ context.Context, namespace, name string) (map[string]string, error) {
	cm, ok := f[namespace+"/"+name]
	if !ok {
		return nil, fmt.Errorf("configmap %s/%s not found", namespace, name)
	}
	return cm, nil
}

// fakeHTTP serves bodies by URL and counts requests.
type fakeHTTP struct {
	mu     sync.Mutex
	bodies map[string]string
	status int
	calls  int
}

func (f *fakeHTTP) Do(req *http.Request) (*http.Response, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	body, ok := f.bodies[req.URL.String()]
	status := f.status
	if status == 0 {
		status = http.StatusOK
	}
	if !ok {
		return nil, errors.New("connection refused")
	}
	return &http.Response{StatusCode: status, Body: io.NopCloser(strings.NewReader(body)), Request: req}, nil
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestEvaluatePolicySources(t *testing.T) {
	const configPolicy = `config: "linux/amd64": config: User: "65530"` // test/testdata/policies/cue-policy-config.cue
	const url = "https://policies.example.com/config.cue"
	input := []byte(`{"config":{"linux/amd64":{"config":{"User":"65530"}}}}`)
	fromURL := e2eCIP(t, "cip-policy-from-url.yaml").Spec.Policy
	fromCM := e2eCIP(t, "cip-config-file-policy-from-configmap.yaml").Spec.Policy

	cases := []struct {
		name    string
		opts    EvaluatorOptions
		policy  *Policy
		wantErr []string
	}{
		{name: "configmap", policy: fromCM, opts: EvaluatorOptions{ConfigMaps: fakeConfigMaps{"/policy-config": {"policy": configPolicy}}}},
		{name: "configmap in a namespace", policy: &Policy{Type: "cue", ConfigMapRef: &ConfigMapReference{Namespace: "cosign-system", Name: "policy-config", Key: "policy"}},
			opts: EvaluatorOptions{ConfigMaps: fakeConfigMaps{"cosign-system/policy-config": {"policy": configPolicy}}}},
		{name: "configmap fails the policy", policy: fromCM, opts: EvaluatorOptions{ConfigMaps: fakeConfigMaps{"/policy-config": {"policy": `config: "linux/amd64": config: User: "65532"`}}},
			wantErr: []string{`config."linux/amd64".config.User: conflicting values`}},
		{name: "configmap without the key", policy: fromCM, opts: EvaluatorOptions{ConfigMaps: fakeConfigMaps{"/policy-config": {"other": "x"}}},
			wantErr: []string{`cue policy ClusterImagePolicy: configmap "policy-config" does not contain key policy`}},
		{name: "configmap without data", policy: fromCM, opts: EvaluatorOptions{ConfigMaps: fakeConfigMaps{"/policy-config": {}}},
			wantErr: []string{`configmap "policy-config" contains no data`}},
		{name: "configmap missing", policy: fromCM, opts: EvaluatorOptions{ConfigMaps: fakeConfigMaps{}},
			wantErr: []string{`read configmap "policy-config": configmap /policy-config not found`}},
		{name: "no configmap getter", policy: fromCM, wantErr: []string{"no ConfigMap getter is configured"}},
		{name: "url", policy: &Policy{Type: "cue", Remote: &RemotePolicy{URL: url, Sha256sum: sha256Hex(configPolicy)}},
			opts: EvaluatorOptions{HTTPClient: &fakeHTTP{bodies: map[string]string{url: configPolicy}}}},
		{name: "url with wrong sha256", policy: &Policy{Type: "cue", Remote: &RemotePolicy{URL: url, Sha256sum: sha256Hex("something else")}},
			opts:    EvaluatorOptions{HTTPClient: &fakeHTTP{bodies: map[string]string{url: configPolicy}}},
			wantErr: []string{"failed to check sha256sum from policy remote: " + sha256Hex("something else") + " got " + sha256Hex(configPolicy)}},
		{name: "policy-controller e2e url served other content", policy: fromURL,
			opts:    EvaluatorOptions{HTTPClient: &fakeHTTP{bodies: map[string]string{fromURL.Remote.URL: configPolicy}}},
			wantErr: []string{"failed to check sha256sum from policy remote: 291534e501184200a3933969277403acf50582fbe73509571a5b73017e49a957 got " + sha256Hex(configPolicy)}},
		{name: "url not found", policy: &Policy{Type: "cue", Remote: &RemotePolicy{URL: url, Sha256sum: sha256Hex(configPolicy)}},
			opts:    EvaluatorOptions{HTTPClient: &fakeHTTP{status: 404, bodies: map[string]string{url: "not found"}}},
			wantErr: []string{"failed to fetch content from policy url https://policies.example.com/config.cue with code 404"}},
		{name: "url unreachable", policy: &Policy{Type: "cue", Remote: &RemotePolicy{URL: url, Sha256sum: sha256Hex(configPolicy)}},
			opts: EvaluatorOptions{HTTPClient: &fakeHTTP{}}, wantErr: []string{"failed to fetch content from policy url: connection refused"}},
		{name: "url over the size limit", policy: &Policy{Type: "cue", Remote: &RemotePolicy{URL: url, Sha256sum: sha256Hex(configPolicy)}},
			opts:    EvaluatorOptions{MaxPolicySize: 10, HTTPClient: &fakeHTTP{bodies: map[string]string{url: configPolicy}}},
			wantErr: []string{"response is more than the limit of 10 bytes"}},
		{name: "plain http url", policy: &Policy{Type: "cue", Remote: &RemotePolicy{URL: "http://policies.example.com/p", Sha256sum: sha256Hex(configPolicy)}},
			opts: EvaluatorOptions{HTTPClient: &fakeHTTP{}}, wantErr: []string{`policy url "http://policies.example.com/p": want an https URL with a host`}},
		{name: "inline over the size limit", policy: &Policy{Type: "cue", Data: configPolicy}, opts: EvaluatorOptions{MaxPolicySize: 10},
			wantErr: []string{"policy is 44 bytes, more than the limit of 10"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEvaluator(t, tc.opts)
			err := e.EvaluatePolicy(context.Background(), KindClusterImagePolicy, tc.policy, input)
			if diff := cmp.Diff(outcome{Passed: len(tc.wantErr) == 0}, outcomeOf(err, tc.wantErr)); diff != "" {
				t.Errorf("outcome (-want +got):\n%s\nerror: %v", diff, err)
			}
		})
	}
}

// TestEvaluatePolicyURLCached checks a verified remote policy is fetched
// once.
func TestEvaluatePolicyURLCached(t *testing.T) {
	const url = "https://policies.example.com/p.rego"
	const src = "package sigstore\nisCompliant { input.ok }"
	client := &fakeHTTP{bodies: map[string]string{url: src}}
	e := newTestEvaluator(t, EvaluatorOptions{HTTPClient: client})
	p := &Policy{Type: PolicyTypeRego, Remote: &RemotePolicy{URL: url, Sha256sum: sha256Hex(src)}}
	var got []bool
	for _, in := range []string{`{"ok":true}`, `{"ok":false}`, `{"ok":true}`} {
		got = append(got, e.EvaluatePolicy(context.Background(), "p", p, []byte(in)) == nil)
	}
	if diff := cmp.Diff([]bool{true, false, true}, got); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if client.calls != 1 {
		t.Errorf("fetched %d times, want 1", client.calls)
	}
}

// TestEvaluatePolicyCache checks compiled policies are reused across
// inputs, concurrently, without results leaking between evaluations.
func TestEvaluatePolicyCache(t *testing.T) {
	e := newTestEvaluator(t, EvaluatorOptions{MaxCUEEvaluations: 4})
	policies := []*Policy{
		{Type: PolicyTypeCUE, Data: `import "list"` + "\n" + `predicate: tags: list.MinItems(1)` + "\n" + `predicate: owner: "team-a"`},
		{Type: PolicyTypeRego, Data: "package sigstore\nisCompliant { count(input.predicate.tags) > 0; input.predicate.owner == \"team-a\" }"},
	}
	inputs := []struct {
		json string
		pass bool
	}{
		{`{"predicate":{"owner":"team-a","tags":["x"]}}`, true},
		{`{"predicate":{"owner":"team-b","tags":["x"]}}`, false},
		{`{"predicate":{"owner":"team-a","tags":[]}}`, false},
		{`{"predicate":{"owner":"team-a","tags":["x","y"],"new":{"field":1}}}`, true},
	}
	type result struct {
		Policy, Input int
		Pass          bool
	}
	var want []result
	for pi := range policies {
		for ii, in := range inputs {
			for range 5 {
				want = append(want, result{pi, ii, in.pass})
			}
		}
	}
	got := make([]result, len(want))
	var wg sync.WaitGroup
	for i, w := range want {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := e.EvaluatePolicy(context.Background(), "p", policies[w.Policy], []byte(inputs[w.Input].json))
			got[i] = result{w.Policy, w.Input, err == nil}
		}()
	}
	wg.Wait()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if n := e.compiled.len(); n != len(policies) {
		t.Errorf("%d compiled policies cached, want %d", n, len(policies))
	}
}

func TestLRU(t *testing.T) {
	c := newLRU[int](2)
	k := func(b byte) [32]byte { return [32]byte{b} }
	c.put(k(1), 1)
	c.put(k(2), 2)
	c.get(k(1)) // 2 is now the least recently used
	c.put(k(3), 3)
	var got []int
	for b := byte(1); b <= 3; b++ {
		v, ok := c.get(k(b))
		if !ok {
			v = -1
		}
		got = append(got, v)
	}
	if diff := cmp.Diff([]int{1, -1, 3}, got); diff != "" {
		t.Errorf("cache (-want +got):\n%s", diff)
	}
}

// Policies that run far longer than any test timeout.
const (
	slowRego = `package sigstore
isCompliant {
	n := numbers.range(1, 5000)
	x := n[_]
	y := n[_]
	z := n[_]
	x + y + z < 0
}`
	slowCUE = `import "list"
n: [for i in list.Range(0, 600, 1) for j in list.Range(0, 600, 1) if i*j < 0 {i}]
`
)

func TestEvaluatePolicyTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	e := newTestEvaluator(t, EvaluatorOptions{Timeout: timeout, MaxCUEEvaluations: 1})
	cases := []struct {
		name   string
		policy *Policy
		ctx    func() (context.Context, context.CancelFunc)
		want   error
	}{
		{name: "rego stopped at the deadline", policy: &Policy{Type: PolicyTypeRego, Data: slowRego}, want: context.DeadlineExceeded},
		{name: "cue abandoned at the deadline", policy: &Policy{Type: PolicyTypeCUE, Data: slowCUE}, want: context.DeadlineExceeded},
		// The first CUE evaluation still holds the only slot.
		{name: "cue waits for a slot until the deadline", policy: &Policy{Type: PolicyTypeCUE, Data: `a: 1`}, want: context.DeadlineExceeded},
		{name: "caller's cancellation", policy: &Policy{Type: PolicyTypeRego, Data: slowRego}, want: context.Canceled,
			ctx: func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				time.AfterFunc(50*time.Millisecond, cancel)
				return ctx, cancel
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.Background(), context.CancelFunc(func() {})
			if tc.ctx != nil {
				ctx, cancel = tc.ctx()
			}
			defer cancel()
			start := time.Now()
			err := e.EvaluatePolicy(ctx, "slow", tc.policy, []byte(`{}`))
			elapsed := time.Since(start)
			if !errors.Is(err, tc.want) {
				t.Errorf("error = %v, want %v", err, tc.want)
			}
			// Generous: the machine may be loaded, but an unbounded
			// evaluation takes minutes.
			if elapsed > timeout+5*time.Second {
				t.Errorf("took %s, want about %s", elapsed, timeout)
			}
		})
	}
	if err := e.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Once the abandoned evaluation is done, CUE works again.
	if err := e.EvaluatePolicy(context.Background(), "ok", &Policy{Type: PolicyTypeCUE, Data: `a: 1`}, []byte(`{"a":1}`)); err != nil {
		t.Errorf("after Wait: %v", err)
	}
}

func TestNewEvaluatorOptions(t *testing.T) {
	cases := []struct {
		name string
		opts EvaluatorOptions
		want string
	}{
		{name: "defaults", opts: EvaluatorOptions{}},
		{name: "negative timeout", opts: EvaluatorOptions{Timeout: -1}, want: "new policy evaluator: evaluator options: timeout must not be negative"},
		{name: "negative size", opts: EvaluatorOptions{MaxPolicySize: -1}, want: "new policy evaluator: evaluator options: max policy size must not be negative"},
		{name: "negative slots", opts: EvaluatorOptions{MaxCUEEvaluations: -1}, want: "new policy evaluator: evaluator options: max CUE evaluations must not be negative"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewEvaluator(tc.opts)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
}
