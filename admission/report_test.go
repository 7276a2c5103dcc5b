package admission

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/signetproject/signet/internal/kube/kubetest"
	"github.com/signetproject/signet/internal/registrytest"
	"github.com/signetproject/signet/oci"
	"github.com/signetproject/signet/policy"
	"github.com/signetproject/signet/report"
	"github.com/signetproject/signet/sign"
	"github.com/signetproject/signet/trustroot"
)

// TestInventoryReport serves /report from pods in a (fake) cluster whose
// images are in a real registry: digests from the pods' imageIDs or
// their spec references, owners, verdicts through the webhook's decision
// cache, and the gauges.
func TestInventoryReport(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	host := registrytest.Start(t)
	client := oci.New(oci.Options{InsecureHTTP: true, Keychain: authn.NewMultiKeychain()})
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	_, signedRef := registrytest.PushRandom(t, host, "app")
	_, unsignedRef := registrytest.PushRandom(t, host, "unsigned")
	signed, err := name.NewDigest(signedRef)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.SignImage(ctx, signed, oci.LayoutReferrers, nil, sign.Options{Key: key, UnsafeNoTlog: true}); err != nil {
		t.Fatal(err)
	}

	docs, _, err := policy.Load([]byte(`apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata: {name: release}
spec:
  images: [{glob: "**"}]
  authorities:
  - name: key
    key:
      data: |
`+indentLines(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), "        ")), policy.ValidateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := policy.NewEngine(docs.Policies, policy.NewRegistryChecker(client, &trustroot.TrustedRoot{}, policy.CheckerOptions{}), policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	snap := staticSnapshot{&Snapshot{Engine: eng, Generation: 1, Cacheable: true}}
	wh, err := NewWebhook(snap, fakeNamespaces{}, fakeSecrets{}, &fakeResolver{}, WebhookOptions{})
	if err != nil {
		t.Fatal(err)
	}

	controller := true
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web-5d8f", Namespace: "prod",
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: "web", Controller: &controller}}}}
	pod := func(ns, name, image, imageID string, phase corev1.PodPhase, owner *metav1.OwnerReference) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": name}},
			Spec:   corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: image}}},
			Status: corev1.PodStatus{Phase: phase}}
		if imageID != "" {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "c", ImageID: imageID}}
		}
		if owner != nil {
			p.OwnerReferences = []metav1.OwnerReference{*owner}
		}
		return p
	}
	rsRef := &metav1.OwnerReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-5d8f", Controller: &controller}
	dyn := kubetest.NewDynamic(nil, rs,
		pod("prod", "web-1", host+"/app:v1", signedRef, corev1.PodRunning, rsRef),
		pod("prod", "web-2", host+"/app:v1", "docker-pullable://"+signedRef, corev1.PodRunning, rsRef),
		pod("dev", "pinned", signedRef, "", corev1.PodPending, nil),
		pod("dev", "unsigned", unsignedRef, unsignedRef, corev1.PodRunning, nil),
		pod("dev", "done", host+"/gone:v1", "", corev1.PodSucceeded, nil))

	reg := prometheus.NewRegistry()
	inv, err := NewInventory(dyn, snap, wh, reg, InventoryOptions{Lister: client, Interval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- inv.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	srv := httptest.NewServer(inv)
	defer srv.Close()

	get := func(query string) (*http.Response, string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			resp, err := http.Get(srv.URL + query)
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			_, _ = readBody(&b, resp)
			if resp.StatusCode != http.StatusServiceUnavailable || time.Now().After(deadline) {
				return resp, b.String()
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	resp, body := get("/report")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /report: %d %s\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	var r report.Report
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Images) != 2 {
		t.Fatalf("images = %d, want 2 (the signed image's pods deduplicated, the finished pod skipped):\n%s", len(r.Images), body)
	}
	app, un := r.Images[0], r.Images[1]
	if app.Image != signedRef {
		app, un = un, app
	}
	if !app.Signed || app.Who[0].KeyName != "release/key" || app.Policy == nil || !app.Policy.Allowed {
		t.Errorf("signed image: %+v", app)
	}
	var pods []string
	for _, p := range app.Pods {
		pods = append(pods, p.String())
	}
	if got, want := strings.Join(pods, "|"), "dev/pinned [c]|prod/web-1 [c] (Deployment/web)|prod/web-2 [c] (Deployment/web)"; got != want {
		t.Errorf("pods = %s, want %s", got, want)
	}
	if un.Signed || un.Policy == nil || un.Policy.Allowed {
		t.Errorf("unsigned image: %+v", un)
	}
	if wh.cache.Len() == 0 {
		t.Error("verdicts were not decided through the webhook's decision cache")
	}

	inv.setGauges(&r)
	for labels, want := range map[[2]string]float64{{"signed", "true"}: 1, {"signed", "false"}: 1} {
		if got := gaugeValue(inv.signed.WithLabelValues(labels[1])); got != want {
			t.Errorf("signet_report_images{%s=%q} = %v, want %v", labels[0], labels[1], got, want)
		}
	}
	if got := gaugeValue(inv.severity.WithLabelValues(report.SeverityUnscanned)); got != 2 {
		t.Errorf("signet_report_images_by_severity{severity=UNSCANNED} = %v, want 2", got)
	}

	resp, body = get("/report?format=html")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(body, "prod/web-1") ||
		!strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Errorf("GET /report?format=html: %d %v", resp.StatusCode, resp.Header)
	}
	for _, q := range []string{"/report?format=yaml", "/report?package=@1"} {
		if resp, _ := get(q); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("GET %s: %d, want 400", q, resp.StatusCode)
		}
	}
}

func readBody(b *strings.Builder, resp *http.Response) (int64, error) {
	defer resp.Body.Close()
	buf := make([]byte, 32<<10)
	var n int64
	for {
		k, err := resp.Body.Read(buf)
		b.Write(buf[:k])
		n += int64(k)
		if err != nil {
			return n, nil
		}
	}
}

func indentLines(s, prefix string) string {
	var b strings.Builder
	for line := range strings.Lines(s) {
		b.WriteString(prefix + line)
	}
	return b.String()
}

func TestImageIDDigest(t *testing.T) {
	const d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for id, want := range map[string]string{
		"127.0.0.1:5000/app@" + d:                     "127.0.0.1:5000/app@" + d,
		"docker-pullable://registry.example/app@" + d: "registry.example/app@" + d,
		d:                "",
		"":               "",
		"app@sha256:zz":  "",
		"docker://app:1": "",
	} {
		got, ok := ImageIDDigest(id)
		if (want != "") != ok || (ok && got.String() != want) {
			t.Errorf("ImageIDDigest(%q) = %v %v, want %q", id, got, ok, want)
		}
	}
}

func gaugeValue(g prometheus.Gauge) float64 {
	var m dto.Metric
	if err := g.Write(&m); err != nil {
		panic(err)
	}
	return m.GetGauge().GetValue()
}
