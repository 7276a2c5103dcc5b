package admission

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/signetproject/signet/policy"
)

// fakeNamespaces is a NamespaceLister over a map; missing namespaces are
// errors.
type fakeNamespaces map[string]map[string]string

func (f fakeNamespaces) NamespaceLabels(_ context.Context, n string) (map[string]string, error) {
	l, ok := f[n]
	if !ok {
		return nil, fmt.Errorf("namespace %s: lookup failed", n)
	}
	return l, nil
}

// fakeSecrets is a SecretReader over maps; saErr, when set, fails every
// service account read (an API server throttling the webhook).
type fakeSecrets struct {
	secrets map[string]*corev1.Secret
	sas     map[string]*corev1.ServiceAccount
	saErr   error
}

func (f fakeSecrets) Secret(_ context.Context, ns, n string) (*corev1.Secret, error) {
	if s, ok := f.secrets[ns+"/"+n]; ok {
		return s, nil
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "secrets"}, n)
}

func (f fakeSecrets) ServiceAccount(_ context.Context, ns, n string) (*corev1.ServiceAccount, error) {
	if f.saErr != nil {
		return nil, f.saErr
	}
	if s, ok := f.sas[ns+"/"+n]; ok {
		return s, nil
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "serviceaccounts"}, n)
}

// fakeResolver resolves every tag to the SHA-256 of its name, or fails
// for repositories containing "unresolvable". With delay set it takes
// that long first, giving up at ctx's end unless ignoreCtx (a registry
// client that does not honour its context).
type fakeResolver struct {
	calls     atomic.Int64
	delay     time.Duration
	ignoreCtx bool
}

func (f *fakeResolver) Resolve(ctx context.Context, ref name.Tag, _ authn.Keychain) (v1.Hash, error) {
	f.calls.Add(1)
	if f.delay > 0 {
		if f.ignoreCtx {
			time.Sleep(f.delay)
		} else {
			select {
			case <-time.After(f.delay):
			case <-ctx.Done():
				return v1.Hash{}, ctx.Err()
			}
		}
	}
	if strings.Contains(ref.String(), "unresolvable") {
		return v1.Hash{}, errors.New("registry is down")
	}
	return fakeDigest(ref.String()), nil
}

func fakeDigest(s string) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", sha256.Sum256([]byte(s)))}
}

// testChecker passes images whose reference contains "signed" and counts
// its calls; images containing "flaky" fail with ErrUnavailable (a
// registry that cannot be read). It reads the registry credentials as a
// registry client would. With block set it waits for release (or ctx)
// first; returned then gets the time it gave up.
type testChecker struct {
	calls    atomic.Int64
	block    chan struct{}
	started  chan struct{}
	returned chan time.Time
	// opaque: giving up at ctx's end fails with an error that does not
	// say why (as a registry client may).
	opaque bool
}

func (c *testChecker) VerifySignatures(ctx context.Context, image string, _ *policy.Authority, creds policy.RegistryCredentials) ([]policy.Signature, error) {
	c.calls.Add(1)
	if creds.Keychain != nil {
		ref, err := name.ParseReference(image)
		if err != nil {
			return nil, err
		}
		if _, err := creds.Keychain.Resolve(ref.Context()); err != nil {
			return nil, err
		}
	}
	if c.block != nil {
		if c.started != nil {
			c.started <- struct{}{}
		}
		select {
		case <-c.block:
		case <-ctx.Done():
			if c.returned != nil {
				c.returned <- time.Now()
			}
			if c.opaque {
				return nil, errors.New("gave up")
			}
			return nil, ctx.Err()
		}
	}
	if strings.Contains(image, "flaky") {
		return nil, fmt.Errorf("list signatures: %w: registry unreachable", policy.ErrUnavailable)
	}
	if strings.Contains(image, "signed") {
		return []policy.Signature{{ID: "sig", Subject: "test"}}, nil
	}
	return nil, errors.New("no valid signature")
}

func (c *testChecker) VerifyAttestations(context.Context, string, *policy.Authority, policy.RegistryCredentials) ([]policy.VerifiedAttestation, error) {
	return nil, errors.New("no attestations")
}

// staticSnapshot is an EngineSource with a fixed snapshot.
type staticSnapshot struct{ s *Snapshot }

func (s staticSnapshot) Snapshot() *Snapshot { return s.s }

func publicKeyPEM(t testing.TB) string {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// testPolicies: evil images fail statically (enforce), "shady" images
// fail statically in warn mode, "keyed" images need a key signature that
// testChecker grants to "signed" images; everything else passes.
func testPolicies(t testing.TB) string {
	key := strings.ReplaceAll(publicKeyPEM(t), "\n", "\\n")
	return `
apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata: {name: deny-evil}
spec:
  images: [{glob: "**evil**"}]
  authorities: [{name: no-evil, static: {action: fail, message: evil images are not allowed}}]
---
apiVersion: policy.sigstore.dev/v1alpha1
kind: ClusterImagePolicy
metadata: {name: warn-shady}
spec:
  mode: warn
  images: [{glob: "**shady**"}]
  authorities: [{static: {action: fail}}]
---
apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata: {name: keyed}
spec:
  images: [{glob: "**keyed**"}]
  authorities: [{name: release-key, key: {data: "` + key + `"}}]
---
apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata: {name: allow-rest}
spec:
  images: [{glob: "**good**"}, {glob: "**signed**"}, {glob: "**unresolvable**"}]
  authorities: [{static: {action: pass}}]
`
}

func newTestEngine(t testing.TB, checker policy.AuthorityChecker, noMatch policy.NoMatchPolicy) *policy.Engine {
	t.Helper()
	docs, _, err := policy.Load([]byte(testPolicies(t)), policy.ValidateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := policy.NewEngine(docs.Policies, checker, policy.Options{NoMatch: noMatch})
	if err != nil {
		t.Fatal(err)
	}
	return eng
}

type testRig struct {
	wh       *Webhook
	checker  *testChecker
	resolver *fakeResolver
	metrics  *Metrics
}

func newRig(t testing.TB, noMatch policy.NoMatchPolicy, snap *Snapshot) *testRig {
	t.Helper()
	r := &testRig{checker: &testChecker{}, resolver: &fakeResolver{}}
	if snap == nil {
		snap = &Snapshot{Engine: newTestEngine(t, r.checker, noMatch), Generation: 1, Cacheable: true}
	}
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	r.metrics = m
	ns := fakeNamespaces{
		"checked":   {IncludeLabel: "true"},
		"unchecked": {"team": "a"},
	}
	r.wh, err = NewWebhook(staticSnapshot{snap}, ns, fakeSecrets{}, r.resolver, WebhookOptions{
		Metrics: m, Logger: slog.New(slog.DiscardHandler), Timeout: 2 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// podSpec returns a pod spec with the images as containers.
func podSpec(images ...string) corev1.PodSpec {
	var ps corev1.PodSpec
	for i, img := range images {
		ps.Containers = append(ps.Containers, corev1.Container{Name: fmt.Sprintf("c%d", i), Image: img})
	}
	return ps
}

// workloadObject returns an object of the kind with the pod spec in its
// template, and the field path prefix of the pod spec.
func workloadObject(kind string, ps corev1.PodSpec) (runtime.Object, string, string) {
	tmpl := corev1.PodTemplateSpec{Spec: ps}
	meta := metav1.ObjectMeta{Name: "w", Namespace: "checked", Labels: map[string]string{"app": "w"}}
	switch kind {
	case "Pod":
		return &corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: kind}, ObjectMeta: meta, Spec: ps}, "", "spec"
	case "ReplicationController":
		return &corev1.ReplicationController{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: kind}, ObjectMeta: meta,
			Spec: corev1.ReplicationControllerSpec{Template: &tmpl}}, "", "spec.template.spec"
	case "CronJob":
		return &batchCronJob{TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: kind}, ObjectMeta: meta,
			Spec: map[string]any{"schedule": "* * * * *", "jobTemplate": map[string]any{"spec": map[string]any{"template": tmpl}}}}, "batch", "spec.jobTemplate.spec.template.spec"
	case "Job":
		return &genericWorkload{TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: kind}, ObjectMeta: meta,
			Spec: map[string]any{"template": tmpl}}, "batch", "spec.template.spec"
	case "Service": // Knative Serving
		return &genericWorkload{TypeMeta: metav1.TypeMeta{APIVersion: "serving.knative.dev/v1", Kind: kind}, ObjectMeta: meta,
			Spec: map[string]any{"template": tmpl}}, "serving.knative.dev", "spec.template.spec"
	default: // apps/v1 kinds
		return &genericWorkload{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: kind}, ObjectMeta: meta,
			Spec: map[string]any{"template": tmpl}}, "apps", "spec.template.spec"
	}
}

// genericWorkload and batchCronJob serialise like the typed objects for
// the fields the webhook reads.
type genericWorkload struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              map[string]any `json:"spec"`
}

func (g *genericWorkload) DeepCopyObject() runtime.Object { c := *g; return &c }

type batchCronJob = genericWorkload

func request(t testing.TB, op admissionv1.Operation, group, kind, namespace string, obj any) *admissionv1.AdmissionRequest {
	t.Helper()
	raw, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	return &admissionv1.AdmissionRequest{
		UID:       types.UID("uid-1"),
		Kind:      metav1.GroupVersionKind{Group: group, Version: "v1", Kind: kind},
		Namespace: namespace,
		Name:      "w",
		Operation: op,
		Object:    runtime.RawExtension{Raw: raw},
	}
}

var allKinds = []string{"Pod", "ReplicationController", "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob", "Service"}

func TestValidateEveryWorkloadKind(t *testing.T) {
	digest := "@sha256:" + strings.Repeat("a", 64)
	for _, kind := range allKinds {
		t.Run(kind, func(t *testing.T) {
			r := newRig(t, policy.NoMatchDeny, nil)
			obj, group, field := workloadObject(kind, podSpec("registry.example/good:1", "registry.example/evil/app"+digest))
			resp := r.wh.Validate(context.Background(), request(t, admissionv1.Create, group, kind, "checked", obj))
			if resp.Allowed {
				t.Fatalf("evil image admitted: %+v", resp)
			}
			msg := resp.Result.Message
			for _, want := range []string{
				field + ".containers[1].image",
				`image "registry.example/evil/app` + digest + `"`,
				"failed policy: deny-evil",
				"disallowed by static policy: evil images are not allowed",
			} {
				if !strings.Contains(msg, want) {
					t.Errorf("denial %q lacks %q", msg, want)
				}
			}
			if strings.Contains(msg, "good") {
				t.Errorf("denial mentions the good image: %q", msg)
			}
			if resp.UID != "uid-1" || resp.Result.Code != http.StatusForbidden {
				t.Errorf("uid %q code %d", resp.UID, resp.Result.Code)
			}

			obj, group, _ = workloadObject(kind, podSpec("registry.example/good:1"))
			resp = r.wh.Validate(context.Background(), request(t, admissionv1.Create, group, kind, "checked", obj))
			if !resp.Allowed {
				t.Fatalf("good image denied: %s", resp.Result.Message)
			}
			// The tag was resolved, so the admission carries a warning.
			if len(resp.Warnings) != 1 || !strings.Contains(resp.Warnings[0], "not pinned to a digest") {
				t.Errorf("warnings = %q", resp.Warnings)
			}
		})
	}
}

func TestValidateContainerLists(t *testing.T) {
	r := newRig(t, policy.NoMatchDeny, nil)
	ps := podSpec("good:1")
	ps.InitContainers = []corev1.Container{{Name: "init", Image: "evil-init:1"}}
	ps.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debug", Image: "evil-debug:1"}}}
	obj, _, _ := workloadObject("Pod", ps)
	resp := r.wh.Validate(context.Background(), request(t, admissionv1.Create, "", "Pod", "checked", obj))
	if resp.Allowed {
		t.Fatal("admitted")
	}
	for _, want := range []string{`spec.initContainers[0].image: image "evil-init:1"`, `spec.ephemeralContainers[0].image: image "evil-debug:1"`} {
		if !strings.Contains(resp.Result.Message, want) {
			t.Errorf("denial %q lacks %q", resp.Result.Message, want)
		}
	}
	// The ephemeralcontainers subresource is checked too.
	req := request(t, admissionv1.Update, "", "Pod", "checked", obj)
	req.SubResource = "ephemeralcontainers"
	if resp := r.wh.Validate(context.Background(), req); resp.Allowed {
		t.Error("ephemeral container update admitted")
	}
}

func TestValidateOutcomes(t *testing.T) {
	digest := "@sha256:" + strings.Repeat("b", 64)
	tests := []struct {
		name      string
		noMatch   policy.NoMatchPolicy
		namespace string
		op        admissionv1.Operation
		images    []string
		allowed   bool
		message   []string // substrings of the denial
		warnings  []string // substrings, one per warning, in order
		outcome   string
		resolves  int64
	}{
		{name: "unlabelled namespace is not checked", namespace: "unchecked", images: []string{"evil:1"}, allowed: true, outcome: "skipped"},
		{name: "delete is not checked", namespace: "checked", op: admissionv1.Delete, images: []string{"evil:1"}, allowed: true, outcome: "skipped"},
		{name: "enforce denies", namespace: "checked", images: []string{"evil" + digest}, message: []string{"failed policy: deny-evil"}, outcome: "denied"},
		{name: "warn admits with a warning", namespace: "checked", images: []string{"shady" + digest}, allowed: true,
			warnings: []string{`spec.containers[0].image: image "shady` + digest + `": failed policy: warn-shady`}, outcome: "warned"},
		{name: "key authority passes", namespace: "checked", images: []string{"keyed-signed" + digest}, allowed: true, outcome: "allowed"},
		{name: "key authority fails", namespace: "checked", images: []string{"keyed" + digest},
			message: []string{"failed policy: keyed", "signature validation failed for authority release-key", "no valid signature"}, outcome: "denied"},
		{name: "no match deny", noMatch: policy.NoMatchDeny, namespace: "checked", images: []string{"other" + digest}, message: []string{"no matching policies"}, outcome: "denied"},
		{name: "no match warn", noMatch: policy.NoMatchWarn, namespace: "checked", images: []string{"other" + digest}, allowed: true, warnings: []string{"no matching policies"}, outcome: "warned"},
		{name: "no match allow", noMatch: policy.NoMatchAllow, namespace: "checked", images: []string{"other" + digest}, allowed: true, outcome: "allowed"},
		{name: "each tag resolved once", namespace: "checked", images: []string{"good:1", "good:1", "good:2"}, allowed: true,
			warnings: []string{"containers[0].image", "containers[1].image", "containers[2].image"}, outcome: "warned", resolves: 2},
		{name: "fail closed: registry down", namespace: "checked", images: []string{"unresolvable:1"},
			message: []string{`image "unresolvable:1": cannot decide, denying (fail closed)`, "registry is down"}, outcome: "denied", resolves: 1},
		{name: "fail closed: namespace lookup fails", namespace: "gone", images: []string{"good" + digest},
			message: []string{"cannot decide, denying (fail closed): look up namespace gone"}, outcome: "denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, tt.noMatch, nil)
			op := tt.op
			if op == "" {
				op = admissionv1.Create
			}
			obj, _, _ := workloadObject("Pod", podSpec(tt.images...))
			resp := r.wh.Validate(context.Background(), request(t, op, "", "Pod", tt.namespace, obj))
			if resp.Allowed != tt.allowed {
				t.Fatalf("allowed = %v, want %v (%+v)", resp.Allowed, tt.allowed, resp.Result)
			}
			for _, want := range tt.message {
				if !strings.Contains(resp.Result.Message, want) {
					t.Errorf("denial %q lacks %q", resp.Result.Message, want)
				}
			}
			if len(resp.Warnings) != len(tt.warnings) {
				t.Fatalf("warnings = %q, want %d", resp.Warnings, len(tt.warnings))
			}
			for i, want := range tt.warnings {
				if !strings.Contains(resp.Warnings[i], want) {
					t.Errorf("warning %q lacks %q", resp.Warnings[i], want)
				}
			}
			if got := counterValue(r.metrics.Requests.WithLabelValues("validate", tt.outcome)); got != 1 {
				t.Errorf("requests{outcome=%s} = %v, want 1", tt.outcome, got)
			}
			if got := r.resolver.calls.Load(); got != tt.resolves {
				t.Errorf("resolver calls = %d, want %d", got, tt.resolves)
			}
		})
	}
}

func TestValidateFailClosedMetrics(t *testing.T) {
	digest := "@sha256:" + strings.Repeat("c", 64)
	obj, _, _ := workloadObject("Pod", podSpec("good"+digest))
	tests := []struct {
		name    string
		engines EngineSource // nil: the test engine
		reason  string
		want    string
	}{
		{name: "policies not loaded", engines: staticSnapshot{nil}, reason: ReasonPolicy, want: "policies are not loaded yet"},
		{name: "bad policy", engines: staticSnapshot{&Snapshot{Err: errors.New(`ClusterImagePolicy "x": invalid glob`), Generation: 3}}, reason: ReasonPolicy, want: "invalid glob"},
		{name: "unresolvable tag", reason: ReasonResolve, want: "registry is down"},
		{name: "timeout", reason: ReasonTimeout, want: "context deadline exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, policy.NoMatchDeny, nil)
			if tt.engines != nil {
				r.wh.engines = tt.engines
			}
			o := obj
			switch tt.reason {
			case ReasonResolve:
				o, _, _ = workloadObject("Pod", podSpec("unresolvable:1"))
			case ReasonTimeout:
				o, _, _ = workloadObject("Pod", podSpec("keyed-signed"+digest))
				r.checker.block = make(chan struct{}) // never released
				r.wh.timeout = 100 * time.Millisecond
			}
			resp := r.wh.Validate(context.Background(), request(t, admissionv1.Create, "", "Pod", "checked", o))
			if resp.Allowed {
				t.Fatal("admitted")
			}
			if !strings.Contains(resp.Result.Message, tt.want) {
				t.Errorf("denial %q lacks %q", resp.Result.Message, tt.want)
			}
			if got := counterValue(r.metrics.InternalErrors.WithLabelValues(tt.reason)); got != 1 {
				t.Errorf("internal errors{reason=%s} = %v, want 1", tt.reason, got)
			}
		})
	}
}

func TestMutatePinsTags(t *testing.T) {
	r := newRig(t, policy.NoMatchDeny, nil)
	digest := "@sha256:" + strings.Repeat("d", 64)
	obj, group, _ := workloadObject("Deployment", podSpec("good:1", "good"+digest, "good:1"))
	resp := r.wh.Mutate(context.Background(), request(t, admissionv1.Create, group, "Deployment", "checked", obj))
	if !resp.Allowed || resp.PatchType == nil || *resp.PatchType != admissionv1.PatchTypeJSONPatch {
		t.Fatalf("response %+v", resp)
	}
	var got []jsonPatchOp
	if err := json.Unmarshal(resp.Patch, &got); err != nil {
		t.Fatal(err)
	}
	pinned := "good:1@" + fakeDigest("good:1").String()
	want := []jsonPatchOp{
		{Op: "replace", Path: "/spec/template/spec/containers/0/image", Value: pinned},
		{Op: "replace", Path: "/spec/template/spec/containers/2/image", Value: pinned},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("patch (-want +got):\n%s", diff)
	}
	if n := r.resolver.calls.Load(); n != 1 {
		t.Errorf("resolver calls = %d, want 1", n)
	}
	// The pinned reference needs no resolution when validated.
	obj, group, _ = workloadObject("Deployment", podSpec(pinned))
	if resp := r.wh.Validate(context.Background(), request(t, admissionv1.Create, group, "Deployment", "checked", obj)); !resp.Allowed || len(resp.Warnings) != 0 {
		t.Errorf("pinned image: %+v", resp)
	}
	if n := r.resolver.calls.Load(); n != 1 {
		t.Errorf("resolver calls after validating the pinned image = %d, want 1", n)
	}

	// Fail closed when a tag does not resolve; skip unlabelled namespaces.
	obj, group, _ = workloadObject("Deployment", podSpec("unresolvable:1"))
	if resp := r.wh.Mutate(context.Background(), request(t, admissionv1.Create, group, "Deployment", "checked", obj)); resp.Allowed {
		t.Error("unresolvable tag admitted by the mutating webhook")
	}
	if resp := r.wh.Mutate(context.Background(), request(t, admissionv1.Create, group, "Deployment", "unchecked", obj)); !resp.Allowed || resp.Patch != nil {
		t.Errorf("unchecked namespace: %+v", resp)
	}
}

func TestReviewHandler(t *testing.T) {
	r := newRig(t, policy.NoMatchDeny, nil)
	srv := httptest.NewServer(r.wh.ValidateHandler())
	defer srv.Close()
	obj, _, _ := workloadObject("Pod", podSpec("evil:1"))
	review := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request:  request(t, admissionv1.Create, "", "Pod", "checked", obj),
	}
	body, _ := json.Marshal(review)
	resp, err := http.Post(srv.URL, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out admissionv1.AdmissionReview
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	if out.Kind != "AdmissionReview" || out.APIVersion != "admission.k8s.io/v1" || out.Response == nil || out.Response.UID != "uid-1" || out.Response.Allowed {
		t.Fatalf("review response %+v", out)
	}
	// The review took the fast decoder; one with a key spelled in another
	// case (which encoding/json matches) takes the general one.
	if got := counterValue(r.metrics.ReviewDecodes.WithLabelValues("fast")); got != 1 {
		t.Errorf("reviews decoded by the fast path: %v, want 1", got)
	}
	folded := bytes.Replace(body, []byte(`"request":`), []byte(`"Request":`), 1)
	resp2, err := http.Post(srv.URL, "application/json", bytes.NewReader(folded))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp2.Body)
	resp2.Body.Close()
	if resp2.StatusCode != http.StatusOK {
		t.Errorf("review with a case-folded key: status %d", resp2.StatusCode)
	}
	if got := counterValue(r.metrics.ReviewDecodes.WithLabelValues("general")); got != 1 {
		t.Errorf("reviews decoded by encoding/json: %v, want 1", got)
	}

	for _, bad := range []string{`{}`, `{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{}}`,
		`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`, `not json`} {
		resp, err := http.Post(srv.URL, "application/json", strings.NewReader(bad))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", bad, resp.StatusCode)
		}
	}
}

// TestSingleflight sends N concurrent admission requests for the same
// digest: the engine checks it once, and the decision is then cached.
func TestSingleflight(t *testing.T) {
	const n = 16
	r := newRig(t, policy.NoMatchDeny, nil)
	r.checker.block = make(chan struct{})
	r.checker.started = make(chan struct{}, n)
	image := "keyed-signed@sha256:" + strings.Repeat("e", 64)
	obj, _, _ := workloadObject("Pod", podSpec(image))
	var wg sync.WaitGroup
	results := make([]*admissionv1.AdmissionResponse, n)
	for i := range n {
		wg.Go(func() {
			results[i] = r.wh.Validate(context.Background(), request(t, admissionv1.Create, "", "Pod", "checked", obj))
		})
	}
	<-r.checker.started // the leader is checking
	// Give the other requests time to join the flight. Any that come
	// later are cache hits: either way the digest is checked once.
	time.Sleep(200 * time.Millisecond)
	close(r.checker.block)
	wg.Wait()
	for i, resp := range results {
		if !resp.Allowed {
			t.Fatalf("request %d denied: %s", i, resp.Result.Message)
		}
	}
	if got := r.checker.calls.Load(); got != 1 {
		t.Errorf("checker calls = %d, want 1", got)
	}
	hits := counterValue(r.metrics.Cache.WithLabelValues(string(CacheHit)))
	shared := counterValue(r.metrics.Cache.WithLabelValues(string(CacheShared)))
	miss := counterValue(r.metrics.Cache.WithLabelValues(string(CacheMiss)))
	if miss != 1 || hits+shared != n-1 {
		t.Errorf("cache results: %v miss, %v shared, %v hit; want 1 miss and %d others", miss, shared, hits, n-1)
	}
	// A later request is a cache hit and checks nothing.
	if resp := r.wh.Validate(context.Background(), request(t, admissionv1.Create, "", "Pod", "checked", obj)); !resp.Allowed {
		t.Fatal("denied")
	}
	if got := r.checker.calls.Load(); got != 1 {
		t.Errorf("checker calls after a cached request = %d, want 1", got)
	}
}

// counterValue reads a counter.
func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}
