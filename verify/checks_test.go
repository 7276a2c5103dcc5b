package verify

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/digitorus/pkcs7"
	"github.com/digitorus/timestamp"
	"github.com/google/go-cmp/cmp"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/transparency-dev/merkle/rfc6962"
	"google.golang.org/protobuf/proto"

	"github.com/signetproject/signet/bundle"
	"github.com/signetproject/signet/trustroot"
)

// TestVerifyChecks is verify's load-bearing test: every check Verify
// makes has a row below that breaks exactly that check in an otherwise
// good verification and names the check and the error it must produce, so
// deleting or inverting the check turns the row red (`make mutate` runs
// the mutants). The "accepts" rows pin what must verify, and what Verify
// reports about it.
func TestVerifyChecks(t *testing.T) {
	w := newWorld(t)
	t.Run("accepts", func(t *testing.T) { testAccepts(t, w) })
	t.Run("rejects", func(t *testing.T) { testRejects(t, w) })
	t.Run("scts", func(t *testing.T) { testSCTs(t, w) })
	t.Run("unreachable", func(t *testing.T) { testUnreachable(t, w) })
}

type acceptCase struct {
	name  string
	setup setupFunc
	check func(t *testing.T, w *world, s *scenario, res *Result) // extra assertions, may be nil
}

// summary is what the accepts rows compare of a Result.
type summary struct {
	SAN        string
	Identity   bool
	KeyHint    string
	Timestamps []TimestampKind
	Tlog       []string // "v1"/"v2", with "+time" when the integrated time is set
	Payload    bool
}

func summarize(res *Result) summary {
	var s summary
	if res.Certificate != nil {
		s.SAN = res.Certificate.SAN
	}
	s.Identity = res.Identity != nil
	s.KeyHint = res.KeyHint
	for _, ts := range res.Timestamps {
		s.Timestamps = append(s.Timestamps, ts.Kind)
	}
	for _, e := range res.TlogEntries {
		k := "v1"
		if e.RekorV2 {
			k = "v2"
		}
		if !e.IntegratedTime.IsZero() {
			k += "+time"
		}
		s.Tlog = append(s.Tlog, k)
	}
	s.Payload = res.Payload != nil
	return s
}

func keyHint(t testing.TB, pub crypto.PublicKey) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(der)
	return base64.StdEncoding.EncodeToString(h[:])
}

func wantSummary(want summary) func(t *testing.T, w *world, s *scenario, res *Result) {
	return func(t *testing.T, w *world, s *scenario, res *Result) {
		t.Helper()
		if diff := cmp.Diff(want, summarize(res)); diff != "" {
			t.Errorf("result (-want +got):\n%s", diff)
		}
	}
}

func testAccepts(t *testing.T, w *world) {
	tsa, tlog := TimestampAuthority, TimestampTlog
	keyed := keyHint(t, w.key.Public())
	cases := []acceptCase{
		{name: keylessBlobV2, check: func(t *testing.T, w *world, s *scenario, res *Result) {
			wantSummary(summary{SAN: w.san, Identity: true, Timestamps: []TimestampKind{tsa}, Tlog: []string{"v2"}})(t, w, s, res)
			if got := res.Identity; got == nil || got.SAN != w.san || got.Issuer != w.issuer {
				t.Errorf("matched identity %+v", got)
			}
		}},
		{name: keylessBlobV1, check: func(t *testing.T, w *world, s *scenario, res *Result) {
			wantSummary(summary{SAN: w.san, Identity: true, Timestamps: []TimestampKind{tlog, tsa}, Tlog: []string{"v1+time"}})(t, w, s, res)
		}},
		{name: keylessDSSEV2, check: wantSummary(summary{SAN: w.san, Identity: true, Timestamps: []TimestampKind{tsa}, Tlog: []string{"v2"}, Payload: true})},
		{name: keylessDSSEV1, check: wantSummary(summary{SAN: w.san, Identity: true, Timestamps: []TimestampKind{tlog, tsa}, Tlog: []string{"v1+time"}, Payload: true})},
		{name: keyBlobV2, check: wantSummary(summary{KeyHint: keyed, Timestamps: []TimestampKind{tsa}, Tlog: []string{"v2"}})},
		{name: keyBlobV1, check: wantSummary(summary{KeyHint: keyed, Timestamps: []TimestampKind{tlog, tsa}, Tlog: []string{"v1+time"}})},
		{name: keyDSSEV2, check: wantSummary(summary{KeyHint: keyed, Timestamps: []TimestampKind{tsa}, Tlog: []string{"v2"}, Payload: true})},
		{name: keyDSSEV1, check: func(t *testing.T, w *world, s *scenario, res *Result) {
			wantSummary(summary{KeyHint: keyed, Timestamps: []TimestampKind{tlog, tsa}, Tlog: []string{"v1+time"}, Payload: true})(t, w, s, res)
			if res.PayloadType != InTotoPayloadType || !bytes.Equal(res.Payload, w.statement) {
				t.Errorf("payload %q %q", res.PayloadType, res.Payload)
			}
		}},
		{name: "integrated time only: the TSA timestamp is not consulted", setup: func(t *testing.T, w *world) *scenario {
			s := w.scenario(t, keylessBlobV1)
			s.opts = Options{TlogThreshold: 1, IntegratedTimeThreshold: 1}
			return s
		}, check: wantSummary(summary{SAN: w.san, Identity: true, Timestamps: []TimestampKind{tlog}, Tlog: []string{"v1+time"}})},
		{name: "signed timestamps only: integrated times are not collected", setup: func(t *testing.T, w *world) *scenario {
			s := w.scenario(t, keyBlobV1)
			s.opts = Options{TlogThreshold: 1, SignedTimestampThreshold: 1}
			return s
		}, check: wantSummary(summary{KeyHint: keyed, Timestamps: []TimestampKind{tsa}, Tlog: []string{"v1+time"}})},
		{name: "observer threshold counts integrated times", setup: func(t *testing.T, w *world) *scenario {
			s := w.scenario(t, keyBlobV1)
			s.pb.VerificationMaterial.TimestampVerificationData = nil
			s.opts = Options{TlogThreshold: 1, ObserverTimestampThreshold: 1}
			return s
		}, check: wantSummary(summary{KeyHint: keyed, Timestamps: []TimestampKind{tlog}, Tlog: []string{"v1+time"}})},
		{name: "no log threshold: entries are not examined", setup: func(t *testing.T, w *world) *scenario {
			s := w.scenario(t, keylessBlobV1)
			s.opts = Options{SignedTimestampThreshold: 1}
			s.pb.VerificationMaterial.TlogEntries[0].InclusionPromise.SignedEntryTimestamp[5] ^= 1
			return s
		}, check: wantSummary(summary{SAN: w.san, Identity: true, Timestamps: []TimestampKind{tsa}})},
		{name: "an entry of a log the root does not list is skipped", setup: func(t *testing.T, w *world) *scenario {
			s := w.scenario(t, keyBlobV2)
			other := proto.Clone(w.bases[keyBlobV1].pb.VerificationMaterial.TlogEntries[0]).(*protorekor.TransparencyLogEntry)
			other.LogId.KeyId = bytes.Repeat([]byte{9}, 32)
			s.pb.VerificationMaterial.TlogEntries = append(s.pb.VerificationMaterial.TlogEntries, other)
			return s
		}, check: wantSummary(summary{KeyHint: keyed, Timestamps: []TimestampKind{tsa}, Tlog: []string{"v2"}})},
		{name: "current time, from the options' clock", setup: func(t *testing.T, w *world) *scenario {
			s := w.scenario(t, keyBlobV2)
			s.opts.UseCurrentTime = true
			s.opts.Now = func() time.Time { return time.Now().Add(-time.Minute).Truncate(time.Second) }
			return s
		}, check: func(t *testing.T, w *world, s *scenario, res *Result) {
			wantSummary(summary{KeyHint: keyed, Timestamps: []TimestampKind{tsa, TimestampCurrent}, Tlog: []string{"v2"}})(t, w, s, res)
			if got := res.Timestamps[1].Time; got.Nanosecond() != 0 || time.Since(got) < 50*time.Second {
				t.Errorf("current time %s does not come from Options.Now", got)
			}
		}},
		{name: "current time, from the system clock", setup: func(t *testing.T, w *world) *scenario {
			s := w.scenario(t, keyBlobV2)
			s.opts.UseCurrentTime = true
			return s
		}, check: func(t *testing.T, w *world, s *scenario, res *Result) {
			if n := len(res.Timestamps); n != 2 || time.Since(res.Timestamps[1].Time) > time.Minute {
				t.Errorf("timestamps %+v", res.Timestamps)
			}
		}},
		{name: "artifact as a reader", setup: func(t *testing.T, w *world) *scenario {
			s := w.scenario(t, keylessBlobV2)
			s.artifact = Artifact{Reader: bytes.NewReader(w.artifact)}
			return s
		}},
		{name: "dsse artifact as a reader", setup: func(t *testing.T, w *world) *scenario {
			s := w.scenario(t, keyDSSEV1)
			s.artifact = Artifact{Reader: bytes.NewReader(w.artifact)}
			return s
		}},
		{name: "artifact unsafely skipped", setup: func(t *testing.T, w *world) *scenario {
			s := w.scenario(t, keylessBlobV1)
			s.artifact = Artifact{UnsafeSkip: true}
			return s
		}},
		{name: "dsse artifact unsafely skipped", setup: func(t *testing.T, w *world) *scenario {
			s := w.scenario(t, keylessDSSEV2)
			s.artifact = Artifact{UnsafeSkip: true}
			return s
		}},
		{name: "identity by regular expressions", setup: func(t *testing.T, w *world) *scenario {
			s := w.scenario(t, keylessBlobV2)
			s.policy = Policy{Identities: []Identity{{SANRegexp: `^https://github\.com/octo/app/`, IssuerRegexp: `^http://127\.0\.0\.1:[0-9]+/oidc$`}}}
			return s
		}},
		{name: "second identity matches", setup: func(t *testing.T, w *world) *scenario {
			s := w.scenario(t, keylessBlobV2)
			s.policy = Policy{Identities: []Identity{{SAN: "someone@example.com", Issuer: w.issuer}, {SAN: w.san, Issuer: w.issuer}}}
			return s
		}, check: func(t *testing.T, w *world, s *scenario, res *Result) {
			if res.Identity == nil || res.Identity.SAN != w.san {
				t.Errorf("matched identity %+v, want the second", res.Identity)
			}
		}},
		{name: "identity unsafely skipped", setup: func(t *testing.T, w *world) *scenario {
			s := w.scenario(t, keylessDSSEV1)
			s.policy = Policy{UnsafeSkipIdentity: true}
			return s
		}, check: wantSummary(summary{SAN: w.san, Timestamps: []TimestampKind{tlog, tsa}, Tlog: []string{"v1+time"}, Payload: true})},
		{name: "two logs: rekor v1 and v2 entries", setup: func(t *testing.T, w *world) *scenario {
			s := w.scenario(t, keyBlobV1)
			s.pb.VerificationMaterial.TlogEntries = append(s.pb.VerificationMaterial.TlogEntries, w.testLogEntry(t, s.pb, nil))
			s.opts.TlogThreshold = 2
			return s
		}, check: wantSummary(summary{KeyHint: keyed, Timestamps: []TimestampKind{tlog, tlog, tsa}, Tlog: []string{"v1+time", "v1+time"}})},
		{name: "two timestamps from two authorities", setup: func(t *testing.T, w *world) *scenario {
			s := w.scenario(t, keyBlobV2)
			tvd := s.pb.VerificationMaterial.TimestampVerificationData
			tvd.Rfc3161Timestamps = append(tvd.Rfc3161Timestamps, &protocommon.RFC3161SignedTimestamp{SignedTimestamp: w.tsa.stamp(t, signatureOf(t, s.pb), nil)})
			s.opts.SignedTimestampThreshold = 2
			return s
		}, check: wantSummary(summary{KeyHint: keyed, Timestamps: []TimestampKind{tsa, tsa}, Tlog: []string{"v2"}})},
		{name: "a timestamp over SHA-384 of the signature", setup: func(t *testing.T, w *world) *scenario {
			s := w.scenario(t, keyBlobV2)
			sig := signatureOf(t, s.pb)
			d := sha512.Sum384(sig)
			setTimestamp(s.pb, w.tsa.stamp(t, sig, func(ts *timestamp.Timestamp) { ts.HashAlgorithm, ts.HashedMessage = crypto.SHA384, d[:] }))
			return s
		}},
		{name: "timestamp token without certificates, leaf named by the root", setup: func(t *testing.T, w *world) *scenario {
			s := w.scenario(t, keyBlobV2)
			setTimestamp(s.pb, w.tsa.stamp(t, signatureOf(t, s.pb), func(ts *timestamp.Timestamp) { ts.AddTSACertificate = false }))
			setTSA(s.root, func(a *trustroot.TimestampAuthority) { a.Leaf = w.tsa.leaf })
			return s
		}},
		{name: "timestamp token with the leaf the root names", setup: func(t *testing.T, w *world) *scenario {
			s := w.scenario(t, keyBlobV2)
			setTimestamp(s.pb, w.tsa.stamp(t, signatureOf(t, s.pb), nil))
			setTSA(s.root, func(a *trustroot.TimestampAuthority) { a.Leaf = w.tsa.leaf })
			return s
		}},
		{name: "timestamp token carrying the intermediate the root omits", setup: func(t *testing.T, w *world) *scenario {
			s := w.scenario(t, keyBlobV2)
			a := newTestTSAWithIntermediate(t)
			setTimestamp(s.pb, a.stamp(t, signatureOf(t, s.pb), func(ts *timestamp.Timestamp) { ts.Certificates = []*x509.Certificate{a.inter} }))
			s.root.TimestampAuthorities = append(s.root.TimestampAuthorities, trustroot.TimestampAuthority{URI: "inter", Root: a.root})
			return s
		}},
		{name: "timestamp chain through the root's intermediate", setup: func(t *testing.T, w *world) *scenario {
			s := w.scenario(t, keyBlobV2)
			a := newTestTSAWithIntermediate(t)
			setTimestamp(s.pb, a.stamp(t, signatureOf(t, s.pb), nil))
			s.root.TimestampAuthorities = append(s.root.TimestampAuthorities, trustroot.TimestampAuthority{URI: "inter", Root: a.root, Intermediates: []*x509.Certificate{a.inter}})
			return s
		}},
		{name: "DSSE key ID naming the key", setup: func(t *testing.T, w *world) *scenario {
			s := w.crafted(t, w.dsseBundle(t, w.key, nil, crypto.SHA256, InTotoPayloadType, w.statement, sshFP(t, w.key.Public())), w.key.Public())
			return s
		}},
		{name: "statement with several subjects and digests, artifact as a reader", setup: func(t *testing.T, w *world) *scenario {
			d256, d512 := sha256.Sum256(w.artifact), sha512.Sum512(w.artifact)
			st := statement(t,
				map[string]string{"sha256": strings.Repeat("ab", 32)},
				map[string]string{"sha1": "00", "sha256": fmt.Sprintf("%x", d256), "sha512": fmt.Sprintf("%x", d512)},
				map[string]string{"sha512": strings.Repeat("cd", 64)},
			)
			return w.crafted(t, w.dsseBundle(t, w.key, nil, crypto.SHA256, InTotoPayloadType, st, ""), w.key.Public())
		}},
		{name: "statement whose artifact is a SHA-512-only subject, artifact as a reader", setup: func(t *testing.T, w *world) *scenario {
			d512 := sha512.Sum512(w.artifact)
			st := statement(t, map[string]string{"sha256": strings.Repeat("ab", 32)}, map[string]string{"sha512": fmt.Sprintf("%x", d512)})
			return w.crafted(t, w.dsseBundle(t, w.key, nil, crypto.SHA256, InTotoPayloadType, st, ""), w.key.Public())
		}},
		{name: "statement subject by SHA-512 digest", setup: func(t *testing.T, w *world) *scenario {
			d512 := sha512.Sum512(w.artifact)
			st := statement(t, map[string]string{"sha512": fmt.Sprintf("%x", d512)})
			s := w.crafted(t, w.dsseBundle(t, w.key, nil, crypto.SHA256, InTotoPayloadType, st, ""), w.key.Public())
			s.artifact = Artifact{Digest: d512[:], DigestAlgorithm: crypto.SHA512}
			return s
		}},
		{name: "P-384 certificate key signing SHA-256 digests (bundle v0.3 compatibility)", setup: func(t *testing.T, w *world) *scenario {
			k := mustECDSA(t, elliptic.P384())
			d := sha256.Sum256(w.artifact)
			return w.crafted(t, w.messageBundle(t, k, w.ca.issue(t, k.Public(), nil), protocommon.HashAlgorithm_SHA2_256, d[:], signWith(t, k, crypto.SHA256, w.artifact)), nil)
		}},
		{name: "P-384 certificate key signing SHA-256 digests, artifact by digest", setup: func(t *testing.T, w *world) *scenario {
			k := mustECDSA(t, elliptic.P384())
			d := sha256.Sum256(w.artifact)
			s := w.crafted(t, w.messageBundle(t, k, w.ca.issue(t, k.Public(), nil), protocommon.HashAlgorithm_SHA2_256, d[:], signWith(t, k, crypto.SHA256, w.artifact)), nil)
			s.artifact = Artifact{Digest: d[:], DigestAlgorithm: crypto.SHA256}
			return s
		}},
		{name: "P-384 certificate key signing a DSSE envelope with SHA-256", setup: func(t *testing.T, w *world) *scenario {
			k := mustECDSA(t, elliptic.P384())
			return w.crafted(t, w.dsseBundle(t, k, w.ca.issue(t, k.Public(), nil), crypto.SHA256, InTotoPayloadType, w.statement, ""), nil)
		}},
		{name: "P-384 key signing SHA-384 digests", setup: func(t *testing.T, w *world) *scenario {
			k := mustECDSA(t, elliptic.P384())
			d := sha512.Sum384(w.artifact)
			return w.crafted(t, w.messageBundle(t, k, nil, protocommon.HashAlgorithm_SHA2_384, d[:], signWith(t, k, crypto.SHA384, w.artifact)), k.Public())
		}},
		{name: "P-521 certificate key signing SHA-512 digests", setup: func(t *testing.T, w *world) *scenario {
			k := mustECDSA(t, elliptic.P521())
			d := sha512.Sum512(w.artifact)
			return w.crafted(t, w.messageBundle(t, k, w.ca.issue(t, k.Public(), nil), protocommon.HashAlgorithm_SHA2_512, d[:], signWith(t, k, crypto.SHA512, w.artifact)), nil)
		}},
		{name: "RSA key", setup: func(t *testing.T, w *world) *scenario {
			k := mustRSA(t)
			d := sha256.Sum256(w.artifact)
			s := w.crafted(t, w.messageBundle(t, k, nil, protocommon.HashAlgorithm_SHA2_256, d[:], signWith(t, k, crypto.SHA256, w.artifact)), k.Public())
			s.artifact = Artifact{Digest: d[:], DigestAlgorithm: crypto.SHA256}
			return s
		}},
		{name: "RSA key, DSSE", setup: func(t *testing.T, w *world) *scenario {
			k := mustRSA(t)
			return w.crafted(t, w.dsseBundle(t, k, nil, crypto.SHA256, InTotoPayloadType, w.statement, ""), k.Public())
		}},
		{name: "Ed25519 key, message signed whole", setup: func(t *testing.T, w *world) *scenario {
			_, k, _ := ed25519.GenerateKey(rand.Reader)
			d := sha256.Sum256(w.artifact)
			return w.crafted(t, w.messageBundle(t, k, nil, protocommon.HashAlgorithm_SHA2_256, d[:], signWith(t, k, 0, w.artifact)), k.Public())
		}},
		{name: "Ed25519 key, DSSE signed whole", setup: func(t *testing.T, w *world) *scenario {
			_, k, _ := ed25519.GenerateKey(rand.Reader)
			return w.crafted(t, w.dsseBundle(t, k, nil, 0, InTotoPayloadType, w.statement, ""), k.Public())
		}},
		{name: "Ed25519 certificate, message signed pre-hashed", setup: func(t *testing.T, w *world) *scenario {
			_, k, _ := ed25519.GenerateKey(rand.Reader)
			d := sha512.Sum512(w.artifact)
			sig, err := k.Sign(rand.Reader, d[:], &ed25519.Options{Hash: crypto.SHA512})
			if err != nil {
				t.Fatal(err)
			}
			s := w.crafted(t, w.messageBundle(t, k, w.ca.issue(t, k.Public(), nil), protocommon.HashAlgorithm_SHA2_512, d[:], sig), nil)
			s.artifact = Artifact{Digest: d[:], DigestAlgorithm: crypto.SHA512}
			return s
		}},
		{name: "Ed25519 certificate, DSSE signed whole", setup: func(t *testing.T, w *world) *scenario {
			_, k, _ := ed25519.GenerateKey(rand.Reader)
			return w.crafted(t, w.dsseBundle(t, k, w.ca.issue(t, k.Public(), nil), 0, InTotoPayloadType, w.statement, ""), nil)
		}},
		{name: "certificate with a critical Sigstore otherName SAN", setup: func(t *testing.T, w *world) *scenario {
			k := mustECDSA(t, elliptic.P256())
			cert := w.ca.issue(t, k.Public(), func(c *x509.Certificate) {
				c.URIs = nil
				c.ExtraExtensions = append(c.ExtraExtensions, otherNameSANExt("user!example.com", true))
			})
			s := w.crafted(t, w.dsseBundle(t, k, cert, crypto.SHA256, InTotoPayloadType, w.statement, ""), nil)
			s.policy = Policy{Identities: []Identity{{SAN: "user!example.com", Issuer: testIssuer}}}
			return s
		}, check: func(t *testing.T, w *world, s *scenario, res *Result) {
			if res.Certificate.SAN != "user!example.com" {
				t.Errorf("SAN %q", res.Certificate.SAN)
			}
		}},
		{name: "certificate with an email SAN", setup: func(t *testing.T, w *world) *scenario {
			k := mustECDSA(t, elliptic.P256())
			cert := w.ca.issue(t, k.Public(), func(c *x509.Certificate) { c.URIs, c.EmailAddresses = nil, []string{"a@example.com"} })
			s := w.crafted(t, w.dsseBundle(t, k, cert, crypto.SHA256, InTotoPayloadType, w.statement, ""), nil)
			s.policy = Policy{Identities: []Identity{{SAN: "a@example.com", Issuer: testIssuer}}}
			return s
		}},
		{name: "rekor v1 entry of the test log", setup: func(t *testing.T, w *world) *scenario {
			k := mustECDSA(t, elliptic.P256())
			cert := w.ca.issue(t, k.Public(), nil)
			d := sha256.Sum256(w.artifact)
			s := w.crafted(t, w.messageBundle(t, k, cert, protocommon.HashAlgorithm_SHA2_256, d[:], signWith(t, k, crypto.SHA256, w.artifact)), nil)
			s.pb.VerificationMaterial.TlogEntries = append(s.pb.VerificationMaterial.TlogEntries, w.testLogEntry(t, s.pb, nil))
			s.opts = Options{TlogThreshold: 1, IntegratedTimeThreshold: 1}
			return s
		}},
		{name: "rekor v1 DSSE entry of the test log", setup: func(t *testing.T, w *world) *scenario {
			s := w.crafted(t, w.dsseBundle(t, w.key, nil, crypto.SHA256, InTotoPayloadType, w.statement, ""), w.key.Public())
			s.pb.VerificationMaterial.TlogEntries = append(s.pb.VerificationMaterial.TlogEntries, w.testLogEntry(t, s.pb, nil))
			s.opts = Options{TlogThreshold: 1, IntegratedTimeThreshold: 1}
			return s
		}},
		{name: "rekor v1 entry with a promise only, bundle v0.1", setup: func(t *testing.T, w *world) *scenario {
			s := w.scenario(t, keyBlobV1)
			s.pb.MediaType = bundle.MediaType01
			s.pb.VerificationMaterial.TlogEntries[0].InclusionProof = nil
			return s
		}},
		{name: "rekor v1 entry with a proof only", setup: func(t *testing.T, w *world) *scenario {
			s := w.scenario(t, keyBlobV1)
			s.pb.VerificationMaterial.TlogEntries[0].InclusionPromise = nil
			s.opts = Options{TlogThreshold: 1, SignedTimestampThreshold: 1}
			return s
		}, check: wantSummary(summary{KeyHint: keyed, Timestamps: []TimestampKind{tsa}, Tlog: []string{"v1+time"}})},
		{name: "key valid for the whole time", setup: func(t *testing.T, w *world) *scenario {
			s := w.scenario(t, keyBlobV1)
			s.policy.Key.ValidFor = trustroot.Window{Start: time.Now().Add(-time.Hour), End: time.Now().Add(time.Hour)}
			return s
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var s *scenario
			if c.setup != nil {
				s = c.setup(t, w)
			} else {
				s = w.scenario(t, c.name)
			}
			res, err := s.verify()
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if len(res.Timestamps) == 0 {
				t.Error("accepted without a verified time")
			}
			if c.check != nil {
				c.check(t, w, s, res)
			}
		})
	}
}

type rejectCase struct {
	check string // the guard: "file: what it checks"
	fault string // the one thing changed
	setup setupFunc
	want  Check
	msg   string // the error must contain this
}

func (w *world) with(name string, edit func(t *testing.T, w *world, s *scenario)) setupFunc {
	return func(t *testing.T, w *world) *scenario {
		s := w.scenario(t, name)
		edit(t, w, s)
		return s
	}
}

func testRejects(t *testing.T, w *world) {
	var cases []rejectCase
	cases = append(cases, signatureRejects(w)...)
	cases = append(cases, artifactRejects(w)...)
	cases = append(cases, timestampRejects(w)...)
	cases = append(cases, tlogRejects(w)...)
	cases = append(cases, certificateRejects(w)...)
	cases = append(cases, identityRejects(w)...)
	cases = append(cases, optionRejects(w)...)
	seen := map[string]bool{}
	for _, c := range cases {
		name := c.check + ": " + c.fault
		if seen[name] {
			t.Fatalf("duplicate case %q", name)
		}
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			s := c.setup(t, w)
			_, err := s.verify()
			if err == nil {
				t.Fatalf("accepted; want a %s failure containing %q", c.want, c.msg)
			}
			var verr *Error
			if c.want != "" && (!errors.As(err, &verr) || verr.Check != c.want) {
				t.Fatalf("error %q, want a %s failure", err, c.want)
			}
			if !strings.Contains(err.Error(), c.msg) || strings.Contains(err.Error(), "%!") {
				t.Fatalf("error %q, want it to contain %q", err, c.msg)
			}
		})
	}
}

func signatureRejects(w *world) []rejectCase {
	flipSig := func(t *testing.T, w *world, s *scenario) {
		if ms := s.pb.GetMessageSignature(); ms != nil {
			ms.Signature[len(ms.Signature)/2] ^= 1
		} else {
			s.pb.GetDsseEnvelope().Signatures[0].Sig[10] ^= 1
		}
		restamp(t, w, s)
	}
	return []rejectCase{
		{check: "content.go: message signature", fault: "signature bit flipped", setup: w.with(keylessBlobV2, flipSig), want: CheckSignature, msg: "signature does not verify"},
		{check: "content.go: message signature, artifact as a reader", fault: "signature bit flipped", setup: w.with(keyBlobV1, func(t *testing.T, w *world, s *scenario) {
			flipSig(t, w, s)
			s.opts.TlogThreshold, s.opts.IntegratedTimeThreshold = 0, 0
			s.artifact = Artifact{Reader: bytes.NewReader(w.artifact)}
		}), want: CheckSignature, msg: "signature does not verify"},
		{check: "content.go: message signature, artifact unsafely skipped", fault: "signature bit flipped", setup: w.with(keyBlobV2, func(t *testing.T, w *world, s *scenario) {
			flipSig(t, w, s)
			s.opts.TlogThreshold = 0
			s.artifact = Artifact{UnsafeSkip: true}
		}), want: CheckSignature, msg: "signature does not verify"},
		{check: "content.go: DSSE signature", fault: "payload changed", setup: w.with(keylessDSSEV2, func(t *testing.T, w *world, s *scenario) {
			s.pb.GetDsseEnvelope().Payload = bytes.Replace(s.pb.GetDsseEnvelope().Payload, []byte("provenance"), []byte("provenancE"), 1)
		}), want: CheckSignature, msg: "DSSE: signature does not verify"},
		{check: "content.go: exactly one DSSE signature", fault: "second signature added", setup: w.with(keyDSSEV2, func(t *testing.T, w *world, s *scenario) {
			env := s.pb.GetDsseEnvelope()
			env.Signatures = append(env.Signatures, env.Signatures[0])
		}), want: CheckSignature, msg: "DSSE envelope has 2 signatures"},
		{check: "content.go: DSSE key ID names the key", fault: "another key's ID", setup: func(t *testing.T, w *world) *scenario {
			return w.crafted(t, w.dsseBundle(t, w.key, nil, crypto.SHA256, InTotoPayloadType, w.statement, "SHA256:other"), w.key.Public())
		}, want: CheckSignature, msg: `DSSE signature key ID "SHA256:other" does not name the signing key`},
		{check: "content.go: DSSE payload type", fault: "signed text/plain payload", setup: func(t *testing.T, w *world) *scenario {
			return w.crafted(t, w.dsseBundle(t, w.key, nil, crypto.SHA256, "text/plain", w.statement, ""), w.key.Public())
		}, want: CheckSignature, msg: `unsupported DSSE payload type "text/plain"`},
		{check: "content.go: DSSE payload is an in-toto statement", fault: "signed non-statement", setup: func(t *testing.T, w *world) *scenario {
			return w.crafted(t, w.dsseBundle(t, w.key, nil, crypto.SHA256, InTotoPayloadType, []byte(`{"subject":"x"}`), ""), w.key.Public())
		}, want: CheckSignature, msg: "DSSE payload is not an in-toto statement"},
		{check: "content.go: message digest present", fault: "digest removed", setup: w.with(keyBlobV2, func(t *testing.T, w *world, s *scenario) {
			s.pb.GetMessageSignature().MessageDigest.Digest = nil
		}), want: CheckSignature, msg: "message signature has no digest"},
		{check: "content.go: message digest algorithm", fault: "unspecified", setup: w.with(keyBlobV2, func(t *testing.T, w *world, s *scenario) {
			s.pb.GetMessageSignature().MessageDigest.Algorithm = protocommon.HashAlgorithm_HASH_ALGORITHM_UNSPECIFIED
		}), want: CheckSignature, msg: "unsupported digest algorithm HASH_ALGORITHM_UNSPECIFIED"},
		{check: "signature.go: digest length fits the key's hash", fault: "P-256 signature over a SHA-384 digest", setup: func(t *testing.T, w *world) *scenario {
			d := sha512.Sum384(w.artifact)
			sig, err := w.key.Sign(rand.Reader, d[:], crypto.SHA256)
			if err != nil {
				t.Fatal(err)
			}
			s := w.crafted(t, w.messageBundle(t, w.key, nil, protocommon.HashAlgorithm_SHA2_384, d[:], sig), w.key.Public())
			s.artifact = Artifact{Digest: d[:], DigestAlgorithm: crypto.SHA384}
			return s
		}, want: CheckSignature, msg: "signature does not verify"},
		{check: "signature.go: supported key", fault: "P-224 trusted key", setup: w.with(keyBlobV2, func(t *testing.T, w *world, s *scenario) {
			s.policy.Key.PublicKey = mustECDSA(t, elliptic.P224()).Public()
		}), want: CheckSignature, msg: "unsupported ECDSA curve"},
		{check: "signature.go: pure Ed25519 over the message", fault: "payload changed", setup: func(t *testing.T, w *world) *scenario {
			_, k, _ := ed25519.GenerateKey(rand.Reader)
			s := w.crafted(t, w.dsseBundle(t, k, nil, 0, InTotoPayloadType, w.statement, ""), k.Public())
			s.pb.GetDsseEnvelope().Payload = bytes.Replace(w.statement, []byte("provenance"), []byte("provenancE"), 1)
			return s
		}, want: CheckSignature, msg: "DSSE: signature does not verify"},
		{check: "signature.go: key bundles use the curve's hash", fault: "P-384 key signing SHA-256 digests", setup: func(t *testing.T, w *world) *scenario {
			k := mustECDSA(t, elliptic.P384())
			d := sha256.Sum256(w.artifact)
			return w.crafted(t, w.messageBundle(t, k, nil, protocommon.HashAlgorithm_SHA2_256, d[:], signWith(t, k, crypto.SHA256, w.artifact)), k.Public())
		}, want: CheckSignature, msg: "signature does not verify"},
		{check: "signature.go: Fulcio Ed25519 keys sign pre-hashed", fault: "message signed whole", setup: func(t *testing.T, w *world) *scenario {
			_, k, _ := ed25519.GenerateKey(rand.Reader)
			d := sha512.Sum512(w.artifact)
			s := w.crafted(t, w.messageBundle(t, k, w.ca.issue(t, k.Public(), nil), protocommon.HashAlgorithm_SHA2_512, d[:], signWith(t, k, 0, w.artifact)), nil)
			return s
		}, want: CheckSignature, msg: "signature does not verify"},
		{check: "signature.go: key bundles sign Ed25519 whole", fault: "message signed pre-hashed", setup: func(t *testing.T, w *world) *scenario {
			_, k, _ := ed25519.GenerateKey(rand.Reader)
			d := sha512.Sum512(w.artifact)
			sig, err := k.Sign(rand.Reader, d[:], &ed25519.Options{Hash: crypto.SHA512})
			if err != nil {
				t.Fatal(err)
			}
			return w.crafted(t, w.messageBundle(t, k, nil, protocommon.HashAlgorithm_SHA2_512, d[:], sig), k.Public())
		}, want: CheckSignature, msg: "signature does not verify"},
		{check: "signature.go: RSA signature", fault: "signature bit flipped", setup: func(t *testing.T, w *world) *scenario {
			k := mustRSA(t)
			d := sha256.Sum256(w.artifact)
			sig := signWith(t, k, crypto.SHA256, w.artifact)
			sig[3] ^= 1
			return w.crafted(t, w.messageBundle(t, k, nil, protocommon.HashAlgorithm_SHA2_256, d[:], sig), k.Public())
		}, want: CheckSignature, msg: "signature does not verify"},
		{check: "signature.go: the bundle's key is the policy's", fault: "certificate bundle, key policy", setup: w.with(keylessBlobV2, func(t *testing.T, w *world, s *scenario) {
			s.policy = Policy{Key: &TrustedKey{PublicKey: w.key.Public()}}
		}), want: CheckKey, msg: "bundle is signed with a certificate, the policy expects a key"},
		{check: "signature.go: key bundles need a key policy", fault: "key bundle, identity policy", setup: w.with(keyBlobV2, func(t *testing.T, w *world, s *scenario) {
			s.policy = Policy{Identities: []Identity{{SAN: w.san, Issuer: w.issuer}}}
		}), want: CheckIdentity, msg: "bundle is signed with a public key, the policy expects a certificate identity"},
		{check: "signature.go: the trusted key signed", fault: "another trusted key", setup: w.with(keyBlobV2, func(t *testing.T, w *world, s *scenario) {
			s.policy.Key.PublicKey = mustECDSA(t, elliptic.P256()).Public()
		}), want: CheckSignature, msg: "signature does not verify"},
	}
}

func artifactRejects(w *world) []rejectCase {
	dsse := func(subjects ...map[string]string) setupFunc {
		return func(t *testing.T, w *world) *scenario {
			return w.crafted(t, w.dsseBundle(t, w.key, nil, crypto.SHA256, InTotoPayloadType, statement(t, subjects...), ""), w.key.Public())
		}
	}
	byDigest := func(subjects ...map[string]string) setupFunc {
		return func(t *testing.T, w *world) *scenario {
			s := dsse(subjects...)(t, w)
			d := sha256.Sum256(w.artifact)
			s.artifact = Artifact{Digest: d[:], DigestAlgorithm: crypto.SHA256}
			return s
		}
	}
	other := sha256.Sum256([]byte("another artifact"))
	many := make([]map[string]string, maxSubjects+1)
	for i := range many {
		many[i] = map[string]string{"sha256": fmt.Sprintf("%064x", i)}
	}
	manyDigests := map[string]string{}
	for i := range maxSubjectDigests + 1 {
		manyDigests[fmt.Sprintf("alg%d", i)] = "00"
	}
	return []rejectCase{
		{check: "content.go: artifact digest is the signed digest", fault: "other artifact's digest", setup: w.with(keylessBlobV1, func(t *testing.T, w *world, s *scenario) {
			s.artifact.Digest = other[:]
		}), want: CheckArtifact, msg: "artifact digest does not match the signed digest"},
		{check: "content.go: artifact read is the signed one", fault: "other artifact", setup: w.with(keyBlobV2, func(t *testing.T, w *world, s *scenario) {
			s.artifact = Artifact{Reader: strings.NewReader("another artifact")}
		}), want: CheckSignature, msg: "signature does not verify"},
		{check: "content.go: bundle digest is the artifact's", fault: "digest changed, signature over the artifact", setup: w.with(keyBlobV2, func(t *testing.T, w *world, s *scenario) {
			s.pb.GetMessageSignature().MessageDigest.Digest = other[:]
			s.opts.TlogThreshold = 0
			s.artifact = Artifact{Reader: bytes.NewReader(w.artifact)}
		}), want: CheckArtifact, msg: "artifact digest does not match the signed digest"},
		{check: "content.go: artifact is readable", fault: "reader fails", setup: w.with(keyBlobV2, func(t *testing.T, w *world, s *scenario) {
			s.artifact = Artifact{Reader: iotest.ErrReader(errors.New("disk on fire"))}
		}), want: CheckArtifact, msg: "read artifact: disk on fire"},
		{check: "content.go: DSSE artifact is readable", fault: "reader fails", setup: w.with(keyDSSEV2, func(t *testing.T, w *world, s *scenario) {
			s.artifact = Artifact{Reader: iotest.ErrReader(errors.New("disk on fire"))}
		}), want: CheckArtifact, msg: "read artifact: disk on fire"},
		{check: "content.go: pure Ed25519 needs the artifact", fault: "artifact by digest", setup: func(t *testing.T, w *world) *scenario {
			_, k, _ := ed25519.GenerateKey(rand.Reader)
			d := sha256.Sum256(w.artifact)
			s := w.crafted(t, w.messageBundle(t, k, nil, protocommon.HashAlgorithm_SHA2_256, d[:], signWith(t, k, 0, w.artifact)), k.Public())
			s.artifact = Artifact{Digest: d[:], DigestAlgorithm: crypto.SHA256}
			return s
		}, want: CheckSignature, msg: "pure Ed25519 signatures need the artifact, not its digest"},
		{check: "content.go: pure Ed25519 needs the artifact", fault: "artifact skipped", setup: func(t *testing.T, w *world) *scenario {
			_, k, _ := ed25519.GenerateKey(rand.Reader)
			d := sha256.Sum256(w.artifact)
			s := w.crafted(t, w.messageBundle(t, k, nil, protocommon.HashAlgorithm_SHA2_256, d[:], signWith(t, k, 0, w.artifact)), k.Public())
			s.artifact = Artifact{UnsafeSkip: true}
			return s
		}, want: CheckSignature, msg: "pure Ed25519 signatures need the artifact"},
		{check: "content.go: pure Ed25519 over the artifact read", fault: "other artifact", setup: func(t *testing.T, w *world) *scenario {
			_, k, _ := ed25519.GenerateKey(rand.Reader)
			d := sha256.Sum256(w.artifact)
			s := w.crafted(t, w.messageBundle(t, k, nil, protocommon.HashAlgorithm_SHA2_256, d[:], signWith(t, k, 0, w.artifact)), k.Public())
			s.artifact = Artifact{Reader: strings.NewReader("another artifact")}
			return s
		}, want: CheckSignature, msg: "signature does not verify"},
		{check: "content.go: DSSE subject is the artifact (digest)", fault: "other artifact's digest", setup: w.with(keylessDSSEV1, func(t *testing.T, w *world, s *scenario) {
			s.artifact.Digest = other[:]
		}), want: CheckArtifact, msg: "artifact digest is not a subject of the statement"},
		{check: "content.go: DSSE subject is the artifact (digest)", fault: "same digest under another algorithm", setup: w.with(keylessDSSEV2, func(t *testing.T, w *world, s *scenario) {
			s.artifact.DigestAlgorithm = crypto.SHA512
			s.artifact.Digest = append(bytes.Clone(s.artifact.Digest), make([]byte, 32)...)
		}), want: CheckArtifact, msg: "artifact digest is not a subject of the statement"},
		{check: "content.go: DSSE subject is the artifact (reader)", fault: "other artifact", setup: w.with(keyDSSEV2, func(t *testing.T, w *world, s *scenario) {
			s.artifact = Artifact{Reader: strings.NewReader("another artifact")}
		}), want: CheckArtifact, msg: "artifact is not a subject of the statement"},
		{check: "content.go: DSSE subject digests are hex", fault: "subject digest not hex (digest)", setup: byDigest(map[string]string{"sha256": "zz"}),
			want: CheckArtifact, msg: "subject digest: encoding/hex"},
		{check: "content.go: DSSE subject digests are hex", fault: "subject digest not hex (reader)", setup: dsse(map[string]string{"sha256": strings.Repeat("z", 64)}),
			want: CheckArtifact, msg: "artifact is not a subject of the statement"},
		{check: "content.go: statement has subjects", fault: "no subjects (reader)", setup: dsse(),
			want: CheckArtifact, msg: "statement has no subjects"},
		{check: "content.go: statement has subjects", fault: "no subjects (digest)", setup: byDigest(),
			want: CheckArtifact, msg: "artifact digest is not a subject of the statement"},
		{check: "content.go: a supported subject digest", fault: "only sha1 subjects (reader)", setup: dsse(map[string]string{"sha1": "00"}),
			want: CheckArtifact, msg: "no supported digest algorithm among the subjects"},
		{check: "content.go: subject limit", fault: fmt.Sprintf("%d subjects", maxSubjects+1), setup: byDigest(many...),
			want: CheckArtifact, msg: "too many subjects: 1025 > 1024"},
		{check: "content.go: subject digest limit", fault: fmt.Sprintf("%d digests in a subject", maxSubjectDigests+1), setup: byDigest(manyDigests),
			want: CheckArtifact, msg: "too many digests in a subject: 33 > 32"},
	}
}

func timestampRejects(w *world) []rejectCase {
	restampWith := func(edit func(*timestamp.Timestamp)) func(t *testing.T, w *world, s *scenario) {
		return func(t *testing.T, w *world, s *scenario) {
			setTimestamp(s.pb, w.tsa.stamp(t, signatureOf(t, s.pb), edit))
		}
	}
	withTSA := func(a *testTSA, edit func(*trustroot.TimestampAuthority)) func(t *testing.T, w *world, s *scenario) {
		return func(t *testing.T, w *world, s *scenario) {
			setTimestamp(s.pb, a.stamp(t, signatureOf(t, s.pb), nil))
			ta := a.authority()
			if edit != nil {
				edit(&ta)
			}
			s.root.TimestampAuthorities = []trustroot.TimestampAuthority{ta}
		}
	}
	badLeaf := func(edit func(*x509.Certificate)) setupFunc {
		return func(t *testing.T, w *world) *scenario {
			s := w.scenario(t, keyBlobV2)
			withTSA(newTestTSA(t, edit), nil)(t, w, s)
			return s
		}
	}
	return []rejectCase{
		{check: "timestamp.go: message imprint is the bundle's signature", fault: "timestamp grafted from another bundle", setup: w.with(keyBlobV2, func(t *testing.T, w *world, s *scenario) {
			s.pb.VerificationMaterial.TimestampVerificationData = w.bases[keylessBlobV2].pb.VerificationMaterial.TimestampVerificationData
		}), want: CheckTimestamp, msg: "timestamp 0: timestamp is not over the bundle's signature"},
		{check: "timestamp.go: message imprint is the bundle's signature", fault: "observer threshold, grafted timestamp", setup: w.with(keylessBlobV2, func(t *testing.T, w *world, s *scenario) {
			s.pb.VerificationMaterial.TimestampVerificationData = w.bases[keyBlobV2].pb.VerificationMaterial.TimestampVerificationData
			s.opts = Options{TlogThreshold: 1, ObserverTimestampThreshold: 1}
		}), want: CheckTimestamp, msg: "0 verified signed timestamps and integrated times, need 1"},
		{check: "timestamp.go: timestamp parses", fault: "garbage", setup: w.with(keyBlobV2, func(t *testing.T, w *world, s *scenario) {
			setTimestamp(s.pb, []byte{0x30, 0x03, 0x02, 0x01, 0x00})
		}), want: CheckTimestamp, msg: "timestamp 0: parse:"},
		{check: "timestamp.go: imprint hash algorithm", fault: "SHA-1 imprint", setup: w.with(keyBlobV2, func(t *testing.T, w *world, s *scenario) {
			h := crypto.SHA1.New()
			h.Write(signatureOf(t, s.pb))
			setTimestamp(s.pb, rawTimestamp(t, asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}, h.Sum(nil), false, w.tsa))
		}), want: CheckTimestamp, msg: "timestamp 0: unsupported hash algorithm SHA-1"},
		{check: "timestamp.go: token has one signer", fault: "two signers", setup: w.with(keyBlobV2, func(t *testing.T, w *world, s *scenario) {
			d := sha256.Sum256(signatureOf(t, s.pb))
			k := mustECDSA(t, elliptic.P256())
			second := &testTSA{leaf: w.tsa.issue(t, k.Public(), 77, nil), key: k}
			setTimestamp(s.pb, rawTimestamp(t, asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}, d[:], true, w.tsa, second))
		}), want: CheckTimestamp, msg: "token must have exactly one signer"},
		{check: "timestamp.go: a trusted authority", fault: "root lists no TSA", setup: w.with(keyBlobV2, func(t *testing.T, w *world, s *scenario) {
			s.root.TimestampAuthorities = nil
		}), want: CheckTimestamp, msg: "no trusted timestamp authorities"},
		{check: "timestamp.go: authority has a root", fault: "root certificate missing", setup: w.with(keyBlobV2, func(t *testing.T, w *world, s *scenario) {
			restampWith(nil)(t, w, s)
			s.root.TimestampAuthorities = []trustroot.TimestampAuthority{{URI: "rootless", Leaf: w.tsa.leaf}}
		}), want: CheckTimestamp, msg: "rootless: authority has no root certificate"},
		{check: "timestamp.go: signer chains to the authority", fault: "untrusted TSA", setup: w.with(keyBlobV2, func(t *testing.T, w *world, s *scenario) {
			setTimestamp(s.pb, newTestTSA(t, nil).stamp(t, signatureOf(t, s.pb), nil))
		}), want: CheckTimestamp, msg: "signer certificate: x509: certificate signed by unknown authority"},
		{check: "timestamp.go: certificate-less token needs the authority's leaf", fault: "no certificate, no leaf", setup: w.with(keyBlobV2, func(t *testing.T, w *world, s *scenario) {
			restampWith(func(ts *timestamp.Timestamp) { ts.AddTSACertificate = false })(t, w, s)
		}), want: CheckTimestamp, msg: "token carries no certificate and the authority names no leaf"},
		{check: "timestamp.go: certificate-less token is signed by the leaf", fault: "leaf with the signer's name but another key", setup: w.with(keyBlobV2, func(t *testing.T, w *world, s *scenario) {
			restampWith(func(ts *timestamp.Timestamp) { ts.AddTSACertificate = false })(t, w, s)
			twin := w.tsa.issue(t, mustECDSA(t, elliptic.P256()).Public(), w.tsa.leaf.SerialNumber.Int64(), nil)
			setTSA(s.root, func(a *trustroot.TimestampAuthority) { a.Leaf = twin })
		}), want: CheckTimestamp, msg: "token signature:"},
		{check: "timestamp.go: signer is the authority's leaf", fault: "root names another leaf", setup: w.with(keyBlobV2, func(t *testing.T, w *world, s *scenario) {
			restampWith(nil)(t, w, s)
			other := w.tsa.issue(t, mustECDSA(t, elliptic.P256()).Public(), 99, nil)
			setTSA(s.root, func(a *trustroot.TimestampAuthority) { a.Leaf = other })
		}), want: CheckTimestamp, msg: "token signer is not the authority's certificate"},
		{check: "timestamp.go: signer chains through the token's certificates", fault: "intermediate in neither token nor root", setup: w.with(keyBlobV2, func(t *testing.T, w *world, s *scenario) {
			a := newTestTSAWithIntermediate(t)
			setTimestamp(s.pb, a.stamp(t, signatureOf(t, s.pb), nil))
			s.root.TimestampAuthorities = []trustroot.TimestampAuthority{{URI: "inter", Root: a.root}}
		}), want: CheckTimestamp, msg: "signer certificate: x509: certificate signed by unknown authority"},
		{check: "timestamp.go: chain allows timestamping", fault: "intermediate restricted to code signing", setup: w.with(keyBlobV2, func(t *testing.T, w *world, s *scenario) {
			a := newTestTSAWithIntermediate(t)
			a.inter = createCert(t, &x509.Certificate{
				SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "test TSA intermediate"},
				NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
				IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
				ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
			}, a.root, a.interKey.Public(), a.rootKey)
			a.leaf = a.issue(t, a.key.Public(), 4, nil)
			setTimestamp(s.pb, a.stamp(t, signatureOf(t, s.pb), nil))
			s.root.TimestampAuthorities = []trustroot.TimestampAuthority{{URI: "inter", Root: a.root, Intermediates: []*x509.Certificate{a.inter}}}
		}), want: CheckTimestamp, msg: "signer certificate: x509: certificate specifies an incompatible key usage"},
		{check: "timestamp.go: authority valid at the time", fault: "authority's window ended", setup: w.with(keyBlobV2, func(t *testing.T, w *world, s *scenario) {
			restampWith(nil)(t, w, s)
			setTSA(s.root, func(a *trustroot.TimestampAuthority) { a.ValidFor.End = time.Now().Add(-time.Minute) })
		}), want: CheckTimestamp, msg: "outside the authority's validity"},
		{check: "timestamp.go: RFC 3161 leaf is not a CA", fault: "CA leaf", setup: badLeaf(func(c *x509.Certificate) { c.IsCA, c.BasicConstraintsValid = true, true }),
			want: CheckTimestamp, msg: "signer certificate is a CA"},
		{check: "timestamp.go: RFC 3161 leaf's EKU is critical", fault: "non-critical EKU", setup: badLeaf(func(c *x509.Certificate) {
			c.ExtraExtensions = []pkix.Extension{timestampingEKU(false)}
		}), want: CheckTimestamp, msg: "signer certificate's extended key usage is not critical"},
		{check: "timestamp.go: RFC 3161 leaf's only EKU is timeStamping", fault: "also code signing", setup: badLeaf(func(c *x509.Certificate) {
			c.ExtraExtensions = []pkix.Extension{timestampingEKU(true, asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 8}, asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 3})}
		}), want: CheckTimestamp, msg: "signer certificate's only extended key usage must be timeStamping"},
		{check: "timestamp.go: RFC 3161 leaf's only EKU is timeStamping", fault: "also an unknown usage", setup: badLeaf(func(c *x509.Certificate) {
			c.ExtraExtensions = []pkix.Extension{timestampingEKU(true, asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 8}, asn1.ObjectIdentifier{1, 2, 3, 4})}
		}), want: CheckTimestamp, msg: "signer certificate's only extended key usage must be timeStamping"},
		{check: "timestamp.go: RFC 3161 leaf's EKU is timeStamping", fault: "code signing only", setup: badLeaf(func(c *x509.Certificate) {
			c.ExtraExtensions = []pkix.Extension{timestampingEKU(true, asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 3})}
		}), want: CheckTimestamp, msg: "signer certificate: x509: certificate specifies an incompatible key usage"},
		{check: "timestamp.go: one timestamp per authority", fault: "two timestamps of one TSA, two required", setup: w.with(keyBlobV2, func(t *testing.T, w *world, s *scenario) {
			sig := signatureOf(t, s.pb)
			setTimestamp(s.pb, w.tsa.stamp(t, sig, nil), w.tsa.stamp(t, sig, nil))
			s.opts.SignedTimestampThreshold = 2
		}), want: CheckTimestamp, msg: "1 verified signed timestamps, need 2"},
		{check: "timestamp.go: signed timestamp threshold", fault: "no timestamps", setup: w.with(keyBlobV1, func(t *testing.T, w *world, s *scenario) {
			s.pb.VerificationMaterial.TimestampVerificationData = nil
		}), want: CheckTimestamp, msg: "0 verified signed timestamps, need 1"},
		{check: "verify.go: observer threshold", fault: "rekor v2 entry and no timestamps", setup: w.with(keyBlobV2, func(t *testing.T, w *world, s *scenario) {
			s.pb.VerificationMaterial.TimestampVerificationData = nil
			s.opts = Options{TlogThreshold: 1, ObserverTimestampThreshold: 1}
		}), want: CheckTimestamp, msg: "0 verified signed timestamps and integrated times, need 1"},
		{check: "verify.go: integrated time threshold", fault: "rekor v2 entries have none", setup: w.with(keyBlobV2, func(t *testing.T, w *world, s *scenario) {
			s.opts.IntegratedTimeThreshold = 1
		}), want: CheckTimestamp, msg: "0 verified integrated times, need 1"},
		{check: "verify.go: integrated time threshold", fault: "promise-less rekor v1 entry", setup: w.with(keyBlobV1, func(t *testing.T, w *world, s *scenario) {
			s.pb.VerificationMaterial.TlogEntries[0].InclusionPromise = nil
		}), want: CheckTimestamp, msg: "0 verified integrated times, need 1"},
		{check: "verify.go: integrated times count once per log", fault: "two entries of one log, two times required", setup: func(t *testing.T, w *world) *scenario {
			s := w.crafted(t, w.dsseBundle(t, w.key, nil, crypto.SHA256, InTotoPayloadType, w.statement, ""), w.key.Public())
			s.pb.VerificationMaterial.TlogEntries = append(s.pb.VerificationMaterial.TlogEntries, w.testLogEntry(t, s.pb, nil), w.testLogEntryAt(t, s.pb, 8))
			s.opts = Options{TlogThreshold: 1, IntegratedTimeThreshold: 2}
			return s
		}, want: CheckTimestamp, msg: "1 verified integrated times, need 2"},
		{check: "verify.go: certificate valid at the timestamp", fault: "certificate expired before the TSA time", setup: func(t *testing.T, w *world) *scenario {
			k := mustECDSA(t, elliptic.P256())
			cert := w.ca.issue(t, k.Public(), func(c *x509.Certificate) {
				c.NotBefore, c.NotAfter = time.Now().Add(-50*time.Minute), time.Now().Add(-40*time.Minute)
			})
			return w.crafted(t, w.dsseBundle(t, k, cert, crypto.SHA256, InTotoPayloadType, w.statement, ""), nil)
		}, want: CheckCertificate, msg: "at tsa time"},
		{check: "verify.go: key valid at the timestamp", fault: "key window ended", setup: w.with(keyBlobV2, func(t *testing.T, w *world, s *scenario) {
			s.policy.Key.ValidFor = trustroot.Window{End: time.Now().Add(-time.Hour)}
		}), want: CheckKey, msg: "tsa time"},
		{check: "verify.go: key valid at the current time", fault: "key window starts later", setup: w.with(keyBlobV2, func(t *testing.T, w *world, s *scenario) {
			s.pb.VerificationMaterial.TimestampVerificationData = nil
			s.opts = Options{TlogThreshold: 1, UseCurrentTime: true}
			s.policy.Key.ValidFor = trustroot.Window{Start: time.Now().Add(time.Hour)}
		}), want: CheckKey, msg: "current time"},
	}
}

func tlogRejects(w *world) []rejectCase {
	v1Log := func(s *scenario) *trustroot.Log {
		l, ok := s.root.Tlog(s.pb.VerificationMaterial.TlogEntries[0].LogId.KeyId)
		if !ok {
			panic("entry's log not in the root")
		}
		return l
	}
	// testLogBundle is a keyless message signature logged by the test log
	// as body says.
	testLogBundle := func(body func(t *testing.T, w *world, s *scenario) []byte) setupFunc {
		return func(t *testing.T, w *world) *scenario {
			k := mustECDSA(t, elliptic.P256())
			cert := w.ca.issue(t, k.Public(), nil)
			d := sha256.Sum256(w.artifact)
			s := w.crafted(t, w.messageBundle(t, k, cert, protocommon.HashAlgorithm_SHA2_256, d[:], signWith(t, k, crypto.SHA256, w.artifact)), nil)
			b := body(t, w, s)
			s.pb.VerificationMaterial.TlogEntries = []*protorekor.TransparencyLogEntry{w.rekor.entry(t, kindOf(t, b), b, 7)}
			s.opts = Options{TlogThreshold: 1, IntegratedTimeThreshold: 1}
			return s
		}
	}
	// keyTestLogBundle is a key-signed bundle logged by the test log as
	// body says.
	keyTestLogBundle := func(dsse bool, body func(t *testing.T, w *world, s *scenario) []byte) setupFunc {
		return func(t *testing.T, w *world) *scenario {
			var s *scenario
			if dsse {
				s = w.crafted(t, w.dsseBundle(t, w.key, nil, crypto.SHA256, InTotoPayloadType, w.statement, ""), w.key.Public())
			} else {
				d := sha256.Sum256(w.artifact)
				s = w.crafted(t, w.messageBundle(t, w.key, nil, protocommon.HashAlgorithm_SHA2_256, d[:], signWith(t, w.key, crypto.SHA256, w.artifact)), w.key.Public())
			}
			b := body(t, w, s)
			s.pb.VerificationMaterial.TlogEntries = []*protorekor.TransparencyLogEntry{w.rekor.entry(t, kindOf(t, b), b, 7)}
			s.opts = Options{TlogThreshold: 1, IntegratedTimeThreshold: 1}
			return s
		}
	}
	keyDER := func(t *testing.T, pub crypto.PublicKey) []byte {
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	digest := sha256.Sum256(w.artifact)
	return []rejectCase{
		{check: "tlog.go: rekor v1 entry logs this signature", fault: "second signature by the same key rides on a logged entry", setup: w.with(keyBlobV1, func(t *testing.T, w *world, s *scenario) {
			s.pb.GetMessageSignature().Signature = signWith(t, w.key, crypto.SHA256, w.artifact)
			restamp(t, w, s)
		}), want: CheckTlog, msg: "logged signature differs from the bundle's"},
		{check: "tlog.go: rekor v1 entry logs this signature", fault: "second DSSE signature by the same key", setup: w.with(keyDSSEV1, func(t *testing.T, w *world, s *scenario) {
			env := s.pb.GetDsseEnvelope()
			env.Signatures[0].Sig = signWith(t, w.key, crypto.SHA256, pae(env.PayloadType, env.Payload))
			restamp(t, w, s)
		}), want: CheckTlog, msg: "logged signature differs from the bundle's"},
		{check: "tlog.go: rekor v1 entry logs this certificate", fault: "another certificate for the same key", setup: testLogBundle(func(t *testing.T, w *world, s *scenario) []byte {
			sig := s.pb.GetMessageSignature().Signature
			b, _ := bundle.FromProto(s.pb)
			other := w.ca.issue(t, b.Certificate().PublicKey, func(c *x509.Certificate) { c.SerialNumber = big.NewInt(42) })
			return hashedRekord(t, sig, other.Raw, "CERTIFICATE", "sha256", digest[:])
		}), want: CheckTlog, msg: "logged certificate differs from the bundle's"},
		{check: "tlog.go: rekor v1 entry logs the trusted key", fault: "another key logged", setup: keyTestLogBundle(false, func(t *testing.T, w *world, s *scenario) []byte {
			return hashedRekord(t, s.pb.GetMessageSignature().Signature, keyDER(t, mustECDSA(t, elliptic.P256()).Public()), "PUBLIC KEY", "sha256", digest[:])
		}), want: CheckTlog, msg: "logged public key differs from the trusted key"},
		{check: "tlog.go: rekor v1 entry logs the trusted key", fault: "logged key does not parse", setup: keyTestLogBundle(false, func(t *testing.T, w *world, s *scenario) []byte {
			return hashedRekord(t, s.pb.GetMessageSignature().Signature, []byte("not a key"), "PUBLIC KEY", "sha256", digest[:])
		}), want: CheckTlog, msg: "logged public key differs from the trusted key"},
		{check: "tlog.go: rekor v1 entry logs this digest", fault: "another digest logged", setup: keyTestLogBundle(false, func(t *testing.T, w *world, s *scenario) []byte {
			return hashedRekord(t, s.pb.GetMessageSignature().Signature, keyDER(t, w.key.Public()), "PUBLIC KEY", "sha256", make([]byte, 32))
		}), want: CheckTlog, msg: "logged digest differs from the bundle's"},
		{check: "tlog.go: rekor v1 entry logs this digest algorithm", fault: "same bytes as sha512", setup: keyTestLogBundle(false, func(t *testing.T, w *world, s *scenario) []byte {
			return hashedRekord(t, s.pb.GetMessageSignature().Signature, keyDER(t, w.key.Public()), "PUBLIC KEY", "sha512", digest[:])
		}), want: CheckTlog, msg: "logged digest differs from the bundle's"},
		{check: "tlog.go: rekor v1 digest algorithm", fault: "md5", setup: keyTestLogBundle(false, func(t *testing.T, w *world, s *scenario) []byte {
			return hashedRekord(t, s.pb.GetMessageSignature().Signature, keyDER(t, w.key.Public()), "PUBLIC KEY", "md5", digest[:])
		}), want: CheckTlog, msg: `unsupported logged digest algorithm "md5"`},
		{check: "tlog.go: message signatures are logged as hashedrekord", fault: "logged as dsse", setup: keyTestLogBundle(false, func(t *testing.T, w *world, s *scenario) []byte {
			return dsseRekord(t, s.pb.GetMessageSignature().Signature, keyDER(t, w.key.Public()), "PUBLIC KEY", digest[:])
		}), want: CheckTlog, msg: "a message signature must be logged as hashedrekord, not dsse"},
		{check: "tlog.go: DSSE envelopes are logged as intoto or dsse", fault: "logged as hashedrekord", setup: keyTestLogBundle(true, func(t *testing.T, w *world, s *scenario) []byte {
			return hashedRekord(t, s.pb.GetDsseEnvelope().Signatures[0].Sig, keyDER(t, w.key.Public()), "PUBLIC KEY", "sha256", digest[:])
		}), want: CheckTlog, msg: "a DSSE envelope must be logged as intoto or dsse, not hashedrekord"},
		{check: "tlog.go: rekor v1 entry logs this payload", fault: "another payload hash", setup: keyTestLogBundle(true, func(t *testing.T, w *world, s *scenario) []byte {
			return dsseRekord(t, s.pb.GetDsseEnvelope().Signatures[0].Sig, keyDER(t, w.key.Public()), "PUBLIC KEY", digest[:])
		}), want: CheckTlog, msg: "logged payload hash differs from the envelope's"},
		{check: "tlog.go: inclusion promise", fault: "SET bit flipped", setup: w.with(keylessBlobV1, func(t *testing.T, w *world, s *scenario) {
			s.pb.VerificationMaterial.TlogEntries[0].InclusionPromise.SignedEntryTimestamp[8] ^= 1
		}), want: CheckTlog, msg: "inclusion promise: signature does not verify"},
		{check: "tlog.go: inclusion promise covers the integrated time", fault: "integrated time moved", setup: w.with(keyBlobV1, func(t *testing.T, w *world, s *scenario) {
			s.pb.VerificationMaterial.TlogEntries[0].IntegratedTime--
		}), want: CheckTlog, msg: "inclusion promise: signature does not verify"},
		{check: "tlog.go: inclusion promise needs the log key's start", fault: "log key without validity start", setup: w.with(keyBlobV1, func(t *testing.T, w *world, s *scenario) {
			v1Log(s).ValidFor.Start = time.Time{}
		}), want: CheckTlog, msg: "inclusion promise: log key has no validity start"},
		{check: "tlog.go: inclusion promise within the log key's validity", fault: "log key window ended", setup: w.with(keyBlobV1, func(t *testing.T, w *world, s *scenario) {
			v1Log(s).ValidFor.End = time.Now().Add(-time.Hour)
		}), want: CheckTlog, msg: "inclusion promise: log key not valid at integrated time"},
		{check: "tlog.go: inclusion promise by an ECDSA log key", fault: "Ed25519 log key", setup: w.with(keyBlobV1, func(t *testing.T, w *world, s *scenario) {
			pub, _, _ := ed25519.GenerateKey(rand.Reader)
			v1Log(s).PublicKey = pub
		}), want: CheckTlog, msg: "inclusion promise: unsupported log key ed25519.PublicKey"},
		{check: "tlog.go: an entry is proven or promised", fault: "second entry with neither", setup: w.with(keyBlobV1, func(t *testing.T, w *world, s *scenario) {
			s.pb.VerificationMaterial.TlogEntries = append(s.pb.VerificationMaterial.TlogEntries, w.testLogEntry(t, s.pb, func(e *protorekor.TransparencyLogEntry) {
				e.InclusionPromise, e.InclusionProof = nil, nil
			}))
		}), want: CheckTlog, msg: "entry 1 (log index 7): entry has neither an inclusion proof nor an inclusion promise"},
		{check: "tlog.go: rekor v2 entries are proven", fault: "promise instead of a proof", setup: w.with(keyBlobV2, func(t *testing.T, w *world, s *scenario) {
			e := s.pb.VerificationMaterial.TlogEntries[0]
			e.InclusionProof = nil
			e.InclusionPromise = &protorekor.InclusionPromise{SignedEntryTimestamp: []byte("set")}
			s.pb.VerificationMaterial.TlogEntries = append(s.pb.VerificationMaterial.TlogEntries, w.testLogEntry(t, s.pb, nil))
		}), want: CheckTlog, msg: "rekor v2 entry has no inclusion proof"},
		{check: "tlog.go: one entry counts once", fault: "entry repeated", setup: w.with(keyBlobV2, func(t *testing.T, w *world, s *scenario) {
			es := s.pb.VerificationMaterial.TlogEntries
			s.pb.VerificationMaterial.TlogEntries = append(es, proto.Clone(es[0]).(*protorekor.TransparencyLogEntry))
		}), want: CheckTlog, msg: "entries 0 and 1 are the same log entry"},
		{check: "tlog.go: entries of trusted logs", fault: "root lists none of the bundle's logs", setup: w.with(keyBlobV2, func(t *testing.T, w *world, s *scenario) {
			s.root.Tlogs = nil
		}), want: CheckTlog, msg: "0 verified entries from trusted logs, need 1"},
		{check: "tlog.go: log threshold counts logs", fault: "one log, two required", setup: w.with(keyBlobV2, func(t *testing.T, w *world, s *scenario) {
			s.opts.TlogThreshold = 2
		}), want: CheckTlog, msg: "1 verified entries from trusted logs, need 2"},
		{check: "tlog.go: log threshold counts logs", fault: "two entries of one log, two required", setup: func(t *testing.T, w *world) *scenario {
			s := w.crafted(t, w.dsseBundle(t, w.key, nil, crypto.SHA256, InTotoPayloadType, w.statement, ""), w.key.Public())
			s.pb.VerificationMaterial.TlogEntries = append(s.pb.VerificationMaterial.TlogEntries, w.testLogEntry(t, s.pb, nil), w.testLogEntryAt(t, s.pb, 8))
			s.opts = Options{TlogThreshold: 2, IntegratedTimeThreshold: 1}
			return s
		}, want: CheckTlog, msg: "1 verified entries from trusted logs, need 2"},
		{check: "tlog.go: integrated time within the certificate's validity", fault: "certificate expired before logging", setup: testLogBundle(func(t *testing.T, w *world, s *scenario) []byte {
			k := mustECDSA(t, elliptic.P256())
			cert := w.ca.issue(t, k.Public(), func(c *x509.Certificate) {
				c.NotBefore, c.NotAfter = time.Now().Add(-50*time.Minute), time.Now().Add(-40*time.Minute)
			})
			sig := signWith(t, k, crypto.SHA256, w.artifact)
			s.pb.VerificationMaterial.Content = &protobundle.VerificationMaterial_Certificate{Certificate: &protocommon.X509Certificate{RawBytes: cert.Raw}}
			s.pb.GetMessageSignature().Signature = sig
			restamp(t, w, s)
			return hashedRekord(t, sig, cert.Raw, "CERTIFICATE", "sha256", digest[:])
		}), want: CheckTlog, msg: "outside the certificate's validity"},
		{check: "tlog.go: integrated time within the key's validity", fault: "key window ended", setup: w.with(keyBlobV1, func(t *testing.T, w *world, s *scenario) {
			s.policy.Key.ValidFor = trustroot.Window{End: time.Now().Add(-time.Hour)}
		}), want: CheckTlog, msg: "outside the key's validity"},
		{check: "tlog.go: rekor v1 checkpoint", fault: "checkpoint size changed", setup: w.with(keyBlobV1, func(t *testing.T, w *world, s *scenario) {
			cp := s.pb.VerificationMaterial.TlogEntries[0].InclusionProof.Checkpoint
			lines := strings.SplitN(cp.Envelope, "\n", 3)
			cp.Envelope = lines[0] + "\n1" + lines[1] + "\n" + lines[2]
		}), want: CheckTlog, msg: "inclusion proof: checkpoint: checkpoint signature does not verify"},
		{check: "tlog.go: rekor v1 proof root is the checkpoint's", fault: "proof of a one-entry tree", setup: w.with(keyBlobV1, func(t *testing.T, w *world, s *scenario) {
			e := s.pb.VerificationMaterial.TlogEntries[0]
			p := e.InclusionProof
			p.LogIndex, p.TreeSize, p.Hashes, p.RootHash = 0, 1, nil, rfc6962.DefaultHasher.HashLeaf(e.CanonicalizedBody)
		}), want: CheckTlog, msg: "proof root hash does not match the checkpoint"},
		{check: "tlog.go: rekor v1 inclusion proof", fault: "entry body changed", setup: keyTestLogBundle(false, func(t *testing.T, w *world, s *scenario) []byte {
			return hashedRekord(t, s.pb.GetMessageSignature().Signature, keyDER(t, w.key.Public()), "PUBLIC KEY", "sha256", digest[:])
		}).then(func(t *testing.T, w *world, s *scenario) {
			e := s.pb.VerificationMaterial.TlogEntries[0]
			e.InclusionPromise = nil
			e.CanonicalizedBody = bytes.Replace(e.CanonicalizedBody, []byte(`"apiVersion":"0.0.1"`), []byte(`"apiVersion": "0.0.1"`), 1)
			s.opts = Options{TlogThreshold: 1, SignedTimestampThreshold: 1}
		}), want: CheckTlog, msg: "inclusion proof: calculated root"},
		{check: "tlog.go: rekor v2 checkpoint", fault: "checkpoint size changed", setup: w.with(keyBlobV2, func(t *testing.T, w *world, s *scenario) {
			cp := s.pb.VerificationMaterial.TlogEntries[0].InclusionProof.Checkpoint
			lines := strings.SplitN(cp.Envelope, "\n", 3)
			cp.Envelope = lines[0] + "\n1" + lines[1] + "\n" + lines[2]
		}), want: CheckTlog, msg: "inclusion proof: checkpoint:"},
		{check: "tlog.go: rekor v2 entry logs this signature", fault: "second signature by the same key", setup: w.with(keyBlobV2, func(t *testing.T, w *world, s *scenario) {
			s.pb.GetMessageSignature().Signature = signWith(t, w.key, crypto.SHA256, w.artifact)
			restamp(t, w, s)
		}), want: CheckTlog, msg: "inclusion proof: calculated root"},
		{check: "tlog.go: rekor v2 entry logs this DSSE envelope", fault: "envelope and certificate of another signing", setup: w.with(keylessDSSEV2, func(t *testing.T, w *world, s *scenario) {
			s.pb.VerificationMaterial.Content = w.bases[keylessDSSEV1].pb.VerificationMaterial.Content
			env := w.bases[keylessDSSEV1].pb.GetDsseEnvelope()
			s.pb.Content = &protobundle.Bundle_DsseEnvelope{DsseEnvelope: proto.Clone(env).(*protodsse.Envelope)}
			restamp(t, w, s)
		}), want: CheckTlog, msg: "inclusion proof: calculated root"},
		{check: "tlog.go: rekor v2 entry logs this key", fault: "key bundle's entry under another key", setup: w.with(keyBlobV2, func(t *testing.T, w *world, s *scenario) {
			s.pb.VerificationMaterial.TlogEntries = w.bases[keylessBlobV2].pb.VerificationMaterial.TlogEntries
		}), want: CheckTlog, msg: "inclusion proof: calculated root"},
		{check: "checkpoint.go: rekor v2 log needs a base URL", fault: "no base URL", setup: w.with(keyBlobV2, func(t *testing.T, w *world, s *scenario) {
			v1Log(s).BaseURL = ""
		}), want: CheckTlog, msg: "log has no base URL"},
		{check: "checkpoint.go: rekor v2 base URL parses", fault: "bad URL", setup: w.with(keyBlobV2, func(t *testing.T, w *world, s *scenario) {
			v1Log(s).BaseURL = "http://[::1"
		}), want: CheckTlog, msg: "log base URL:"},
		{check: "checkpoint.go: checkpoint origin is a note key name", fault: "URL without host", setup: w.with(keyBlobV2, func(t *testing.T, w *world, s *scenario) {
			v1Log(s).BaseURL = "file:///log"
		}), want: CheckTlog, msg: `invalid checkpoint origin ""`},
		{check: "checkpoint.go: checkpoint origin is the base URL's host", fault: "another host", setup: w.with(keyBlobV2, func(t *testing.T, w *world, s *scenario) {
			v1Log(s).BaseURL = "http://localhost:1234"
		}), want: CheckTlog, msg: "inclusion proof: checkpoint:"},
		{check: "checkpoint.go: log key is usable", fault: "P-224 log key", setup: w.with(keyBlobV2, func(t *testing.T, w *world, s *scenario) {
			v1Log(s).PublicKey = mustECDSA(t, elliptic.P224()).Public()
		}), want: CheckTlog, msg: "inclusion proof: unsupported ECDSA curve"},
		{check: "checkpoint.go: log key is usable (rekor v1)", fault: "P-224 log key, proof only", setup: w.with(keyBlobV1, func(t *testing.T, w *world, s *scenario) {
			s.pb.VerificationMaterial.TlogEntries[0].InclusionPromise = nil
			s.opts = Options{TlogThreshold: 1, SignedTimestampThreshold: 1}
			v1Log(s).PublicKey = mustECDSA(t, elliptic.P224()).Public()
		}), want: CheckTlog, msg: "inclusion proof: checkpoint: unsupported ECDSA curve"},
		{check: "checkpoint.go: rekor v1 checkpoint by the log's key", fault: "another log key, proof only", setup: w.with(keyBlobV1, func(t *testing.T, w *world, s *scenario) {
			s.pb.VerificationMaterial.TlogEntries[0].InclusionPromise = nil
			s.opts = Options{TlogThreshold: 1, SignedTimestampThreshold: 1}
			v1Log(s).PublicKey = mustECDSA(t, elliptic.P256()).Public()
		}), want: CheckTlog, msg: "inclusion proof: checkpoint: checkpoint signed by an unknown key"},
	}
}

func certificateRejects(w *world) []rejectCase {
	crafted := func(edit func(*x509.Certificate)) setupFunc {
		return func(t *testing.T, w *world) *scenario {
			k := mustECDSA(t, elliptic.P256())
			return w.crafted(t, w.dsseBundle(t, k, w.ca.issue(t, k.Public(), edit), crypto.SHA256, InTotoPayloadType, w.statement, ""), nil)
		}
	}
	return []rejectCase{
		{check: "certificate.go: a trusted CA issued the certificate", fault: "root without the CA", setup: w.with(keylessBlobV2, func(t *testing.T, w *world, s *scenario) {
			s.root.CertificateAuthorities = s.root.CertificateAuthorities[1:]
		}), want: CheckCertificate, msg: "no trusted CA issued the certificate"},
		{check: "certificate.go: a trusted CA", fault: "root lists no CA", setup: w.with(keylessBlobV2, func(t *testing.T, w *world, s *scenario) {
			s.root.CertificateAuthorities = nil
		}), want: CheckCertificate, msg: "no trusted certificate authorities"},
		{check: "certificate.go: CA valid at the time", fault: "CA window ended", setup: w.with(keylessBlobV2, func(t *testing.T, w *world, s *scenario) {
			s.root.CertificateAuthorities[0].ValidFor.End = time.Now().Add(-time.Hour)
		}), want: CheckCertificate, msg: "not valid at that time"},
		{check: "certificate.go: certificate for code signing", fault: "server auth EKU", setup: crafted(func(c *x509.Certificate) {
			c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		}), want: CheckCertificate, msg: "incompatible key usage"},
		{check: "certificate.go: unknown critical extensions", fault: "critical private extension", setup: crafted(func(c *x509.Certificate) {
			c.ExtraExtensions = append(c.ExtraExtensions, pkix.Extension{Id: asn1.ObjectIdentifier{1, 2, 3, 4}, Critical: true, Value: []byte{5, 0}})
		}), want: CheckCertificate, msg: "unhandled critical extension"},
		{check: "certificate.go: unknown critical extensions", fault: "critical private extension beside a critical otherName SAN", setup: crafted(func(c *x509.Certificate) {
			c.URIs = nil
			c.ExtraExtensions = append(c.ExtraExtensions, otherNameSANExt("user!example.com", true),
				pkix.Extension{Id: asn1.ObjectIdentifier{1, 2, 3, 4}, Critical: true, Value: []byte{5, 0}})
		}), want: CheckCertificate, msg: "unhandled critical extension"},
		{check: "certificate.go: certificate has a SAN", fault: "no SAN", setup: crafted(func(c *x509.Certificate) { c.URIs = nil }),
			want: CheckCertificate, msg: "certificate has no subject alternative name"},
		{check: "certificate.go: Fulcio extensions are DER", fault: "issuer extension not DER", setup: crafted(func(c *x509.Certificate) {
			c.ExtraExtensions = []pkix.Extension{{Id: oidIssuerV2, Value: []byte(testIssuer)}}
		}), want: CheckCertificate, msg: "extension 1.3.6.1.4.1.57264.1.8:"},
		{check: "certificate.go: Fulcio extensions are DER", fault: "trailing data after the issuer", setup: crafted(func(c *x509.Certificate) {
			v, _ := asn1.MarshalWithParams(testIssuer, "utf8")
			c.ExtraExtensions = []pkix.Extension{{Id: oidIssuerV2, Value: append(v, 0)}}
		}), want: CheckCertificate, msg: "extension 1.3.6.1.4.1.57264.1.8: trailing data"},
		{check: "certificate.go: certificate valid when signed", fault: "certificate not yet valid", setup: crafted(func(c *x509.Certificate) {
			c.NotBefore, c.NotAfter = time.Now().Add(time.Hour), time.Now().Add(2*time.Hour)
		}), want: CheckCertificate, msg: "at tsa time"},
	}
}

func identityRejects(w *world) []rejectCase {
	policy := func(ids ...Identity) setupFunc {
		return w.with(keylessBlobV2, func(t *testing.T, w *world, s *scenario) {
			for i := range ids {
				ids[i].SAN = strings.ReplaceAll(ids[i].SAN, "$SAN", w.san)
				ids[i].Issuer = strings.ReplaceAll(ids[i].Issuer, "$ISSUER", w.issuer)
			}
			s.policy = Policy{Identities: ids}
		})
	}
	return []rejectCase{
		{check: "policy.go: exact SAN", fault: "another SAN", setup: policy(Identity{SAN: "$SAN/x", Issuer: "$ISSUER"}),
			want: CheckIdentity, msg: "identity 0: SAN"},
		{check: "policy.go: SAN regexp", fault: "another repository", setup: policy(Identity{SANRegexp: `^https://github\.com/octo/other/`, Issuer: "$ISSUER"}),
			want: CheckIdentity, msg: "does not match \"^https://github\\\\.com/octo/other/\""},
		{check: "policy.go: exact issuer", fault: "issuer with a trailing slash", setup: policy(Identity{SAN: "$SAN", Issuer: "$ISSUER/"}),
			want: CheckIdentity, msg: "identity 0: issuer"},
		{check: "policy.go: issuer regexp", fault: "another issuer", setup: policy(Identity{SAN: "$SAN", IssuerRegexp: `^https://token\.actions\.githubusercontent\.com$`}),
			want: CheckIdentity, msg: "does not match \"^https://token"},
		{check: "policy.go: GitHub workflow repository", fault: "another repository", setup: policy(Identity{SAN: "$SAN", Issuer: "$ISSUER", GitHubWorkflowRepository: "octo/other"}),
			want: CheckIdentity, msg: `GitHub workflow repository "octo/app", want "octo/other"`},
		{check: "policy.go: GitHub workflow ref", fault: "another ref", setup: policy(Identity{SAN: "$SAN", Issuer: "$ISSUER", GitHubWorkflowRef: "refs/heads/main"}),
			want: CheckIdentity, msg: `GitHub workflow ref "refs/tags/v1.0.0", want "refs/heads/main"`},
		{check: "policy.go: GitHub workflow trigger", fault: "another trigger", setup: policy(Identity{SAN: "$SAN", Issuer: "$ISSUER", GitHubWorkflowTrigger: "pull_request"}),
			want: CheckIdentity, msg: `GitHub workflow trigger "push", want "pull_request"`},
		{check: "policy.go: GitHub workflow SHA", fault: "another commit", setup: policy(Identity{SAN: "$SAN", Issuer: "$ISSUER", GitHubWorkflowSHA: "0000"}),
			want: CheckIdentity, msg: `GitHub workflow SHA`},
		{check: "policy.go: every identity is tried", fault: "none of two matches", setup: policy(Identity{SAN: "a", Issuer: "$ISSUER"}, Identity{SAN: "$SAN", Issuer: "b"}),
			want: CheckIdentity, msg: "identity 1: issuer"},
	}
}

func optionRejects(w *world) []rejectCase {
	return []rejectCase{
		{check: "verify.go: a bundle", fault: "nil bundle", setup: w.with(keyBlobV2, func(t *testing.T, w *world, s *scenario) { s.pb = nil }), want: CheckPolicy, msg: "nil bundle"},
		{check: "policy.go: one artifact source", fault: "none", setup: w.with(keyBlobV2, func(t *testing.T, w *world, s *scenario) { s.artifact = Artifact{} }),
			want: CheckPolicy, msg: "set exactly one of Reader, Digest or UnsafeSkip"},
		{check: "policy.go: one artifact source", fault: "reader and digest", setup: w.with(keyBlobV2, func(t *testing.T, w *world, s *scenario) {
			s.artifact.Reader = bytes.NewReader(w.artifact)
		}), want: CheckPolicy, msg: "set exactly one of Reader, Digest or UnsafeSkip"},
		{check: "policy.go: one artifact source", fault: "digest and skip", setup: w.with(keyBlobV2, func(t *testing.T, w *world, s *scenario) { s.artifact.UnsafeSkip = true }),
			want: CheckPolicy, msg: "set exactly one of Reader, Digest or UnsafeSkip"},
		{check: "policy.go: artifact digest algorithm", fault: "SHA-1", setup: w.with(keyBlobV2, func(t *testing.T, w *world, s *scenario) { s.artifact.DigestAlgorithm = crypto.SHA1 }),
			want: CheckPolicy, msg: "unsupported artifact digest algorithm SHA-1"},
		{check: "policy.go: policy is consistent", fault: "no key, no identity", setup: w.with(keyBlobV2, func(t *testing.T, w *world, s *scenario) { s.policy = Policy{} }),
			want: CheckPolicy, msg: "need a key, an identity or UnsafeSkipIdentity"},
		{check: "policy.go: policy is consistent", fault: "key and identities", setup: w.with(keyBlobV2, func(t *testing.T, w *world, s *scenario) {
			s.policy.Identities = []Identity{{SAN: "a", Issuer: "b"}}
		}), want: CheckPolicy, msg: "a key and certificate identities exclude each other"},
		{check: "policy.go: policy is consistent", fault: "skip and identities", setup: w.with(keylessBlobV2, func(t *testing.T, w *world, s *scenario) { s.policy.UnsafeSkipIdentity = true }),
			want: CheckPolicy, msg: "UnsafeSkipIdentity with identities"},
		{check: "policy.go: identity names a SAN", fault: "issuer only", setup: w.with(keylessBlobV2, func(t *testing.T, w *world, s *scenario) {
			s.policy.Identities = append(s.policy.Identities, Identity{Issuer: w.issuer})
		}), want: CheckPolicy, msg: "identity 1: needs a SAN or SAN regexp"},
		{check: "policy.go: identity names an issuer", fault: "SAN only", setup: w.with(keylessBlobV2, func(t *testing.T, w *world, s *scenario) {
			s.policy.Identities = []Identity{{SANRegexp: ".*"}}
		}), want: CheckPolicy, msg: "identity 0: needs an issuer or issuer regexp"},
		{check: "policy.go: SAN regexp compiles", fault: "unbalanced", setup: w.with(keylessBlobV2, func(t *testing.T, w *world, s *scenario) {
			s.policy.Identities[0].SANRegexp = "("
		}), want: CheckPolicy, msg: "SAN regexp: error parsing regexp"},
		{check: "policy.go: issuer regexp compiles", fault: "unbalanced", setup: w.with(keylessBlobV2, func(t *testing.T, w *world, s *scenario) {
			s.policy.Identities[0].IssuerRegexp = "("
		}), want: CheckPolicy, msg: "issuer regexp: error parsing regexp"},
		{check: "verify.go: options validate", fault: "negative threshold", setup: w.with(keyBlobV2, func(t *testing.T, w *world, s *scenario) { s.opts.TlogThreshold = -1 }),
			msg: "verify: options: thresholds must not be negative"},
		{check: "verify.go: a trusted root", fault: "nil root", setup: w.with(keyBlobV2, func(t *testing.T, w *world, s *scenario) { s.root = nil }),
			msg: "verify: nil trusted root"},
	}
}

// rawTimestamp builds an RFC 3161 response by hand, for tokens the TSA
// library will not make: an imprint of any algorithm, several signers.
func rawTimestamp(t *testing.T, alg asn1.ObjectIdentifier, imprint []byte, withCerts bool, signers ...*testTSA) []byte {
	t.Helper()
	type messageImprint struct {
		HashAlgorithm pkix.AlgorithmIdentifier
		HashedMessage []byte
	}
	info, err := asn1.Marshal(struct {
		Version        int
		Policy         asn1.ObjectIdentifier
		MessageImprint messageImprint
		SerialNumber   *big.Int
		Time           time.Time `asn1:"generalized"`
	}{1, asn1.ObjectIdentifier{1, 2, 3}, messageImprint{pkix.AlgorithmIdentifier{Algorithm: alg, Parameters: asn1.NullRawValue}, imprint},
		big.NewInt(5), time.Now().UTC().Truncate(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	sd, err := pkcs7.NewSignedData(info)
	if err != nil {
		t.Fatal(err)
	}
	sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	sd.SetContentType(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4})
	for _, a := range signers {
		if err := sd.AddSigner(a.leaf, a.key, pkcs7.SignerInfoConfig{SkipCertificates: !withCerts}); err != nil {
			t.Fatal(err)
		}
	}
	token, err := sd.Finish()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := asn1.Marshal(struct {
		Status struct{ Status int }
		Token  asn1.RawValue
	}{Token: asn1.RawValue{FullBytes: token}})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// setupFunc builds the scenario of a row.
type setupFunc func(t *testing.T, w *world) *scenario

// then runs edit after a setup.
func (f setupFunc) then(edit func(t *testing.T, w *world, s *scenario)) setupFunc {
	return func(t *testing.T, w *world) *scenario {
		s := f(t, w)
		edit(t, w, s)
		return s
	}
}
