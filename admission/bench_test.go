package admission

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/prometheus/client_golang/prometheus"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/signetproject/signet/oci"
	"github.com/signetproject/signet/policy"
	"github.com/signetproject/signet/sign"
	"github.com/signetproject/signet/trustroot"
)

// Load benchmark figures: benchImages distinct key-signed images admitted
// benchAdmissions times in all, round robin, so the first admission of
// each image is cold (empty decision cache) and the others are warm.
const (
	benchImages     = 20
	benchAdmissions = 1000
)

// countingRegistry is go-containerregistry's in-process registry with a
// count of the requests it served.
type countingRegistry struct {
	srv      *httptest.Server
	requests atomic.Int64
	delay    atomic.Int64 // added to every request, in nanoseconds: a remote registry's latency
}

func newCountingRegistry(tb testing.TB, referrersAPI bool) *countingRegistry {
	tb.Helper()
	r := &countingRegistry{}
	h := registry.New(registry.WithReferrersSupport(referrersAPI), registry.Logger(log.New(io.Discard, "", 0)))
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.requests.Add(1)
		if os.Getenv("SIGNET_BENCH_LOG_REGISTRY") != "" {
			log.Printf("registry: %s %s", req.Method, req.URL.Path)
		}
		time.Sleep(time.Duration(r.delay.Load()))
		h.ServeHTTP(w, req)
	}))
	tb.Cleanup(r.srv.Close)
	return r
}

// signedImages pushes n random images to the registry and signs each with
// key, alternating cosign's two layouts. It returns their tag and digest
// references.
func signedImages(tb testing.TB, host string, n int, key *ecdsa.PrivateKey) (tags, digests []string) {
	tb.Helper()
	ctx := context.Background()
	client := oci.New(oci.Options{})
	for i := range n {
		img, err := random.Image(512, 1)
		if err != nil {
			tb.Fatal(err)
		}
		tag, err := name.NewTag(fmt.Sprintf("%s/team/app-%02d:v1", host, i))
		if err != nil {
			tb.Fatal(err)
		}
		if err := remote.Write(tag, img); err != nil {
			tb.Fatal(err)
		}
		h, _ := img.Digest()
		d := tag.Context().Digest(h.String())
		layout := oci.LayoutReferrers
		if i%2 == 1 {
			layout = oci.LayoutLegacy
		}
		if _, err := client.SignImage(ctx, d, layout, nil, sign.Options{Key: key, UnsafeNoTlog: true}); err != nil {
			tb.Fatal(err)
		}
		tags, digests = append(tags, tag.String()), append(digests, d.String())
	}
	return tags, digests
}

// reviewBody is an AdmissionReview of a pod running image.
func reviewBody(tb testing.TB, i int, image string) []byte {
	tb.Helper()
	pod := &corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p%d", i), Namespace: "checked", Labels: map[string]string{"app": "bench"}},
		Spec:       podSpec(image)}
	rev := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request:  request(tb, admissionv1.Create, "", "Pod", "checked", pod),
	}
	raw, err := json.Marshal(rev)
	if err != nil {
		tb.Fatal(err)
	}
	return raw
}

// admissionBench is the setup BenchmarkAdmission and
// BenchmarkAdmissionWarm share: benchImages key-signed images in an
// in-process registry, as many in one without the referrers API (oldReg),
// and a policy requiring their key.
type admissionBench struct {
	reg, oldReg   *countingRegistry
	tags, digests []string
	oldDigests    []string
	policy        *policy.ClusterImagePolicy
}

func newAdmissionBench(b *testing.B) *admissionBench {
	b.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		b.Fatal(err)
	}
	reg := newCountingRegistry(b, true)
	host := strings.TrimPrefix(reg.srv.URL, "http://")
	tags, digests := signedImages(b, host, benchImages, key)
	// A registry without the referrers API (GHCR, Debian's
	// docker-registry): referrers are in the fallback tag.
	oldReg := newCountingRegistry(b, false)
	oldHost := strings.TrimPrefix(oldReg.srv.URL, "http://")
	_, oldDigests := signedImages(b, oldHost, benchImages, key)

	cip := fmt.Sprintf(`{"apiVersion":"policy.sigstore.dev/v1beta1","kind":"ClusterImagePolicy","metadata":{"name":"require-key"},
"spec":{"images":[{"glob":%q},{"glob":%q}],"authorities":[{"name":"release-key","key":{"data":%q}}]}}`,
		host+"/team/**", oldHost+"/team/**", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	p, err := policy.DecodeClusterImagePolicy([]byte(cip))
	if err != nil {
		b.Fatal(err)
	}
	return &admissionBench{reg: reg, oldReg: oldReg, tags: tags, digests: digests, oldDigests: oldDigests, policy: p}
}

// newWebhook is a fresh webhook process: empty decision cache, and no
// registry handshake made yet (the tag resolver and the signature lister
// share one oci.AuthCache, as signet admission serve's do).
func (s *admissionBench) newWebhook(b *testing.B) *Webhook {
	b.Helper()
	auth, err := oci.NewAuthCache(oci.AuthCacheOptions{})
	if err != nil {
		b.Fatal(err)
	}
	checker := policy.NewRegistryChecker(oci.New(oci.Options{AuthCache: auth}), &trustroot.TrustedRoot{}, policy.CheckerOptions{})
	eng, err := policy.NewEngine([]*policy.ClusterImagePolicy{s.policy}, checker, policy.Options{})
	if err != nil {
		b.Fatal(err)
	}
	snap := staticSnapshot{&Snapshot{Engine: eng, Generation: 1, Cacheable: true}}
	wh, err := NewWebhook(snap, fakeNamespaces{"checked": {IncludeLabel: "true"}}, fakeSecrets{}, &RemoteResolver{AuthCache: auth},
		WebhookOptions{Logger: slog.New(slog.DiscardHandler), Metrics: benchMetrics(b)})
	if err != nil {
		b.Fatal(err)
	}
	return wh
}

// BenchmarkAdmission sends benchAdmissions pod admissions of benchImages
// distinct key-signed images through the validating webhook's HTTP handler,
// with the real registry checker against an in-process registry, and
// reports decision latency percentiles for cold (first admission of an
// image, decision cache empty) and warm admissions, and the registry
// requests each kind of admission costs. Images are referenced by digest,
// or by tag (resolved by the webhook). One op is all the admissions, with a
// fresh decision cache.
func BenchmarkAdmission(b *testing.B) {
	s := newAdmissionBench(b)
	reg, tags, digests, newWebhook := s.reg, s.tags, s.digests, s.newWebhook
	oldReg, oldDigests := s.oldReg, s.oldDigests

	for _, refs := range []struct {
		name   string
		reg    *countingRegistry
		images []string
		delay  time.Duration
	}{
		{"digest", reg, digests, 0},
		{"tag", reg, tags, 0},
		{"digest/rtt=5ms", reg, digests, 5 * time.Millisecond},
		{"tag/rtt=5ms", reg, tags, 5 * time.Millisecond},
		{"digest/no-referrers-api/rtt=5ms", oldReg, oldDigests, 5 * time.Millisecond},
	} {
		b.Run(refs.name, func(b *testing.B) {
			reg := refs.reg
			reg.delay.Store(int64(refs.delay))
			defer reg.delay.Store(0)
			rttRef := digests[0]
			if reg == oldReg {
				rttRef = oldDigests[0]
			}
			rtt := registryRTT(b, rttRef)
			bodies := make([][]byte, benchAdmissions)
			for i := range bodies {
				bodies[i] = reviewBody(b, i, refs.images[i%benchImages])
			}
			var cold, warm, coldLegacy, coldReferrers []time.Duration
			var coldRequests, warmRequests int64
			for b.Loop() {
				h := newWebhook(b).ValidateHandler()
				for i, body := range bodies {
					before := reg.requests.Load()
					start := time.Now()
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, ValidatePath, bytes.NewReader(body)))
					elapsed := time.Since(start)
					n := reg.requests.Load() - before
					if i < benchImages {
						cold, coldRequests = append(cold, elapsed), coldRequests+n
						// signedImages alternates the layouts.
						if i%2 == 1 {
							coldLegacy = append(coldLegacy, elapsed)
						} else {
							coldReferrers = append(coldReferrers, elapsed)
						}
					} else {
						warm, warmRequests = append(warm, elapsed), warmRequests+n
					}
					var out admissionv1.AdmissionReview
					if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Response == nil || !out.Response.Allowed {
						b.Fatalf("admission %d of %s: %s", i, refs.images[i%benchImages], rec.Body.String())
					}
				}
			}
			ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
			b.ReportMetric(ms(percentile(cold, 50)), "cold-p50-ms")
			b.ReportMetric(ms(percentile(cold, 99)), "cold-p99-ms")
			b.ReportMetric(ms(percentile(warm, 50)), "warm-p50-ms")
			b.ReportMetric(ms(percentile(warm, 99)), "warm-p99-ms")
			b.ReportMetric(ms(rtt), "registry-rtt-p50-ms")
			b.ReportMetric(float64(percentile(cold, 50))/float64(rtt), "cold-p50/rtt")
			b.ReportMetric(float64(percentile(coldLegacy, 50))/float64(rtt), "cold-legacy-p50/rtt")
			b.ReportMetric(float64(percentile(coldReferrers, 50))/float64(rtt), "cold-referrers-p50/rtt")
			b.ReportMetric(float64(coldRequests)/float64(len(cold)), "registry-req/cold-admission")
			b.ReportMetric(float64(warmRequests)/float64(len(warm)), "registry-req/warm-admission")
		})
	}

	// A Deployment's Pods are admitted after the Deployment (and its
	// ReplicaSet): other decisions (the cache keys on kind and labels),
	// but the registry has been read for the same image with the same
	// credentials. The Pod's decision then reads only what names the
	// signatures.
	for _, delay := range []time.Duration{0, 5 * time.Millisecond} {
		b.Run(fmt.Sprintf("digest/deployment-then-pod/rtt=%s", delay), func(b *testing.B) {
			reg.delay.Store(int64(delay))
			defer reg.delay.Store(0)
			rtt := registryRTT(b, digests[0])
			var deploys, pods [][]byte
			for i, img := range digests {
				obj, group, _ := workloadObject("Deployment", podSpec(img))
				raw, err := json.Marshal(admissionv1.AdmissionReview{
					TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
					Request:  request(b, admissionv1.Create, group, "Deployment", "checked", obj),
				})
				if err != nil {
					b.Fatal(err)
				}
				deploys, pods = append(deploys, raw), append(pods, reviewBody(b, i, img))
			}
			var deployTimes, podTimes []time.Duration
			var podRequests int64
			admit := func(h http.Handler, body []byte) time.Duration {
				start := time.Now()
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, ValidatePath, bytes.NewReader(body)))
				elapsed := time.Since(start)
				var out admissionv1.AdmissionReview
				if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Response == nil || !out.Response.Allowed {
					b.Fatalf("admission: %s", rec.Body.String())
				}
				return elapsed
			}
			for b.Loop() {
				h := newWebhook(b).ValidateHandler()
				for i := range deploys {
					deployTimes = append(deployTimes, admit(h, deploys[i]))
					before := reg.requests.Load()
					podTimes = append(podTimes, admit(h, pods[i]))
					podRequests += reg.requests.Load() - before
				}
			}
			ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
			b.ReportMetric(ms(percentile(deployTimes, 50)), "deployment-p50-ms")
			b.ReportMetric(float64(percentile(deployTimes, 50))/float64(rtt), "deployment-p50/rtt")
			b.ReportMetric(ms(percentile(podTimes, 50)), "pod-p50-ms")
			b.ReportMetric(float64(percentile(podTimes, 50))/float64(rtt), "pod-p50/rtt")
			b.ReportMetric(ms(rtt), "registry-rtt-p50-ms")
			b.ReportMetric(float64(podRequests)/float64(len(podTimes)), "registry-req/pod")
		})
	}
}

// BenchmarkAdmissionWarm measures one warm admission through the
// validating webhook's HTTP handler: decision cache filled by a first
// admission of each of the benchImages images, then admissions of pods
// (each its own body) round robin, with allocations. The request and
// response writer are reused so that allocs/op counts the handler's own.
func BenchmarkAdmissionWarm(b *testing.B) {
	s := newAdmissionBench(b)
	for _, refs := range []struct {
		name   string
		images []string
	}{{"digest", s.digests}, {"tag", s.tags}} {
		b.Run(refs.name, func(b *testing.B) {
			bodies := make([][]byte, benchAdmissions)
			for i := range bodies {
				bodies[i] = reviewBody(b, i, refs.images[i%benchImages])
			}
			h := s.newWebhook(b).ValidateHandler()
			rw := &reusedRecorder{header: http.Header{}}
			body := bytes.NewReader(nil)
			req := httptest.NewRequest(http.MethodPost, ValidatePath, body)
			admit := func(raw []byte) {
				body.Reset(raw)
				rw.reset()
				h.ServeHTTP(rw, req)
			}
			for _, raw := range bodies[:benchImages] {
				admit(raw)
			}
			before := s.reg.requests.Load()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				admit(bodies[i%len(bodies)])
				i++
			}
			b.StopTimer()
			var out admissionv1.AdmissionReview
			if err := json.Unmarshal(rw.body.Bytes(), &out); err != nil || out.Response == nil || !out.Response.Allowed || rw.code != http.StatusOK {
				b.Fatalf("last admission: %d %s", rw.code, rw.body.String())
			}
			if n := s.reg.requests.Load() - before; n != 0 {
				b.Fatalf("warm admissions made %d registry requests", n)
			}
		})
	}
}

// reusedRecorder is an http.ResponseWriter reset between requests.
type reusedRecorder struct {
	header http.Header
	body   bytes.Buffer
	code   int
}

func (r *reusedRecorder) reset() {
	clear(r.header)
	r.body.Reset()
	r.code = 0
}

func (r *reusedRecorder) Header() http.Header { return r.header }

func (r *reusedRecorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
}

func (r *reusedRecorder) Write(p []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(p)
}

// registryRTT is the median time of one registry round trip: one HEAD
// request of the manifest ref names.
func registryRTT(b *testing.B, ref string) time.Duration {
	b.Helper()
	d, err := name.NewDigest(ref)
	if err != nil {
		b.Fatal(err)
	}
	url := fmt.Sprintf("http://%s/v2/%s/manifests/%s", d.RegistryStr(), d.RepositoryStr(), d.DigestStr())
	var ds []time.Duration
	for range 21 {
		start := time.Now()
		resp, err := http.Head(url)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("HEAD %s: %s", url, resp.Status)
		}
		ds = append(ds, time.Since(start))
	}
	return percentile(ds, 50)
}

// benchMetrics returns webhook metrics registered nowhere.
func benchMetrics(tb testing.TB) *Metrics {
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// percentile returns the p-th percentile (nearest rank) of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(i, 0)]
}
