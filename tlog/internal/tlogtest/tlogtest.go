// Package tlogtest holds what the tests of signet's logs share: client
// signers and the entry requests they sign.
package tlogtest

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"os"
	"testing"
	"time"

	trustrootv1 "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	"github.com/signetproject/signet/tlog/storage"
	commonv1 "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	dssepb "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	rekorpb "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"
)

//lint:file-ignore SA1019 Rekor v2 dsse v0.0.2 entries are deprecated upstream but signet still accepts them (issue 4)

// Origin is the test logs' checkpoint origin.
const Origin = "log.signet.test"

// Signer is a client key with a self-signed certificate.
type Signer struct {
	Key  *ecdsa.PrivateKey
	Cert *x509.Certificate
	PKIX []byte // the public key, PKIX DER
}

// NewSigner returns a client key with a self-signed certificate.
func NewSigner(t testing.TB) *Signer {
	t.Helper()
	return NewLargeCertSigner(t, 0)
}

// NewLargeCertSigner returns a signer whose certificate carries an extra
// extension of pad bytes.
func NewLargeCertSigner(t testing.TB, pad int) *Signer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:   big.NewInt(1),
		Subject:        pkix.Name{CommonName: "signet test signer"},
		NotBefore:      time.Now().Add(-time.Hour),
		NotAfter:       time.Now().Add(time.Hour),
		KeyUsage:       x509.KeyUsageDigitalSignature,
		ExtKeyUsage:    []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		EmailAddresses: []string{"signer@signet.test"},
	}
	if pad > 0 {
		tmpl.ExtraExtensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1}, Value: make([]byte, pad)}}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	return &Signer{Key: key, Cert: cert, PKIX: pub}
}

// CertVerifier names s by its certificate.
func (s *Signer) CertVerifier() *rekorpb.Verifier {
	return &rekorpb.Verifier{
		Verifier:   &rekorpb.Verifier_X509Certificate{X509Certificate: &commonv1.X509Certificate{RawBytes: s.Cert.Raw}},
		KeyDetails: commonv1.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256,
	}
}

// KeyVerifier names s by its public key.
func (s *Signer) KeyVerifier() *rekorpb.Verifier {
	return &rekorpb.Verifier{
		Verifier:   &rekorpb.Verifier_PublicKey{PublicKey: &rekorpb.PublicKey{RawBytes: s.PKIX}},
		KeyDetails: commonv1.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256,
	}
}

// SignDigest signs a SHA-256 digest.
func (s *Signer) SignDigest(t testing.TB, digest []byte) []byte {
	t.Helper()
	sig, err := ecdsa.SignASN1(rand.Reader, s.Key, digest)
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// HashedRekord returns a hashedrekord v0.0.2 request signing artifact.
func (s *Signer) HashedRekord(t testing.TB, artifact []byte, v *rekorpb.Verifier) *rekorpb.CreateEntryRequest {
	t.Helper()
	d := sha256.Sum256(artifact)
	return &rekorpb.CreateEntryRequest{Spec: &rekorpb.CreateEntryRequest_HashedRekordRequestV002{
		HashedRekordRequestV002: &rekorpb.HashedRekordRequestV002{
			Digest:    d[:],
			Signature: &rekorpb.Signature{Content: s.SignDigest(t, d[:]), Verifier: v},
		},
	}}
}

// Envelope returns a DSSE Envelope over payload signed by s.
func (s *Signer) Envelope(t testing.TB, payloadType string, payload []byte) *dssepb.Envelope {
	t.Helper()
	d := sha256.Sum256(dsse.PAE(payloadType, payload))
	return &dssepb.Envelope{
		Payload:     payload,
		PayloadType: payloadType,
		Signatures:  []*dssepb.Signature{{Sig: s.SignDigest(t, d[:])}},
	}
}

// DSSERequest returns a dsse v0.0.2 request for env.
func DSSERequest(env *dssepb.Envelope, vs ...*rekorpb.Verifier) *rekorpb.CreateEntryRequest {
	return &rekorpb.CreateEntryRequest{Spec: &rekorpb.CreateEntryRequest_DsseRequestV002{
		DsseRequestV002: &rekorpb.DSSERequestV002{Envelope: env, Verifiers: vs},
	}}
}

// NewLogKey returns an Ed25519 checkpoint key.
func NewLogKey(t testing.TB) crypto.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return priv
}

// MySQLURL returns the URL of a fresh database on the test server, or
// skips the test when there is none. The database, and its siblings named
// with each suffix, are dropped when the test ends.
func MySQLURL(t testing.TB, suffixes ...string) string {
	t.Helper()
	url := os.Getenv("SIGNET_TEST_MYSQL_URL")
	if url == "" {
		t.Skip("SIGNET_TEST_MYSQL_URL not set; start MariaDB with scripts/mariadb-up.sh DIR PORT and set it to the URL printed")
	}
	cfg, err := storage.ParseMySQLURL(url)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := storage.OpenMySQL(context.Background(), cfg)
	if err != nil {
		t.Fatalf("connect to SIGNET_TEST_MYSQL_URL: %v", err)
	}
	var b [4]byte
	rand.Read(b[:])
	name := fmt.Sprintf("%s_t%x", cfg.DBName, b)
	if _, err := admin.Exec("CREATE DATABASE `" + name + "`"); err != nil {
		admin.Close()
		t.Fatalf("create test database (the user needs rights on %s_* databases): %v", cfg.DBName, err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		for _, suffix := range append([]string{""}, suffixes...) {
			db := name + suffix
			if _, err := admin.Exec("DROP DATABASE IF EXISTS `" + db + "`"); err != nil {
				t.Errorf("drop test database: %v", err)
			}
		}
	})
	cfg.DBName = name
	return "mysql://" + cfg.FormatDSN()
}

// ReadFile returns the content of path.
func ReadFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// WriteFile replaces the content of path.
func WriteFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TrustedRoot returns the sigstore-go trusted root a client would load
// from a trusted_root.json listing inst as its only transparency log.
func TrustedRoot(t testing.TB, inst *trustrootv1.TransparencyLogInstance) *root.TrustedRoot {
	t.Helper()
	js, err := protojson.Marshal(&trustrootv1.TrustedRoot{MediaType: root.TrustedRootMediaType01, Tlogs: []*trustrootv1.TransparencyLogInstance{inst}})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := root.NewTrustedRootFromJSON(js)
	if err != nil {
		t.Fatalf("sigstore-go rejects the trusted root: %v", err)
	}
	return tr
}
