package policy

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/signetproject/signet/keys"
	"github.com/signetproject/signet/trustroot"
	"github.com/signetproject/signet/tuf"
)

// ErrTUFTrustRoot is returned for TrustRoots with an air-gapped TUF
// repository (spec.repository), which signet cannot read yet; spec.remote
// and spec.sigstoreKeys work.
var ErrTUFTrustRoot = errors.New("air-gapped TUF trust roots (spec.repository) are not supported yet; use spec.remote or spec.sigstoreKeys")

// TrustedRoot returns the trusted material of a TrustRoot. For
// spec.remote it runs the TUF client workflow against the mirror, starting
// from spec.remote.root, and reads the trusted root target
// (spec.remote.trustedRootTarget, default trusted_root.json); any TUF
// failure is an error, so authorities naming the TrustRoot fail closed.
// For spec.sigstoreKeys it builds the material as policy-controller does: certificate
// authorities and timestamp authorities from their PEM chains (valid from
// their first certificate's notBefore), transparency and CT logs from their
// PEM keys (valid from the Unix epoch), each log identified by the SHA-256
// of its DER public key (Rekor v1, RFC 6962) and, for Ed25519 keys, also by
// its Rekor v2 signed-note ID (origin: the base URL's host name).
func (t *TrustRoot) TrustedRoot() (*trustroot.TrustedRoot, error) {
	if r := t.Spec.Remote; r != nil {
		target := r.TrustedRootTarget
		if target == "" {
			target = tuf.TargetTrustedRoot
		}
		files, err := tuf.Fetch(tuf.ClientOptions{Mirror: r.Mirror, Root: r.Root}, target)
		if err != nil {
			return nil, fmt.Errorf("%s %q: spec.remote: %w", KindTrustRoot, t.Metadata.Name, err)
		}
		tr, err := trustroot.LoadTrustedRoot(files[target])
		if err != nil {
			return nil, fmt.Errorf("%s %q: spec.remote target %s: %w", KindTrustRoot, t.Metadata.Name, target, err)
		}
		return tr, nil
	}
	sk := t.Spec.SigstoreKeys
	if sk == nil {
		return nil, fmt.Errorf("%s %q: %w", KindTrustRoot, t.Metadata.Name, ErrTUFTrustRoot)
	}
	var tr trustroot.TrustedRoot
	for i, ca := range sk.CertificateAuthorities {
		c, err := CertificateAuthorityFromPEM(ca.URI, ca.CertChain)
		if err != nil {
			return nil, fmt.Errorf("%s %q: certificateAuthority[%d]: %w", KindTrustRoot, t.Metadata.Name, i, err)
		}
		tr.CertificateAuthorities = append(tr.CertificateAuthorities, *c)
	}
	for i, ca := range sk.TimeStampAuthorities {
		tsa, err := timestampAuthorityFromPEM(ca.URI, ca.CertChain)
		if err != nil {
			return nil, fmt.Errorf("%s %q: timestampAuthorities[%d]: %w", KindTrustRoot, t.Metadata.Name, i, err)
		}
		tr.TimestampAuthorities = append(tr.TimestampAuthorities, *tsa)
	}
	for i, l := range sk.TLogs {
		logs, err := logsFromPEM(l, true)
		if err != nil {
			return nil, fmt.Errorf("%s %q: tLogs[%d]: %w", KindTrustRoot, t.Metadata.Name, i, err)
		}
		tr.Tlogs = append(tr.Tlogs, logs...)
	}
	for i, l := range sk.CTLogs {
		logs, err := logsFromPEM(l, false)
		if err != nil {
			return nil, fmt.Errorf("%s %q: ctLogs[%d]: %w", KindTrustRoot, t.Metadata.Name, i, err)
		}
		tr.CTLogs = append(tr.CTLogs, logs...)
	}
	return &tr, nil
}

// CertificateAuthorityFromPEM returns a trusted certificate authority from
// a PEM chain in any order: one self-signed root and the intermediates
// below it. It is valid from the issuing certificate's notBefore.
func CertificateAuthorityFromPEM(uri string, chainPEM []byte) (*trustroot.CertificateAuthority, error) {
	certs, err := cryptoutils.UnmarshalCertificatesFromPEM(chainPEM)
	if err != nil {
		return nil, fmt.Errorf("certificate chain: %w", err)
	}
	var root *x509.Certificate
	var intermediates []*x509.Certificate
	for _, c := range certs {
		switch {
		case !c.IsCA:
			return nil, fmt.Errorf("certificate chain: %q is not a CA certificate", c.Subject)
		case bytes.Equal(c.RawSubject, c.RawIssuer):
			if root != nil {
				return nil, errors.New("certificate chain: more than one self-signed root")
			}
			root = c
		default:
			intermediates = append(intermediates, c)
		}
	}
	if root == nil {
		return nil, errors.New("certificate chain: no self-signed root certificate")
	}
	issuing := root
	if len(intermediates) > 0 {
		issuing = intermediates[0]
	}
	return &trustroot.CertificateAuthority{URI: uri, Root: root, Intermediates: intermediates,
		ValidFor: trustroot.Window{Start: issuing.NotBefore}}, nil
}

// timestampAuthorityFromPEM returns a trusted timestamp authority from a
// PEM chain, leaf (if any) first and root last.
func timestampAuthorityFromPEM(uri string, chainPEM []byte) (*trustroot.TimestampAuthority, error) {
	certs, err := cryptoutils.UnmarshalCertificatesFromPEM(chainPEM)
	if err != nil {
		return nil, fmt.Errorf("certificate chain: %w", err)
	}
	if len(certs) == 0 {
		return nil, errors.New("certificate chain: no certificates")
	}
	tsa := &trustroot.TimestampAuthority{URI: uri, ValidFor: trustroot.Window{Start: certs[0].NotBefore}}
	if !certs[0].IsCA {
		tsa.Leaf, certs = certs[0], certs[1:]
	}
	if len(certs) == 0 {
		return nil, errors.New("certificate chain: no CA certificate above the TSA certificate")
	}
	tsa.Root, tsa.Intermediates = certs[len(certs)-1], certs[:len(certs)-1]
	return tsa, nil
}

// logsFromPEM returns the log under each ID entries may name it by.
func logsFromPEM(l TransparencyLogInstance, rekorV2 bool) ([]trustroot.Log, error) {
	switch strings.ToLower(l.HashAlgorithm) {
	case "sha-256", "sha256":
	default:
		return nil, fmt.Errorf("hashAlgorithm %q: only sha-256 logs are supported", l.HashAlgorithm)
	}
	pub, err := keys.LoadPublicKey(l.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("publicKey: %w", err)
	}
	id, err := trustroot.RekorV1LogID(pub)
	if err != nil {
		return nil, fmt.Errorf("publicKey: %w", err)
	}
	valid := trustroot.Window{Start: time.Unix(0, 0)}
	out := []trustroot.Log{{BaseURL: l.BaseURL, LogID: id, PublicKey: pub, ValidFor: valid}}
	if ed, ok := pub.(ed25519.PublicKey); ok && rekorV2 {
		origin, err := trustroot.CheckpointOrigin(l.BaseURL)
		if err != nil {
			return nil, fmt.Errorf("baseURL %q: a Rekor v2 log needs a URL with a host (its checkpoint origin): %w", l.BaseURL, err)
		}
		v2ID, err := trustroot.RekorV2LogID(origin, ed)
		if err != nil {
			return nil, fmt.Errorf("publicKey: %w", err)
		}
		out = append(out, trustroot.Log{BaseURL: l.BaseURL, LogID: v2ID, PublicKey: crypto.PublicKey(ed), ValidFor: valid})
	}
	return out, nil
}
