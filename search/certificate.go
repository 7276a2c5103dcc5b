package search

import (
	"crypto/x509"
	"encoding/asn1"
	"fmt"
)

// The reading of a Fulcio certificate's identity below follows
// verify.SummarizeCertificate (the SAN: first URI, else email, else the
// Sigstore otherName; the issuer: extension .8, else .1; raw strings in
// .1–.6, DER UTF8Strings from .8 on). Package search cannot import verify:
// verify's own tests start a whole server, which imports search. Moving
// SummarizeCertificate to a leaf package both can import is the way to one
// home for it.

// certFacts is what search reads from a signing certificate.
type certFacts struct {
	// SAN is the identity verifiers match: the first URI, else the first
	// email, else the otherName.
	SAN string
	// Issuer is the OIDC issuer.
	Issuer string
	// ext holds the Fulcio extensions by the last OID arc.
	ext map[int]string
}

var (
	oidSAN       = asn1.ObjectIdentifier{2, 5, 29, 17}
	oidOtherName = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 7}
)

// readCertificate reads a Fulcio certificate's identity and extensions. It
// fails, as verification does, on a malformed Fulcio extension or a
// certificate without SAN.
func readCertificate(cert *x509.Certificate) (*certFacts, error) {
	f := &certFacts{ext: make(map[int]string)}
	for _, ext := range cert.Extensions {
		id := ext.Id
		if len(id) != len(oidFulcio)+1 || !id[:len(oidFulcio)].Equal(oidFulcio) {
			continue
		}
		n := id[len(oidFulcio)]
		switch {
		case n <= 6:
			f.ext[n] = string(ext.Value)
		case n >= 8:
			var s string
			rest, err := asn1.Unmarshal(ext.Value, &s)
			if err != nil {
				return nil, fmt.Errorf("extension %s: %w", id, err)
			}
			if len(rest) != 0 {
				return nil, fmt.Errorf("extension %s: trailing data", id)
			}
			f.ext[n] = s
		}
	}
	f.Issuer = f.ext[8]
	if f.Issuer == "" {
		f.Issuer = f.ext[1]
	}
	switch {
	case len(cert.URIs) > 0:
		f.SAN = cert.URIs[0].String()
	case len(cert.EmailAddresses) > 0:
		f.SAN = cert.EmailAddresses[0]
	default:
		f.SAN = otherNameSAN(cert)
	}
	if f.SAN == "" {
		return nil, fmt.Errorf("certificate has no subject alternative name")
	}
	return f, nil
}

// otherNameSAN returns the single Sigstore otherName SAN (a UTF8String
// under 1.3.6.1.4.1.57264.1.7), or "".
func otherNameSAN(cert *x509.Certificate) string {
	var found []string
	for _, ext := range cert.Extensions {
		if !ext.Id.Equal(oidSAN) {
			continue
		}
		var seq asn1.RawValue
		if rest, err := asn1.Unmarshal(ext.Value, &seq); err != nil || len(rest) != 0 ||
			!seq.IsCompound || seq.Tag != asn1.TagSequence || seq.Class != asn1.ClassUniversal {
			return ""
		}
		for rest := seq.Bytes; len(rest) > 0; {
			var gn asn1.RawValue
			var err error
			if rest, err = asn1.Unmarshal(rest, &gn); err != nil {
				return ""
			}
			if gn.Tag != 0 {
				continue
			}
			var on struct {
				ID    asn1.ObjectIdentifier
				Value string `asn1:"utf8,explicit,tag:0"`
			}
			if _, err := asn1.UnmarshalWithParams(gn.FullBytes, &on, "tag:0"); err != nil || !on.ID.Equal(oidOtherName) {
				return ""
			}
			found = append(found, on.Value)
		}
	}
	if len(found) != 1 {
		return ""
	}
	return found[0]
}
