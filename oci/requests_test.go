package oci_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/signetproject/signet/oci"
	"github.com/signetproject/signet/sign"
)

// tokenRegistry serves one in-process registry twice: openly, to set up
// images and signatures, and behind Docker token authentication (a
// challenge on /v2/, tokens from /token scoped to one repository), where
// it logs every request, token requests included.
type tokenRegistry struct {
	open, authed string // host:port of each server
	requestLog
}

const (
	testUser     = "ci"
	testPassword = "s3cret"
)

func newTokenRegistry(t *testing.T, referrers bool) *tokenRegistry {
	t.Helper()
	h := registry.New(registry.WithReferrersSupport(referrers), registry.Logger(log.New(io.Discard, "", 0)))
	open := httptest.NewServer(h)
	t.Cleanup(open.Close)
	r := &tokenRegistry{open: strings.TrimPrefix(open.URL, "http://")}
	authed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.add(req)
		if req.URL.Path == "/token" {
			user, pass, ok := req.BasicAuth()
			if !ok || user != testUser || pass != testPassword {
				http.Error(w, "bad credentials", http.StatusUnauthorized)
				return
			}
			json.NewEncoder(w).Encode(map[string]string{"token": "token for " + req.URL.Query().Get("scope")})
			return
		}
		// Every /v2/ request needs the token of its repository's pull
		// scope; the ping (/v2/ itself) is challenged without a scope.
		scope := ""
		if m := repositoryPath.FindStringSubmatch(req.URL.Path); m != nil {
			scope = "repository:" + m[1] + ":pull"
		}
		if req.Header.Get("Authorization") != "Bearer token for "+scope || scope == "" {
			challenge := fmt.Sprintf(`Bearer realm="http://%s/token",service="test"`, req.Host)
			if scope != "" {
				challenge += fmt.Sprintf(`,scope=%q`, scope)
			}
			w.Header().Set("WWW-Authenticate", challenge)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"token needed"}]}`, http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, req)
	}))
	t.Cleanup(authed.Close)
	r.authed = strings.TrimPrefix(authed.URL, "http://")
	return r
}

// repositoryPath matches the registry API paths of a repository's
// manifests, blobs and referrers; the first group is the repository.
var repositoryPath = regexp.MustCompile(`^/v2/(.+)/(?:manifests|blobs|referrers)/[^/]+$`)

// requestLog logs a registry's requests as "METHOD /path".
type requestLog struct {
	mu  sync.Mutex
	log []string
}

func (l *requestLog) add(req *http.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.log = append(l.log, req.Method+" "+req.URL.Path)
}

// requests returns the requests logged since the last call.
func (l *requestLog) requests() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.log
	l.log = nil
	return out
}

// basicKeychain hands out one username and password for every registry.
type basicKeychain struct{ user, password string }

func (k basicKeychain) Resolve(authn.Resource) (authn.Authenticator, error) {
	return &authn.Basic{Username: k.user, Password: k.password}, nil
}

// TestListRequests counts the registry requests of List and ListKind on a
// registry with token authentication, with and without the referrers API,
// for an image with a signature and an attestation in either layout. One
// listing pings the registry and exchanges a token once, then makes one
// request per place signatures may be (referrers API, fallback tag, legacy
// tags) and per attachment it reads; ListKind skips the legacy tags and
// bundles of the other kinds. Every listing must also find what List
// finds, filtered by kind.
func TestListRequests(t *testing.T) {
	// Requests a listing may make: ping, token, referrers API (and the
	// fallback tag without it), then per layout:
	//   referrers: 2 referrer manifests, and the bundles read (2 or 1);
	//   legacy: the .sig, .att, .sbom tags read (3 or 1), and a layer
	//   blob per attachment read (2 or 1).
	tests := []struct {
		layout    oci.Layout
		referrers bool
		kind      oci.Kind // "" for List
		want      int
	}{
		{oci.LayoutReferrers, true, "", 10},
		{oci.LayoutReferrers, true, oci.KindSignature, 7},
		{oci.LayoutReferrers, true, oci.KindAttestation, 7},
		{oci.LayoutReferrers, false, "", 11},
		{oci.LayoutReferrers, false, oci.KindSignature, 8},
		{oci.LayoutReferrers, false, oci.KindAttestation, 8},
		{oci.LayoutLegacy, true, "", 8},
		{oci.LayoutLegacy, true, oci.KindSignature, 5},
		{oci.LayoutLegacy, true, oci.KindAttestation, 5},
		{oci.LayoutLegacy, false, "", 9},
		{oci.LayoutLegacy, false, oci.KindSignature, 6},
		{oci.LayoutLegacy, false, oci.KindAttestation, 6},
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	regs := map[bool]*tokenRegistry{true: newTokenRegistry(t, true), false: newTokenRegistry(t, false)}
	setup := oci.New(oci.Options{Keychain: authn.NewMultiKeychain()})
	client := oci.New(oci.Options{Keychain: basicKeychain{testUser, testPassword}})
	// signed returns the image of layout on reg, signed and attested once,
	// by its digest on the authenticated server.
	signed := func(reg *tokenRegistry, layout oci.Layout) name.Digest {
		img, err := random.Image(512, 1)
		if err != nil {
			t.Fatal(err)
		}
		h, _ := img.Digest()
		d, err := name.NewDigest(reg.open + "/team/" + string(layout) + "@" + h.String())
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(d, img); err != nil {
			t.Fatal(err)
		}
		opts := sign.Options{Key: key, UnsafeNoTlog: true}
		if _, err := setup.SignImage(ctx, d, layout, nil, opts); err != nil {
			t.Fatal(err)
		}
		st, err := oci.NewStatement(d, "slsaprovenance", []byte(slsaPredicate), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := setup.AttestImage(ctx, d, layout, st, opts); err != nil {
			t.Fatal(err)
		}
		authed, err := name.NewDigest(reg.authed + "/team/" + string(layout) + "@" + h.String())
		if err != nil {
			t.Fatal(err)
		}
		return authed
	}
	images := map[bool]map[oci.Layout]name.Digest{}
	for referrers, reg := range regs {
		images[referrers] = map[oci.Layout]name.Digest{
			oci.LayoutReferrers: signed(reg, oci.LayoutReferrers),
			oci.LayoutLegacy:    signed(reg, oci.LayoutLegacy),
		}
	}

	for _, tt := range tests {
		api := map[bool]string{true: "referrers-api", false: "fallback-tag"}[tt.referrers]
		t.Run(fmt.Sprintf("%s/%s/%s", tt.layout, api, map[oci.Kind]string{"": "all"}[tt.kind]+string(tt.kind)), func(t *testing.T) {
			reg, img := regs[tt.referrers], images[tt.referrers][tt.layout]
			reg.requests() // forget earlier subtests' requests
			all, err := client.List(ctx, img)
			if err != nil {
				t.Fatal(err)
			}
			requests, got := reg.requests(), all
			if tt.kind != "" {
				if got, err = client.ListKind(ctx, img, tt.kind, oci.Lookup{}); err != nil {
					t.Fatal(err)
				}
				requests = reg.requests()
			}

			want := all.Attachments
			if tt.kind != "" {
				want = all.Filter(tt.kind)
			}
			if diff := cmp.Diff(summarize(want), summarize(got.Attachments)); diff != "" {
				t.Errorf("attachments (-want +got):\n%s", diff)
			}
			kinds := map[oci.Kind]int{}
			for _, a := range all.Attachments {
				if a.Layout != tt.layout || a.Err != nil || a.Bundle == nil {
					t.Errorf("List: unexpected attachment %s (%s, %s): %v", a.Ref, a.Layout, a.Kind, a.Err)
				}
				kinds[a.Kind]++
			}
			if diff := cmp.Diff(map[oci.Kind]int{oci.KindSignature: 1, oci.KindAttestation: 1}, kinds); diff != "" {
				t.Errorf("List: kinds (-want +got):\n%s", diff)
			}
			if len(requests) > tt.want {
				t.Errorf("%d registry requests, want at most %d:\n%s", len(requests), tt.want, strings.Join(requests, "\n"))
			}
		})
	}
}

// TestListUnauthorized: wrong credentials fail a listing with
// ErrUnauthorized rather than reporting nothing attached.
func TestListUnauthorized(t *testing.T) {
	reg := newTokenRegistry(t, true)
	img, err := name.NewDigest(reg.authed + "/team/app@sha256:" + strings.Repeat("0", 64))
	if err != nil {
		t.Fatal(err)
	}
	client := oci.New(oci.Options{Keychain: basicKeychain{testUser, "wrong"}})
	for _, kind := range []oci.Kind{"", oci.KindSignature} {
		var err error
		if kind == "" {
			_, err = client.List(context.Background(), img)
		} else {
			_, err = client.ListKind(context.Background(), img, kind, oci.Lookup{})
		}
		if !errors.Is(err, oci.ErrUnauthorized) {
			t.Errorf("kind %q: err = %v, want ErrUnauthorized", kind, err)
		}
	}
}

// TestLegacyDefaultPayloadNotRead: a legacy signature layer whose
// descriptor names the simple-signing payload cosign writes by default
// for the image (its repository, no annotations) is not read from the
// registry, since those bytes are known; a layer with any other payload
// (here, the signer's annotations) is read. Either way the bundle signs
// exactly the layer's bytes.
func TestLegacyDefaultPayloadNotRead(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	reg := newLoggingRegistry(t, false)
	host := reg.host
	client := oci.New(oci.Options{})
	for _, tt := range []struct {
		name        string
		annotations map[string]string
		blobRead    bool
	}{
		{"default", nil, false},
		{"annotated", map[string]string{"team": "release"}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			img, err := random.Image(512, 1)
			if err != nil {
				t.Fatal(err)
			}
			dg, _ := img.Digest()
			d, err := name.NewDigest(host + "/team/app-" + tt.name + "@" + dg.String())
			if err != nil {
				t.Fatal(err)
			}
			if err := remote.Write(d, img); err != nil {
				t.Fatal(err)
			}
			if _, err := client.SignImage(ctx, d, oci.LayoutLegacy, tt.annotations, sign.Options{Key: key, UnsafeNoTlog: true}); err != nil {
				t.Fatal(err)
			}
			reg.requests() // forget the setup's requests
			// A fresh client: nothing read before is remembered.
			got, err := oci.New(oci.Options{}).ListKind(ctx, d, oci.KindSignature, oci.Lookup{})
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Attachments) != 1 || got.Attachments[0].Err != nil || got.Attachments[0].Bundle == nil {
				t.Fatalf("attachments: %+v", got.Attachments)
			}
			a := got.Attachments[0]
			md := a.Bundle.MessageSignature().GetMessageDigest().GetDigest()
			if fmt.Sprintf("%x", md) != a.Digest.Hex {
				t.Errorf("bundle signs sha256:%x, the layer is %s", md, a.Digest)
			}
			read := false
			for _, r := range reg.requests() {
				if strings.HasSuffix(r, "/blobs/"+a.Digest.String()) {
					read = true
				}
			}
			if read != tt.blobRead {
				t.Errorf("layer blob read: %v, want %v", read, tt.blobRead)
			}
		})
	}
}

// TestNoReferrersAPIRemembered: once a registry answers the referrers API
// as one without it, listings on it read the fallback tag at once, and
// still find every attachment; a registry with the API keeps being asked.
func TestNoReferrersAPIRemembered(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, api := range []bool{false, true} {
		t.Run(fmt.Sprintf("referrers-api=%v", api), func(t *testing.T) {
			reg := newLoggingRegistry(t, api)
			host := reg.host
			setup := oci.New(oci.Options{})
			signed := func(i int) name.Digest {
				img, err := random.Image(512, 1)
				if err != nil {
					t.Fatal(err)
				}
				dg, _ := img.Digest()
				d, err := name.NewDigest(fmt.Sprintf("%s/team/app-%d@%s", host, i, dg))
				if err != nil {
					t.Fatal(err)
				}
				if err := remote.Write(d, img); err != nil {
					t.Fatal(err)
				}
				if _, err := setup.SignImage(ctx, d, oci.LayoutReferrers, nil, sign.Options{Key: key, UnsafeNoTlog: true}); err != nil {
					t.Fatal(err)
				}
				return d
			}
			client := oci.New(oci.Options{})
			for i := range 3 {
				d := signed(i)
				reg.requests() // forget the setup's requests
				got, err := client.ListKind(ctx, d, oci.KindSignature, oci.Lookup{})
				if err != nil {
					t.Fatal(err)
				}
				if len(got.Attachments) != 1 || got.Attachments[0].Err != nil || got.Attachments[0].Layout != oci.LayoutReferrers {
					t.Fatalf("listing %d: attachments %+v", i, got.Attachments)
				}
				askedAPI := false
				for _, r := range reg.requests() {
					if strings.Contains(r, "/referrers/") {
						askedAPI = true
					}
				}
				// Without the API, only the first listing asks it.
				if want := api || i == 0; askedAPI != want {
					t.Errorf("listing %d asked the referrers API: %v, want %v", i, askedAPI, want)
				}
			}
		})
	}
}

// loggingRegistry is an in-process registry, with or without the
// referrers API, that logs every request.
type loggingRegistry struct {
	host string
	requestLog
}

func newLoggingRegistry(t *testing.T, referrersAPI bool) *loggingRegistry {
	t.Helper()
	r := &loggingRegistry{}
	h := registry.New(registry.WithReferrersSupport(referrersAPI), registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.add(req)
		h.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	r.host = strings.TrimPrefix(srv.URL, "http://")
	return r
}
