package report_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/signetproject/signet/internal/registrytest"
	"github.com/signetproject/signet/oci"
	"github.com/signetproject/signet/report"
	"github.com/signetproject/signet/sign"
	"github.com/signetproject/signet/trustroot"
	"github.com/signetproject/signet/verify"
)

type countingTransport struct {
	n    atomic.Int64
	next http.RoundTripper
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

// BenchmarkReport1000Pods reports on 1,000 pods running 100 key-signed
// images, each with a vuln attestation, in an in-process registry: cold
// (every image listed and verified) and warm (evidence cached, as the
// webhook between refreshes). It reports ms/image and registry
// requests per image. (e2e's BenchmarkReport does the same with keyless
// signatures against cosign.)
func BenchmarkReport1000Pods(b *testing.B) {
	const images, podsPerImage = 100, 10
	ctx := context.Background()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	counter := &countingTransport{next: http.DefaultTransport}
	client := oci.New(oci.Options{Transport: counter, Keychain: authn.NewMultiKeychain()})
	host := registrytest.Start(b)
	opts := sign.Options{Key: key, UnsafeNoTlog: true}
	scan := readTestdata(b, "trivy-alpine-39.json")
	var targets []report.Target
	for i := range images {
		_, ref := registrytest.PushRandom(b, host, fmt.Sprintf("app-%03d", i))
		d, err := name.NewDigest(ref)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := client.SignImage(ctx, d, oci.LayoutReferrers, nil, opts); err != nil {
			b.Fatal(err)
		}
		st, err := oci.NewStatement(d, "vuln", vulnPredicate(b, "pkg:github/aquasecurity/trivy@0.74.0", "0.74.0", scan, time.Now()), time.Now())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := client.AttestImage(ctx, d, oci.LayoutReferrers, st, opts); err != nil {
			b.Fatal(err)
		}
		for p := range podsPerImage {
			targets = append(targets, report.Target{Image: d, Pod: &report.Pod{Namespace: "bench", Name: fmt.Sprintf("app-%03d-%d", i, p)}})
		}
	}
	v, err := verify.New(&trustroot.TrustedRoot{}, verify.Options{UseCurrentTime: true})
	if err != nil {
		b.Fatal(err)
	}
	auth, err := report.KeyAuthority("bench.pub", key.Public(), v)
	if err != nil {
		b.Fatal(err)
	}
	trust := &report.StaticTrust{List: []report.Authority{auth}}
	check := func(b *testing.B, r *report.Report) {
		if r.Summary.Images != images || r.Summary.Pods != images*podsPerImage || r.Summary.Signed != images || r.Summary.BySeverity["CRITICAL"] != images {
			b.Fatalf("summary %+v", r.Summary)
		}
	}
	run := func(b *testing.B, rep func() *report.Reporter) {
		var requests int64
		var elapsed time.Duration
		for b.Loop() {
			r := rep()
			before, start := counter.n.Load(), time.Now()
			res := r.Report(ctx, targets, nil, nil)
			elapsed += time.Since(start)
			requests += counter.n.Load() - before
			check(b, res)
		}
		b.ReportMetric(float64(elapsed.Microseconds())/1000/float64(b.N*images), "ms/image")
		b.ReportMetric(float64(requests)/float64(b.N*images), "registry-requests/image")
	}
	b.Run("cold", func(b *testing.B) {
		run(b, func() *report.Reporter {
			r, err := report.New(report.Options{Lister: report.NewListings(client), Trust: trust})
			if err != nil {
				b.Fatal(err)
			}
			return r
		})
	})
	b.Run("warm", func(b *testing.B) {
		r, err := report.New(report.Options{Lister: client, Trust: trust, CacheTTL: time.Hour})
		if err != nil {
			b.Fatal(err)
		}
		r.Report(ctx, targets, nil, nil)
		run(b, func() *report.Reporter { return r })
	})
}
