//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/signetproject/signet/oci"
	"github.com/signetproject/signet/report"
	"github.com/signetproject/signet/sign"
	"github.com/signetproject/signet/trustroot"
	"github.com/signetproject/signet/verify"
)

// countingTransport counts the HTTP requests sent to the registry.
type countingTransport struct {
	n    atomic.Int64
	next http.RoundTripper
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

// BenchmarkReport reports on 1,000 pods running 100 images, each
// keyless-signed and vuln-attested (legacy layout, Rekor v1 entry and a
// timestamp: the format signet and both cosign versions verify), in a
// local registry:
//
//   - signet/cold: a new report each time (every image listed and
//     verified once, 8 at a time), in process;
//   - signet/warm: the same report again with the evidence cached, as the
//     admission webhook serves /report between refreshes;
//   - cosign-v3: what a user runs today, `cosign verify` and `cosign
//     verify-attestation --type vuln` per image, as processes, on the
//     first cosignImages images (ms/image is comparable; the total for 100
//     images is 100 times that).
//
// Each reports ms/image (wall time per distinct image) and
// registry-requests/image.
//
//	SIGNET_SHARED=$PWD/../shared go test -tags e2e -run '^$' -bench BenchmarkReport -benchtime 3x ./e2e/
func BenchmarkReport(b *testing.B) {
	const images, podsPerImage, cosignImages = 100, 10, 10
	ctx := context.Background()
	dir := b.TempDir()
	tr := fetchTrust(b, dir)
	root, err := trustroot.LoadTrustedRoot(httpGet(b, "/trusted_root.json"))
	if err != nil {
		b.Fatal(err)
	}
	sc, err := trustroot.LoadSigningConfig(httpGet(b, "/signing_config.json"))
	if err != nil {
		b.Fatal(err)
	}
	svc, err := sign.SelectServices(sc, time.Now(), nil, 1)
	if err != nil {
		b.Fatal(err)
	}
	opts := sign.Options{CA: svc.CA, IDToken: devToken(b, "--email", "alice@example.com", "--ttl", "1h"), Logs: svc.Logs, TSAs: svc.TSAs}
	counter := &countingTransport{next: http.DefaultTransport}
	client := oci.New(oci.Options{Transport: counter, Keychain: authn.NewMultiKeychain()})
	reg := startInProcessRegistry(b)
	scan := []byte(vulnScan("LOW", "CRITICAL"))
	var refs []name.Digest
	var targets []report.Target
	for i := range images {
		d := pushRandomImage(b, fmt.Sprintf("%s/app-%03d", reg, i))
		if _, err := client.SignImage(ctx, d, oci.LayoutLegacy, nil, opts); err != nil {
			b.Fatal(err)
		}
		st, err := oci.NewStatement(d, "vuln", scan, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := client.AttestImage(ctx, d, oci.LayoutLegacy, st, opts); err != nil {
			b.Fatal(err)
		}
		refs = append(refs, d)
		for p := range podsPerImage {
			targets = append(targets, report.Target{Image: d, Pod: &report.Pod{Namespace: "bench", Name: fmt.Sprintf("app-%03d-%d", i, p), Container: "app"}})
		}
	}
	v, err := verify.New(root, verify.DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	trust := &report.StaticTrust{Description: "alice", List: []report.Authority{{Name: "alice", Verifier: v,
		Policy: verify.Policy{Identities: []verify.Identity{{SAN: "alice@example.com", Issuer: env.oidcIssuer}}}}}}
	check := func(b *testing.B, r *report.Report) {
		if r.Summary.Images != images || r.Summary.Pods != images*podsPerImage || r.Summary.Signed != images || r.Summary.BySeverity["CRITICAL"] != images {
			b.Fatalf("report summary %+v, want %d signed images with a CRITICAL finding", r.Summary, images)
		}
	}
	perImage := func(b *testing.B, requests int64, elapsed time.Duration, n int) {
		b.ReportMetric(float64(elapsed.Milliseconds())/float64(b.N*n), "ms/image")
		b.ReportMetric(float64(requests)/float64(b.N*n), "registry-requests/image")
		b.ReportMetric(0, "ns/op")
	}

	b.Run("signet/cold", func(b *testing.B) {
		var requests int64
		var elapsed time.Duration
		for b.Loop() {
			rep, err := report.New(report.Options{Lister: report.NewListings(client), Trust: trust})
			if err != nil {
				b.Fatal(err)
			}
			before, start := counter.n.Load(), time.Now()
			r := rep.Report(ctx, targets, nil, nil)
			elapsed += time.Since(start)
			requests += counter.n.Load() - before
			check(b, r)
		}
		perImage(b, requests, elapsed, images)
	})
	b.Run("signet/warm", func(b *testing.B) {
		rep, err := report.New(report.Options{Lister: client, Trust: trust, CacheTTL: time.Hour})
		if err != nil {
			b.Fatal(err)
		}
		check(b, rep.Report(ctx, targets, nil, nil))
		var requests int64
		var elapsed time.Duration
		for b.Loop() {
			before, start := counter.n.Load(), time.Now()
			r := rep.Report(ctx, targets, nil, nil)
			elapsed += time.Since(start)
			requests += counter.n.Load() - before
			check(b, r)
		}
		perImage(b, requests, elapsed, images)
	})
	b.Run("cosign-v3", func(b *testing.B) {
		identity := []string{"--certificate-identity", "alice@example.com", "--certificate-oidc-issuer", env.oidcIssuer}
		proxy := &countingProxy{target: reg}
		host := proxy.start(b)
		var elapsed time.Duration
		for b.Loop() {
			start := time.Now()
			for _, d := range refs[:cosignImages] {
				ref := strings.Replace(d.String(), reg, host, 1)
				for _, args := range [][]string{
					append([]string{"verify", "--trusted-root", tr.trustedRoot, ref}, identity...),
					append([]string{"verify-attestation", "--type", "vuln", "--trusted-root", tr.trustedRoot, ref}, identity...),
				} {
					if res := runCosign(b, env.cosignV3, nil, args...); res.err != nil {
						b.Fatalf("%v\n%s", res.err, res.out)
					}
				}
			}
			elapsed += time.Since(start)
		}
		perImage(b, proxy.n.Load(), elapsed, cosignImages)
	})
}

// countingProxy forwards to a registry and counts the requests, for
// registry clients in other processes.
type countingProxy struct {
	target string // host:port
	n      atomic.Int64
}

// start serves the proxy on 127.0.0.1 until the benchmark ends and
// returns its host:port.
func (p *countingProxy) start(b *testing.B) string {
	u, err := url.Parse("http://" + p.target)
	if err != nil {
		b.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.n.Add(1)
		rp.ServeHTTP(w, r)
	}))
	b.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}
