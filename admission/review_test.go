package admission

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/signetproject/signet/policy"
)

// apiServerReviews returns reviews as an API server writes them: every
// workload kind, created and updated, with a pod spec and metadata as a
// cluster fills them in (resources, probes, managed fields, the
// last-applied annotation with its escapes), the request's user, options
// and dry-run flag, compact and indented.
func apiServerReviews(t testing.TB) [][]byte {
	t.Helper()
	ps := podSpec("registry.example/team/app:v1", "registry.example/team/sidecar@sha256:"+strings.Repeat("ab", 32))
	ps.InitContainers = []corev1.Container{{Name: "init", Image: "registry.example/init:1", Command: []string{"sh", "-c", "echo \"ready\" > /tmp/x"}}}
	ps.ServiceAccountName = "builder"
	ps.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "regcred"}, {Name: "other"}}
	grace, uid := int64(30), int64(1000)
	ps.TerminationGracePeriodSeconds = &grace
	ps.SecurityContext = &corev1.PodSecurityContext{RunAsUser: &uid}
	ps.Tolerations = []corev1.Toleration{{Key: "node.kubernetes.io/not-ready", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &grace}}
	for i := range ps.Containers {
		c := &ps.Containers[i]
		c.Resources = corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("128Mi")}}
		c.Ports = []corev1.ContainerPort{{ContainerPort: 8080, Protocol: corev1.ProtocolTCP}}
		c.Env = []corev1.EnvVar{{Name: "GREETING", Value: "héllo, \u2603\t\"world\""}}
		c.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(8080)}}, PeriodSeconds: 10}
		c.TerminationMessagePath, c.ImagePullPolicy = "/dev/termination-log", corev1.PullIfNotPresent
	}
	var bodies [][]byte
	for _, kind := range allKinds {
		for _, op := range []admissionv1.Operation{admissionv1.Create, admissionv1.Update} {
			obj, group, _ := workloadObject(kind, ps)
			meta := obj.(metav1.Object)
			meta.SetUID(types.UID("0b6cbd0f-7a53-4c2c-9c3e-4f7a1e0e3d9a"))
			meta.SetGeneration(3)
			meta.SetCreationTimestamp(metav1.Unix(1733097600, 0))
			meta.SetAnnotations(map[string]string{"kubectl.kubernetes.io/last-applied-configuration": `{"apiVersion":"v1","kind":"` + kind + `","metadata":{"name":"w"}}` + "\n"})
			meta.SetManagedFields([]metav1.ManagedFieldsEntry{{Manager: "kubectl-client-side-apply", Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: "v1",
				Time: &metav1.Time{}, FieldsType: "FieldsV1", FieldsV1: metav1.NewFieldsV1(`{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"c0\"}":{".":{}}}}}`)}})
			req := request(t, op, group, kind, "checked", obj)
			req.Resource = metav1.GroupVersionResource{Group: group, Version: "v1", Resource: strings.ToLower(kind) + "s"}
			req.RequestKind, req.RequestResource = &req.Kind, &req.Resource
			req.UserInfo = authenticationv1.UserInfo{Username: "system:serviceaccount:kube-system:replicaset-controller", UID: "5b0a9b5e",
				Groups: []string{"system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"},
				Extra:  map[string]authenticationv1.ExtraValue{"authentication.kubernetes.io/credential-id": {"JTI=1f2e"}, "empty": {}}}
			dryRun := false
			req.DryRun = &dryRun
			options := map[string]any{"kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1", "fieldManager": "kubectl-client-side-apply", "fieldValidation": "Strict"}
			if op == admissionv1.Update {
				options["kind"] = "UpdateOptions"
				old, _ := json.Marshal(obj)
				req.OldObject = runtime.RawExtension{Raw: old}
			}
			raw, err := json.Marshal(options)
			if err != nil {
				t.Fatal(err)
			}
			req.Options = runtime.RawExtension{Raw: raw}
			rev := admissionv1.AdmissionReview{TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"}, Request: req}
			compact, err := json.Marshal(rev)
			if err != nil {
				t.Fatal(err)
			}
			indented, err := json.MarshalIndent(rev, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			bodies = append(bodies, compact, indented)
		}
	}
	return append(bodies, reviewBody(t, 0, "registry.example/team/app@sha256:"+strings.Repeat("cd", 32)))
}

// FuzzParseReviewFast checks the fast review decoder against
// encoding/json: whatever it accepts, encoding/json decodes to an equal
// review. Reviews as API servers write them must take the fast path.
func FuzzParseReviewFast(f *testing.F) {
	for _, body := range apiServerReviews(f) {
		got, ok := parseReviewFast(body)
		if !ok {
			f.Fatalf("fast path rejects an API server's review:\n%s", body)
		}
		var want admissionv1.AdmissionReview
		if err := json.Unmarshal(body, &want); err != nil {
			f.Fatal(err)
		}
		if !reflect.DeepEqual(&want, got) {
			f.Fatalf("fast path decodes\n%s\nwrong (-want +got):\n%s", body, cmp.Diff(&want, got))
		}
		f.Add(body)
	}

	const (
		head = `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":`
		pod  = `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"image":"x"}]}}`
		req  = `{"uid":"u","kind":{"group":"","version":"v1","kind":"Pod"},"namespace":"checked","operation":"CREATE","object":` + pod + `}`
	)
	review := func(request string) string { return head + request + "}" }
	for _, body := range []string{
		review(req),
		review(`{}`), `{}`, ``, ` `, `null`, `[]`, `""`, head + `null}`, review(`null`),
		// Every field of the request, and each null.
		review(`{"uid":"u","kind":{"group":"apps","version":"v1","kind":"Deployment"},"resource":{"group":"apps","version":"v1","resource":"deployments"},` +
			`"subResource":"scale","requestKind":{"group":"apps","version":"v1","kind":"Deployment"},"requestResource":{"group":"apps","version":"v1","resource":"deployments"},` +
			`"requestSubResource":"scale","name":"n","namespace":"ns","operation":"UPDATE","userInfo":{"username":"u","uid":"1","groups":["a"],"extra":{"k":["v"]}},` +
			`"object":{},"oldObject":[],"dryRun":true,"options":"x"}`),
		review(`{"uid":null,"kind":null,"resource":null,"subResource":null,"requestKind":null,"requestResource":null,"requestSubResource":null,` +
			`"name":null,"namespace":null,"operation":null,"userInfo":null,"object":null,"oldObject":null,"dryRun":null,"options":null}`),
		review(`{"kind":{"group":null,"version":null,"kind":null},"requestKind":{},"requestResource":{"resource":null}}`),
		review(`{"userInfo":{"username":null,"uid":null,"groups":null,"extra":null}}`),
		review(`{"userInfo":{"groups":[],"extra":{}}}`),
		review(`{"userInfo":{"groups":[null]}}`),
		review(`{"userInfo":{"extra":{"k":null}}}`),
		review(`{"userInfo":{"extra":{"k":[],"k":["v"]}}}`),
		review(`{"userInfo":{"extra":{"k":[null]}}}`),
		review(`{"dryRun":false}`), review(`{"dryRun":"true"}`), review(`{"dryRun":1}`), review(`{"dryRun":truex}`),
		// Wrong types.
		review(`{"uid":1}`), review(`{"kind":"Pod"}`), review(`{"kind":[]}`), review(`{"userInfo":{"groups":"a"}}`),
		review(`{"userInfo":{"extra":{"k":"v"}}}`), review(`{"requestKind":"x"}`),
		`{"apiVersion":1,"kind":"AdmissionReview","request":{}}`,
		// A response, which the fast path leaves to encoding/json.
		head + `{},"response":{"uid":"u","allowed":true}}`,
		head + `{},"response":null}`,
		// Keys encoding/json matches case-insensitively, or not at all.
		`{"APIVERSION":"admission.k8s.io/v1","kind":"AdmissionReview","request":{}}`,
		`{"apiVersion":"admission.k8s.io/v1","Kind":"AdmissionReview","request":{}}`,
		`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","Request":` + req + `}`,
		review(`{"UID":"u"}`), review(`{"Object":` + pod + `}`), review(`{"oldobject":{}}`),
		review(`{"kind":{"Kind":"Pod"}}`), review(`{"userInfo":{"Groups":["a"]}}`), review(`{"userinfo":{}}`),
		review(`{"ſubResource":"x"}`), review(`{"\u212aind":{}}`), review(`{"nameſ":"x"}`),
		review(`{"unknown":{"deep":[1,2.5e10,-0.1,true,false,null,"s"]},"uid":"u"}`),
		`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{},"extra":1}`,
		// Repeated keys, the same or under another case.
		`{"apiVersion":"admission.k8s.io/v1","apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{}}`,
		head + `{"uid":"a"},"request":{"uid":"b"}}`,
		review(`{"uid":"a","uid":"b"}`), review(`{"uid":"a","Uid":"b"}`),
		review(`{"requestKind":{"group":"a"},"requestKind":{"version":"b"}}`),
		review(`{"object":{"a":1},"object":null}`),
		review(`{"kind":{"kind":"Pod","kind":"Job"}}`),
		review(`{"unknown":1,"unknown":2}`),
		// Escapes, non-ASCII, invalid UTF-8, surrogates, control characters.
		review(`{"uid":"\u0075\n\t\"\\\/"}`), review(`{"u\u0069d":"u"}`), review(`{"uid":"é☃"}`),
		review(`{"uid":"\ud83d\ude00"}`), review(`{"uid":"\ud800"}`), review(`{"object":{"a":"\ud83d\ude00"}}`),
		review("{\"uid\":\"\xff\"}"), review("{\"object\":{\"a\":\"\xff\"}}"), review("{\"uid\":\"\x01\"}"),
		review(`{"uid":"\x"}`), review(`{"object":{"a":"\u00"}}`),
		// Numbers in objects.
		review(`{"object":{"n":[0,-0,1.5,1e3,1E+3,1e-3,123456789012345678901234567890,-1.0e-10]}}`),
		review(`{"object":{"n":01}}`), review(`{"object":{"n":1.}}`), review(`{"object":{"n":.5}}`), review(`{"object":{"n":-}}`),
		review(`{"object":{"n":1e}}`), review(`{"object":{"n":+1}}`), review(`{"object":{"n":0x10}}`), review(`{"object":{"n":NaN}}`),
		review(`{"object":5}`), review(`{"object":"s"}`), review(`{"object":true}`), review(`{"object":nul}`),
		// Whitespace and trailing data.
		" \r\n\t" + review(req) + " \n", review(req) + "x", review(req) + "{}", review(req)[:len(review(req))-1],
		"\ufeff" + review(req), review(req) + "\x00", review(`{"object":` + " \n" + pod + " \n" + `}`),
		review(`{"uid":"u",}`), review(`{"uid" "u"}`), review(`{"object":{"a":[1,]}}`), review(`{"object":{,}}`),
		// Nesting.
		review(`{"object":` + strings.Repeat("[", 300) + strings.Repeat("]", 300) + `}`),
		review(`{"object":` + strings.Repeat(`{"a":`, 200) + "1" + strings.Repeat("}", 200) + `}`),
		review(`{"object":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}`),
		review(`{"object":` + strings.Repeat(`{"a":`, 10001) + "1" + strings.Repeat("}", 10001) + `}`),
		// Control characters, bad escapes and surrogates in skipped values.
		review("{\"object\":{\"a\":\"\x01\"}}"), review("{\"object\":{\"a\":\"\x1f\"}}"), review("{\"options\":\"\n\"}"),
		review(`{"object":{"a":"\q"}}`), review(`{"object":{"a":"\udc00"}}`), review(`{"unknown":"\ud83d\ude00"}`),
		review(`{"object":{"a":"\u00zz"}}`), review(`{"object":{"a":"\u12"}}`), review("{\"object\":{\"a\":\"\xff\u2028\"}}"),
	} {
		f.Add([]byte(body))
	}

	f.Fuzz(func(t *testing.T, body []byte) {
		got, ok := parseReviewFast(body)
		if !ok {
			if got != nil {
				t.Fatalf("fast path returns %v with ok=false", got)
			}
			return
		}
		var want admissionv1.AdmissionReview
		if err := json.Unmarshal(body, &want); err != nil {
			t.Fatalf("fast path accepts %q, which encoding/json rejects: %v", body, err)
		}
		if !reflect.DeepEqual(&want, got) {
			t.Fatalf("fast path and encoding/json disagree on %q (-json +fast):\n%s", body, cmp.Diff(&want, got))
		}
	})
}

// TestParseReviewFastFallsBack checks reviews outside the fast path's
// subset still decode, as encoding/json decodes them, and that reviews in
// it take the fast path.
func TestParseReviewFastFallsBack(t *testing.T) {
	tests := []struct {
		body string
		fast bool
		want string // the request's UID, or the error
	}{
		{`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u"}}`, true, "u"},
		{`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"UID":"u"}}`, false, "u"},
		{`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"a","uid":"b"}}`, false, "b"},
		{`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"\ud83d\ude00"}}`, false, "\U0001F600"},
		{`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u"},"response":{"uid":"r"}}`, false, "u"},
		{`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":1}}`, false, "cannot unmarshal number"},
		{`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"dryRun":"yes"}}`, false, "cannot unmarshal string"},
		{`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u"}}x`, false, "invalid character"},
		{`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":null}`, true, "no request"},
		{`{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{}}`, true, "want admission.k8s.io/v1 AdmissionReview"},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			if _, fast := parseReviewFast([]byte(tt.body)); fast != tt.fast {
				t.Errorf("fast path %v, want %v", fast, tt.fast)
			}
			rev, err := ParseReview([]byte(tt.body))
			got := fmt.Sprint(err)
			if err == nil {
				got = string(rev.Request.UID)
			}
			if !strings.Contains(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestCacheKeyParts checks the resource and credentials parts of a cache
// key say, unambiguously, what fmt's %q said of them: labels or secrets
// with quotes, commas or spaces in them cannot make two keys equal.
func TestCacheKeyParts(t *testing.T) {
	for _, labels := range []map[string]string{nil, {}, {"app": "web"}, {"a": `b","c=d`, "a,b": "c", "": ""}, {"é": "\x00\n"}} {
		r := policy.Resource{Group: "apps", Version: "v1", Resource: "deployments", Labels: labels}
		want := "apps/v1/deployments"
		for _, k := range slices.Sorted(maps.Keys(labels)) {
			want += fmt.Sprintf(",%q=%q", k, labels[k])
		}
		if got := resourceKey(r); got != want {
			t.Errorf("resourceKey(%v) = %s, want %s", labels, got, want)
		}
	}
	for _, ps := range []*corev1.PodSpec{nil, {}, {ServiceAccountName: "sa"}, {ImagePullSecrets: []corev1.LocalObjectReference{{Name: "a"}, {Name: `b" "c`}, {Name: ""}}}} {
		wl := &Workload{PodSpec: ps}
		sa, secrets := "default", []string(nil)
		if ps != nil {
			if ps.ServiceAccountName != "" {
				sa = ps.ServiceAccountName
			}
			for _, s := range ps.ImagePullSecrets {
				secrets = append(secrets, s.Name)
			}
		}
		if got, want := credentialsKey("ns", wl), fmt.Sprintf("%s/%s%q", "ns", sa, secrets); got != want {
			t.Errorf("credentialsKey(%+v) = %s, want %s", ps, got, want)
		}
	}
	// Distinct secrets lists, distinct keys.
	a := credentialsKey("ns", &Workload{PodSpec: &corev1.PodSpec{ImagePullSecrets: []corev1.LocalObjectReference{{Name: `a" "b`}}}})
	b := credentialsKey("ns", &Workload{PodSpec: &corev1.PodSpec{ImagePullSecrets: []corev1.LocalObjectReference{{Name: "a"}, {Name: "b"}}}})
	if a == b {
		t.Errorf("one key %s for two lists of secrets", a)
	}
}

// TestRefCache checks the reference cache gives what name.ParseReference
// gives, keeps no failures, and holds at most maxParsedRefs references.
func TestRefCache(t *testing.T) {
	var c refCache
	for _, image := range []string{"ubuntu", "registry.example/a/b:1", "registry.example/a@sha256:" + strings.Repeat("a", 64), "ubuntu"} {
		got, err := c.parse(image)
		want, _ := name.ParseReference(image)
		if err != nil || got != want {
			t.Errorf("parse(%q) = %v, %v; want %v", image, got, err, want)
		}
	}
	for range 2 {
		if ref, err := c.parse("UPPER/case:bad tag"); err == nil {
			t.Errorf("bad reference parsed to %v", ref)
		}
	}
	if len(c.refs) != 3 {
		t.Errorf("%d references held, want 3", len(c.refs))
	}
	for i := range maxParsedRefs + 1 {
		if _, err := c.parse(fmt.Sprintf("registry.example/app-%d:v1", i)); err != nil {
			t.Fatal(err)
		}
		if len(c.refs) > maxParsedRefs {
			t.Fatalf("%d references held, limit %d", len(c.refs), maxParsedRefs)
		}
	}
}

// TestDecodeReviewLimits checks the HTTP side of decoding: the method,
// the content type, and the body limit, whatever Content-Length says.
func TestDecodeReviewLimits(t *testing.T) {
	good := reviewBody(t, 0, "registry.example/app:v1")
	// A review padded with whitespace to n bytes.
	padded := func(n int) []byte { return append(slices.Clone(good), bytes.Repeat([]byte(" "), n-len(good))...) }
	for _, tt := range []struct {
		name          string
		method, ctype string
		body          []byte
		contentLength int64 // -1: unknown; 0: the body's
		want          string
	}{
		{"good", http.MethodPost, "application/json", good, 0, ""},
		{"unknown length", http.MethodPost, "application/json; charset=utf-8", good, -1, ""},
		{"length understated", http.MethodPost, "", padded(100 << 10), 10, ""},
		{"length overstated", http.MethodPost, "", good, maxReviewBytes * 4, ""},
		{"at the limit", http.MethodPost, "", padded(maxReviewBytes), 0, ""},
		{"over the limit", http.MethodPost, "", padded(maxReviewBytes + 1), 0, "body larger than 8388608 bytes"},
		{"over the limit, length understated", http.MethodPost, "", padded(maxReviewBytes + 1), 100, "body larger than"},
		{"over the limit, length unknown", http.MethodPost, "", padded(maxReviewBytes + 1), -1, "body larger than"},
		{"endless", http.MethodPost, "", nil, -1, "body larger than"},
		{"get", http.MethodGet, "", good, 0, "method GET, want POST"},
		{"yaml", http.MethodPost, "application/yaml", good, 0, `content type "application/yaml"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader = bytes.NewReader(tt.body)
			if tt.body == nil {
				body = &endlessBody{t: t}
			}
			r := httptest.NewRequest(tt.method, ValidatePath, body)
			if tt.ctype != "" {
				r.Header.Set("Content-Type", tt.ctype)
			}
			if tt.contentLength != 0 {
				r.ContentLength = tt.contentLength
			}
			rev, err := DecodeReview(r)
			switch {
			case tt.want == "" && err != nil:
				t.Fatal(err)
			case tt.want == "" && rev.Request.UID != "uid-1":
				t.Fatalf("request %+v", rev.Request)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
}

// endlessBody is a body that never ends: reading past the limit of a
// review fails the test.
type endlessBody struct {
	t    *testing.T
	read int64
}

func (b *endlessBody) Read(p []byte) (int, error) {
	if b.read > maxReviewBytes+1 {
		b.t.Errorf("read %d bytes of an endless body, limit %d", b.read, maxReviewBytes)
		return 0, errors.New("read past the limit")
	}
	for i := range p {
		p[i] = ' '
	}
	b.read += int64(len(p))
	return len(p), nil
}
