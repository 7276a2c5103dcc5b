package verify

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"time"

	"github.com/digitorus/pkcs7"
	"github.com/digitorus/timestamp"

	"github.com/signetproject/signet/bundle"
	"github.com/signetproject/signet/trustroot"
)

// tsaVerifier holds the prepared trust anchors of one timestamp authority.
type tsaVerifier struct {
	tsa   *trustroot.TimestampAuthority
	roots *x509.CertPool
}

func newTSAVerifier(tsa *trustroot.TimestampAuthority) *tsaVerifier {
	v := &tsaVerifier{tsa: tsa}
	if tsa.Root != nil {
		v.roots = x509.NewCertPool()
		v.roots.AddCert(tsa.Root)
	}
	return v
}

// verifyTimestamps returns the RFC 3161 timestamps over the bundle's
// signature that verify, at most one per authority. Timestamps that do not
// verify are skipped; the thresholds decide whether enough remain.
func (v *Verifier) verifyTimestamps(b *bundle.Bundle) ([]Timestamp, error) {
	if v.opts.SignedTimestampThreshold == 0 && v.opts.ObserverTimestampThreshold == 0 {
		return nil, nil
	}
	sig := b.Signature()
	var out []Timestamp
	var errs []error
	for i, der := range b.Timestamps() {
		ts, err := v.verifyTimestamp(der, sig)
		if err != nil {
			errs = append(errs, fmt.Errorf("timestamp %d: %w", i, err))
			continue
		}
		if slicesContainsURI(out, ts.URI) {
			continue
		}
		out = append(out, ts)
	}
	if len(out) < v.opts.SignedTimestampThreshold {
		if len(errs) == 0 {
			return nil, fail(CheckTimestamp, "%d verified signed timestamps, need %d", len(out), v.opts.SignedTimestampThreshold)
		}
		return nil, fail(CheckTimestamp, "%d verified signed timestamps, need %d: %w",
			len(out), v.opts.SignedTimestampThreshold, errors.Join(errs...))
	}
	return out, nil
}

func slicesContainsURI(ts []Timestamp, uri string) bool {
	for _, t := range ts {
		if t.URI == uri {
			return true
		}
	}
	return false
}

func (v *Verifier) verifyTimestamp(der, signature []byte) (Timestamp, error) {
	ts, err := timestamp.ParseResponse(der)
	if err != nil {
		return Timestamp{}, fmt.Errorf("parse: %w", err)
	}
	switch ts.HashAlgorithm {
	case crypto.SHA256, crypto.SHA384, crypto.SHA512:
	default:
		return Timestamp{}, fmt.Errorf("unsupported hash algorithm %v", ts.HashAlgorithm)
	}
	h := ts.HashAlgorithm.New()
	h.Write(signature)
	if !bytes.Equal(h.Sum(nil), ts.HashedMessage) {
		return Timestamp{}, errors.New("timestamp is not over the bundle's signature")
	}
	var errs []error
	for _, tv := range v.tsas {
		if err := tv.verify(ts); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", tv.tsa.URI, err))
			continue
		}
		return Timestamp{Kind: TimestampAuthority, URI: tv.tsa.URI, Time: ts.Time}, nil
	}
	if len(errs) == 0 {
		return Timestamp{}, errors.New("no trusted timestamp authorities")
	}
	return Timestamp{}, errors.Join(errs...)
}

var oidExtKeyUsage = asn1.ObjectIdentifier{2, 5, 29, 37}

// verify checks that the authority signed ts. The CMS signature was
// already checked by timestamp.ParseResponse when the token embeds its
// signing certificate.
func (tv *tsaVerifier) verify(ts *timestamp.Timestamp) error {
	tsa := tv.tsa
	if tv.roots == nil {
		return errors.New("authority has no root certificate")
	}
	p7, err := pkcs7.Parse(ts.RawToken)
	if err != nil {
		return fmt.Errorf("parse token: %w", err)
	}
	embedded := len(p7.Certificates) > 0
	if !embedded {
		if tsa.Leaf == nil {
			return errors.New("token carries no certificate and the authority names no leaf")
		}
		p7.Certificates = []*x509.Certificate{tsa.Leaf}
		if err := p7.Verify(); err != nil {
			return fmt.Errorf("token signature: %w", err)
		}
	}
	signer := p7.GetOnlySigner()
	if signer == nil {
		return errors.New("token must have exactly one signer")
	}
	if tsa.Leaf != nil && !tsa.Leaf.Equal(signer) {
		return errors.New("token signer is not the authority's certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range tsa.Intermediates {
		inter.AddCert(c)
	}
	if embedded {
		for _, c := range p7.Certificates {
			inter.AddCert(c)
		}
	}
	_, err = signer.Verify(x509.VerifyOptions{
		Roots:         tv.roots,
		Intermediates: inter,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping},
		CurrentTime:   ts.Time,
	})
	if err != nil {
		return fmt.Errorf("signer certificate: %w", err)
	}
	if err := checkTSALeaf(signer); err != nil {
		return err
	}
	if !tsa.ValidFor.Contains(ts.Time) {
		return fmt.Errorf("time %s outside the authority's validity", ts.Time.UTC().Format(time.RFC3339))
	}
	return nil
}

// checkTSALeaf applies RFC 3161 §2.3: the signing certificate is an end
// entity whose only, critical, extended key usage is timeStamping. (That
// no certificate of the chain forbids timestamping, x509.Verify already
// checked: KeyUsages applies to the whole chain.)
func checkTSALeaf(leaf *x509.Certificate) error {
	if leaf.IsCA {
		return errors.New("signer certificate is a CA")
	}
	critical := false
	for _, ext := range leaf.Extensions {
		if ext.Id.Equal(oidExtKeyUsage) {
			critical = ext.Critical
			break
		}
	}
	if !critical {
		return errors.New("signer certificate's extended key usage is not critical")
	}
	if len(leaf.ExtKeyUsage)+len(leaf.UnknownExtKeyUsage) != 1 || len(leaf.ExtKeyUsage) != 1 ||
		leaf.ExtKeyUsage[0] != x509.ExtKeyUsageTimeStamping {
		return errors.New("signer certificate's only extended key usage must be timeStamping")
	}
	return nil
}
