package oci_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/signetproject/signet/internal/registrytest"
	"github.com/signetproject/signet/oci"
	"github.com/signetproject/signet/sign"
)

// hostileImage is an image reference on a hostile registry.
func hostileImage(t *testing.T, h *registrytest.Hostile) name.Digest {
	t.Helper()
	d, err := name.NewDigest(h.Host + "/team/app@sha256:" + strings.Repeat("a", 64))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestManifestSizeLimit: a registry serving manifests and referrers
// indexes far larger than the OCI distribution spec's 4 MiB fails the
// listing with ErrLimit after at most that much is read, whether or not it
// announces the size.
func TestManifestSizeLimit(t *testing.T) {
	for _, chunked := range []bool{false, true} {
		t.Run(fmt.Sprintf("chunked=%v", chunked), func(t *testing.T) {
			h := registrytest.StartHostile(t, registrytest.HostileConfig{Attack: registrytest.HugeManifests, ManifestSize: 40 << 20, Chunked: chunked})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			s, err := oci.NewSession(oci.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = oci.New(oci.Options{}).ListKind(ctx, hostileImage(t, h), oci.KindSignature, oci.Lookup{Session: s})
			if !errors.Is(err, oci.ErrLimit) {
				t.Fatalf("err = %v, want ErrLimit", err)
			}
			// Two documents are read (referrers index, .sig tag); socket
			// buffers hold a few MiB more than the client reads.
			if n := h.BytesServed(); n > 2*oci.MaxManifestSize+16<<20 {
				t.Errorf("registry served %d MiB for one listing", n>>20)
			}
			// A manifest announced too large is not read at all.
			if n := s.Bytes(); !chunked && n > 64<<10 || n > 2*oci.MaxManifestSize+64<<10 {
				t.Errorf("read %d KiB of manifests", n>>10)
			}
			if !strings.Contains(err.Error(), "4 MiB") {
				t.Errorf("error %q does not say why", err)
			}
		})
	}
}

// TestSessionByteBudget: a .sig tag with many layers, each under the
// per-blob limit, is read only up to the session's byte budget, and the
// budget spans the listings of a session.
func TestSessionByteBudget(t *testing.T) {
	for _, chunked := range []bool{false, true} {
		t.Run(fmt.Sprintf("chunked=%v", chunked), func(t *testing.T) {
			h := registrytest.StartHostile(t, registrytest.HostileConfig{Attack: registrytest.ManyLayers, Layers: 40, LayerSize: 1 << 20, Chunked: chunked})
			s, err := oci.NewSession(oci.Limits{MaxBytes: 4 << 20})
			if err != nil {
				t.Fatal(err)
			}
			_, err = oci.New(oci.Options{}).ListKind(context.Background(), hostileImage(t, h), oci.KindSignature, oci.Lookup{Session: s})
			if !errors.Is(err, oci.ErrLimit) {
				t.Fatalf("err = %v, want ErrLimit", err)
			}
			if n := h.BytesServed(); n > 12<<20 {
				t.Errorf("registry served %d MiB of 40 for a 4 MiB budget", n>>20)
			}
			// Layers are read concurrently; together they overshoot the
			// budget by one byte at most.
			if s.Bytes() > 4<<20+1 {
				t.Errorf("session read %d bytes, budget 4 MiB", s.Bytes())
			}
		})
	}
}

// TestSessionBudgetAnnounced: a blob whose announced size exceeds what is
// left of the budget is refused before any of it is read.
func TestSessionBudgetAnnounced(t *testing.T) {
	h := registrytest.StartHostile(t, registrytest.HostileConfig{Attack: registrytest.ManyLayers, Layers: 1, LayerSize: 8 << 20})
	s, err := oci.NewSession(oci.Limits{MaxBytes: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	_, err = oci.New(oci.Options{}).ListKind(context.Background(), hostileImage(t, h), oci.KindSignature, oci.Lookup{Session: s})
	if !errors.Is(err, oci.ErrLimit) || !strings.Contains(err.Error(), "more bytes would exceed") {
		t.Fatalf("err = %v, want ErrLimit for the announced size", err)
	}
	if s.Bytes() > 64<<10 {
		t.Errorf("session read %d bytes of a blob announced too large", s.Bytes())
	}
}

// TestSessionBudgetExact: a budget of exactly what a listing reads is
// enough, one byte less is not, although its blobs are read concurrently.
func TestSessionBudgetExact(t *testing.T) {
	h := registrytest.StartHostile(t, registrytest.HostileConfig{Attack: registrytest.ManyLayers, Layers: 5, LayerSize: 100 << 10})
	img := hostileImage(t, h)
	list := func(budget int64) (*oci.Session, error) {
		s, err := oci.NewSession(oci.Limits{MaxBytes: budget})
		if err != nil {
			t.Fatal(err)
		}
		// A client of its own each time: nothing kept from before.
		_, err = oci.New(oci.Options{MaxCachedContent: -1}).ListKind(context.Background(), img, oci.KindSignature, oci.Lookup{Session: s})
		return s, err
	}
	s, err := list(0)
	if err != nil {
		t.Fatal(err)
	}
	need := s.Bytes()
	if _, err := list(need); err != nil {
		t.Errorf("budget of the %d bytes needed: %v", need, err)
	}
	if _, err := list(need - 1); !errors.Is(err, oci.ErrLimit) {
		t.Errorf("budget of one byte less: err = %v, want ErrLimit", err)
	}
}

// TestSessionSharesReads: listings sharing a session (two authorities of
// one decision) read each manifest and blob once.
func TestSessionSharesReads(t *testing.T) {
	h := registrytest.StartHostile(t, registrytest.HostileConfig{Attack: registrytest.ManyLayers, Layers: 5, LayerSize: 100 << 10})
	s, err := oci.NewSession(oci.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	client, img := oci.New(oci.Options{}), hostileImage(t, h)
	var wg sync.WaitGroup
	results := make([]*oci.Attached, 4)
	for i := range results {
		wg.Go(func() {
			var err error
			if results[i], err = client.ListKind(context.Background(), img, oci.KindSignature, oci.Lookup{Session: s}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for i, r := range results {
		if r == nil || len(r.Attachments) != 5 {
			t.Fatalf("listing %d: %+v", i, r)
		}
	}
	// 5 blobs of 100 KiB, the .sig manifest and 4 pings: one listing's worth.
	if n := h.BytesServed(); n > 5*(100<<10)+8<<10 {
		t.Errorf("registry served %d KiB to four listings sharing a session, want one listing's 500 KiB", n>>10)
	}
}

// TestRedirectLimit: a registry redirecting every request to itself costs
// a bounded number of requests, and the listing fails with ErrLimit.
func TestRedirectLimit(t *testing.T) {
	h := registrytest.StartHostile(t, registrytest.HostileConfig{Attack: registrytest.RedirectLoop})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := oci.New(oci.Options{}).ListKind(ctx, hostileImage(t, h), oci.KindSignature, oci.Lookup{})
	if !errors.Is(err, oci.ErrLimit) {
		t.Fatalf("err = %v, want ErrLimit", err)
	}
	// A ping, then for the referrers API, its fallback tag and the .sig
	// tag at most 1+MaxRedirects requests each.
	if n := h.Requests(); n > 2+3*(1+oci.MaxRedirects) {
		t.Errorf("%d requests for one listing", n)
	}
}

// TestSessionRequestLimit: a session's requests are bounded.
func TestSessionRequestLimit(t *testing.T) {
	var requests atomic.Int64
	reg := registry.New(registry.WithReferrersSupport(true), registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	_, digest := registrytest.PushRandom(t, host, "team/app")
	img, err := name.NewDigest(digest)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := oci.New(oci.Options{}).SignImage(context.Background(), img, oci.LayoutLegacy, nil, sign.Options{Key: key, UnsafeNoTlog: true}); err != nil {
		t.Fatal(err)
	}
	s, err := oci.NewSession(oci.Limits{MaxRequests: 2})
	if err != nil {
		t.Fatal(err)
	}
	requests.Store(0)
	_, err = oci.New(oci.Options{}).ListKind(context.Background(), img, oci.KindSignature, oci.Lookup{Session: s})
	if !errors.Is(err, oci.ErrLimit) {
		t.Fatalf("err = %v, want ErrLimit", err)
	}
	if n := requests.Load(); n > 2 {
		t.Errorf("%d requests with a limit of 2", n)
	}
	if _, err := oci.NewSession(oci.Limits{MaxBytes: -1}); err == nil {
		t.Error("negative limit accepted")
	}
}

// TestSilentRegistry: a registry that never answers holds a listing only
// until its context ends.
func TestSilentRegistry(t *testing.T) {
	h := registrytest.StartHostile(t, registrytest.HostileConfig{Attack: registrytest.Silent})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := oci.New(oci.Options{}).ListKind(ctx, hostileImage(t, h), oci.KindSignature, oci.Lookup{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the deadline", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("listing returned after %s", d)
	}
}

func TestIsUnavailable(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{context.DeadlineExceeded, true},
		{fmt.Errorf("read: %w", oci.ErrUnreachable), true},
		{fmt.Errorf("read: %w", oci.ErrLimit), false},
		{fmt.Errorf("read: %w", oci.ErrNotFound), false},
		{fmt.Errorf("read: %w", oci.ErrUnauthorized), false},
		{errors.New("garbage"), false},
	} {
		if got := oci.IsUnavailable(tt.err); got != tt.want {
			t.Errorf("IsUnavailable(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
	// A registry answering 503 cannot be read; one answering 404 can.
	for status, want := range map[int]bool{http.StatusServiceUnavailable: true, http.StatusTooManyRequests: true, http.StatusBadRequest: false} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/v2/" {
				return
			}
			w.WriteHeader(status)
		}))
		img, _ := name.NewDigest(strings.TrimPrefix(srv.URL, "http://") + "/app@sha256:" + strings.Repeat("a", 64))
		_, err := oci.New(oci.Options{}).ListKind(context.Background(), img, oci.KindSignature, oci.Lookup{})
		srv.Close()
		if err == nil || oci.IsUnavailable(err) != want {
			t.Errorf("status %d: IsUnavailable(%v) = %v, want %v", status, err, !want, want)
		}
	}
}

// TestConfigFilesSession: the config files a policy fetches
// (fetchConfigFile) are read within the decision's session: its budget
// cuts off a registry serving more.
func TestConfigFilesSession(t *testing.T) {
	host := registrytest.Start(t)
	tag, _ := registrytest.PushRandom(t, host, "team/app")
	client := oci.New(oci.Options{})
	got, err := client.ConfigFiles(context.Background(), tag, nil)
	if err != nil || len(got) != 1 {
		t.Fatalf("config files %v, %v", got, err)
	}
	for _, l := range []oci.Limits{{MaxBytes: 100}, {MaxRequests: 2}} {
		s, err := oci.NewSession(l)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := client.ConfigFiles(context.Background(), tag, s); !errors.Is(err, oci.ErrLimit) {
			t.Errorf("limits %+v: err = %v, want ErrLimit", l, err)
		}
	}
}
