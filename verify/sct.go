package verify

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	ct "github.com/google/certificate-transparency-go"
	"github.com/google/certificate-transparency-go/ctutil"
	"github.com/google/certificate-transparency-go/tls"
	ctx509 "github.com/google/certificate-transparency-go/x509"
	"github.com/google/certificate-transparency-go/x509util"

	"github.com/signetproject/signet/trustroot"
)

var oidSCTList = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 4, 2}

// verifySCTs checks the SCTs embedded in cert (RFC 6962 precertificate
// SCTs) against the trusted CT logs and returns how many distinct logs
// vouched for it. chain[1] is cert's issuer.
func (v *Verifier) verifySCTs(cert *x509.Certificate, chain []*x509.Certificate) (int, error) {
	scts, err := embeddedSCTs(cert)
	if err != nil {
		return 0, fail(CheckSCT, "%w", err)
	}
	verified := map[string]bool{}
	var errs []error
	for _, sct := range scts {
		id := string(sct.LogID.KeyID[:])
		log, ok := v.ct[id]
		if !ok || verified[id] {
			continue
		}
		if !log.ValidFor.Contains(ct.TimestampToTime(sct.Timestamp)) {
			errs = append(errs, fmt.Errorf("SCT from %s outside the log's validity", log.BaseURL))
			continue
		}
		if err := verifySCT(log, cert, chain[1], sct); err != nil {
			errs = append(errs, fmt.Errorf("SCT from %s: %w", log.BaseURL, err))
			continue
		}
		verified[id] = true
	}
	if len(verified) < v.minSCTs {
		if len(errs) == 0 {
			return 0, fail(CheckSCT, "%d verified SCTs, need %d", len(verified), v.minSCTs)
		}
		return 0, fail(CheckSCT, "%d verified SCTs, need %d: %w", len(verified), v.minSCTs, errors.Join(errs...))
	}
	return len(verified), nil
}

// sctKey identifies an SCT check: the certificate and its issuer's key,
// which with the (immutable) trusted CT logs decide it.
type sctKey struct {
	leaf, issuerKey [sha256.Size]byte
}

// cachedSCTs memoizes verifySCTs' successes, as cachedChainAt memoizes
// chains: an SCT check is a pure function of the certificate, its issuer's
// key and the trusted root, and the same certificates come back.
func (v *Verifier) cachedSCTs(cert *x509.Certificate, chain []*x509.Certificate) (int, error) {
	if len(chain) < 2 {
		return 0, fail(CheckSCT, "certificate chain has no issuer")
	}
	key := sctKey{leaf: sha256.Sum256(cert.Raw), issuerKey: sha256.Sum256(chain[1].RawSubjectPublicKeyInfo)}
	v.sctMu.Lock()
	n, ok := v.scts[key]
	v.sctMu.Unlock()
	if ok {
		return n, nil
	}
	n, err := v.verifySCTs(cert, chain)
	if err != nil {
		return 0, err
	}
	v.sctMu.Lock()
	if len(v.scts) >= maxCachedChains {
		clear(v.scts)
	}
	v.scts[key] = n
	v.sctMu.Unlock()
	return n, nil
}

// embeddedSCTs parses the SCT list extension of cert, if any.
func embeddedSCTs(cert *x509.Certificate) ([]*ct.SignedCertificateTimestamp, error) {
	for _, ext := range cert.Extensions {
		if !ext.Id.Equal(oidSCTList) {
			continue
		}
		var list []byte
		if rest, err := asn1.Unmarshal(ext.Value, &list); err != nil || len(rest) != 0 {
			return nil, errors.New("malformed SCT list extension")
		}
		var sl ctx509.SignedCertificateTimestampList
		if rest, err := tls.Unmarshal(list, &sl); err != nil || len(rest) != 0 {
			return nil, errors.New("malformed SCT list")
		}
		scts, err := x509util.ParseSCTsFromSCTList(&sl)
		if err != nil {
			return nil, fmt.Errorf("parse SCT list: %w", err)
		}
		return scts, nil
	}
	return nil, nil
}

// verifySCT checks the signature of an SCT embedded in cert over the
// precertificate it stands for (RFC 6962 §3.2). The precertificate's
// TBSCertificate is cut out of cert's own DER by precertTBS. CT logs built
// on certificate-transparency-go sign that library's re-encoding of it,
// which differs for a TBSCertificate not in the form it would write itself;
// so when the signature does not verify over the DER, the library's
// re-encoding (ctutil.VerifySCT) gets the last word.
func verifySCT(log *trustroot.Log, cert, issuer *x509.Certificate, sct *ct.SignedCertificateTimestamp) error {
	data, err := sctSignedData(cert, issuer, sct)
	if err == nil && tls.VerifySignature(log.PublicKey, data, tls.DigitallySigned(sct.Signature)) == nil {
		return nil
	}
	chain, err := ctParse(cert.Raw, issuer.Raw)
	if err != nil {
		return err
	}
	return ctutil.VerifySCT(log.PublicKey, chain, sct, true)
}

// sctSignedData is the digitally-signed struct of an SCT for a
// precertificate: RFC 6962 §3.2's CertificateTimestamp with a precert_entry.
func sctSignedData(cert, issuer *x509.Certificate, sct *ct.SignedCertificateTimestamp) ([]byte, error) {
	if sct.SCTVersion != ct.V1 {
		return nil, fmt.Errorf("unknown SCT version %d", sct.SCTVersion)
	}
	issuerKeyHash := sha256.Sum256(issuer.RawSubjectPublicKeyInfo)
	tbs := cert.RawTBSCertificate
	b := cryptobyte.NewBuilder(make([]byte, 0, 64+len(tbs)+len(sct.Extensions)))
	b.AddUint8(uint8(ct.V1))
	b.AddUint8(uint8(ct.CertificateTimestampSignatureType))
	b.AddUint64(sct.Timestamp)
	b.AddUint16(uint16(ct.PrecertLogEntryType))
	b.AddBytes(issuerKeyHash[:])
	b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) { addPrecertTBS(b, tbs) })
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(sct.Extensions) })
	return b.Bytes()
}

// precertTBS removes the SCT list extension from a DER TBSCertificate,
// which must hold exactly one, leaving every other byte as it was (an
// extensions field left empty stays, as certificate-transparency-go, which
// CT logs use, writes it).
func precertTBS(tbs []byte) ([]byte, error) {
	b := cryptobyte.NewBuilder(make([]byte, 0, len(tbs)))
	addPrecertTBS(b, tbs)
	return b.Bytes()
}

var (
	tagExtensions = cbasn1.Tag(3).Constructed().ContextSpecific()
	// derSCTList is the content of the SCT list's OBJECT IDENTIFIER (DER
	// has one encoding of an OID).
	derSCTList = []byte{0x2b, 0x06, 0x01, 0x04, 0x01, 0xd6, 0x79, 0x02, 0x04, 0x02}
)

// addPrecertTBS adds precertTBS(tbs) to b, or sets b's error.
func addPrecertTBS(b *cryptobyte.Builder, tbs []byte) {
	in := cryptobyte.String(tbs)
	var fields cryptobyte.String
	if !in.ReadASN1(&fields, cbasn1.SEQUENCE) || !in.Empty() {
		b.SetError(errors.New("malformed TBSCertificate"))
		return
	}
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		found := false
		for !fields.Empty() {
			var field cryptobyte.String
			var tag cbasn1.Tag
			if !fields.ReadAnyASN1Element(&field, &tag) {
				b.SetError(errors.New("malformed TBSCertificate field"))
				return
			}
			if tag != tagExtensions {
				b.AddBytes(field)
				continue
			}
			if found {
				b.SetError(errors.New("two extensions fields"))
				return
			}
			before, after, err := splitSCTList(field)
			if err != nil {
				b.SetError(err)
				return
			}
			found = true
			b.AddASN1(tagExtensions, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddBytes(before)
					b.AddBytes(after)
				})
			})
		}
		if !found {
			b.SetError(errors.New("no extensions"))
		}
	})
}

// splitSCTList returns the extensions before and after the one SCT list
// in the extensions field of a TBSCertificate, as DER.
func splitSCTList(field cryptobyte.String) (before, after []byte, err error) {
	var wrapped, exts cryptobyte.String
	if !field.ReadASN1(&wrapped, tagExtensions) || !wrapped.ReadASN1(&exts, cbasn1.SEQUENCE) || !wrapped.Empty() {
		return nil, nil, errors.New("malformed extensions")
	}
	all, found := exts, 0
	for !exts.Empty() {
		start := len(all) - len(exts)
		var body, oid cryptobyte.String
		if !exts.ReadASN1(&body, cbasn1.SEQUENCE) || !body.ReadASN1(&oid, cbasn1.OBJECT_IDENTIFIER) {
			return nil, nil, errors.New("malformed extension")
		}
		if bytes.Equal(oid, derSCTList) {
			found++
			before, after = all[:start], all[len(all)-len(exts):]
		}
	}
	if found != 1 {
		return nil, nil, fmt.Errorf("%d SCT list extensions, want one", found)
	}
	return before, after, nil
}

func ctParse(leaf, issuer []byte) ([]*ctx509.Certificate, error) {
	l, err := ctx509.ParseCertificate(leaf)
	if err != nil {
		return nil, fmt.Errorf("parse certificate for SCT: %w", err)
	}
	i, err := ctx509.ParseCertificate(issuer)
	if err != nil {
		return nil, fmt.Errorf("parse issuer for SCT: %w", err)
	}
	return []*ctx509.Certificate{l, i}, nil
}
