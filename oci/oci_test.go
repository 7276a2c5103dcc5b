package oci_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/signetproject/signet/oci"
	"github.com/signetproject/signet/oidc"
	"github.com/signetproject/signet/server/servertest"
	"github.com/signetproject/signet/sign"
	"github.com/signetproject/signet/trustroot"
	"github.com/signetproject/signet/verify"
)

// stack is a signet server, a registry and the clients to use them. Its
// methods take the running (sub)test, so a failure fails that test.
type stack struct {
	issuer   string
	svc      *sign.Services
	dev      *oidc.DevIssuer
	verifier *verify.Verifier // default options: one tlog entry, one time source
	legacyV  *verify.Verifier // legacy layout: no tlog entry, a TSA timestamp
	reg      string           // registry host:port
	client   *oci.Client
}

func newStack(t *testing.T, referrers bool) *stack {
	t.Helper()
	inst := servertest.Start(t)
	sc, err := trustroot.LoadSigningConfig(httpGet(t, inst.URL+"/signing_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := sign.ServicesFrom(sc, time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := trustroot.LoadTrustedRoot(httpGet(t, inst.URL+"/trusted_root.json"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := verify.New(tr, verify.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	lv, err := verify.New(tr, verify.Options{SignedTimestampThreshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	regSrv := httptest.NewServer(registry.New(registry.WithReferrersSupport(referrers),
		registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(regSrv.Close)
	return &stack{
		issuer: inst.URL + "/oidc", svc: svc, dev: inst.Server.DevIssuer(), verifier: v, legacyV: lv,
		reg:    strings.TrimPrefix(regSrv.URL, "http://"),
		client: oci.New(oci.Options{InsecureHTTP: true, Keychain: authn.NewMultiKeychain()}),
	}
}

// mint returns a dev-issuer token for email.
func (s *stack) mint(t *testing.T, email string) string {
	t.Helper()
	tok, err := s.dev.Mint(oidc.TokenRequest{Email: email}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func httpGet(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return b
}

// push writes a random image to repo:tag and returns its digest.
func (s *stack) push(t *testing.T, repo string) name.Digest {
	t.Helper()
	img, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(s.reg+"/"+repo+":latest", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	r, err := s.client.Resolve(context.Background(), ref.String())
	if err != nil {
		t.Fatal(err)
	}
	if !r.Tagged {
		t.Errorf("Resolve(%s).Tagged = false", ref)
	}
	return r.Digest
}

func (s *stack) keyless(t *testing.T, email string) sign.Options {
	return sign.Options{CA: s.svc.CA, IDToken: s.mint(t, email), Logs: s.svc.Logs, TSAs: s.svc.TSAs}
}

func (s *stack) identity(email string) verify.Policy {
	return verify.Policy{Identities: []verify.Identity{{SAN: email, Issuer: s.issuer}}}
}

func (s *stack) verifierFor(l oci.Layout) *verify.Verifier {
	if l == oci.LayoutLegacy {
		return s.legacyV
	}
	return s.verifier
}

// summary is what a test compares about an attachment.
type summary struct {
	Layout        oci.Layout
	Kind          oci.Kind
	PredicateType string
	Err           bool
}

func summarize(as []*oci.Attachment) []summary {
	var out []summary
	for _, a := range as {
		out = append(out, summary{a.Layout, a.Kind, a.PredicateType, a.Err != nil})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Layout != b.Layout {
			return a.Layout < b.Layout
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.PredicateType < b.PredicateType
	})
	return out
}

const slsaPredicate = `{"builder":{"id":"https://github.com/acme/builder@v1"},"buildType":"https://example.com/build/v1",
 "invocation":{"configSource":{"uri":"git+https://github.com/acme/app","digest":{"sha1":"0123456789abcdef0123456789abcdef01234567"}}},
 "metadata":{"completeness":{"parameters":true}},"extraField":"dropped"}`

const vulnPredicate = `{"invocation":{"parameters":null,"uri":"https://ci/run/1","event_id":"1","builder.id":"ci"},
 "scanner":{"uri":"pkg:github/aquasecurity/trivy@0.50.0","version":"0.50.0","db":{"uri":"","version":"v2"},"result":{"vulns":[]}},
 "metadata":{"scanStartedOn":"2025-01-01T00:00:00Z","scanFinishedOn":"2025-01-01T00:01:00Z"}}`

// TestSignAttestVerify signs and attests an image keyless against a signet
// server, in both layouts, on registries with and without the referrers
// API, then lists and verifies everything through verify.Verifier.
func TestSignAttestVerify(t *testing.T) {
	for _, referrers := range []bool{true, false} {
		for _, layout := range []oci.Layout{oci.LayoutReferrers, oci.LayoutLegacy} {
			t.Run(string(layout)+map[bool]string{true: "/referrers-api", false: "/fallback-tag"}[referrers], func(t *testing.T) {
				s := newStack(t, referrers)
				ctx := context.Background()
				img := s.push(t, "app")

				if _, err := s.client.SignImage(ctx, img, layout, map[string]string{"env": "prod"}, s.keyless(t, "alice@example.com")); err != nil {
					t.Fatal(err)
				}
				for _, a := range []struct{ typ, pred string }{{"slsaprovenance", slsaPredicate}, {"vuln", vulnPredicate}} {
					st, err := oci.NewStatement(img, a.typ, []byte(a.pred), time.Now())
					if err != nil {
						t.Fatal(err)
					}
					if _, err := s.client.AttestImage(ctx, img, layout, st, s.keyless(t, "alice@example.com")); err != nil {
						t.Fatalf("attest %s: %v", a.typ, err)
					}
				}
				// A second signature is added, the first kept.
				if _, err := s.client.SignImage(ctx, img, layout, nil, s.keyless(t, "bob@example.com")); err != nil {
					t.Fatal(err)
				}

				got, err := s.client.List(ctx, img)
				if err != nil {
					t.Fatal(err)
				}
				signPT := oci.PredicateCosignSign
				if layout == oci.LayoutLegacy {
					signPT = ""
				}
				want := []summary{
					{layout, oci.KindAttestation, oci.PredicateVuln, false},
					{layout, oci.KindAttestation, oci.PredicateSLSA02, false},
					{layout, oci.KindSignature, signPT, false},
					{layout, oci.KindSignature, signPT, false},
				}
				if diff := cmp.Diff(want, summarize(got.Attachments)); diff != "" {
					t.Fatalf("List (-want +got):\n%s", diff)
				}

				v := s.verifierFor(layout)
				signers := map[string]bool{}
				for _, sig := range got.Filter(oci.KindSignature) {
					var res *oci.Verified
					for _, who := range []string{"alice@example.com", "bob@example.com"} {
						if r, err := sig.Verify(v, s.identity(who)); err == nil {
							res = r
							signers[who] = true
						}
					}
					if res == nil {
						_, err := sig.Verify(v, s.identity("alice@example.com"))
						t.Fatalf("signature %s verifies for nobody: %v", sig.Ref, err)
					}
					if layout == oci.LayoutLegacy && res.SimpleSigning.DockerReference != img.Context().Name() {
						t.Errorf("docker-reference = %q", res.SimpleSigning.DockerReference)
					}
				}
				if diff := cmp.Diff(map[string]bool{"alice@example.com": true, "bob@example.com": true}, signers); diff != "" {
					t.Errorf("signers (-want +got):\n%s", diff)
				}
				for _, att := range got.Filter(oci.KindAttestation) {
					res, err := att.Verify(v, s.identity("alice@example.com"))
					if err != nil {
						t.Fatalf("attestation %s: %v", att.PredicateType, err)
					}
					if res.PredicateType != att.PredicateType || res.Statement.Subject[0].Name != img.Context().String() {
						t.Errorf("verified statement %+v", res.Statement)
					}
					if res.PredicateType == oci.PredicateSLSA02 && strings.Contains(string(res.Statement.Predicate), "extraField") {
						t.Errorf("SLSA predicate not normalised: %s", res.Statement.Predicate)
					}
				}

				// The wrong identity is rejected.
				_, err = got.Filter(oci.KindAttestation)[0].Verify(v, s.identity("mallory@example.com"))
				var verr *verify.Error
				if !errors.As(err, &verr) || verr.Check != verify.CheckIdentity {
					t.Errorf("wrong identity: err = %v, want an identity failure", err)
				}
				if !referrers && layout == oci.LayoutReferrers {
					checkFallbackTag(t, s, img)
				}
			})
		}
	}
}

// checkFallbackTag checks the sha256-<hex> index that registries without
// the referrers API get.
func checkFallbackTag(t *testing.T, s *stack, img name.Digest) {
	t.Helper()
	tag := img.Context().Tag(strings.Replace(img.DigestStr(), ":", "-", 1))
	idx, err := remote.Index(tag)
	if err != nil {
		t.Fatalf("fallback tag: %v", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, m := range im.Manifests {
		types = append(types, m.ArtifactType)
	}
	want := []string{oci.MediaTypeBundle03, oci.MediaTypeBundle03, oci.MediaTypeBundle03, oci.MediaTypeBundle03}
	if diff := cmp.Diff(want, types); diff != "" {
		t.Errorf("fallback index artifact types (-want +got):\n%s", diff)
	}
}

// TestReferrerManifestShape checks the referrer manifest against the
// shape cosign v3.1.3 writes (pkg/oci/remote.WriteReferrer).
func TestReferrerManifestShape(t *testing.T) {
	s := newStack(t, true)
	ctx := context.Background()
	img := s.push(t, "shape")
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if _, err := s.client.SignImage(ctx, img, oci.LayoutReferrers, nil, sign.Options{Key: key, Logs: s.svc.Logs, TSAs: s.svc.TSAs}); err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Referrers(img)
	if err != nil {
		t.Fatal(err)
	}
	im, _ := idx.IndexManifest()
	if len(im.Manifests) != 1 {
		t.Fatalf("%d referrers", len(im.Manifests))
	}
	desc, err := remote.Get(img.Context().Digest(im.Manifests[0].Digest.String()))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(desc.Manifest, &m); err != nil {
		t.Fatal(err)
	}
	subj, _ := remote.Head(img)
	layer := m["layers"].([]any)[0].(map[string]any)
	ann := m["annotations"].(map[string]any)
	if _, err := time.Parse(time.RFC3339, ann[oci.AnnotationCreated].(string)); err != nil {
		t.Errorf("created annotation: %v", err)
	}
	delete(ann, oci.AnnotationCreated)
	want := map[string]any{
		"schemaVersion": 2.0,
		"mediaType":     string(types.OCIManifestSchema1),
		"artifactType":  oci.MediaTypeBundle03,
		"config": map[string]any{
			"mediaType":    "application/vnd.oci.empty.v1+json",
			"artifactType": oci.MediaTypeBundle03,
			"size":         2.0,
			"digest":       "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
		},
		"layers": []any{map[string]any{
			"mediaType": oci.MediaTypeBundle03,
			"size":      layer["size"],
			"digest":    layer["digest"],
		}},
		"annotations": map[string]any{
			oci.AnnotationBundleContent:       "dsse-envelope",
			oci.AnnotationBundlePredicateType: oci.PredicateCosignSign,
		},
		"subject": map[string]any{
			"mediaType": string(subj.MediaType),
			"size":      float64(subj.Size),
			"digest":    img.DigestStr(),
		},
	}
	if diff := cmp.Diff(want, m); diff != "" {
		t.Errorf("referrer manifest (-want +got):\n%s", diff)
	}
	// The statement is cosign's: in-toto v1, subject without a name.
	got, err := s.client.List(ctx, img)
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	if err := json.Unmarshal(got.Attachments[0].Bundle.Envelope().GetPayload(), &st); err != nil {
		t.Fatal(err)
	}
	wantSt := map[string]any{
		"_type":         "https://in-toto.io/Statement/v1",
		"subject":       []any{map[string]any{"digest": map[string]any{"sha256": img.DigestStr()[7:]}}},
		"predicateType": "https://sigstore.dev/cosign/sign/v1",
		"predicate":     map[string]any{},
	}
	if diff := cmp.Diff(wantSt, st); diff != "" {
		t.Errorf("statement (-want +got):\n%s", diff)
	}
}

func isCheck(c verify.Check) func(error) bool {
	return func(err error) bool {
		var verr *verify.Error
		return errors.As(err, &verr) && verr.Check == c
	}
}

func isContent(err error) bool { return errors.Is(err, oci.ErrContent) }

// TestTampering checks that what an attacker with push access can do to
// attachments is rejected, and that the untampered control verifies.
func TestTampering(t *testing.T) {
	s := newStack(t, true)
	ctx := context.Background()
	alice := s.identity("alice@example.com")
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	keyPolicy := func(k *ecdsa.PrivateKey) verify.Policy {
		return verify.Policy{Key: &verify.TrustedKey{PublicKey: k.Public()}}
	}
	payloadFor := func(t *testing.T, img name.Digest, digest string) []byte {
		t.Helper()
		p, err := (&oci.SimpleSigning{DockerReference: img.Context().Name(), ManifestDigest: digest}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	must := func(t *testing.T, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	tests := []struct {
		name   string
		layout oci.Layout
		kind   oci.Kind
		policy verify.Policy
		// setup returns the image whose attachment of kind is checked.
		setup   func(t *testing.T) name.Digest
		wantErr func(error) bool // nil: must verify
	}{{
		name: "legacy control", layout: oci.LayoutLegacy, kind: oci.KindSignature, policy: alice,
		setup: func(t *testing.T) name.Digest {
			a := s.push(t, "control")
			_, err := s.client.SignImage(ctx, a, oci.LayoutLegacy, nil, s.keyless(t, "alice@example.com"))
			must(t, err)
			return a
		},
	}, {
		name: "legacy signature of another image copied over", layout: oci.LayoutLegacy, kind: oci.KindSignature, policy: alice,
		setup: func(t *testing.T) name.Digest {
			a, b := s.push(t, "copy-a"), s.push(t, "copy-b")
			bun, err := s.client.SignImage(ctx, a, oci.LayoutLegacy, nil, s.keyless(t, "alice@example.com"))
			must(t, err)
			l, err := oci.SignatureLayer(payloadFor(t, a, a.DigestStr()), bun)
			must(t, err)
			must(t, s.client.AppendSignature(ctx, b, l))
			return b
		},
		wantErr: isContent,
	}, {
		name: "legacy payload digest changed", layout: oci.LayoutLegacy, kind: oci.KindSignature, policy: alice,
		setup: func(t *testing.T) name.Digest {
			a, b := s.push(t, "payload-a"), s.push(t, "payload-b")
			bun, err := s.client.SignImage(ctx, a, oci.LayoutLegacy, nil, s.keyless(t, "alice@example.com"))
			must(t, err)
			l, err := oci.SignatureLayer(payloadFor(t, a, a.DigestStr()), bun)
			must(t, err)
			l.Payload = payloadFor(t, b, b.DigestStr())
			must(t, s.client.AppendSignature(ctx, b, l))
			return b
		},
		wantErr: isCheck(verify.CheckSignature),
	}, {
		name: "legacy attestation statement changed", layout: oci.LayoutLegacy, kind: oci.KindAttestation, policy: alice,
		setup: func(t *testing.T) name.Digest {
			a, b := s.push(t, "att-a"), s.push(t, "att-b")
			st, err := oci.NewStatement(a, "vuln", []byte(vulnPredicate), time.Now())
			must(t, err)
			bun, err := s.client.AttestImage(ctx, a, oci.LayoutLegacy, st, s.keyless(t, "alice@example.com"))
			must(t, err)
			l, err := oci.AttestationLayer(bun, oci.PredicateVuln)
			must(t, err)
			stB, err := oci.NewStatement(b, "vuln", []byte(vulnPredicate), time.Now())
			must(t, err)
			raw, err := stB.Marshal()
			must(t, err)
			var env map[string]any
			must(t, json.Unmarshal(l.Payload, &env))
			env["payload"] = raw // encoding/json writes []byte as base64
			l.Payload, err = json.Marshal(env)
			must(t, err)
			must(t, s.client.AppendAttestation(ctx, b, l))
			return b
		},
		wantErr: isCheck(verify.CheckSignature),
	}, {
		name: "referrer bundle of another image attached", layout: oci.LayoutReferrers, kind: oci.KindSignature, policy: alice,
		setup: func(t *testing.T) name.Digest {
			a, b := s.push(t, "ref-a"), s.push(t, "ref-b")
			bun, err := s.client.SignImage(ctx, a, oci.LayoutReferrers, nil, s.keyless(t, "alice@example.com"))
			must(t, err)
			_, err = s.client.AttachBundle(ctx, b, bun, oci.PredicateCosignSign, time.Now())
			must(t, err)
			return b
		},
		wantErr: isCheck(verify.CheckArtifact),
	}, {
		name: "referrer claims to be a signature but signs provenance", layout: oci.LayoutReferrers, kind: oci.KindSignature, policy: alice,
		setup: func(t *testing.T) name.Digest {
			a := s.push(t, "claim")
			st, err := oci.NewStatement(a, "slsaprovenance", []byte(slsaPredicate), time.Now())
			must(t, err)
			bun, err := s.client.AttestImage(ctx, a, oci.LayoutReferrers, st, s.keyless(t, "alice@example.com"))
			must(t, err)
			// Re-attach the provenance bundle annotated as a signature
			// (and drop nothing: the honest referrer is listed too).
			_, err = s.client.AttachBundle(ctx, a, bun, oci.PredicateCosignSign, time.Now())
			must(t, err)
			return a
		},
		wantErr: isContent,
	}, {
		name: "referrers key control", layout: oci.LayoutReferrers, kind: oci.KindSignature, policy: keyPolicy(key),
		setup: func(t *testing.T) name.Digest {
			a := s.push(t, "key-ok")
			_, err := s.client.SignImage(ctx, a, oci.LayoutReferrers, nil, sign.Options{Key: key, Logs: s.svc.Logs, TSAs: s.svc.TSAs})
			must(t, err)
			return a
		},
	}, {
		name: "referrers wrong key", layout: oci.LayoutReferrers, kind: oci.KindSignature, policy: keyPolicy(otherKey),
		setup: func(t *testing.T) name.Digest {
			a := s.push(t, "key-bad")
			_, err := s.client.SignImage(ctx, a, oci.LayoutReferrers, nil, sign.Options{Key: key, Logs: s.svc.Logs, TSAs: s.svc.TSAs})
			must(t, err)
			return a
		},
		wantErr: isCheck(verify.CheckSignature),
	}, {
		name: "legacy wrong key", layout: oci.LayoutLegacy, kind: oci.KindSignature, policy: keyPolicy(otherKey),
		setup: func(t *testing.T) name.Digest {
			a := s.push(t, "legacy-key")
			_, err := s.client.SignImage(ctx, a, oci.LayoutLegacy, nil, sign.Options{Key: key, Logs: s.svc.Logs, TSAs: s.svc.TSAs})
			must(t, err)
			return a
		},
		wantErr: isCheck(verify.CheckSignature),
	}, {
		name: "legacy wrong identity", layout: oci.LayoutLegacy, kind: oci.KindSignature, policy: s.identity("mallory@example.com"),
		setup: func(t *testing.T) name.Digest {
			a := s.push(t, "legacy-id")
			_, err := s.client.SignImage(ctx, a, oci.LayoutLegacy, nil, s.keyless(t, "alice@example.com"))
			must(t, err)
			return a
		},
		wantErr: isCheck(verify.CheckIdentity),
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := tt.setup(t)
			got, err := s.client.List(ctx, img)
			if err != nil {
				t.Fatal(err)
			}
			var errs []error
			verified := 0
			for _, a := range got.Attachments {
				if a.Layout != tt.layout || a.Kind != tt.kind {
					continue
				}
				if _, err := a.Verify(s.verifierFor(tt.layout), tt.policy); err != nil {
					errs = append(errs, err)
				} else {
					verified++
				}
			}
			if tt.wantErr == nil {
				if verified == 0 || len(errs) > 0 {
					t.Fatalf("verified %d, errors %v", verified, errs)
				}
				return
			}
			if verified != 0 || len(errs) != 1 {
				t.Fatalf("verified %d, errors %v; want one rejected attachment", verified, errs)
			}
			if !tt.wantErr(errs[0]) {
				t.Errorf("error %v is not the expected kind", errs[0])
			}
		})
	}
}

type rawManifest []byte

func (r rawManifest) RawManifest() ([]byte, error) { return r, nil }
func (r rawManifest) MediaType() (types.MediaType, error) {
	return types.OCIManifestSchema1, nil
}

// TestListOtherAndMalformedReferrers: SBOM referrers are listed as
// "other"; a malformed bundle referrer is reported, not fatal.
func TestListOtherAndMalformedReferrers(t *testing.T) {
	for _, referrers := range []bool{true, false} {
		s := newStack(t, referrers)
		ctx := context.Background()
		img := s.push(t, "others")
		subj, err := remote.Head(img)
		if err != nil {
			t.Fatal(err)
		}
		empty := static.NewLayer([]byte("{}"), "application/vnd.oci.empty.v1+json")
		blob := static.NewLayer([]byte(`{"spdxVersion":"SPDX-2.3"}`), "application/spdx+json")
		for _, l := range []v1.Layer{empty, blob} {
			if err := remote.WriteLayer(img.Context(), l); err != nil {
				t.Fatal(err)
			}
		}
		ed, _ := empty.Digest()
		bd, _ := blob.Digest()
		bs, _ := blob.Size()
		put := func(artifactType string, layers int) {
			m := v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1, ArtifactType: artifactType,
				Config:  v1.Descriptor{MediaType: "application/vnd.oci.empty.v1+json", Digest: ed, Size: 2},
				Subject: &v1.Descriptor{MediaType: subj.MediaType, Digest: subj.Digest, Size: subj.Size}}
			for range layers {
				m.Layers = append(m.Layers, v1.Descriptor{MediaType: types.MediaType(artifactType), Digest: bd, Size: bs})
			}
			raw, _ := json.Marshal(m)
			h, _, _ := v1.SHA256(strings.NewReader(string(raw)))
			if err := remote.Put(img.Context().Digest(h.String()), rawManifest(raw)); err != nil {
				t.Fatal(err)
			}
		}
		put("application/spdx+json", 1)
		put(oci.MediaTypeBundle03, 2) // two layers: malformed
		put(oci.MediaTypeBundle03, 1) // an SPDX document is not a bundle
		got, err := s.client.List(ctx, img)
		if err != nil {
			t.Fatal(err)
		}
		want := []summary{
			{oci.LayoutReferrers, oci.KindAttestation, "", true},
			{oci.LayoutReferrers, oci.KindAttestation, "", true},
			{oci.LayoutReferrers, oci.KindOther, "", false},
		}
		if diff := cmp.Diff(want, summarize(got.Attachments)); diff != "" {
			t.Errorf("referrers=%v: List (-want +got):\n%s", referrers, diff)
		}
		for _, a := range got.Attachments {
			if _, err := a.Verify(s.verifier, s.identity("alice@example.com")); err == nil {
				t.Errorf("%s verified", a.Ref)
			}
		}
	}
}
