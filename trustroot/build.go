// Package trustroot reads and writes Sigstore trust material:
// trusted_root.json (the keys and certificates a verifier trusts) and
// signing_config.json (the services a signer uses).
package trustroot

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	prototrustroot "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Media types of the documents this package writes.
const (
	MediaTypeTrustedRoot   = "application/vnd.dev.sigstore.trustedroot+json;version=0.1"
	MediaTypeSigningConfig = "application/vnd.dev.sigstore.signingconfig.v0.2+json"
)

// Material is the trust material a server publishes.
type Material struct {
	CertificateAuthorities []MaterialAuthority
	TimestampAuthorities   []MaterialAuthority
	Tlogs                  []MaterialLog
	CTLogs                 []MaterialLog
}

// MaterialAuthority is a certificate authority or timestamp authority.
type MaterialAuthority struct {
	URI      string
	Chain    []*x509.Certificate // issuing certificate first, root last
	Start    time.Time
	End      time.Time // zero while current; set when the key was rotated out
	Operator string
}

// MaterialLog is a transparency log or CT log.
type MaterialLog struct {
	BaseURL   string
	PublicKey crypto.PublicKey
	// LogID identifies the log in entries (Rekor v1: SHA-256 of the DER
	// public key). CheckpointKeyID, when set, is the signed-note key ID of
	// its checkpoints (Rekor v2).
	LogID           []byte
	CheckpointKeyID []byte
	Start           time.Time
	End             time.Time // zero while current; set when the key was rotated out
	Operator        string
}

// BuildTrustedRoot encodes m as trusted_root.json.
func BuildTrustedRoot(m Material) ([]byte, error) {
	tr := &prototrustroot.TrustedRoot{MediaType: MediaTypeTrustedRoot}
	for i, a := range m.CertificateAuthorities {
		ca, err := authority(a)
		if err != nil {
			return nil, fmt.Errorf("certificate authority %d: %w", i, err)
		}
		tr.CertificateAuthorities = append(tr.CertificateAuthorities, ca)
	}
	for i, a := range m.TimestampAuthorities {
		ta, err := authority(a)
		if err != nil {
			return nil, fmt.Errorf("timestamp authority %d: %w", i, err)
		}
		tr.TimestampAuthorities = append(tr.TimestampAuthorities, ta)
	}
	for i, l := range m.Tlogs {
		tl, err := logInstance(l)
		if err != nil {
			return nil, fmt.Errorf("tlog %d: %w", i, err)
		}
		tr.Tlogs = append(tr.Tlogs, tl)
	}
	for i, l := range m.CTLogs {
		tl, err := logInstance(l)
		if err != nil {
			return nil, fmt.Errorf("ctlog %d: %w", i, err)
		}
		tr.Ctlogs = append(tr.Ctlogs, tl)
	}
	return marshal(tr)
}

func authority(a MaterialAuthority) (*prototrustroot.CertificateAuthority, error) {
	if len(a.Chain) == 0 {
		return nil, errors.New("empty certificate chain")
	}
	chain := &protocommon.X509CertificateChain{}
	for _, c := range a.Chain {
		chain.Certificates = append(chain.Certificates, &protocommon.X509Certificate{RawBytes: c.Raw})
	}
	root := a.Chain[len(a.Chain)-1]
	subject := &protocommon.DistinguishedName{CommonName: root.Subject.CommonName}
	if len(root.Subject.Organization) > 0 {
		subject.Organization = root.Subject.Organization[0]
	}
	return &prototrustroot.CertificateAuthority{
		Subject:   subject,
		Uri:       a.URI,
		CertChain: chain,
		ValidFor:  timeRange(startOr(a.Start, a.Chain[0].NotBefore), a.End),
		Operator:  a.Operator,
	}, nil
}

func logInstance(l MaterialLog) (*prototrustroot.TransparencyLogInstance, error) {
	der, err := x509.MarshalPKIXPublicKey(l.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	details, err := KeyDetails(l.PublicKey)
	if err != nil {
		return nil, err
	}
	if l.Start.IsZero() {
		return nil, errors.New("log has no start time")
	}
	in := &prototrustroot.TransparencyLogInstance{
		BaseUrl:       l.BaseURL,
		HashAlgorithm: protocommon.HashAlgorithm_SHA2_256,
		PublicKey: &protocommon.PublicKey{
			RawBytes:   der,
			KeyDetails: details,
			ValidFor:   timeRange(l.Start, l.End),
		},
		LogId:    &protocommon.LogId{KeyId: l.LogID},
		Operator: l.Operator,
	}
	if len(l.CheckpointKeyID) > 0 {
		in.CheckpointKeyId = &protocommon.LogId{KeyId: l.CheckpointKeyID}
	}
	return in, nil
}

// KeyDetails names the signature scheme of a public key as the
// protobuf-specs PublicKeyDetails enum does.
func KeyDetails(pub crypto.PublicKey) (protocommon.PublicKeyDetails, error) {
	switch k := pub.(type) {
	case ed25519.PublicKey:
		return protocommon.PublicKeyDetails_PKIX_ED25519, nil
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return protocommon.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256, nil
		case elliptic.P384():
			return protocommon.PublicKeyDetails_PKIX_ECDSA_P384_SHA_384, nil
		case elliptic.P521():
			return protocommon.PublicKeyDetails_PKIX_ECDSA_P521_SHA_512, nil
		}
	case *rsa.PublicKey:
		switch k.N.BitLen() {
		case 2048:
			return protocommon.PublicKeyDetails_PKIX_RSA_PKCS1V15_2048_SHA256, nil
		case 3072:
			return protocommon.PublicKeyDetails_PKIX_RSA_PKCS1V15_3072_SHA256, nil
		case 4096:
			return protocommon.PublicKeyDetails_PKIX_RSA_PKCS1V15_4096_SHA256, nil
		}
	}
	return 0, fmt.Errorf("unsupported public key %T", pub)
}

// Service is one endpoint in a signing config.
type Service struct {
	URL string
	// MajorAPIVersion is the service's API generation: 1 for a Fulcio CA,
	// an OIDC provider and an RFC 3161 TSA; 1 or 2 for Rekor.
	MajorAPIVersion uint32
	Start           time.Time
	End             time.Time // zero: open-ended
	Operator        string
}

// SigningServices lists the services a signing config points clients to.
type SigningServices struct {
	CAs, OIDCProviders, Tlogs, TSAs []Service
}

// BuildSigningConfig encodes s as a v0.2 signing_config.json. Clients use
// any one CA and OIDC provider, and every listed log and TSA ("ANY" would
// be enough; this matches the public-good instance's choice of ANY for
// logs and TSAs).
func BuildSigningConfig(s SigningServices) ([]byte, error) {
	sc := &prototrustroot.SigningConfig{
		MediaType:       MediaTypeSigningConfig,
		CaUrls:          services(s.CAs),
		OidcUrls:        services(s.OIDCProviders),
		RekorTlogUrls:   services(s.Tlogs),
		TsaUrls:         services(s.TSAs),
		RekorTlogConfig: &prototrustroot.ServiceConfiguration{Selector: prototrustroot.ServiceSelector_ANY},
		TsaConfig:       &prototrustroot.ServiceConfiguration{Selector: prototrustroot.ServiceSelector_ANY},
	}
	for _, list := range [][]*prototrustroot.Service{sc.CaUrls, sc.OidcUrls, sc.RekorTlogUrls, sc.TsaUrls} {
		for _, svc := range list {
			if svc.Url == "" || svc.MajorApiVersion == 0 {
				return nil, fmt.Errorf("service %q: url and major API version are required", svc.Url)
			}
		}
	}
	return marshal(sc)
}

func services(in []Service) []*prototrustroot.Service {
	var out []*prototrustroot.Service
	for _, s := range in {
		vf := &protocommon.TimeRange{Start: timestamppb.New(s.Start)}
		if !s.End.IsZero() {
			vf.End = timestamppb.New(s.End)
		}
		out = append(out, &prototrustroot.Service{
			Url:             s.URL,
			MajorApiVersion: s.MajorAPIVersion,
			ValidFor:        vf,
			Operator:        s.Operator,
		})
	}
	return out
}

// timeRange is a validFor window; a zero end leaves it open.
func timeRange(start, end time.Time) *protocommon.TimeRange {
	r := &protocommon.TimeRange{Start: timestamppb.New(start)}
	if !end.IsZero() {
		r.End = timestamppb.New(end)
	}
	return r
}

func startOr(t, fallback time.Time) time.Time {
	if t.IsZero() {
		return fallback
	}
	return t
}

func marshal(m proto.Message) ([]byte, error) {
	return protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(m)
}
