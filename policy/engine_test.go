package policy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/signetproject/signet/oci"
)

// fakeChecker answers by authority name.
type fakeChecker struct {
	sigs map[string][]Signature
	atts map[string][]VerifiedAttestation
	errs map[string]error
}

func (f *fakeChecker) VerifySignatures(ctx context.Context, image string, a *Authority, _ RegistryCredentials) ([]Signature, error) {
	if err := f.errs[a.Name]; err != nil {
		return nil, err
	}
	return f.sigs[a.Name], nil
}

func (f *fakeChecker) VerifyAttestations(ctx context.Context, image string, a *Authority, _ RegistryCredentials) ([]VerifiedAttestation, error) {
	if err := f.errs[a.Name]; err != nil {
		return nil, err
	}
	return f.atts[a.Name], nil
}

// fakeEvaluator interprets policy data: "pass", "fail", or
// "has:<json key>" which passes when the input contains that key.
type fakeEvaluator struct {
	mu     sync.Mutex
	inputs map[string]string // by policy data
}

func (f *fakeEvaluator) EvaluatePolicy(ctx context.Context, name string, p *Policy, input []byte) error {
	f.mu.Lock()
	if f.inputs == nil {
		f.inputs = map[string]string{}
	}
	f.inputs[p.Data] = string(input)
	f.mu.Unlock()
	switch {
	case p.Data == "pass":
		return nil
	case strings.HasPrefix(p.Data, "has:"):
		if strings.Contains(string(input), strings.TrimPrefix(p.Data, "has:")) {
			return nil
		}
		return fmt.Errorf("%s not in input", strings.TrimPrefix(p.Data, "has:"))
	default:
		return errors.New("policy says no")
	}
}

// fakeConfigs serves one config file to reads made within the session
// testSession, as the request's registry work must be.
type fakeConfigs struct{}

var testSession, _ = oci.NewSession(oci.Limits{})

func (fakeConfigs) ConfigFiles(ctx context.Context, image string, s *oci.Session) (map[string]json.RawMessage, error) {
	if s != testSession {
		return nil, errors.New("config files read outside the request's session")
	}
	return map[string]json.RawMessage{"linux/amd64": json.RawMessage(`{"architecture":"amd64"}`)}, nil
}

func cip(name, glob string, auths ...Authority) *ClusterImagePolicy {
	return &ClusterImagePolicy{
		TypeMeta: TypeMeta{APIVersion: V1beta1, Kind: KindClusterImagePolicy},
		Metadata: ObjectMeta{Name: name},
		Spec:     ClusterImagePolicySpec{Images: []ImagePattern{{Glob: glob}}, Authorities: auths},
	}
}

func keyAuth(name string) Authority {
	return Authority{Name: name, Key: &KeyRef{Data: validPublicKey}}
}

func static(name, action string) Authority {
	return Authority{Name: name, Static: &StaticRef{Action: action, Message: "not allowed"}}
}

func attAuth(name string, atts ...Attestation) Authority {
	a := keyAuth(name)
	a.Attestations = atts
	return a
}

func cue(data string) *Policy { return &Policy{Type: PolicyTypeCUE, Data: data} }

// summary is the part of a Decision the table compares.
type summary struct {
	Allowed, NoMatch bool
	Denials          []string
	Warnings         []string
	Policies         map[string][]string // policy -> "authority:pass|fail"
}

func summarise(d Decision) summary {
	s := summary{Allowed: d.Allowed, NoMatch: d.NoMatch}
	for _, v := range d.Denials {
		s.Denials = append(s.Denials, v.String())
	}
	for _, v := range d.Warnings {
		s.Warnings = append(s.Warnings, v.String())
	}
	for _, p := range d.Policies {
		if s.Policies == nil {
			s.Policies = map[string][]string{}
		}
		verdict := "fail"
		if p.Passed {
			verdict = "pass"
		}
		out := []string{verdict}
		for _, a := range p.Authorities {
			r := "fail"
			if a.Passed {
				r = "pass"
			}
			out = append(out, a.Name+":"+r)
		}
		s.Policies[p.Name] = out
	}
	return s
}

const img = "ghcr.io/org/app@sha256:5504f2a95018e3d8a52d80d9e1a128c6ea337581808ff9fe96f5628ce2336350"

func TestEngineEvaluate(t *testing.T) {
	sig := Signature{ID: "sig1", Subject: "https://github.com/org/app/.github/workflows/release.yml@refs/heads/main", Issuer: "https://token.actions.githubusercontent.com"}
	sbom := VerifiedAttestation{PredicateType: "https://spdx.dev/Document", Digest: "sha256:aa", Payload: []byte(`{"predicateType":"https://spdx.dev/Document"}`)}
	vuln := VerifiedAttestation{PredicateType: "https://cosign.sigstore.dev/attestation/vuln/v1", Digest: "sha256:bb", Payload: []byte(`{}`)}
	checker := &fakeChecker{
		sigs: map[string][]Signature{"good": {sig}, "good2": {sig}},
		atts: map[string][]VerifiedAttestation{"attester": {sbom, vuln}},
		errs: map[string]error{"bad": errors.New("no signatures found")},
	}
	warn := func(c *ClusterImagePolicy) *ClusterImagePolicy { c.Spec.Mode = ModeWarn; return c }
	withPolicy := func(c *ClusterImagePolicy, p *Policy) *ClusterImagePolicy { c.Spec.Policy = p; return c }
	matchPods := func(c *ClusterImagePolicy) *ClusterImagePolicy {
		c.Spec.Match = []MatchResource{{Resource: "pods", Version: "v1", Selector: &LabelSelector{MatchLabels: map[string]string{"enforce": "yes"}}}}
		return c
	}
	podLabels := func(l map[string]string) *Resource { return &Resource{Version: "v1", Resource: "pods", Labels: l} }

	tests := []struct {
		name     string
		policies []*ClusterImagePolicy
		opts     Options
		req      Request
		want     summary
	}{
		{
			name:     "one authority passes",
			policies: []*ClusterImagePolicy{cip("p", "ghcr.io/org/**", keyAuth("bad"), keyAuth("good"))},
			want:     summary{Allowed: true, Policies: map[string][]string{"p": {"pass", "bad:fail", "good:pass"}}},
		},
		{
			name:     "no authority passes",
			policies: []*ClusterImagePolicy{cip("p", "ghcr.io/org/**", keyAuth("bad"), static("s", "fail"))},
			want: summary{
				Denials:  []string{"failed policy: p: " + img + " signature validation failed for authority bad for " + img + ": no signatures found disallowed by static policy: not allowed"},
				Policies: map[string][]string{"p": {"fail", "bad:fail", "s:fail"}},
			},
		},
		{
			name:     "every matching policy must pass",
			policies: []*ClusterImagePolicy{cip("a", "ghcr.io/**", keyAuth("good")), cip("b", "ghcr.io/org/*", static("s", "fail")), cip("c", "quay.io/**", static("s", "fail"))},
			want: summary{
				Denials:  []string{"failed policy: b: " + img + " disallowed by static policy: not allowed"},
				Policies: map[string][]string{"a": {"pass", "good:pass"}, "b": {"fail", "s:fail"}},
			},
		},
		{
			name:     "verified but no signatures",
			policies: []*ClusterImagePolicy{cip("p", "**", keyAuth("empty"))},
			want: summary{
				Denials:  []string{"failed policy: p: " + img + " no matching signatures for authority empty for " + img},
				Policies: map[string][]string{"p": {"fail", "empty:fail"}},
			},
		},
		{
			name:     "warn mode failure is a warning",
			policies: []*ClusterImagePolicy{warn(cip("w", "**", static("s", "fail"))), cip("e", "**", static("ok", "pass"))},
			want: summary{
				Allowed:  true,
				Warnings: []string{"failed policy: w: " + img + " disallowed by static policy: not allowed"},
				Policies: map[string][]string{"e": {"pass", "ok:pass"}, "w": {"fail", "s:fail"}},
			},
		},
		{
			name:     "no match denies by default",
			policies: []*ClusterImagePolicy{cip("p", "quay.io/**", static("s", "pass"))},
			want:     summary{NoMatch: true, Denials: []string{"no matching policies: " + img}},
		},
		{
			name:     "no match warn",
			policies: []*ClusterImagePolicy{cip("p", "quay.io/**", static("s", "pass"))},
			opts:     Options{NoMatch: NoMatchWarn},
			want:     summary{Allowed: true, NoMatch: true, Warnings: []string{"no matching policies: " + img}},
		},
		{
			name: "no match allow", opts: Options{NoMatch: NoMatchAllow},
			want: summary{Allowed: true, NoMatch: true},
		},
		{
			name:     "match clause excludes the resource",
			policies: []*ClusterImagePolicy{matchPods(cip("p", "**", static("s", "fail")))},
			opts:     Options{NoMatch: NoMatchAllow},
			req:      Request{Image: img, Resource: podLabels(map[string]string{"enforce": "no"})},
			want:     summary{Allowed: true, NoMatch: true},
		},
		{
			name:     "match clause includes the resource",
			policies: []*ClusterImagePolicy{matchPods(cip("p", "**", static("s", "fail")))},
			req:      Request{Image: img, Resource: podLabels(map[string]string{"enforce": "yes"})},
			want: summary{
				Denials:  []string{"failed policy: p: " + img + " disallowed by static policy: not allowed"},
				Policies: map[string][]string{"p": {"fail", "s:fail"}},
			},
		},
		{
			name:     "offline requests ignore match clauses",
			policies: []*ClusterImagePolicy{matchPods(cip("p", "**", static("s", "pass")))},
			want:     summary{Allowed: true, Policies: map[string][]string{"p": {"pass", "s:pass"}}},
		},
		{
			name: "broken selector denies",
			policies: []*ClusterImagePolicy{func() *ClusterImagePolicy {
				c := cip("p", "**", static("s", "pass"))
				c.Spec.Match = []MatchResource{{Resource: "pods", Version: "v1", Selector: &LabelSelector{MatchExpressions: []LabelSelectorRequirement{{Key: "k", Operator: "Is"}}}}}
				return c
			}()},
			req:  Request{Image: img, Resource: podLabels(nil)},
			want: summary{Denials: []string{`policy "p": policy with wrong match label selector: matchExpressions[0].operator: "Is" is not a valid label selector operator: ` + img}},
		},
		{
			name:     "invalid image reference denies",
			policies: []*ClusterImagePolicy{cip("p", "**", static("s", "pass"))},
			req:      Request{Image: "Not A Reference"},
			want:     summary{Denials: []string{`match glob "**": could not parse reference: Not A Reference: Not A Reference`}},
		},
		{
			name:     "policy without authorities denies",
			policies: []*ClusterImagePolicy{cip("empty", "**")},
			want: summary{
				Denials:  []string{"failed policy: empty: " + img + " policy has no authorities"},
				Policies: map[string][]string{"empty": {"fail"}},
			},
		},
		{
			name: "attestations satisfied",
			policies: []*ClusterImagePolicy{cip("p", "**", attAuth("attester",
				Attestation{Name: "sbom", PredicateType: "spdxjson", Policy: cue("pass")},
				Attestation{Name: "vuln", PredicateType: "https://cosign.sigstore.dev/attestation/vuln/v1"}))},
			opts: Options{Evaluator: &fakeEvaluator{}},
			want: summary{Allowed: true, Policies: map[string][]string{"p": {"pass", "attester:pass"}}},
		},
		{
			name:     "attestation of missing type",
			policies: []*ClusterImagePolicy{cip("p", "**", attAuth("attester", Attestation{Name: "prov", PredicateType: "slsaprovenance1"}))},
			want: summary{
				Denials:  []string{"failed policy: p: " + img + ` no matching attestations with type slsaprovenance1, checked the following predicateTypes: "https://cosign.sigstore.dev/attestation/vuln/v1,https://spdx.dev/Document"`},
				Policies: map[string][]string{"p": {"fail", "attester:fail"}},
			},
		},
		{
			name:     "attestation policy fails",
			policies: []*ClusterImagePolicy{cip("p", "**", attAuth("attester", Attestation{Name: "sbom", PredicateType: "https://spdx.dev/Document", Policy: cue("fail")}))},
			opts:     Options{Evaluator: &fakeEvaluator{}},
			want: summary{
				Denials:  []string{"failed policy: p: " + img + " policy says no"},
				Policies: map[string][]string{"p": {"fail", "attester:fail"}},
			},
		},
		{
			name:     "attestation policy without evaluator fails closed",
			policies: []*ClusterImagePolicy{cip("p", "**", attAuth("attester", Attestation{Name: "sbom", PredicateType: "spdx", Policy: cue("pass")}))},
			want: summary{
				Denials:  []string{"failed policy: p: " + img + ` sbom policy "cue": no cue policy evaluator is configured`},
				Policies: map[string][]string{"p": {"fail", "attester:fail"}},
			},
		},
		{
			name:     "no attestations at all",
			policies: []*ClusterImagePolicy{cip("p", "**", attAuth("good", Attestation{Name: "sbom", PredicateType: "spdx"}))},
			want: summary{
				Denials:  []string{"failed policy: p: " + img + " no matching attestations for authority good for " + img},
				Policies: map[string][]string{"p": {"fail", "good:fail"}},
			},
		},
		{
			name:     "CIP-level policy over passing authorities passes",
			policies: []*ClusterImagePolicy{withPolicy(cip("p", "**", keyAuth("good"), keyAuth("good2"), keyAuth("bad")), cue(`has:"good2":{"signatures"`))},
			opts:     Options{Evaluator: &fakeEvaluator{}},
			want:     summary{Allowed: true, Policies: map[string][]string{"p": {"pass", "good:pass", "good2:pass", "bad:fail"}}},
		},
		{
			name:     "CIP-level policy fails",
			policies: []*ClusterImagePolicy{withPolicy(cip("p", "**", keyAuth("good"), keyAuth("bad")), cue(`has:"bad"`))},
			opts:     Options{Evaluator: &fakeEvaluator{}},
			want: summary{
				Denials:  []string{"failed policy: p: " + img + ` "bad" not in input`},
				Policies: map[string][]string{"p": {"fail", "good:pass", "bad:fail"}},
			},
		},
		{
			name:     "CIP-level policy not evaluated when no authority passes",
			policies: []*ClusterImagePolicy{withPolicy(cip("p", "**", keyAuth("bad")), cue("pass"))},
			opts:     Options{Evaluator: &fakeEvaluator{}},
			want: summary{
				Denials:  []string{"failed policy: p: " + img + " signature validation failed for authority bad for " + img + ": no signatures found"},
				Policies: map[string][]string{"p": {"fail", "bad:fail"}},
			},
		},
		{
			name: "CIP-level policy sees config, spec, metadata and typemeta",
			policies: []*ClusterImagePolicy{withPolicy(cip("p", "**", static("s", "pass")), &Policy{Type: "cue",
				Data:            `has:{"authorityMatches":{"s":{"static":true}},"config":{"linux/amd64":{"architecture":"amd64"}},"spec":{"containers":1},"metadata":{"name":"pod"},"typemeta":{"kind":"Pod"}}`,
				FetchConfigFile: boolPtr(true), IncludeSpec: boolPtr(true), IncludeObjectMeta: boolPtr(true), IncludeTypeMeta: boolPtr(true)})},
			opts: Options{Evaluator: &fakeEvaluator{}, ConfigFiles: fakeConfigs{}},
			req: Request{Image: img, Spec: map[string]int{"containers": 1}, ObjectMeta: map[string]string{"name": "pod"},
				TypeMeta: map[string]string{"kind": "Pod"}, Credentials: RegistryCredentials{Session: testSession}},
			want: summary{Allowed: true, Policies: map[string][]string{"p": {"pass", "s:pass"}}},
		},
		{
			name:     "fetchConfigFile without fetcher fails closed",
			policies: []*ClusterImagePolicy{withPolicy(cip("p", "**", static("s", "pass")), &Policy{Type: "cue", Data: "pass", FetchConfigFile: boolPtr(true)})},
			opts:     Options{Evaluator: &fakeEvaluator{}},
			want: summary{
				Denials:  []string{"failed policy: p: " + img + " policy needs the image config file (fetchConfigFile) but no config file fetcher is configured"},
				Policies: map[string][]string{"p": {"fail", "s:pass"}},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := NewEngine(tc.policies, checker, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			req := tc.req
			if req.Image == "" {
				req.Image = img
			}
			got := summarise(e.Evaluate(context.Background(), req))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("decision (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEngineResultDetails(t *testing.T) {
	sig := Signature{ID: "sig1", Subject: "s", Issuer: "i", GithubExtensions: GithubExtensions{WorkflowRepo: "org/app"}}
	checker := &fakeChecker{sigs: map[string][]Signature{"good": {sig}}}
	ev := &fakeEvaluator{}
	c := cip("p", "**", keyAuth("good"), static("s", "pass"))
	c.Spec.Policy = cue("pass")
	e, err := NewEngine([]*ClusterImagePolicy{c}, checker, Options{Evaluator: ev})
	if err != nil {
		t.Fatal(err)
	}
	d := e.Evaluate(context.Background(), Request{Image: img})
	want := []AuthorityResult{
		{Name: "good", Passed: true, Signatures: []Signature{sig}},
		{Name: "s", Passed: true, Static: true},
	}
	if diff := cmp.Diff(want, d.Policies[0].Authorities); diff != "" {
		t.Errorf("authorities (-want +got):\n%s", diff)
	}
	// The CIP-level input has policy-controller's shape.
	wantInput := `{"authorityMatches":{"good":{"signatures":[{"id":"sig1","subject":"s","issuer":"i","githubWorkflowRepo":"org/app"}]},"s":{"static":true}}}`
	if got := ev.inputs["pass"]; got != wantInput {
		t.Errorf("CIP policy input = %s\nwant %s", got, wantInput)
	}
}

func TestNewEngineErrors(t *testing.T) {
	ok := cip("p", "**", static("s", "pass"))
	tests := []struct {
		name     string
		policies []*ClusterImagePolicy
		checker  AuthorityChecker
		opts     Options
		wantErr  string
	}{
		{name: "nil checker", wantErr: "nil AuthorityChecker"},
		{name: "bad no-match", checker: &fakeChecker{}, opts: Options{NoMatch: "maybe"}, wantErr: `no-match policy "maybe"`},
		{name: "negative concurrency", checker: &fakeChecker{}, opts: Options{MaxConcurrentChecks: -1}, wantErr: "must not be negative"},
		{name: "duplicate names", checker: &fakeChecker{}, policies: []*ClusterImagePolicy{ok, ok}, wantErr: `two policies named "p"`},
		{name: "nil policy", checker: &fakeChecker{}, policies: []*ClusterImagePolicy{nil}, wantErr: "policy 0 is nil"},
		{name: "invalid policy", checker: &fakeChecker{}, policies: []*ClusterImagePolicy{cip("bad", "[", static("s", "pass"))},
			wantErr: "policy \"bad\" is invalid: invalid value: [: spec.images[0].glob"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewEngine(tc.policies, tc.checker, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("NewEngine error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

// blockingChecker blocks until its context ends, counting calls in flight.
type blockingChecker struct {
	mu             sync.Mutex
	inFlight, peak int
}

func (b *blockingChecker) VerifySignatures(ctx context.Context, image string, a *Authority, _ RegistryCredentials) ([]Signature, error) {
	b.mu.Lock()
	b.inFlight++
	b.peak = max(b.peak, b.inFlight)
	b.mu.Unlock()
	<-ctx.Done()
	b.mu.Lock()
	b.inFlight--
	b.mu.Unlock()
	return nil, ctx.Err()
}

func (b *blockingChecker) VerifyAttestations(ctx context.Context, image string, a *Authority, creds RegistryCredentials) ([]VerifiedAttestation, error) {
	_, err := b.VerifySignatures(ctx, image, a, creds)
	return nil, err
}

func TestEngineCancellationAndConcurrencyBound(t *testing.T) {
	var auths []Authority
	for i := range 10 {
		auths = append(auths, keyAuth(fmt.Sprintf("k%d", i)))
	}
	bc := &blockingChecker{}
	e, err := NewEngine([]*ClusterImagePolicy{cip("p", "**", auths...)}, bc, Options{MaxConcurrentChecks: 3})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan Decision)
	go func() { done <- e.Evaluate(ctx, Request{Image: img}) }()
	// Wait until the bound is reached, then cancel.
	for {
		bc.mu.Lock()
		n := bc.inFlight
		bc.mu.Unlock()
		if n == 3 {
			break
		}
	}
	cancel()
	d := <-done
	if d.Allowed {
		t.Error("cancelled evaluation allowed the image")
	}
	if bc.peak != 3 {
		t.Errorf("peak checks in flight = %d, want 3", bc.peak)
	}
	for _, a := range d.Policies[0].Authorities {
		if a.Passed || !errors.Is(a.Err, context.Canceled) {
			t.Errorf("authority %s: passed=%t err=%v, want a context.Canceled failure", a.Name, a.Passed, a.Err)
		}
	}
}

// TestEngineUnusablePolicies: a policy that cannot be used (a Secret it
// references is missing) fails the images it matches, and only those.
func TestEngineUnusablePolicies(t *testing.T) {
	checker := &fakeChecker{sigs: map[string][]Signature{"good": {{ID: "sig"}}}}
	broken := cip("broken", "ghcr.io/org/**", Authority{Name: "k", Key: &KeyRef{SecretRef: &SecretReference{Name: "gone"}}})
	unusable := map[string]error{"broken": errors.New(`secretRef: secret signet-system/gone not found`)}
	e, err := NewEngine([]*ClusterImagePolicy{broken, cip("fine", "**", keyAuth("good"))}, checker, Options{Unusable: unusable})
	if err != nil {
		t.Fatal(err)
	}
	d := e.Evaluate(context.Background(), Request{Image: img})
	want := []string{"failed policy: broken: " + img + " policy cannot be used: secretRef: secret signet-system/gone not found"}
	if diff := cmp.Diff(want, summarise(d).Denials); diff != "" {
		t.Errorf("denials (-want +got):\n%s", diff)
	}
	other := "quay.io/x/app@sha256:5504f2a95018e3d8a52d80d9e1a128c6ea337581808ff9fe96f5628ce2336350"
	if d := e.Evaluate(context.Background(), Request{Image: other}); !d.Allowed {
		t.Errorf("an image the broken policy does not match was denied: %v", d.Denials)
	}

	// Its globs must still be valid: they decide what it denies.
	bad := cip("broken", "ghcr.io/[", Authority{Name: "k"})
	if _, err := NewEngine([]*ClusterImagePolicy{bad}, checker, Options{Unusable: unusable}); err == nil {
		t.Error("unusable policy with an invalid glob accepted")
	}
	// Without the mark, the same policy makes the engine fail.
	if _, err := NewEngine([]*ClusterImagePolicy{cip("broken", "**", Authority{Name: "k"})}, checker, Options{}); err == nil {
		t.Error("invalid policy accepted")
	}
}

// TestEngineUnavailable: a policy failed because the signatures could not
// be read marks the decision Unavailable; a failure on what was read, or a
// policy that passed anyway, does not.
func TestEngineUnavailable(t *testing.T) {
	down := fmt.Errorf("list signatures: %w: registry unreachable", ErrUnavailable)
	checker := &fakeChecker{
		sigs: map[string][]Signature{"good": {{ID: "sig"}}},
		errs: map[string]error{"down": down, "bad": errors.New("no matching signatures"), "late": context.DeadlineExceeded},
	}
	for _, tt := range []struct {
		name        string
		policies    []*ClusterImagePolicy
		unavailable bool
	}{
		{"registry down", []*ClusterImagePolicy{cip("p", "**", keyAuth("down"))}, true},
		{"deadline", []*ClusterImagePolicy{cip("p", "**", keyAuth("late"))}, true},
		{"bad signatures", []*ClusterImagePolicy{cip("p", "**", keyAuth("bad"))}, false},
		{"down but another authority passed", []*ClusterImagePolicy{cip("p", "**", keyAuth("down"), keyAuth("good"))}, false},
		{"down and bad", []*ClusterImagePolicy{cip("p", "**", keyAuth("down"), keyAuth("bad"))}, true},
		{"another policy down", []*ClusterImagePolicy{cip("p", "**", keyAuth("bad")), cip("q", "**", keyAuth("down"))}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e, err := NewEngine(tt.policies, checker, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if d := e.Evaluate(context.Background(), Request{Image: img}); d.Unavailable != tt.unavailable {
				t.Errorf("Unavailable = %v, want %v (%v)", d.Unavailable, tt.unavailable, d.Denials)
			}
		})
	}
}

// TestEngineMayApply: whether a tag's repository needs resolving.
func TestEngineMayApply(t *testing.T) {
	checker := &fakeChecker{}
	pods := cip("pods-only", "quay.io/pods/**", static("s", "pass"))
	pods.Spec.Match = []MatchResource{{Resource: "pods", Version: "v1"}}
	e, err := NewEngine([]*ClusterImagePolicy{cip("org", "ghcr.io/org/*", static("s", "pass")), cip("hub", "docker.io/library/*", static("s", "pass")), pods}, checker, Options{})
	if err != nil {
		t.Fatal(err)
	}
	deployments := &Resource{Group: "apps", Version: "v1", Resource: "deployments"}
	for _, tt := range []struct {
		repo     string
		resource *Resource
		want     bool
	}{
		{"ghcr.io/org/app", nil, true},
		{"ghcr.io/org/team/app", nil, false},
		{"ghcr.io/other/app", nil, false},
		{"index.docker.io/library/nginx", nil, true},
		{"quay.io/pods/app", &Resource{Version: "v1", Resource: "pods"}, true},
		{"quay.io/pods/app", deployments, false},
	} {
		if got := e.MayApply(tt.repo, tt.resource); got != tt.want {
			t.Errorf("MayApply(%q, %v) = %v, want %v", tt.repo, tt.resource, got, tt.want)
		}
	}
	if d := e.Unmatched("ghcr.io/other/app:v1"); d.Allowed || !d.NoMatch || len(d.Denials) != 1 {
		t.Errorf("Unmatched = %+v", d)
	}
}
