package rekorv1

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"maps"
	"math/big"
	"net"
	"net/url"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-openapi/runtime"
	"github.com/google/go-cmp/cmp"
	"github.com/signetproject/signet/tlog"
	"github.com/sigstore/rekor/pkg/generated/models"
	"github.com/sigstore/rekor/pkg/types"
	_ "github.com/sigstore/rekor/pkg/types/dsse/v0.0.1"         // register dsse v0.0.1
	_ "github.com/sigstore/rekor/pkg/types/hashedrekord/v0.0.1" // register hashedrekord v0.0.1
	_ "github.com/sigstore/rekor/pkg/types/intoto/v0.0.2"       // register intoto v0.0.2
)

// The differential oracle: Rekor v1.5.3's own entry types, used the way
// signet used them before it had its own code (decode, CreateVersionedEntry
// or UnmarshalEntry, CanonicalizeEntry, IndexKeys and Verifiers). signet
// must accept exactly what they accept, produce the same body bytes and
// file entries under the same search keys.

type rekorResult struct {
	body []byte
	keys []string
}

func rekorEntry(proposed []byte, insert bool) (res *rekorResult, err error) {
	if len(proposed) > tlog.MaxRequestSize {
		return nil, tlog.ErrEntryTooLarge
	}
	pe, err := models.UnmarshalProposedEntry(bytes.NewReader(proposed), runtime.JSONConsumer())
	if err != nil {
		return nil, err
	}
	var version *string
	switch e := pe.(type) {
	case *models.Hashedrekord:
		version = e.APIVersion
	case *models.Intoto:
		version = e.APIVersion
	case *models.DSSE:
		version = e.APIVersion
	default:
		return nil, tlog.ErrUnsupportedEntry
	}
	if version == nil || *version != v1Versions[pe.Kind()] {
		return nil, tlog.ErrUnsupportedEntry
	}
	var impl types.EntryImpl
	if insert {
		impl, err = types.CreateVersionedEntry(pe)
	} else {
		impl, err = types.UnmarshalEntry(pe)
	}
	if err != nil {
		return nil, err
	}
	body, err := types.CanonicalizeEntry(context.Background(), impl)
	if err != nil {
		return nil, err
	}
	if len(body) > tlog.MaxEntrySize {
		return nil, tlog.ErrEntryTooLarge
	}
	res = &rekorResult{body: body}
	keys, err := impl.IndexKeys()
	if err != nil {
		return res, nil
	}
	if verifiers, err := impl.Verifiers(); err == nil {
		for _, v := range verifiers {
			if canon, err := v.CanonicalValue(); err == nil {
				h := sha256.Sum256(canon)
				keys = append(keys, hex.EncodeToString(h[:]))
			}
		}
	}
	res.keys = normalizeSearchKeys(keys)
	return res, nil
}

// compareWithRekor checks that signet and Rekor agree on proposed, as a
// proposal and as a log read, and returns whether Rekor accepted it as a
// proposal.
func compareWithRekor(t *testing.T, proposed []byte) bool {
	t.Helper()
	accepted := false
	for _, insert := range []bool{true, false} {
		want, werr := rekorEntry(proposed, insert)
		got, gerr := newEntry(proposed, insert)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("insert=%v: Rekor error %v, signet error %v\ninput: %.2000s", insert, werr, gerr, proposed)
		}
		if werr != nil {
			continue
		}
		if insert {
			accepted = true
		}
		if !bytes.Equal(got.Body, want.body) {
			t.Fatalf("insert=%v: body\n got %s\nwant %s", insert, got.Body, want.body)
		}
		sortedGot, sortedWant := slices.Sorted(slices.Values(got.SearchKeys)), slices.Sorted(slices.Values(want.keys))
		if diff := cmp.Diff(sortedWant, sortedGot); diff != "" {
			t.Fatalf("insert=%v: search keys (-rekor +signet):\n%s", insert, diff)
		}
	}
	return accepted
}

// diffKeys are the keys of the generated differential inputs.
type diffKeys struct {
	ecdsa   *testSigner
	p384    *ecdsa.PrivateKey
	rsa     *rsa.PrivateKey
	ed      ed25519.PrivateKey
	caKey   *ecdsa.PrivateKey
	ca      *x509.Certificate
	leaf    *x509.Certificate // issued by ca for p384, with SANs of every type
	leafKey *ecdsa.PrivateKey
}

var (
	diffKeysOnce   sync.Once
	sharedDiffKeys *diffKeys
)

// newDiffKeys returns the keys of the differential tests, made once per
// test binary (RSA key generation is slow under the race detector).
func newDiffKeys(t testing.TB) *diffKeys {
	t.Helper()
	diffKeysOnce.Do(func() { sharedDiffKeys = makeDiffKeys(t) })
	if sharedDiffKeys == nil {
		t.Fatal("making the differential keys failed")
	}
	return sharedDiffKeys
}

func makeDiffKeys(t testing.TB) *diffKeys {
	t.Helper()
	k := &diffKeys{ecdsa: newTestSigner(t)}
	var err error
	if k.p384, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	if k.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	if _, k.ed, err = ed25519.GenerateKey(rand.Reader); err != nil {
		t.Fatal(err)
	}
	if k.caKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "diff CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, k.caKey.Public(), k.caKey)
	if err != nil {
		t.Fatal(err)
	}
	if k.ca, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	k.leafKey = k.p384
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), NotBefore: now.Add(-time.Minute), NotAfter: now.Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		DNSNames: []string{"Host.Example"}, EmailAddresses: []string{"Alice@Example.com"},
		URIs:        []*url.URL{{Scheme: "https", Host: "github.com", Path: "/o/r/.github/workflows/w.yml@refs/heads/main"}},
		IPAddresses: []net.IP{net.ParseIP("192.0.2.1")},
	}
	if der, err = x509.CreateCertificate(rand.Reader, leafTmpl, k.ca, k.p384.Public(), k.caKey); err != nil {
		t.Fatal(err)
	}
	if k.leaf, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	return k
}

func pemOf(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func pkixPEM(t testing.TB, pub crypto.PublicKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pemOf("PUBLIC KEY", der)
}

// hashedRekordInput returns a hashedrekord proposal with the given digest
// algorithm, signature and key PEM, over artifact.
func hashedRekordInput(t testing.TB, alg string, digest, sig, keyPEM []byte) []byte {
	t.Helper()
	js, err := json.Marshal(map[string]any{
		"kind": "hashedrekord", "apiVersion": "0.0.1",
		"spec": map[string]any{
			"data": map[string]any{"hash": map[string]any{"algorithm": alg, "value": hex.EncodeToString(digest)}},
			"signature": map[string]any{
				"content":   base64.StdEncoding.EncodeToString(sig),
				"publicKey": map[string]any{"content": base64.StdEncoding.EncodeToString(keyPEM)},
			},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// signEnvelope returns a DSSE envelope over payload signed by each signer
// (over SHA-256 of the PAE, or the PAE itself for Ed25519).
func signEnvelope(t testing.TB, payloadType string, payload []byte, signers ...crypto.Signer) []byte {
	t.Helper()
	pae := tlog.PAE(payloadType, payload)
	type sig struct {
		KeyID string `json:"keyid"`
		Sig   string `json:"sig"`
	}
	var sigs []sig
	for _, s := range signers {
		var b []byte
		var err error
		if _, ok := s.(ed25519.PrivateKey); ok {
			b, err = s.Sign(rand.Reader, pae, crypto.Hash(0))
		} else {
			d := sha256.Sum256(pae)
			b, err = s.Sign(rand.Reader, d[:], crypto.SHA256)
		}
		if err != nil {
			t.Fatal(err)
		}
		sigs = append(sigs, sig{Sig: base64.StdEncoding.EncodeToString(b)})
	}
	env, err := json.Marshal(map[string]any{"payloadType": payloadType, "payload": base64.StdEncoding.EncodeToString(payload), "signatures": sigs})
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// envelopeProposal returns a dsse or intoto proposal made with Rekor's own
// constructors, as cosign makes them.
func envelopeProposal(t testing.TB, kind string, env []byte, keyPEMs ...[]byte) []byte {
	t.Helper()
	pe, err := types.NewProposedEntry(context.Background(), kind, v1Versions[kind], types.ArtifactProperties{ArtifactBytes: env, PublicKeyBytes: keyPEMs})
	if err != nil {
		t.Fatalf("rekor NewProposedEntry(%s): %v", kind, err)
	}
	js, err := json.Marshal(pe)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// diffInputs returns valid proposals of every kind, key type and shape,
// and hostile variants of them.
func diffInputs(t testing.TB) [][]byte {
	t.Helper()
	k := newDiffKeys(t)
	art := []byte("differential artifact")
	d256, d384, d512 := sha256.Sum256(art), sha512.Sum384(art), sha512.Sum512(art)
	sign := func(s crypto.Signer, d []byte, h crypto.SignerOpts) []byte {
		b, err := s.Sign(rand.Reader, d, h)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	ecPEM, certPEMb := keyPEM(t, k.ecdsa), certPEM(t, k.ecdsa)
	p384PEM, rsaPEM, edPEM := pkixPEM(t, k.p384.Public()), pkixPEM(t, k.rsa.Public()), pkixPEM(t, k.ed.Public())
	leafPEM := pemOf("CERTIFICATE", k.leaf.Raw)
	chainPEM := append(append([]byte{}, leafPEM...), pemOf("CERTIFICATE", k.ca.Raw)...)
	badChain := append(append([]byte{}, leafPEM...), pemOf("CERTIFICATE", k.ecdsa.Cert.Raw)...)
	selfChain := append(append([]byte{}, leafPEM...), leafPEM...)
	sigP384 := sign(k.p384, d256[:], crypto.SHA256)
	r, s, err := ecdsa.Sign(rand.Reader, k.p384, d256[:])
	if err != nil {
		t.Fatal(err)
	}
	p1363 := append(r.FillBytes(make([]byte, 48)), s.FillBytes(make([]byte, 48))...)
	// r || s with a leading zero on s (odd length) or both padded beyond
	// 132 bytes: the numbers verify, but Rekor takes neither encoding.
	p1363Odd := append(r.FillBytes(make([]byte, 48)), s.FillBytes(make([]byte, 49))...)
	p1363Long := append(r.FillBytes(make([]byte, 67)), s.FillBytes(make([]byte, 67))...)

	var in [][]byte
	add := func(b ...[]byte) { in = append(in, b...) }
	add(
		v1HashedRekord(t, k.ecdsa, art, ecPEM),
		v1HashedRekord(t, k.ecdsa, art, certPEMb),
		hashedRekordInput(t, "sha256", d256[:], sigP384, p384PEM),
		hashedRekordInput(t, "sha256", d256[:], p1363, p384PEM),
		hashedRekordInput(t, "sha384", d384[:], sign(k.p384, d384[:], crypto.SHA384), p384PEM),
		hashedRekordInput(t, "sha512", d512[:], sign(k.rsa, d512[:], crypto.SHA512), rsaPEM),
		hashedRekordInput(t, "sha256", d256[:], sign(k.rsa, d256[:], crypto.SHA256), rsaPEM),
		hashedRekordInput(t, "sha512", d512[:], sign(k.ed, d512[:], &ed25519.Options{Hash: crypto.SHA512}), edPEM),
		hashedRekordInput(t, "sha256", d256[:], sign(k.ed, d256[:], crypto.Hash(0)), edPEM), // Ed25519 needs SHA-512
		hashedRekordInput(t, "sha256", d256[:], sigP384, leafPEM),
		hashedRekordInput(t, "sha256", d256[:], sigP384, chainPEM),
		hashedRekordInput(t, "sha256", d256[:], sigP384, badChain),
		hashedRekordInput(t, "sha256", d256[:], sigP384, selfChain),
		hashedRekordInput(t, "sha256", d256[:], sigP384, append([]byte("junk before\n"), p384PEM...)),
		hashedRekordInput(t, "sha256", d256[:], sigP384, append(append([]byte{}, p384PEM...), "junk after"...)),
		hashedRekordInput(t, "sha256", d256[:], sigP384, append(append([]byte{}, p384PEM...), p384PEM...)),
		hashedRekordInput(t, "sha256", d256[:], sigP384, pemOf("RSA PUBLIC KEY", []byte("x"))),
		hashedRekordInput(t, "sha256", d256[:], sigP384, ecPEM),     // another key
		hashedRekordInput(t, "sha256", d384[:32], sigP384, p384PEM), // signature over other data
		hashedRekordInput(t, "sha384", d256[:], sigP384, p384PEM),   // digest of the wrong length
		hashedRekordInput(t, "SHA256", d256[:], sigP384, p384PEM),
		hashedRekordInput(t, "sha256", d256[:], nil, p384PEM),
		hashedRekordInput(t, "sha256", d256[:], sigP384, nil),
	)
	var chain11 []byte
	for range 11 {
		chain11 = append(chain11, leafPEM...)
	}
	add(hashedRekordInput(t, "sha256", d256[:], sigP384, chain11))

	upper := strings.ToUpper(hex.EncodeToString(d256[:]))
	add(
		[]byte(strings.Replace(string(hashedRekordInput(t, "sha256", d256[:], sigP384, p384PEM)), hex.EncodeToString(d256[:]), upper, 1)),
		[]byte(strings.Replace(string(hashedRekordInput(t, "sha256", d256[:], sigP384, p384PEM)), `"kind"`, `"KIND"`, 1)),
		[]byte(strings.Replace(string(hashedRekordInput(t, "sha256", d256[:], sigP384, p384PEM)), `"data"`, `"Data"`, 1)),
		[]byte(strings.Replace(string(hashedRekordInput(t, "sha256", d256[:], sigP384, p384PEM)), `"apiVersion":"0.0.1"`, `"apiVersion":"0.0.2"`, 1)),
		append(hashedRekordInput(t, "sha256", d256[:], sigP384, p384PEM), " trailing"...),
	)

	stmt := func(subject string, predicate string) []byte {
		return fmt.Appendf(nil, `{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://slsa.dev/provenance/v0.2","subject":[{"name":"a","digest":{"sha256":"%x","SHA512":"AB"}}],"predicate":%s}`, sha256.Sum256([]byte(subject)), predicate)
	}
	slsa := stmt("s", `{"builder":{"id":"b"},"materials":[{"uri":"git+https://x","digest":{"sha1":"0123456789abcdef0123456789abcdef01234567"}}]}`)
	slsaBadTime := stmt("s", `{"builder":{"id":"b"},"metadata":{"buildStartedOn":"yesterday"},"materials":[{"digest":{"sha1":"aa"}}]}`)
	badStmt := []byte(`{"subject":"not a list"}`)
	partlyBad := []byte(`{"subject":[{"digest":{"sha256":"aa","sha512":5}}]}`)
	badMaterials := stmt("s", `{"materials":[{"digest":{"sha1":"aa","md5":5}}]}`)
	const itp = inTotoPayloadType
	envs := [][]byte{
		signEnvelope(t, itp, slsa, k.ecdsa.Key),
		signEnvelope(t, itp, slsaBadTime, k.p384),
		signEnvelope(t, itp, badStmt, k.p384),
		signEnvelope(t, "text/plain", []byte("hello"), k.rsa),
		signEnvelope(t, itp, slsa, k.ed),
		signEnvelope(t, itp, slsa, k.p384, k.rsa),
		signEnvelope(t, "", []byte("x"), k.p384),
	}
	for _, env := range envs {
		for _, kind := range []string{KindIntoto, KindDSSE} {
			for _, keys := range [][][]byte{{p384PEM}, {rsaPEM}, {edPEM}, {ecPEM}, {leafPEM}, {p384PEM, rsaPEM}} {
				// Rekor's constructors refuse envelopes their keys do not
				// verify; build those by hand below.
				pe, err := types.NewProposedEntry(context.Background(), kind, v1Versions[kind], types.ArtifactProperties{ArtifactBytes: env, PublicKeyBytes: keys})
				if err != nil {
					continue
				}
				js, err := json.Marshal(pe)
				if err != nil {
					t.Fatal(err)
				}
				add(js)
			}
		}
	}
	// Hand-made envelope proposals, including ones that do not verify.
	good := signEnvelope(t, itp, slsa, k.p384)
	other := signEnvelope(t, itp, stmt("other", "{}"), k.p384)
	add(
		dsseProposal(t, string(good), p384PEM),
		dsseProposal(t, string(good), rsaPEM),            // wrong key
		dsseProposal(t, string(good), p384PEM, rsaPEM),   // extra key after all verified: ignored
		dsseProposal(t, string(good), rsaPEM, p384PEM),   // a key that verifies nothing first
		dsseProposal(t, string(good), []byte("not pem")), // unparsable key
		dsseProposal(t, string(other[:len(other)-2])+"}", p384PEM),
		dsseProposal(t, `{"payloadType":"x","payload":"e30=","signatures":[]}`, p384PEM),
		dsseProposal(t, strings.Replace(string(good), `"sig":"`, `"sig":"!`, 1), p384PEM),
		intotoProposal(t, good, p384PEM),
		intotoProposal(t, good, rsaPEM),
		intotoProposal(t, other, p384PEM),
		[]byte(`{"kind":"dsse","apiVersion":"0.0.1","spec":{"proposedContent":{"envelope":"{}","verifiers":[]}}}`),
		[]byte(`{"kind":"dsse","apiVersion":"0.0.1","spec":{"proposedContent":{"envelope":"{}","verifiers":["!!"]}}}`),
		[]byte(`{"kind":"dsse","apiVersion":"0.0.1","spec":{"signatures":[]}}`),
		[]byte(`{"kind":"intoto","apiVersion":"0.0.2","spec":{}}`),
		[]byte(`{"kind":"intoto","apiVersion":"0.0.2","spec":{"content":{"envelope":{"payloadType":"x","signatures":[{"sig":"","publicKey":""}]},"hash":{"algorithm":"sha256","value":"v"},"payloadHash":{"algorithm":"sha256","value":"p"}}}}`),
		dsseProposal(t, string(signEnvelope(t, itp, slsa, k.p384, k.rsa)), p384PEM),   // a signature no verifier verifies
		dsseProposal(t, string(signEnvelope(t, "text/plain", slsa, k.p384)), p384PEM), // a statement, but not typed as one
		dsseProposal(t, string(signEnvelope(t, itp, partlyBad, k.p384)), p384PEM),     // a digest of the wrong type
		dsseProposal(t, string(signEnvelope(t, itp, badMaterials, k.p384)), p384PEM),  // materials of the wrong type
		intotoProposal(t, signEnvelope(t, itp, partlyBad, k.p384), p384PEM),           // a digest of the wrong type
		intotoProposal(t, signEnvelope(t, "text/plain", slsa, k.p384), p384PEM),       // a statement, but not typed as one
		intotoProposal(t, urlSafeEnvelope(t, k.p384), p384PEM),                        // URL-safe base64 payload
		dsseProposal(t, string(urlSafeEnvelope(t, k.p384)), p384PEM),                  // URL-safe base64 payload
		[]byte(strings.Replace(string(dsseProposal(t, string(good), p384PEM)), `"spec":{`, `"spec":{"signatures":[],`, 1)),
		[]byte(strings.Replace(string(dsseProposal(t, string(good), p384PEM)), `"spec":{`, `"spec":{"envelopeHash":{"algorithm":"sha256","value":"00"},`, 1)),
		[]byte(strings.Replace(string(intotoProposal(t, good, p384PEM)), `"signatures":[`, `"signatures":[5,`, 1)),
		[]byte(strings.Replace(string(intotoProposal(t, good, p384PEM)), `"payload":"`, `"payload":"!`, 1)),
		hashedRekordInput(t, "sha256", d256[:], p1363Odd, p384PEM),  // IEEE P1363 of odd length
		hashedRekordInput(t, "sha256", d256[:], p1363Long, p384PEM), // IEEE P1363 longer than 132 bytes
		hashedRekordInput(t, "sha256", d256[:], append(slices.Clone(sigP384), 0), p384PEM),
		hashedRekordInput(t, "sha256", d256[:], sigP384, []byte(dsaPublicKeyPEM)),
		dsseLogForm(t, []byte(dsaPublicKeyPEM)),
		dsseLogForm(t, []byte("not a key")),
		intotoLogForm(t, []byte(dsaPublicKeyPEM)),
		intotoLogForm(t, p384PEM),
		bytes.Replace(dsseLogForm(t, p384PEM), []byte(`"signatures":[`), []byte(`"signatures":[5,`), 1), // Rekor skips items that are not objects
		bytes.Replace(dsseLogForm(t, p384PEM), []byte(`"signature":"AAAA"`), []byte(`"signature":"AA/+"`), 1),
		bytes.Replace(dsseLogForm(t, p384PEM), []byte(`"signature":"AAAA"`), []byte(`"signature":"AA=="`), 1),
		[]byte(`{"kind":"rekord","apiVersion":"0.0.1","spec":{}}`),
		[]byte(`{"kind":"","apiVersion":"0.0.1","spec":{}}`),
		[]byte(`{"kind":5}`),
		[]byte(`null`),
	)
	return in
}

// dsaPublicKeyPEM is a DSA key: it parses, but cannot be re-encoded or
// verify anything.
const dsaPublicKeyPEM = `-----BEGIN PUBLIC KEY-----
MIIBvjCCATMGByqGSM44BAEwggEmAoGBAKWm3qcKG1znpqdjIrX6ck7B9JFV1fKs
zNdQV1K5TxP1UqTZs+yCkv8yKdVCG1AvGZTJJenIBlQdfTjYQOjZrsgPTQmGNbvr
h4g3QUXvcQea5xxgJFV1fOkGiqnDshvb13fSNu693scqix0yCp314l79LJ4P+QIp
u/6ifo2KFYq7Ah0A7ET1PudgShYIISRSsHxswQMvLy3zdRqbNNFzXwKBgDdCb06i
ReUro3GstQqBHJJ8EpUfY8HerEeDksHCNe60uiCrg4UAzkcKu7Bo+HQ2uH0o8cp7
5+RAqpYIlJ55P4fat58SnbdAJiYnS2T0FtCJwcoiLpGYR/tBUCiOBR60LpeMIMhX
zmKciSfYrQUZPGDn8RSglXtV3sdVGetdlP6sA4GEAAKBgBRRKmxw0cw1XNFOE3/W
ejU3qyqtdwrEjQY3mc/jLI77guNDdcIpi95b66y0Bq2bMrdEy+DmQluMFmr6A5A9
tarRqVRGRK6YGgh8gGDOF/38eZMa93nlWYoWeXhw4OfRp0pZxh3Lajj7F3xo03n3
S4sImN7EyxgRxQ17NMW7iguK
-----END PUBLIC KEY-----
`

// dsseLogForm returns a dsse entry as the log stores it, with verifier.
func dsseLogForm(t testing.TB, verifier []byte) []byte {
	t.Helper()
	h := map[string]any{"algorithm": "sha256", "value": strings.Repeat("ab", 32)}
	js, err := json.Marshal(map[string]any{"kind": "dsse", "apiVersion": "0.0.1", "spec": map[string]any{
		"envelopeHash": h, "payloadHash": h,
		"signatures": []any{map[string]any{"signature": "AAAA", "verifier": base64.StdEncoding.EncodeToString(verifier)}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// intotoLogForm returns an intoto entry as the log stores it, with key.
func intotoLogForm(t testing.TB, key []byte) []byte {
	t.Helper()
	h := map[string]any{"algorithm": "sha256", "value": strings.Repeat("ab", 32)}
	js, err := json.Marshal(map[string]any{"kind": "intoto", "apiVersion": "0.0.2", "spec": map[string]any{"content": map[string]any{
		"envelope": map[string]any{"payloadType": inTotoPayloadType, "signatures": []any{map[string]any{"sig": "QUFBQQ==", "publicKey": base64.StdEncoding.EncodeToString(key)}}},
		"hash":     h, "payloadHash": h,
	}}})
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// urlSafeEnvelope returns an envelope whose payload is URL-safe base64
// with characters standard base64 does not have.
func urlSafeEnvelope(t testing.TB, s crypto.Signer) []byte {
	t.Helper()
	env := signEnvelope(t, "text/plain", []byte{0xfb, 0xff, 0xfe}, s)
	out := bytes.Replace(env, []byte(`"payload":"+//+"`), []byte(`"payload":"-__-"`), 1)
	if bytes.Equal(out, env) {
		t.Fatalf("unexpected envelope %s", env)
	}
	return out
}

func dsseProposal(t testing.TB, env string, keyPEMs ...[]byte) []byte {
	t.Helper()
	var vs []string
	for _, k := range keyPEMs {
		vs = append(vs, base64.StdEncoding.EncodeToString(k))
	}
	js, err := json.Marshal(map[string]any{"kind": "dsse", "apiVersion": "0.0.1", "spec": map[string]any{"proposedContent": map[string]any{"envelope": env, "verifiers": vs}}})
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// intotoProposal returns an intoto proposal for env with keyPEM on every
// signature, whether or not it verifies.
func intotoProposal(t testing.TB, env, keyPEM []byte) []byte {
	t.Helper()
	var e dsseEnvelope
	if err := json.Unmarshal(env, &e); err != nil {
		t.Fatal(err)
	}
	var sigs []map[string]any
	for _, s := range e.Signatures {
		sigs = append(sigs, map[string]any{"keyid": s.KeyID, "sig": base64.StdEncoding.EncodeToString([]byte(s.Sig)), "publicKey": base64.StdEncoding.EncodeToString(keyPEM)})
	}
	h := sha256.Sum256(env)
	js, err := json.Marshal(map[string]any{"kind": "intoto", "apiVersion": "0.0.2", "spec": map[string]any{"content": map[string]any{
		"envelope": map[string]any{"payloadType": e.PayloadType, "payload": base64.StdEncoding.EncodeToString([]byte(e.Payload)), "signatures": sigs},
		"hash":     map[string]any{"algorithm": "sha256", "value": hex.EncodeToString(h[:])},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// realInputs returns the canonical bodies of real Rekor entries (the
// shared sigstore-go bundles) and proposals built from Rekor's own test
// envelope.
func realInputs(t testing.TB) [][]byte {
	t.Helper()
	var in [][]byte
	files, _ := filepath.Glob("../../../shared/testdata/bundles/*.sigstore.json")
	for _, f := range files {
		var b struct {
			VerificationMaterial struct {
				TlogEntries []struct {
					CanonicalizedBody []byte `json:"canonicalizedBody"`
				} `json:"tlogEntries"`
			} `json:"verificationMaterial"`
		}
		if err := json.Unmarshal(readFile(t, f), &b); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, e := range b.VerificationMaterial.TlogEntries {
			in = append(in, e.CanonicalizedBody)
		}
	}
	if len(in) == 0 {
		t.Fatal("no real Rekor entries in ../shared/testdata/bundles")
	}
	return in
}

func TestEntriesAgreeWithRekor(t *testing.T) {
	accepted := 0
	for _, in := range diffInputs(t) {
		if compareWithRekor(t, in) {
			accepted++
		}
	}
	if accepted < 40 {
		t.Errorf("only %d generated proposals were valid; the test no longer covers accepted entries", accepted)
	}
}

func TestRealRekorEntriesParse(t *testing.T) {
	ctx := context.Background()
	for i, body := range realInputs(t) {
		compareWithRekor(t, body)
		e, err := ParseEntry(ctx, body)
		if err != nil {
			t.Fatalf("real entry %d: %v\n%s", i, err, body)
		}
		if len(e.SearchKeys) == 0 {
			t.Errorf("real entry %d has no search keys", i)
		}
	}
	// Rekor's own in-toto test envelope, proposed as both kinds.
	dir := filepath.Join(rekorModuleDir(t), "tests")
	env, key := readFile(t, filepath.Join(dir, "intoto_dsse.json")), readFile(t, filepath.Join(dir, "intoto_dsse.pem"))
	for _, kind := range []string{KindIntoto, KindDSSE} {
		if !compareWithRekor(t, envelopeProposal(t, kind, env, key)) {
			t.Errorf("Rekor rejects its own test envelope as %s", kind)
		}
	}
}

// rekorModuleDir returns the module cache directory of the Rekor module.
func rekorModuleDir(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/sigstore/rekor").Output()
	if err != nil || len(bytes.TrimSpace(out)) == 0 {
		t.Skipf("rekor module not in the module cache: %v", err)
	}
	return string(bytes.TrimSpace(out))
}

// FuzzEntriesAgreeWithRekor mutates generated and real entries: signet and
// Rekor accept the same inputs, with the same bodies and search keys.
func FuzzEntriesAgreeWithRekor(f *testing.F) {
	for _, in := range diffInputs(f) {
		f.Add(in)
	}
	for _, in := range realInputs(f) {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		compareWithRekor(t, in)
	})
}

// jsonPaths returns the paths of every value in v (object keys and array
// indexes), parents before children.
func jsonPaths(v any, prefix []any) [][]any {
	var out [][]any
	switch v := v.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(v)) {
			p := append(slices.Clone(prefix), k)
			out = append(out, p)
			out = append(out, jsonPaths(v[k], p)...)
		}
	case []any:
		for i, e := range v {
			p := append(slices.Clone(prefix), i)
			out = append(out, p)
			out = append(out, jsonPaths(e, p)...)
		}
	}
	return out
}

// editJSON returns doc with the value at path replaced by repl, or the key
// deleted (repl == deleteValue) or renamed in upper case (renameKey).
func editJSON(t testing.TB, doc []byte, path []any, repl any) []byte {
	t.Helper()
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		t.Fatal(err)
	}
	var parent any = v
	for _, p := range path[:len(path)-1] {
		switch c := parent.(type) {
		case map[string]any:
			parent = c[p.(string)]
		case []any:
			parent = c[p.(int)]
		}
	}
	switch c := parent.(type) {
	case map[string]any:
		k := path[len(path)-1].(string)
		switch repl {
		case deleteValue:
			delete(c, k)
		case renameKey:
			c[strings.ToUpper(k)] = c[k]
			delete(c, k)
		default:
			c[k] = repl
		}
	case []any:
		i := path[len(path)-1].(int)
		if repl == deleteValue || repl == renameKey {
			c[i] = nil
		} else {
			c[i] = repl
		}
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

const (
	deleteValue = "\x00delete"
	renameKey   = "\x00rename"
)

// TestEditedEntriesAgreeWithRekor replaces every field of one valid
// proposal of each kind and shape in turn with a value of every JSON type,
// deletes it or renames it: signet and Rekor agree on every result.
func TestEditedEntriesAgreeWithRekor(t *testing.T) {
	k := newDiffKeys(t)
	art := []byte("edited artifact")
	d := sha256.Sum256(art)
	sig, err := k.p384.Sign(rand.Reader, d[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	chainPEM := append(pemOf("CERTIFICATE", k.leaf.Raw), pemOf("CERTIFICATE", k.ca.Raw)...)
	env := signEnvelope(t, inTotoPayloadType, fmt.Appendf(nil, `{"_type":"x","subject":[{"name":"a","digest":{"sha256":"%x"}}],"predicate":{"materials":[{"digest":{"sha1":"ab"}}]}}`, d), k.p384)
	p384PEM := pkixPEM(t, k.p384.Public())
	valid := [][]byte{
		hashedRekordInput(t, "sha256", d[:], sig, chainPEM),
		envelopeProposal(t, KindIntoto, env, p384PEM),
		envelopeProposal(t, KindDSSE, env, p384PEM),
	}
	// Entries as the log stores them.
	for _, v := range valid[1:] {
		e, err := NewEntry(context.Background(), v)
		if err != nil {
			t.Fatal(err)
		}
		valid = append(valid, e.Body)
	}
	repls := []any{deleteValue, renameKey, nil, json.Number("5"), "", "AAAA", "!", true, []any{}, []any{nil}, map[string]any{}}
	n := 0
	for _, v := range valid {
		if !compareWithRekor(t, v) && bytes.Contains(v, []byte(`"proposedContent"`)) {
			t.Fatalf("valid proposal rejected: %s", v)
		}
		var doc any
		if err := json.Unmarshal(v, &doc); err != nil {
			t.Fatal(err)
		}
		for _, p := range jsonPaths(doc, nil) {
			for _, r := range repls {
				compareWithRekor(t, editJSON(t, v, p, r))
				n++
			}
		}
	}
	t.Logf("%d edited entries agree", n)
}

// BenchmarkNewEntry validates and canonicalizes a proposal of each kind
// with signet's code and with Rekor's types, in the same run.
func BenchmarkNewEntry(b *testing.B) {
	k := newDiffKeys(b)
	d := sha256.Sum256([]byte("bench"))
	sig, err := k.p384.Sign(rand.Reader, d[:], crypto.SHA256)
	if err != nil {
		b.Fatal(err)
	}
	env := signEnvelope(b, inTotoPayloadType, fmt.Appendf(nil, `{"_type":"x","subject":[{"name":"a","digest":{"sha256":"%x"}}],"predicate":{}}`, d), k.p384)
	keyPEM := pkixPEM(b, k.p384.Public())
	for _, in := range []struct {
		kind string
		in   []byte
	}{
		{KindHashedRekord, hashedRekordInput(b, "sha256", d[:], sig, append(pemOf("CERTIFICATE", k.leaf.Raw), pemOf("CERTIFICATE", k.ca.Raw)...))},
		{KindIntoto, envelopeProposal(b, KindIntoto, env, keyPEM)},
		{KindDSSE, envelopeProposal(b, KindDSSE, env, keyPEM)},
	} {
		b.Run(in.kind+"/signet", func(b *testing.B) {
			for b.Loop() {
				if _, err := newEntry(in.in, true); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(in.kind+"/rekor", func(b *testing.B) {
			for b.Loop() {
				if _, err := rekorEntry(in.in, true); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
