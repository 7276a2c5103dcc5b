package verify

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/digitorus/timestamp"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/transparency-dev/merkle/rfc6962"
	"google.golang.org/protobuf/proto"

	"github.com/signetproject/signet/bundle"
	"github.com/signetproject/signet/fulcio"
	"github.com/signetproject/signet/oidc"
	"github.com/signetproject/signet/server/servertest"
	"github.com/signetproject/signet/sign"
	"github.com/signetproject/signet/trustroot"
)

// world is the fixture of verify's check tests, in the manner of
// sigstore-go's VirtualSigstore: a running signet server (CA, Rekor v1
// and v2 logs, TSA) signs the realistic bundles, and trust material the
// tests hold themselves (a CA, a TSA and a Rekor v1 log) lets a test
// inject the one fault a well-behaved server never produces.
type world struct {
	rootJSON  []byte
	v1, v2    *sign.Services
	token     string // dev-issuer GitHub workflow token
	san       string // identity the server's CA certifies for token
	issuer    string
	key       *ecdsa.PrivateKey // the key of key-signed bundles
	artifact  []byte
	statement []byte // in-toto statement whose subject is artifact

	ca    *testCA
	tsa   *testTSA
	rekor *testRekor

	bases map[string]*scenario
}

// Names of the base scenarios: good bundles the server signed.
const (
	keylessBlobV2 = "keyless blob, rekor v2"
	keylessBlobV1 = "keyless blob, rekor v1"
	keylessDSSEV2 = "keyless dsse, rekor v2"
	keylessDSSEV1 = "keyless dsse, rekor v1"
	keyBlobV2     = "key blob, rekor v2"
	keyBlobV1     = "key blob, rekor v1"
	keyDSSEV2     = "key dsse, rekor v2"
	keyDSSEV1     = "key dsse, rekor v1"
)

var baseNames = []string{keylessBlobV2, keylessBlobV1, keylessDSSEV2, keylessDSSEV1, keyBlobV2, keyBlobV1, keyDSSEV2, keyDSSEV1}

// scenario is one verification: a bundle, the trust, the options, the
// artifact and the policy. A test changes one thing and verifies.
type scenario struct {
	pb       *protobundle.Bundle
	root     *trustroot.TrustedRoot
	opts     Options
	artifact Artifact
	policy   Policy
}

func (s *scenario) verify() (*Result, error) {
	var b *bundle.Bundle
	if s.pb != nil {
		var err error
		if b, err = bundle.FromProto(s.pb); err != nil {
			return nil, fmt.Errorf("test bundle does not decode: %w", err)
		}
	}
	v, err := New(s.root, s.opts)
	if err != nil {
		return nil, err
	}
	return v.Verify(b, s.artifact, s.policy)
}

func newWorld(t *testing.T) *world {
	t.Helper()
	inst := servertest.Start(t)
	get := func(path string) []byte {
		resp, err := http.Get(inst.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %v", path, resp.StatusCode, err)
		}
		return b
	}
	w := &world{rootJSON: get("/trusted_root.json"), artifact: []byte("the artifact"), bases: map[string]*scenario{}}
	sc, err := trustroot.LoadSigningConfig(get("/signing_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if w.v2, err = sign.SelectServices(sc, time.Now(), nil, 2); err != nil {
		t.Fatal(err)
	}
	if w.v1, err = sign.SelectServices(sc, time.Now(), nil, 1); err != nil {
		t.Fatal(err)
	}
	if w.token, err = inst.Server.DevIssuer().Mint(oidc.TokenRequest{GitHubWorkflow: "octo/app@refs/tags/v1.0.0", TTL: time.Hour}, time.Now()); err != nil {
		t.Fatal(err)
	}
	w.key = mustECDSA(t, elliptic.P256())
	d := sha256.Sum256(w.artifact)
	w.statement = fmt.Appendf(nil, `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":"%x"}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{}}`, d)
	w.ca = newTestCA(t)
	w.tsa = newTestTSA(t, nil)
	w.rekor = newTestRekor(t)

	ctx := context.Background()
	keyless := func(s *sign.Services) sign.Options {
		return sign.Options{CA: w.v2.CA, IDToken: w.token, Logs: s.Logs, TSAs: w.v2.TSAs}
	}
	keyed := func(s *sign.Services) sign.Options {
		return sign.Options{Key: w.key, Logs: s.Logs, TSAs: w.v2.TSAs}
	}
	for _, name := range baseNames {
		var opts sign.Options
		services := w.v2
		if strings.HasSuffix(name, "v1") {
			services = w.v1
		}
		if strings.HasPrefix(name, "keyless") {
			opts = keyless(services)
		} else {
			opts = keyed(services)
		}
		var pb *protobundle.Bundle
		if strings.Contains(name, "dsse") {
			pb, err = sign.DSSE(ctx, InTotoPayloadType, w.statement, opts)
		} else {
			pb, err = sign.Blob(ctx, bytes.NewReader(w.artifact), opts)
		}
		if err != nil {
			t.Fatalf("sign %s: %v", name, err)
		}
		w.bases[name] = &scenario{pb: pb}
	}
	// The server's CA puts the workflow URI in the SAN and its own issuer
	// URL in the issuer extension.
	b, err := bundle.FromProto(w.bases[keylessBlobV2].pb)
	if err != nil {
		t.Fatal(err)
	}
	c, err := fulcio.Summarize(b.Certificate())
	if err != nil {
		t.Fatal(err)
	}
	w.san, w.issuer = c.SAN, c.Issuer
	if !strings.HasPrefix(w.san, "https://github.com/octo/app/") || w.issuer != inst.URL+"/oidc" {
		t.Fatalf("unexpected keyless identity %q from %q", w.san, w.issuer)
	}
	return w
}

// root returns a fresh copy of the trusted root: the server's material
// and the test-held CA, TSA and Rekor v1 log.
func (w *world) root(t testing.TB) *trustroot.TrustedRoot {
	t.Helper()
	r, err := trustroot.LoadTrustedRoot(w.rootJSON)
	if err != nil {
		t.Fatal(err)
	}
	r.CertificateAuthorities = append(r.CertificateAuthorities, w.ca.authority())
	r.TimestampAuthorities = append(r.TimestampAuthorities, w.tsa.authority())
	r.Tlogs = append(r.Tlogs, w.rekor.log())
	return r
}

// scenario returns a fresh copy of a base scenario with the options,
// artifact and policy it verifies under.
func (w *world) scenario(t testing.TB, name string) *scenario {
	t.Helper()
	base, ok := w.bases[name]
	if !ok {
		t.Fatalf("no base scenario %q", name)
	}
	s := &scenario{pb: proto.Clone(base.pb).(*protobundle.Bundle), root: w.root(t)}
	d := sha256.Sum256(w.artifact)
	s.artifact = Artifact{Digest: d[:], DigestAlgorithm: crypto.SHA256}
	if strings.HasPrefix(name, "keyless") {
		s.policy = Policy{Identities: []Identity{{SAN: w.san, Issuer: w.issuer}}}
	} else {
		s.policy = Policy{Key: &TrustedKey{PublicKey: w.key.Public()}}
	}
	if strings.HasSuffix(name, "v1") {
		s.opts = Options{TlogThreshold: 1, IntegratedTimeThreshold: 1, SignedTimestampThreshold: 1}
	} else {
		s.opts = Options{TlogThreshold: 1, SignedTimestampThreshold: 1}
	}
	return s
}

// crafted returns a scenario for a bundle the test signs itself with key
// (and cert, when not nil), timestamped by the test TSA and not logged:
// opts ask for one signed timestamp and no log entry.
func (w *world) crafted(t testing.TB, pb *protobundle.Bundle, key crypto.PublicKey) *scenario {
	t.Helper()
	s := &scenario{pb: pb, root: w.root(t), opts: Options{SignedTimestampThreshold: 1}, artifact: Artifact{Reader: bytes.NewReader(w.artifact)}}
	// The test CA embeds no SCTs unless a test asks for them.
	s.root.CTLogs = nil
	if pb.GetVerificationMaterial().GetCertificate() != nil {
		s.policy = Policy{Identities: []Identity{{SAN: testSAN, Issuer: testIssuer}}}
	} else {
		s.policy = Policy{Key: &TrustedKey{PublicKey: key}}
	}
	return s
}

// messageBundle builds a v0.3 bundle with a message signature over digest
// (of algorithm alg), signed by key (verification material: cert when
// given, else a key hint), timestamped by the test TSA.
func (w *world) messageBundle(t testing.TB, key crypto.Signer, cert *x509.Certificate, alg protocommon.HashAlgorithm, digest, sig []byte) *protobundle.Bundle {
	t.Helper()
	pb := &protobundle.Bundle{
		MediaType:            bundle.MediaType03,
		VerificationMaterial: material(t, key, cert),
		Content: &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
			MessageDigest: &protocommon.HashOutput{Algorithm: alg, Digest: digest},
			Signature:     sig,
		}},
	}
	w.stamp(t, pb)
	return pb
}

// dsseBundle builds a v0.3 bundle with a DSSE envelope signed by key over
// the PAE with hash h (0: pure, for Ed25519), timestamped by the test TSA.
func (w *world) dsseBundle(t testing.TB, key crypto.Signer, cert *x509.Certificate, h crypto.Hash, payloadType string, payload []byte, keyID string) *protobundle.Bundle {
	t.Helper()
	pb := &protobundle.Bundle{
		MediaType:            bundle.MediaType03,
		VerificationMaterial: material(t, key, cert),
		Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
			Payload: payload, PayloadType: payloadType,
			Signatures: []*protodsse.Signature{{Sig: signWith(t, key, h, pae(payloadType, payload)), Keyid: keyID}},
		}},
	}
	w.stamp(t, pb)
	return pb
}

// stamp adds a test TSA timestamp over the bundle's signature.
func (w *world) stamp(t testing.TB, pb *protobundle.Bundle) {
	t.Helper()
	b, err := bundle.FromProto(pb)
	if err != nil {
		t.Fatal(err)
	}
	pb.VerificationMaterial.TimestampVerificationData = &protobundle.TimestampVerificationData{
		Rfc3161Timestamps: []*protocommon.RFC3161SignedTimestamp{{SignedTimestamp: w.tsa.stamp(t, b.Signature(), nil)}},
	}
}

func material(t testing.TB, key crypto.Signer, cert *x509.Certificate) *protobundle.VerificationMaterial {
	t.Helper()
	if cert != nil {
		return &protobundle.VerificationMaterial{Content: &protobundle.VerificationMaterial_Certificate{
			Certificate: &protocommon.X509Certificate{RawBytes: cert.Raw},
		}}
	}
	der, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	hint := sha256.Sum256(der)
	return &protobundle.VerificationMaterial{Content: &protobundle.VerificationMaterial_PublicKey{
		PublicKey: &protocommon.PublicKeyIdentifier{Hint: base64.StdEncoding.EncodeToString(hint[:])},
	}}
}

// signWith signs msg hashed with h, or msg itself when h is 0.
func signWith(t testing.TB, key crypto.Signer, h crypto.Hash, msg []byte) []byte {
	t.Helper()
	digest := msg
	if h != 0 {
		hh := h.New()
		hh.Write(msg)
		digest = hh.Sum(nil)
	}
	sig, err := key.Sign(rand.Reader, digest, h)
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func mustECDSA(t testing.TB, c elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Identity the test CA certifies by default.
const (
	testSAN    = "https://example.com/test-signer"
	testIssuer = "https://issuer.example.com"
)

var oidIssuerV2 = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 8}

// testCA is a certificate authority the tests hold the key of.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newTestCA(t testing.TB) *testCA {
	t.Helper()
	key := mustECDSA(t, elliptic.P256())
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	return &testCA{cert: createCert(t, tmpl, tmpl, key.Public(), key), key: key}
}

func (c *testCA) authority() trustroot.CertificateAuthority {
	return trustroot.CertificateAuthority{URI: "https://test-ca.example", Root: c.cert}
}

// issue certifies pub for testSAN from testIssuer, valid for ten minutes
// around now; edit adjusts the template.
func (c *testCA) issue(t testing.TB, pub crypto.PublicKey, edit func(*x509.Certificate)) *x509.Certificate {
	t.Helper()
	issuer, err := asn1.MarshalWithParams(testIssuer, "utf8")
	if err != nil {
		t.Fatal(err)
	}
	san, err := url.Parse(testSAN)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		NotBefore:    time.Now().Add(-time.Minute), NotAfter: time.Now().Add(10 * time.Minute),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		URIs:            []*url.URL{san},
		ExtraExtensions: []pkix.Extension{{Id: oidIssuerV2, Value: issuer}},
	}
	if edit != nil {
		edit(tmpl)
	}
	return createCert(t, tmpl, c.cert, pub, c.key)
}

func createCert(t testing.TB, tmpl, parent *x509.Certificate, pub crypto.PublicKey, key crypto.Signer) *x509.Certificate {
	t.Helper()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var oidEKU = asn1.ObjectIdentifier{2, 5, 29, 37}

// testTSA is a timestamp authority the tests hold the keys of: a root,
// perhaps an intermediate, and a leaf whose only, critical, extended key
// usage is timeStamping.
type testTSA struct {
	root, inter, leaf *x509.Certificate
	rootKey, interKey *ecdsa.PrivateKey
	key               *ecdsa.PrivateKey
}

// timestampingEKU is the critical extended key usage extension RFC 3161
// requires of a TSA certificate (Go marks ExtKeyUsage non-critical), or
// the given usages.
func timestampingEKU(critical bool, usages ...asn1.ObjectIdentifier) pkix.Extension {
	if usages == nil {
		usages = []asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 8}}
	}
	v, err := asn1.Marshal(usages)
	if err != nil {
		panic(err)
	}
	return pkix.Extension{Id: oidEKU, Critical: critical, Value: v}
}

// newTestTSA makes a TSA; edit adjusts its leaf certificate's template.
func newTestTSA(t testing.TB, edit func(*x509.Certificate)) *testTSA {
	t.Helper()
	a := &testTSA{rootKey: mustECDSA(t, elliptic.P256()), key: mustECDSA(t, elliptic.P256())}
	rt := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test TSA root"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	a.root = createCert(t, rt, rt, a.rootKey.Public(), a.rootKey)
	a.leaf = a.issue(t, a.key.Public(), 2, edit)
	return a
}

// newTestTSAWithIntermediate makes a TSA whose leaf an intermediate CA
// issued.
func newTestTSAWithIntermediate(t testing.TB) *testTSA {
	t.Helper()
	a := newTestTSA(t, nil)
	a.interKey = mustECDSA(t, elliptic.P256())
	it := &x509.Certificate{
		SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "test TSA intermediate"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	a.inter = createCert(t, it, a.root, a.interKey.Public(), a.rootKey)
	a.leaf = a.issue(t, a.key.Public(), 4, nil)
	return a
}

// issue certifies pub as a timestamping leaf under the TSA's root.
func (a *testTSA) issue(t testing.TB, pub crypto.PublicKey, serial int64, edit func(*x509.Certificate)) *x509.Certificate {
	t.Helper()
	lt := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "test TSA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtraExtensions: []pkix.Extension{timestampingEKU(true)},
	}
	if edit != nil {
		edit(lt)
	}
	if a.inter != nil {
		return createCert(t, lt, a.inter, pub, a.interKey)
	}
	return createCert(t, lt, a.root, pub, a.rootKey)
}

func (a *testTSA) authority() trustroot.TimestampAuthority {
	return trustroot.TimestampAuthority{URI: "https://test-tsa.example", Root: a.root}
}

// stamp timestamps the SHA-256 of sig now, embedding the leaf; edit
// adjusts the timestamp before it is signed.
func (a *testTSA) stamp(t testing.TB, sig []byte, edit func(*timestamp.Timestamp)) []byte {
	t.Helper()
	d := sha256.Sum256(sig)
	ts := &timestamp.Timestamp{
		HashAlgorithm: crypto.SHA256, HashedMessage: d[:], Time: time.Now(),
		Policy: asn1.ObjectIdentifier{1, 2, 3, 4}, AddTSACertificate: true,
	}
	if edit != nil {
		edit(ts)
	}
	der, err := ts.CreateResponseWithOpts(a.leaf, a.key, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// testRekor is a Rekor v1 log the tests hold the key of: it signs entry
// timestamps over any body and proves each entry as the single leaf of
// its own tree.
type testRekor struct {
	key   *ecdsa.PrivateKey
	der   []byte
	logID [32]byte
}

const testRekorURL = "https://test-rekor.example"

func newTestRekor(t testing.TB) *testRekor {
	t.Helper()
	r := &testRekor{key: mustECDSA(t, elliptic.P256())}
	var err error
	if r.der, err = x509.MarshalPKIXPublicKey(r.key.Public()); err != nil {
		t.Fatal(err)
	}
	r.logID = sha256.Sum256(r.der)
	return r
}

func (r *testRekor) log() trustroot.Log {
	return trustroot.Log{BaseURL: testRekorURL, LogID: r.logID[:], PublicKey: r.key.Public(),
		ValidFor: trustroot.Window{Start: time.Now().Add(-time.Hour)}}
}

// entry logs body at index now: an inclusion promise and a proof
// against a checkpoint of the one-leaf tree.
func (r *testRekor) entry(t testing.TB, kind string, body []byte, index int64) *protorekor.TransparencyLogEntry {
	t.Helper()
	now := time.Now().Unix()
	set := signWith(t, r.key, crypto.SHA256, fmt.Appendf(nil, `{"body":"%s","integratedTime":%d,"logID":"%x","logIndex":%d}`,
		base64.StdEncoding.EncodeToString(body), now, r.logID, index))
	root := rfc6962.DefaultHasher.HashLeaf(body)
	return &protorekor.TransparencyLogEntry{
		LogIndex:          index,
		LogId:             &protocommon.LogId{KeyId: r.logID[:]},
		KindVersion:       &protorekor.KindVersion{Kind: kind, Version: "0.0.1"},
		IntegratedTime:    now,
		InclusionPromise:  &protorekor.InclusionPromise{SignedEntryTimestamp: set},
		InclusionProof:    &protorekor.InclusionProof{LogIndex: 0, TreeSize: 1, RootHash: root, Checkpoint: &protorekor.Checkpoint{Envelope: r.checkpoint(t, 1, root)}},
		CanonicalizedBody: body,
	}
}

// checkpoint signs a Rekor v1 checkpoint of the given tree.
func (r *testRekor) checkpoint(t testing.TB, size uint64, root []byte) string {
	t.Helper()
	return r.sign(t, fmt.Sprintf("test-rekor.example - 1\n%d\n%s\n", size, base64.StdEncoding.EncodeToString(root)))
}

// sign adds the log's signature line to a note text.
func (r *testRekor) sign(t testing.TB, text string) string {
	t.Helper()
	sig := signWith(t, r.key, crypto.SHA256, []byte(text))
	raw := binary.BigEndian.AppendUint32(nil, binary.BigEndian.Uint32(r.logID[:4]))
	return text + "\n\u2014 test-rekor.example " + base64.StdEncoding.EncodeToString(append(raw, sig...)) + "\n"
}

// hashedRekord is a Rekor v1 hashedrekord 0.0.1 body.
func hashedRekord(t testing.TB, sig, keyOrCert []byte, pemType, alg string, digest []byte) []byte {
	t.Helper()
	return mustJSON(t, map[string]any{"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": map[string]any{
		"data":      map[string]any{"hash": map[string]any{"algorithm": alg, "value": hex.EncodeToString(digest)}},
		"signature": map[string]any{"content": sig, "publicKey": map[string]any{"content": pem.EncodeToMemory(&pem.Block{Type: pemType, Bytes: keyOrCert})}},
	}})
}

// dsseRekord is a Rekor v1 dsse 0.0.1 body.
func dsseRekord(t testing.TB, sig, keyOrCert []byte, pemType string, payloadHash []byte) []byte {
	t.Helper()
	return mustJSON(t, map[string]any{"apiVersion": "0.0.1", "kind": "dsse", "spec": map[string]any{
		"payloadHash": map[string]any{"algorithm": "sha256", "value": hex.EncodeToString(payloadHash)},
		"signatures": []any{map[string]any{"signature": base64.StdEncoding.EncodeToString(sig),
			"verifier": pem.EncodeToMemory(&pem.Block{Type: pemType, Bytes: keyOrCert})}},
	}})
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testLogEntry logs the bundle's signature, content and key (its
// certificate, else w.key) in the test Rekor v1 log at index 7; edit
// adjusts the entry.
func (w *world) testLogEntry(t testing.TB, pb *protobundle.Bundle, edit func(*protorekor.TransparencyLogEntry)) *protorekor.TransparencyLogEntry {
	t.Helper()
	e := w.testLogEntryAt(t, pb, 7)
	if edit != nil {
		edit(e)
	}
	return e
}

func (w *world) testLogEntryAt(t testing.TB, pb *protobundle.Bundle, index int64) *protorekor.TransparencyLogEntry {
	t.Helper()
	key, pemType := []byte(nil), "PUBLIC KEY"
	if c := pb.GetVerificationMaterial().GetCertificate(); c != nil {
		key, pemType = c.GetRawBytes(), "CERTIFICATE"
	} else {
		var err error
		if key, err = x509.MarshalPKIXPublicKey(w.key.Public()); err != nil {
			t.Fatal(err)
		}
	}
	if env := pb.GetDsseEnvelope(); env != nil {
		d := sha256.Sum256(env.GetPayload())
		return w.rekor.entry(t, "dsse", dsseRekord(t, env.GetSignatures()[0].GetSig(), key, pemType, d[:]), index)
	}
	ms := pb.GetMessageSignature()
	return w.rekor.entry(t, "hashedrekord", hashedRekord(t, ms.GetSignature(), key, pemType, "sha256", ms.GetMessageDigest().GetDigest()), index)
}

// kindOf returns the kind a Rekor body names.
func kindOf(t testing.TB, body []byte) string {
	t.Helper()
	var b struct{ Kind string }
	if err := json.Unmarshal(body, &b); err != nil {
		t.Fatal(err)
	}
	return b.Kind
}

// signatureOf returns the bundle's signature.
func signatureOf(t testing.TB, pb *protobundle.Bundle) []byte {
	t.Helper()
	if env := pb.GetDsseEnvelope(); env != nil {
		return env.GetSignatures()[0].GetSig()
	}
	return pb.GetMessageSignature().GetSignature()
}

// setTimestamp replaces the bundle's RFC 3161 timestamps.
func setTimestamp(pb *protobundle.Bundle, ders ...[]byte) {
	tvd := &protobundle.TimestampVerificationData{}
	for _, d := range ders {
		tvd.Rfc3161Timestamps = append(tvd.Rfc3161Timestamps, &protocommon.RFC3161SignedTimestamp{SignedTimestamp: d})
	}
	pb.VerificationMaterial.TimestampVerificationData = tvd
}

// restamp replaces the bundle's timestamps with one of the test TSA over
// its current signature.
func restamp(t testing.TB, w *world, s *scenario) {
	t.Helper()
	setTimestamp(s.pb, w.tsa.stamp(t, signatureOf(t, s.pb), nil))
}

// setTSA edits the test TSA's entry in the root.
func setTSA(r *trustroot.TrustedRoot, edit func(*trustroot.TimestampAuthority)) {
	for i := range r.TimestampAuthorities {
		if r.TimestampAuthorities[i].URI == "https://test-tsa.example" {
			edit(&r.TimestampAuthorities[i])
			return
		}
	}
	panic("test TSA not in the root")
}

func sshFP(t testing.TB, pub crypto.PublicKey) string {
	t.Helper()
	fp, err := sshFingerprint(pub)
	if err != nil {
		t.Fatal(err)
	}
	return fp
}

// statement is an in-toto statement with the given subject digests.
func statement(t testing.TB, subjects ...map[string]string) []byte {
	t.Helper()
	subs := []any{}
	for i, d := range subjects {
		subs = append(subs, map[string]any{"name": fmt.Sprintf("s%d", i), "digest": d})
	}
	return mustJSON(t, map[string]any{"_type": "https://in-toto.io/Statement/v1", "subject": subs,
		"predicateType": "https://example.com/p", "predicate": map[string]any{}})
}

func mustRSA(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// otherNameSANExt is a SAN extension holding one Sigstore otherName.
func otherNameSANExt(value string, critical bool) pkix.Extension {
	inner, err := asn1.MarshalWithParams(value, "utf8")
	if err != nil {
		panic(err)
	}
	on, err := asn1.MarshalWithParams(struct {
		ID    asn1.ObjectIdentifier
		Value asn1.RawValue
	}{asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 7}, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: inner}}, "tag:0")
	if err != nil {
		panic(err)
	}
	seq, err := asn1.Marshal([]asn1.RawValue{{FullBytes: on}})
	if err != nil {
		panic(err)
	}
	return pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 17}, Critical: critical, Value: seq}
}
