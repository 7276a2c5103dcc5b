package trustroot

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"time"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	prototrustroot "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// ErrInvalidTrustedRoot is wrapped by every error LoadTrustedRoot returns
// for a document that is not a usable trusted_root.json.
var ErrInvalidTrustedRoot = errors.New("invalid trusted root")

// TrustedRoot is the parsed content of a trusted_root.json: everything a
// verifier trusts. Load it once and share it; it is never modified by
// verification.
type TrustedRoot struct {
	CertificateAuthorities []CertificateAuthority
	TimestampAuthorities   []TimestampAuthority
	Tlogs                  []Log
	CTLogs                 []Log
}

// Window is a validity period. A zero Start or End leaves that side open.
type Window struct {
	Start time.Time
	End   time.Time
}

// Contains reports whether t lies inside the window (bounds included).
func (w Window) Contains(t time.Time) bool {
	if !w.Start.IsZero() && t.Before(w.Start) {
		return false
	}
	if !w.End.IsZero() && t.After(w.End) {
		return false
	}
	return true
}

// CertificateAuthority is a trusted issuer of signing certificates.
type CertificateAuthority struct {
	URI           string
	Root          *x509.Certificate
	Intermediates []*x509.Certificate // issuing certificate first
	ValidFor      Window
}

// TimestampAuthority is a trusted RFC 3161 timestamp authority. Leaf is the
// signing certificate when the trusted root names it, else nil.
type TimestampAuthority struct {
	URI           string
	Root          *x509.Certificate
	Intermediates []*x509.Certificate
	Leaf          *x509.Certificate
	ValidFor      Window
}

// Log is a trusted transparency log (Rekor) or certificate transparency
// log, identified in entries and SCTs by LogID.
type Log struct {
	BaseURL   string
	LogID     []byte
	PublicKey crypto.PublicKey
	ValidFor  Window
}

// Tlog returns the transparency log with the given log ID. When the trusted
// root lists an ID twice, the last entry wins.
func (r *TrustedRoot) Tlog(logID []byte) (*Log, bool) { return findLog(r.Tlogs, logID) }

// CTLog returns the certificate transparency log with the given log ID.
func (r *TrustedRoot) CTLog(logID []byte) (*Log, bool) { return findLog(r.CTLogs, logID) }

func findLog(logs []Log, id []byte) (*Log, bool) {
	for i := len(logs) - 1; i >= 0; i-- {
		if bytes.Equal(logs[i].LogID, id) {
			return &logs[i], true
		}
	}
	return nil, false
}

// LoadTrustedRootFile reads and parses a trusted_root.json file.
func LoadTrustedRootFile(path string) (*TrustedRoot, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read trusted root: %w", err)
	}
	return LoadTrustedRoot(data)
}

// LoadTrustedRoot parses a trusted_root.json document (media type
// MediaTypeTrustedRoot). Certificates and keys are parsed eagerly so that a
// broken root fails here, not during verification.
func LoadTrustedRoot(data []byte) (*TrustedRoot, error) {
	var pb prototrustroot.TrustedRoot
	if err := protojson.Unmarshal(data, &pb); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidTrustedRoot, err)
	}
	if pb.GetMediaType() != MediaTypeTrustedRoot {
		return nil, fmt.Errorf("%w: unsupported media type %q", ErrInvalidTrustedRoot, pb.GetMediaType())
	}
	var tr TrustedRoot
	for i, ca := range pb.GetCertificateAuthorities() {
		chain, err := loadChain(ca)
		if err != nil {
			return nil, fmt.Errorf("%w: certificate authority %d: %w", ErrInvalidTrustedRoot, i, err)
		}
		tr.CertificateAuthorities = append(tr.CertificateAuthorities, CertificateAuthority{
			URI:           ca.GetUri(),
			Root:          chain[len(chain)-1],
			Intermediates: chain[:len(chain)-1],
			ValidFor:      loadWindow(ca.GetValidFor()),
		})
	}
	for i, ca := range pb.GetTimestampAuthorities() {
		chain, err := loadChain(ca)
		if err != nil {
			return nil, fmt.Errorf("%w: timestamp authority %d: %w", ErrInvalidTrustedRoot, i, err)
		}
		tsa := TimestampAuthority{URI: ca.GetUri(), ValidFor: loadWindow(ca.GetValidFor())}
		if !chain[0].IsCA {
			tsa.Leaf, chain = chain[0], chain[1:]
		}
		if len(chain) > 0 {
			tsa.Root = chain[len(chain)-1]
			tsa.Intermediates = chain[:len(chain)-1]
		}
		tr.TimestampAuthorities = append(tr.TimestampAuthorities, tsa)
	}
	var err error
	if tr.Tlogs, err = loadLogs(pb.GetTlogs()); err != nil {
		return nil, fmt.Errorf("%w: tlog %w", ErrInvalidTrustedRoot, err)
	}
	if tr.CTLogs, err = loadLogs(pb.GetCtlogs()); err != nil {
		return nil, fmt.Errorf("%w: ctlog %w", ErrInvalidTrustedRoot, err)
	}
	return &tr, nil
}

func loadChain(ca *prototrustroot.CertificateAuthority) ([]*x509.Certificate, error) {
	certs := ca.GetCertChain().GetCertificates()
	if len(certs) == 0 {
		return nil, errors.New("empty certificate chain")
	}
	chain := make([]*x509.Certificate, len(certs))
	for i, c := range certs {
		cert, err := x509.ParseCertificate(c.GetRawBytes())
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", i, err)
		}
		chain[i] = cert
	}
	return chain, nil
}

func loadWindow(r *protocommon.TimeRange) Window {
	var w Window
	if r.GetStart() != nil {
		w.Start = r.GetStart().AsTime()
	}
	if r.GetEnd() != nil {
		w.End = r.GetEnd().AsTime()
	}
	return w
}

func loadLogs(in []*prototrustroot.TransparencyLogInstance) ([]Log, error) {
	var out []Log
	for i, l := range in {
		if l.GetHashAlgorithm() != protocommon.HashAlgorithm_SHA2_256 {
			return nil, fmt.Errorf("%d: unsupported hash algorithm %s", i, l.GetHashAlgorithm())
		}
		if l.GetLogId().GetKeyId() == nil {
			return nil, fmt.Errorf("%d: missing log ID", i)
		}
		if l.GetPublicKey().GetRawBytes() == nil {
			return nil, fmt.Errorf("%d: missing public key", i)
		}
		if l.GetPublicKey().GetValidFor().GetStart() == nil {
			return nil, fmt.Errorf("%d: public key has no validity start", i)
		}
		key, err := loadLogKey(l.GetPublicKey())
		if err != nil {
			return nil, fmt.Errorf("%d (%s): %w", i, l.GetBaseUrl(), err)
		}
		out = append(out, Log{
			BaseURL:   l.GetBaseUrl(),
			LogID:     l.GetLogId().GetKeyId(),
			PublicKey: key,
			ValidFor:  loadWindow(l.GetPublicKey().GetValidFor()),
		})
	}
	return out, nil
}

func loadLogKey(pk *protocommon.PublicKey) (crypto.PublicKey, error) {
	d := pk.GetKeyDetails()
	//lint:ignore SA1019 old trusted roots still use the deprecated RSA PKCS#1 key details
	if d == protocommon.PublicKeyDetails_PKCS1_RSA_PKCS1V5 {
		return x509.ParsePKCS1PublicKey(pk.GetRawBytes())
	}
	key, err := x509.ParsePKIXPublicKey(pk.GetRawBytes())
	if err != nil {
		return nil, err
	}
	var ok bool
	switch d {
	case protocommon.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256,
		protocommon.PublicKeyDetails_PKIX_ECDSA_P384_SHA_384,
		protocommon.PublicKeyDetails_PKIX_ECDSA_P521_SHA_512:
		_, ok = key.(*ecdsa.PublicKey)
	case protocommon.PublicKeyDetails_PKIX_RSA_PKCS1V15_2048_SHA256,
		protocommon.PublicKeyDetails_PKIX_RSA_PKCS1V15_3072_SHA256,
		protocommon.PublicKeyDetails_PKIX_RSA_PKCS1V15_4096_SHA256:
		_, ok = key.(*rsa.PublicKey)
	case protocommon.PublicKeyDetails_PKIX_ED25519:
		_, ok = key.(ed25519.PublicKey)
	default:
		return nil, fmt.Errorf("unsupported key type %s", d)
	}
	if !ok {
		return nil, fmt.Errorf("public key is %T, not %s", key, d)
	}
	return key, nil
}
