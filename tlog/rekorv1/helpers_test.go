package rekorv1

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	"github.com/signetproject/signet/tlog"
	"github.com/signetproject/signet/tlog/internal/tlogtest"
	"github.com/sigstore/rekor/pkg/types"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

func newV1LogKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// openTestV1Log opens a v1 log in dir and closes it at the end of the test.
func openTestV1Log(t testing.TB, dir string, key crypto.Signer) *Log {
	t.Helper()
	l, err := OpenDir(context.Background(), dir, testOrigin, key, tlog.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeV1Log(t, l) })
	return l
}

func closeV1Log(t testing.TB, l *Log) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := l.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func certPEM(t testing.TB, s *testSigner) []byte {
	t.Helper()
	p, err := cryptoutils.MarshalCertificateToPEM(s.Cert)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func keyPEM(t testing.TB, s *testSigner) []byte {
	t.Helper()
	p, err := cryptoutils.MarshalPublicKeyToPEM(s.Key.Public())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// v1HashedRekord returns a hashedrekord v0.0.1 proposed entry as cosign
// writes it: the SHA-256 of artifact signed by s, verified by verifierPEM.
func v1HashedRekord(t testing.TB, s *testSigner, artifact, verifierPEM []byte) []byte {
	t.Helper()
	d := sha256.Sum256(artifact)
	return v1HashedRekordJSON(t, hex.EncodeToString(d[:]), s.SignDigest(t, d[:]), verifierPEM)
}

func v1HashedRekordJSON(t testing.TB, digestHex string, sig, verifierPEM []byte) []byte {
	t.Helper()
	js, err := json.Marshal(map[string]any{
		"kind":       "hashedrekord",
		"apiVersion": "0.0.1",
		"spec": map[string]any{
			"data": map[string]any{"hash": map[string]any{"algorithm": "sha256", "value": digestHex}},
			"signature": map[string]any{
				"content":   base64.StdEncoding.EncodeToString(sig),
				"publicKey": map[string]any{"content": base64.StdEncoding.EncodeToString(verifierPEM)},
			},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// v1Envelope returns the JSON of a DSSE envelope over an in-toto statement
// about subject, signed by s.
func v1Envelope(t testing.TB, s *testSigner, subject []byte) (envJSON, payload []byte) {
	t.Helper()
	d := sha256.Sum256(subject)
	payload = fmt.Appendf(nil, `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"artifact","digest":{"sha256":"%x"}}],"predicateType":"https://example.com/test/v1","predicate":{}}`, d)
	const pt = "application/vnd.in-toto+json"
	pae := sha256.Sum256(tlog.PAE(pt, payload))
	env := dsse.Envelope{
		PayloadType: pt,
		Payload:     base64.StdEncoding.EncodeToString(payload),
		Signatures:  []dsse.Signature{{Sig: base64.StdEncoding.EncodeToString(s.SignDigest(t, pae[:]))}},
	}
	envJSON, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return envJSON, payload
}

// v1ProposedEnvelopeEntry returns an intoto v0.0.2 or dsse v0.0.1 proposed
// entry for envJSON, made with Rekor's own constructors as cosign does.
func v1ProposedEnvelopeEntry(t testing.TB, kind string, envJSON, verifierPEM []byte) []byte {
	t.Helper()
	pe, err := types.NewProposedEntry(context.Background(), kind, v1Versions[kind], types.ArtifactProperties{
		ArtifactBytes:  envJSON,
		PublicKeyBytes: [][]byte{verifierPEM},
	})
	if err != nil {
		t.Fatalf("rekor NewProposedEntry(%s): %v", kind, err)
	}
	js, err := json.Marshal(pe)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// The shared test helpers, under this package's names.
const (
	testOrigin  = tlogtest.Origin
	testBaseURL = "https://" + testOrigin
)

type testSigner = tlogtest.Signer

var (
	newTestSigner      = tlogtest.NewSigner
	newLargeCertSigner = tlogtest.NewLargeCertSigner
	newLogKey          = tlogtest.NewLogKey
	readFile           = tlogtest.ReadFile
	writeFile          = tlogtest.WriteFile
)

// mysqlTestURL returns the URL of a fresh database on the test server
// (SIGNET_TEST_MYSQL_URL) and of its Rekor v1 sibling, or skips the test.
func mysqlTestURL(t testing.TB) string { return tlogtest.MySQLURL(t, MySQLDatabaseSuffix) }
