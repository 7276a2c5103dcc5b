package tlog

//lint:file-ignore SA1019 Rekor v2 dsse v0.0.2 entries are deprecated upstream but signet still accepts them (issue 4)

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
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/signetproject/signet/tlog/storage"
	commonv1 "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	dssepb "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	rekorpb "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"
)

const testOrigin = "log.signet.test"

// testSigner is a client key with a self-signed certificate.
type testSigner struct {
	key  *ecdsa.PrivateKey
	cert *x509.Certificate
	pkix []byte
}

func newTestSigner(t testing.TB) *testSigner {
	t.Helper()
	return newLargeCertSigner(t, 0)
}

// newLargeCertSigner returns a signer whose certificate carries an extra
// extension of pad bytes.
func newLargeCertSigner(t testing.TB, pad int) *testSigner {
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
	return &testSigner{key: key, cert: cert, pkix: pub}
}

func (s *testSigner) certVerifier() *rekorpb.Verifier {
	return &rekorpb.Verifier{
		Verifier:   &rekorpb.Verifier_X509Certificate{X509Certificate: &commonv1.X509Certificate{RawBytes: s.cert.Raw}},
		KeyDetails: commonv1.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256,
	}
}

func (s *testSigner) keyVerifier() *rekorpb.Verifier {
	return &rekorpb.Verifier{
		Verifier:   &rekorpb.Verifier_PublicKey{PublicKey: &rekorpb.PublicKey{RawBytes: s.pkix}},
		KeyDetails: commonv1.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256,
	}
}

func (s *testSigner) signDigest(t testing.TB, digest []byte) []byte {
	t.Helper()
	sig, err := ecdsa.SignASN1(rand.Reader, s.key, digest)
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// hashedRekord returns a hashedrekord v0.0.2 request signing artifact.
func (s *testSigner) hashedRekord(t testing.TB, artifact []byte, v *rekorpb.Verifier) *rekorpb.CreateEntryRequest {
	t.Helper()
	d := sha256.Sum256(artifact)
	return &rekorpb.CreateEntryRequest{Spec: &rekorpb.CreateEntryRequest_HashedRekordRequestV002{
		HashedRekordRequestV002: &rekorpb.HashedRekordRequestV002{
			Digest:    d[:],
			Signature: &rekorpb.Signature{Content: s.signDigest(t, d[:]), Verifier: v},
		},
	}}
}

// envelope returns a DSSE envelope over payload signed by s.
func (s *testSigner) envelope(t testing.TB, payloadType string, payload []byte) *dssepb.Envelope {
	t.Helper()
	d := sha256.Sum256(PAE(payloadType, payload))
	return &dssepb.Envelope{
		Payload:     payload,
		PayloadType: payloadType,
		Signatures:  []*dssepb.Signature{{Sig: s.signDigest(t, d[:])}},
	}
}

// dsse returns a dsse v0.0.2 request for env.
func dsseRequest(env *dssepb.Envelope, vs ...*rekorpb.Verifier) *rekorpb.CreateEntryRequest {
	return &rekorpb.CreateEntryRequest{Spec: &rekorpb.CreateEntryRequest_DsseRequestV002{
		DsseRequestV002: &rekorpb.DSSERequestV002{Envelope: env, Verifiers: vs},
	}}
}

func newLogKey(t testing.TB) crypto.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return priv
}

// openTestLog opens a POSIX-backed log in dir and closes it at the end of the test.
func openTestLog(t testing.TB, dir string, key crypto.Signer, opts Options) *Log {
	t.Helper()
	ctx := context.Background()
	d, err := storage.NewPOSIX(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	l, err := New(ctx, d, testOrigin, key, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := l.Close(ctx); err != nil && !errors.Is(err, ErrIntegrity) {
			t.Errorf("Close: %v", err)
		}
	})
	return l
}
