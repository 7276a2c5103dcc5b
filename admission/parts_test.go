package admission

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"flag"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/signetproject/signet/policy"
)

var update = flag.Bool("update", false, "rewrite the chart's generated templates from the Go values")

func TestCacheTTLAndGenerations(t *testing.T) {
	now := time.Unix(1000, 0)
	c, err := NewDecisionCache(CacheOptions{TTL: time.Minute, DenyTTL: 10 * time.Second, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	evals := 0
	eval := func(allowed bool) Evaluation {
		return func(context.Context) (policy.Decision, bool) {
			evals++
			return policy.Decision{Allowed: allowed}, true
		}
	}
	ctx := context.Background()
	allowKey := CacheKey{Image: "r/a@sha256:1", Generation: 1}
	denyKey := CacheKey{Image: "r/d@sha256:2", Generation: 1}
	steps := []struct {
		advance time.Duration
		key     CacheKey
		allowed bool
		want    CacheResult
	}{
		{0, allowKey, true, CacheMiss},
		{0, denyKey, false, CacheMiss},
		{30 * time.Second, allowKey, true, CacheHit},
		{0, denyKey, false, CacheMiss}, // denials expire after 10s
		{31 * time.Second, allowKey, true, CacheMiss},
		{0, CacheKey{Image: "r/a@sha256:1", Generation: 2}, true, CacheMiss}, // new policies
		{0, allowKey, true, CacheMiss},                                       // stale generation: not stored
		{0, allowKey, true, CacheMiss},
	}
	for i, s := range steps {
		now = now.Add(s.advance)
		_, got, err := c.Decide(ctx, s.key, eval(s.allowed))
		if err != nil || got != s.want {
			t.Errorf("step %d: %s, %v; want %s", i, got, err, s.want)
		}
	}
	if evals != 7 {
		t.Errorf("evaluations = %d, want 7", evals)
	}
	if c.Len() != 1 {
		t.Errorf("entries = %d, want 1 (generation 2 only)", c.Len())
	}
	if _, err := NewDecisionCache(CacheOptions{TTL: -1}); err == nil {
		t.Error("negative TTL accepted")
	}
}

// TestTagResolutionCached checks that a tag is resolved once per TagTTL
// and namespace, by the validating and mutating webhooks together.
func TestTagResolutionCached(t *testing.T) {
	now := time.Unix(1000, 0)
	cache, err := NewDecisionCache(CacheOptions{TagTTL: 30 * time.Second, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	checker, resolver := &testChecker{}, &fakeResolver{}
	snap := &Snapshot{Engine: newTestEngine(t, checker, policy.NoMatchDeny), Generation: 1, Cacheable: true}
	ns := fakeNamespaces{"checked": {IncludeLabel: "true"}, "other": {IncludeLabel: "true"}}
	wh, err := NewWebhook(staticSnapshot{snap}, ns, fakeSecrets{}, resolver, WebhookOptions{Cache: cache, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		advance   time.Duration
		mutate    bool
		namespace string
		resolves  int64 // total so far
	}{
		{0, false, "checked", 1},
		{0, false, "checked", 1},
		{10 * time.Second, true, "checked", 1},
		{0, false, "other", 2}, // another namespace's pull secrets
		{21 * time.Second, false, "checked", 3},
		{0, true, "checked", 3},
	}
	for i, s := range steps {
		now = now.Add(s.advance)
		obj, group, _ := workloadObject("Pod", podSpec("good:1"))
		review := wh.Validate
		if s.mutate {
			review = wh.Mutate
		}
		if resp := review(context.Background(), request(t, admissionv1.Create, group, "Pod", s.namespace, obj)); !resp.Allowed {
			t.Fatalf("step %d: denied: %+v", i, resp.Result)
		}
		if got := resolver.calls.Load(); got != s.resolves {
			t.Errorf("step %d: %d resolutions, want %d", i, got, s.resolves)
		}
	}
	if _, err := NewDecisionCache(CacheOptions{TagTTL: -1}); err == nil {
		t.Error("negative TagTTL accepted")
	}
}

func TestCacheWaiterGivesUp(t *testing.T) {
	c, _ := NewDecisionCache(CacheOptions{})
	release := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Decide(context.Background(), CacheKey{Image: "x"}, func(context.Context) (policy.Decision, bool) {
			<-release
			return policy.Decision{Allowed: true}, true
		})
	}()
	time.Sleep(50 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, _, err := c.Decide(ctx, CacheKey{Image: "x"}, nil); err == nil {
		t.Error("waiter did not give up with its context")
	}
	close(release)
	<-done
	if d, res, err := c.Decide(context.Background(), CacheKey{Image: "x"}, nil); err != nil || res != CacheHit || !d.Allowed {
		t.Errorf("after the flight: %v %s %v", d.Allowed, res, err)
	}
}

func dockerSecret(t *testing.T, name string, auths map[string]string) *corev1.Secret {
	t.Helper()
	cfg := map[string]map[string]map[string]string{"auths": {}}
	for reg, userpass := range auths {
		cfg["auths"][reg] = map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte(userpass))}
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"}, Type: corev1.SecretTypeDockerConfigJson,
		Data: map[string][]byte{corev1.DockerConfigJsonKey: raw}}
}

func TestPullSecretKeychain(t *testing.T) {
	reader := fakeSecrets{
		secrets: map[string]*corev1.Secret{
			"ns/pod-secret": dockerSecret(t, "pod-secret", map[string]string{
				"ghcr.io":                     "pod:ghcr",
				"ghcr.io/team":                "pod:team",
				"https://index.docker.io/v1/": "pod:hub",
				"*.example.com:5000":          "pod:wild",
			}),
			"ns/sa-secret": dockerSecret(t, "sa-secret", map[string]string{"registry.local": "sa:local"}),
		},
		sas: map[string]*corev1.ServiceAccount{
			"ns/builder": {ImagePullSecrets: []corev1.LocalObjectReference{{Name: "sa-secret"}, {Name: "pod-secret"}, {Name: "missing"}}},
		},
	}
	ps := &corev1.PodSpec{ServiceAccountName: "builder", ImagePullSecrets: []corev1.LocalObjectReference{{Name: "pod-secret"}}}
	names, err := PullSecretNames(context.Background(), reader, "ns", ps)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"pod-secret", "sa-secret", "missing"}, names); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
	kc, err := PullSecretKeychain(context.Background(), reader, "ns", ps)
	if err != nil {
		t.Fatal(err)
	}
	for image, want := range map[string]string{
		"ghcr.io/other/app:1":          "pod:ghcr",
		"ghcr.io/team/app:1":           "pod:team",
		"ghcr.io/teamster/app:1":       "pod:ghcr", // path prefixes end at "/"
		"nginx:1":                      "pod:hub",
		"docker.io/library/nginx":      "pod:hub",
		"registry.local/app":           "sa:local",
		"a.example.com:5000/app":       "pod:wild",
		"a.b.example.com:5000/app":     "",
		"a.example.com/app":            "", // ports must match
		"quay.io/somebody/something:2": "",
	} {
		ref, err := name.ParseReference(image)
		if err != nil {
			t.Fatal(err)
		}
		auth, err := kc.Resolve(ref.Context())
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		if auth != authn.Anonymous {
			cfg, err := auth.Authorization()
			if err != nil {
				t.Fatal(err)
			}
			got = cfg.Username + ":" + cfg.Password
		}
		if got != want {
			t.Errorf("%s: credentials %q, want %q", image, got, want)
		}
	}

	// A secret that exists but is not a docker config is an error.
	reader.secrets["ns/bad"] = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "bad", Namespace: "ns"}, Data: map[string][]byte{"x": nil}}
	if _, err := PullSecretKeychain(context.Background(), reader, "ns", &corev1.PodSpec{ImagePullSecrets: []corev1.LocalObjectReference{{Name: "bad"}}}); err == nil {
		t.Error("bad pull secret accepted")
	}
}

// fakeRefs is a RefReader over maps.
type fakeRefs struct {
	secrets    map[string]*corev1.Secret
	configMaps map[string]*corev1.ConfigMap
}

func (f fakeRefs) Secret(_ context.Context, ns, n string) (*corev1.Secret, error) {
	if s, ok := f.secrets[ns+"/"+n]; ok {
		return s, nil
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "secrets"}, n)
}

func (f fakeRefs) ConfigMap(_ context.Context, ns, n string) (*corev1.ConfigMap, error) {
	if c, ok := f.configMaps[ns+"/"+n]; ok {
		return c, nil
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "configmaps"}, n)
}

// recordingFactory records the authorities its checker is asked about.
type recordingFactory struct {
	trustRoots []*policy.TrustRoot
	checker    *recordingChecker
}

func (f *recordingFactory) NewChecker(trs []*policy.TrustRoot) (policy.AuthorityChecker, error) {
	f.trustRoots = trs
	f.checker = &recordingChecker{}
	return f.checker, nil
}

type recordingChecker struct{ testChecker }

func TestBuildEngine(t *testing.T) {
	key := publicKeyPEM(t)
	refs := fakeRefs{
		secrets:    map[string]*corev1.Secret{"signet-system/release-key": {ObjectMeta: metav1.ObjectMeta{Name: "release-key"}, Data: map[string][]byte{"cosign.pub": []byte(key)}}},
		configMaps: map[string]*corev1.ConfigMap{"signet-system/policies": {Data: map[string]string{"cue": "predicateType: \"x\""}}},
	}
	cip := func(apiVersion, name, authority string) []byte {
		return []byte(`{"apiVersion":"` + apiVersion + `","kind":"ClusterImagePolicy",
			"metadata":{"name":"` + name + `","resourceVersion":"7","creationTimestamp":"2026-01-01T00:00:00Z","managedFields":[]},
			"spec":{"images":[{"glob":"**` + name + `**"}],"authorities":[` + authority + `]},"status":{}}`)
	}
	withSecret := `{"name":"k","key":{"secretRef":{"name":"release-key"}},
		"attestations":[{"name":"a","predicateType":"custom","policy":{"type":"cue","configMapRef":{"name":"policies","key":"cue"}}}]}`
	spec := EngineSpec{
		Policies: [][]byte{
			cip(policy.V1alpha1, "alpha", `{"static":{"action":"pass"}}`),
			cip(policy.V1beta1, "beta", withSecret),
		},
		TrustRoots:      [][]byte{[]byte(`{"apiVersion":"policy.sigstore.dev/v1alpha1","kind":"TrustRoot","metadata":{"name":"tr"},"spec":{"sigstoreKeys":{"certificateAuthorities":[{"subject":{"organization":"o","commonName":"c"},"uri":"https://ca.example","certChain":"Y2VydA=="}]}}}`)},
		SystemNamespace: "signet-system",
		Options:         policy.Options{NoMatch: policy.NoMatchDeny},
	}
	f := &recordingFactory{}
	spec.Checkers = f
	built, err := BuildEngine(context.Background(), refs, spec)
	if err != nil {
		t.Fatal(err)
	}
	eng := built.Engine
	if !built.Cacheable || len(built.Problems) != 0 {
		t.Errorf("cacheable %v, problems %v", built.Cacheable, built.Problems)
	}
	if len(f.trustRoots) != 1 || f.trustRoots[0].Metadata.Name != "tr" {
		t.Errorf("trust roots %+v", f.trustRoots)
	}
	if d := eng.Evaluate(context.Background(), policy.Request{Image: "alpha@sha256:" + strings.Repeat("0", 64)}); !d.Allowed {
		t.Errorf("v1alpha1 policy: %+v", d.Denials)
	}
	d := eng.Evaluate(context.Background(), policy.Request{Image: "beta@sha256:" + strings.Repeat("0", 64)})
	if d.Allowed || len(d.Policies) != 1 || d.Policies[0].Name != "beta" {
		t.Errorf("v1beta1 policy: %+v", d)
	}

	// A broken resource fails the images of the policies that need it,
	// and nothing else: "alpha" still admits its images.
	for name, tt := range map[string]struct {
		mutate func(*EngineSpec)
		want   string // in the denial of a "**zzz**" image
	}{
		"missing secret": {func(s *EngineSpec) {
			s.Policies = append(s.Policies, cip(policy.V1beta1, "zzz", `{"key":{"secretRef":{"name":"nope"}}}`))
		}, `policy cannot be used: ClusterImagePolicy "zzz": spec.authorities[0].key: secretRef: read secret signet-system/nope`},
		"secret without keys": {func(s *EngineSpec) {
			s.Policies = append(s.Policies, cip(policy.V1beta1, "zzz", `{"key":{"secretRef":{"name":"empty"}}}`))
		}, "has 0 data entries, want exactly one"},
		"secret with a bad key": {func(s *EngineSpec) {
			s.Policies = append(s.Policies, cip(policy.V1beta1, "zzz", `{"key":{"secretRef":{"name":"garbage"}}}`))
		}, `ClusterImagePolicy "zzz" is invalid`},
		"missing config map": {func(s *EngineSpec) {
			s.Policies = append(s.Policies, cip(policy.V1beta1, "zzz", `{"static":{"action":"pass"},"attestations":[]}`))
			s.Policies[len(s.Policies)-1] = []byte(strings.Replace(string(s.Policies[len(s.Policies)-1]), `"authorities"`, `"policy":{"type":"cue","configMapRef":{"name":"gone","key":"k"}},"authorities"`, 1))
		}, "configMapRef: read config map signet-system/gone"},
		"other namespace": {func(s *EngineSpec) {
			s.Policies = append(s.Policies, cip(policy.V1beta1, "zzz", `{"key":{"secretRef":{"name":"release-key","namespace":"x"}}}`))
		}, `references must name the system namespace`},
		"invalid policy": {func(s *EngineSpec) {
			s.Policies = append(s.Policies, cip(policy.V1beta1, "zzz", `{"static":{"action":"maybe"}}`))
		}, `ClusterImagePolicy "zzz" is invalid`},
		"unknown field": {func(s *EngineSpec) {
			s.Policies = append(s.Policies, cip(policy.V1beta1, "zzz", `{"static":{"action":"pass"},"bogus":1}`))
		}, "bogus"},
		"invalid trust root named by the policy": {func(s *EngineSpec) {
			s.TrustRoots = append(s.TrustRoots, []byte(`{"apiVersion":"policy.sigstore.dev/v1alpha1","kind":"TrustRoot","metadata":{"name":"t"},"spec":{}}`))
			s.Checkers = CheckerFactoryFunc(func(trs []*policy.TrustRoot) (policy.AuthorityChecker, error) {
				return policy.NewRegistryChecker(nil, nil, policy.CheckerOptions{TrustRoots: trs}), nil
			})
			s.Policies = append(s.Policies, cip(policy.V1beta1, "zzz", `{"keyless":{"trustRootRef":"t","identities":[{"issuer":"i","subject":"s"}]}}`))
		}, `policy cannot be used: ClusterImagePolicy "zzz": spec.authorities[0]: TrustRoot "t" is invalid`},
	} {
		t.Run(name, func(t *testing.T) {
			s := spec
			s.Policies = slices.Clone(spec.Policies)
			s.TrustRoots = slices.Clone(spec.TrustRoots)
			s.Checkers = &recordingFactory{}
			refs := refs
			refs.secrets = maps.Clone(refs.secrets)
			refs.secrets["signet-system/empty"] = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "empty"}}
			refs.secrets["signet-system/garbage"] = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "garbage"}, Data: map[string][]byte{"k": []byte("not a key")}}
			tt.mutate(&s)
			built, err := BuildEngine(context.Background(), refs, s)
			if err != nil {
				t.Fatalf("one broken resource failed the build: %v", err)
			}
			if d := built.Engine.Evaluate(context.Background(), policy.Request{Image: "alpha@sha256:" + strings.Repeat("0", 64)}); !d.Allowed {
				t.Errorf("an image of another policy was denied: %v", d.Denials)
			}
			d := built.Engine.Evaluate(context.Background(), policy.Request{Image: "zzz@sha256:" + strings.Repeat("0", 64)})
			if d.Allowed || len(d.Denials) != 1 || !strings.Contains(d.Denials[0].String(), tt.want) {
				t.Errorf("image of the broken policy: allowed %v, denials %v, want %q", d.Allowed, d.Denials, tt.want)
			}
		})
	}
	// What a policy applies to must be known: otherwise every image is
	// denied (fail closed).
	s := spec
	s.Policies = [][]byte{cip(policy.V1beta1, "zzz", `{"static":{"action":"pass"}}`)}
	s.Policies[0] = []byte(strings.Replace(string(s.Policies[0]), `"glob":"**zzz**"`, `"glob":"[b"`, 1))
	if _, err := BuildEngine(context.Background(), refs, s); err == nil {
		t.Error("a policy with an invalid glob built")
	}
	s.Policies = [][]byte{[]byte(`{"apiVersion":"policy.sigstore.dev/v1beta1","kind":"ClusterImagePolicy","metadata":{"name":"x"},"spec":{"images":"all"}}`)}
	if _, err := BuildEngine(context.Background(), refs, s); err == nil {
		t.Error("a policy whose images do not decode built")
	}

	// A policy that sees the object makes decisions uncacheable.
	s = spec
	s.Policies = [][]byte{[]byte(`{"apiVersion":"policy.sigstore.dev/v1beta1","kind":"ClusterImagePolicy","metadata":{"name":"p"},
		"spec":{"images":[{"glob":"**"}],"authorities":[{"static":{"action":"pass"}}],"policy":{"type":"cue","data":"x: 1","includeSpec":true}}}`)}
	if built, err := BuildEngine(context.Background(), refs, s); err != nil || built.Cacheable {
		t.Errorf("includeSpec: built %+v, err %v", built, err)
	}
}

func TestEnsureServingCert(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	pair, caPEM, err := EnsureServingCert(dir, []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(caPEM)
	ca, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: "127.0.0.1"}); err != nil {
		t.Errorf("leaf does not verify for 127.0.0.1: %v", err)
	}
	for _, f := range []string{caKeyFile, tlsKeyFile} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v", f, st.Mode(), err)
		}
	}
	// Reused as is, then reissued from the same CA for a new SAN.
	again, ca2, err := EnsureServingCert(dir, []string{"127.0.0.1"})
	if err != nil || string(again.Certificate[0]) != string(pair.Certificate[0]) || string(ca2) != string(caPEM) {
		t.Errorf("not reused: %v", err)
	}
	other, ca3, err := EnsureServingCert(dir, []string{"127.0.0.1", "webhook.svc"})
	if err != nil || string(other.Certificate[0]) == string(pair.Certificate[0]) || string(ca3) != string(caPEM) {
		t.Errorf("not reissued for a new SAN under the same CA: %v", err)
	}
	if got, err := EnsureCA(dir); err != nil || string(got) != string(caPEM) {
		t.Errorf("EnsureCA: %v", err)
	}
}

func TestInstallConfigValidate(t *testing.T) {
	for _, c := range []InstallConfig{
		{URL: "http://127.0.0.1:8443/validate"},
		{URL: "https://127.0.0.1:8443/check"}, // pinning needs .../validate and .../mutate
		{URL: "https://u:p@127.0.0.1/validate"},
		{TimeoutSeconds: 31},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	if err := (&InstallConfig{URL: "https://127.0.0.1:8443/check", UnsafeNoPinning: true}).Validate(); err != nil {
		t.Errorf("a URL without pinning: %v", err)
	}
	// Pinning is the default: the zero config has both webhooks.
	v, m, err := WebhookConfigurations(InstallConfig{URL: "https://127.0.0.1:8443/validate", CABundle: []byte("CA")})
	if err != nil {
		t.Fatal(err)
	}
	if m == nil {
		t.Fatal("no mutating webhook (tag pinning) by default")
	}
	if _, m, err := WebhookConfigurations(InstallConfig{URL: "https://127.0.0.1:8443/validate", UnsafeNoPinning: true}); err != nil || m != nil {
		t.Errorf("UnsafeNoPinning: mutating webhook %v, %v", m, err)
	}
	if *v.Webhooks[0].ClientConfig.URL != "https://127.0.0.1:8443/validate" || *m.Webhooks[0].ClientConfig.URL != "https://127.0.0.1:8443/mutate" {
		t.Errorf("urls %s %s", *v.Webhooks[0].ClientConfig.URL, *m.Webhooks[0].ClientConfig.URL)
	}
	if string(*v.Webhooks[0].FailurePolicy) != "Fail" || v.Webhooks[0].NamespaceSelector.MatchExpressions[0].Key != IncludeLabel {
		t.Errorf("webhook %+v", v.Webhooks[0])
	}
	// The webhooks' rules cover exactly the kinds ParseWorkload knows.
	kinds := map[string]bool{}
	for _, r := range v.Webhooks[0].Rules {
		for _, res := range r.Resources {
			if !strings.Contains(res, "/") {
				kinds[r.APIGroups[0]+"/"+res] = true
			}
		}
	}
	for _, k := range policy.ObjectKinds() {
		if !kinds[k.Group+"/"+k.Resource] {
			t.Errorf("no rule for %s", k.Resource)
		}
		delete(kinds, k.Group+"/"+k.Resource)
	}
	if len(kinds) != 0 {
		t.Errorf("rules for unknown kinds: %v", kinds)
	}
}

func TestCRDSchemaCoversPolicyTypes(t *testing.T) {
	crds := CRDs()
	cip := crds[0].Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"]
	a := cip.Properties["authorities"].Items
	for _, path := range [][]string{{"keyless", "identities"}, {"key", "secretRef", "name"}, {"source"}, {"attestations"}, {"ctlog", "trustRootRef"}, {"rfc3161timestamp"}} {
		s := a
		for _, p := range path {
			if s.Items != nil {
				s = s.Items
			}
			s = s.Properties[p]
			if s == nil {
				t.Fatalf("authorities schema lacks %v", path)
			}
		}
	}
	if crds[0].Spec.Conversion.Strategy != "None" || len(crds[0].Spec.Versions) != 2 || !crds[0].Spec.Versions[0].Storage {
		t.Errorf("CIP versions %+v", crds[0].Spec)
	}
	tr := crds[1].Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"]
	if tr.Properties["remote"].Properties["root"].Format != "byte" {
		t.Errorf("TrustRoot remote.root schema %+v", tr.Properties["remote"].Properties["root"])
	}
}

// TestChartGeneratedTemplates checks the parts of charts/signet that come
// from the Go values (CRDs, the webhook's ClusterRole and rules), so that
// the chart and `signet admission install` never disagree; run with
// -update to rewrite them.
func TestChartGeneratedTemplates(t *testing.T) {
	const header = "{{- /* Generated by `go test ./admission -run TestChartGeneratedTemplates -update` from\n" +
		"admission/crd.go and admission/install.go. Do not edit. */}}\n"
	toYAML := func(v any) string {
		t.Helper()
		u, err := toUnstructured(v)
		if err != nil {
			t.Fatal(err)
		}
		y, err := yaml.Marshal(u.Object)
		if err != nil {
			t.Fatal(err)
		}
		return string(y)
	}
	var crds strings.Builder
	crds.WriteString(header + "{{- if and .Values.admission.enabled .Values.admission.installCRDs }}\n")
	for _, crd := range CRDs() {
		crds.WriteString("---\n" + toYAML(crd))
	}
	crds.WriteString("{{- end }}\n")
	rulesYAML, err := yaml.Marshal(workloadRules())
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"admission-crds.yaml":        crds.String(),
		"admission-clusterrole.yaml": header + "{{- if .Values.admission.enabled }}\n---\n" + toYAML(clusterRole()) + "{{- end }}\n",
		"_admission_rules.tpl":       header + "{{- define \"signet.admission.rules\" -}}\n" + string(rulesYAML) + "{{- end -}}\n",
	}
	for file, want := range files {
		path := filepath.Join("..", "charts", "signet", "templates", file)
		if *update {
			if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test ./admission -run TestChartGeneratedTemplates -update)", err)
		}
		if diff := cmp.Diff(want, string(got)); diff != "" {
			t.Errorf("%s is stale; run go test ./admission -run TestChartGeneratedTemplates -update (-want +got):\n%s", path, diff)
		}
	}
}
