package admission

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/signetproject/signet/internal/registrytest"
	"github.com/signetproject/signet/oci"
	"github.com/signetproject/signet/policy"
	"github.com/signetproject/signet/trustroot"
)

// hostileAdmissions are the concurrent pod admissions of one op of
// BenchmarkAdmissionHostile, each of a distinct image.
const hostileAdmissions = 4

// BenchmarkAdmissionHostile sends hostileAdmissions concurrent pod
// admissions through the validating webhook's handler, with the real
// registry checker and a policy of two key authorities for the
// registry's images, against registries that attack (internal/registrytest
// Hostile: 99 MiB manifests by digest and by tag, a .sig tag of sixty
// 16 MiB layers, a redirect loop, a listener that never answers) and,
// as the peer, a benign registry serving key-signed images. Per registry
// it reports the growth of the process's peak RSS over the op
// (VmHWM, reset through /proc/self/clear_refs; Linux only) and its ratio
// to the benign peer's, the registry requests and MiB served per
// admission, and the time to the last answer. Every hostile admission must
// be denied, every benign one admitted.
func BenchmarkAdmissionHostile(b *testing.B) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	benign := newCountingRegistry(b, true)
	benignHost := strings.TrimPrefix(benign.srv.URL, "http://")
	_, benignDigests := signedImages(b, benignHost, hostileAdmissions, key)

	type target struct {
		name   string
		host   string
		images []string
		count  func() (requests, bytes int64)
	}
	targets := []target{{name: "benign", host: benignHost, images: benignDigests, count: func() (int64, int64) { return benign.requests.Load(), 0 }}}
	for _, a := range []struct {
		name   string
		cfg    registrytest.HostileConfig
		byTags bool
	}{
		{"huge-manifests", registrytest.HostileConfig{Attack: registrytest.HugeManifests}, false},
		{"huge-manifest-tags", registrytest.HostileConfig{Attack: registrytest.HugeManifests}, true},
		{"many-layers", registrytest.HostileConfig{Attack: registrytest.ManyLayers}, false},
		{"redirect-loop", registrytest.HostileConfig{Attack: registrytest.RedirectLoop}, false},
		{"silent", registrytest.HostileConfig{Attack: registrytest.Silent}, false},
	} {
		h := registrytest.StartHostile(b, a.cfg)
		t := target{name: a.name, host: h.Host, count: func() (int64, int64) { return h.Requests(), h.BytesServed() }}
		for i := range hostileAdmissions {
			if a.byTags {
				t.images = append(t.images, fmt.Sprintf("%s/team/app-%d:v1", h.Host, i))
			} else {
				t.images = append(t.images, fmt.Sprintf("%s/team/app-%d@sha256:%064x", h.Host, i, i+1))
			}
		}
		targets = append(targets, t)
	}

	pemOf := func(k *ecdsa.PrivateKey) string {
		der, err := x509.MarshalPKIXPublicKey(k.Public())
		if err != nil {
			b.Fatal(err)
		}
		return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	}
	var globs []string
	for _, t := range targets {
		globs = append(globs, fmt.Sprintf(`{"glob":%q}`, t.host+"/**"))
	}
	cip := fmt.Sprintf(`{"apiVersion":"policy.sigstore.dev/v1beta1","kind":"ClusterImagePolicy","metadata":{"name":"require-key"},
"spec":{"images":[%s],"authorities":[{"name":"other-key","key":{"data":%q}},{"name":"release-key","key":{"data":%q}}]}}`,
		strings.Join(globs, ","), pemOf(other), pemOf(key))
	p, err := policy.DecodeClusterImagePolicy([]byte(cip))
	if err != nil {
		b.Fatal(err)
	}
	checker := policy.NewRegistryChecker(oci.New(oci.Options{}), &trustroot.TrustedRoot{}, policy.CheckerOptions{})
	eng, err := policy.NewEngine([]*policy.ClusterImagePolicy{p}, checker, policy.Options{})
	if err != nil {
		b.Fatal(err)
	}
	snap := staticSnapshot{&Snapshot{Engine: eng, Generation: 1, Cacheable: true}}

	benignPeak := 0.0
	for _, t := range targets {
		b.Run(t.name, func(b *testing.B) {
			bodies := make([][]byte, len(t.images))
			for i, img := range t.images {
				bodies[i] = reviewBody(b, i, img)
			}
			var peak, requests, served float64
			var elapsed time.Duration
			ops := 0
			for b.Loop() {
				wh, err := NewWebhook(snap, fakeNamespaces{"checked": {IncludeLabel: "true"}}, fakeSecrets{}, &RemoteResolver{},
					WebhookOptions{Logger: slog.New(slog.DiscardHandler), Metrics: benchMetrics(b), Timeout: 5 * time.Second})
				if err != nil {
					b.Fatal(err)
				}
				h := wh.ValidateHandler()
				base := resetPeakRSS()
				reqs0, bytes0 := t.count()
				start := time.Now()
				var wg sync.WaitGroup
				answers := make([]*admissionv1.AdmissionResponse, len(bodies))
				for i, body := range bodies {
					wg.Go(func() {
						rec := httptest.NewRecorder()
						h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, ValidatePath, bytes.NewReader(body)))
						var out admissionv1.AdmissionReview
						if err := json.Unmarshal(rec.Body.Bytes(), &out); err == nil {
							answers[i] = out.Response
						}
					})
				}
				wg.Wait()
				elapsed += time.Since(start)
				if hwm := peakRSS(); base > 0 && hwm > 0 {
					peak = max(peak, float64(hwm-base)/(1<<20))
				}
				reqs1, bytes1 := t.count()
				requests += float64(reqs1 - reqs0)
				served += float64(bytes1 - bytes0)
				ops++
				for i, resp := range answers {
					if resp == nil || resp.Allowed != (t.name == "benign") {
						b.Fatalf("%s admission %d: %+v", t.name, i, resp)
					}
				}
			}
			n := float64(ops * len(bodies))
			b.ReportMetric(peak, "peak-RSS-MiB")
			if t.name == "benign" {
				benignPeak = max(peak, 1)
			} else if benignPeak > 0 {
				b.ReportMetric(peak/benignPeak, "peak-RSS-x-benign")
			}
			b.ReportMetric(requests/n, "registry-req/admission")
			b.ReportMetric(served/n/(1<<20), "MiB-served/admission")
			b.ReportMetric(float64(elapsed)/float64(ops)/float64(time.Millisecond), "ms/op-wall")
		})
	}
}

// resetPeakRSS returns the heap to the OS, resets the process's peak RSS
// to its current RSS and returns that, in bytes; 0 where /proc cannot.
func resetPeakRSS() int64 {
	runtime.GC()
	debug.FreeOSMemory()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		return 0
	}
	return procStatus("VmRSS:")
}

// peakRSS returns the process's peak RSS since the last reset, in bytes.
func peakRSS() int64 { return procStatus("VmHWM:") }

func procStatus(field string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}
