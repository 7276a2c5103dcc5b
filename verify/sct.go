package verify

import (
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"

	ct "github.com/google/certificate-transparency-go"
	"github.com/google/certificate-transparency-go/ctutil"
	"github.com/google/certificate-transparency-go/tls"
	ctx509 "github.com/google/certificate-transparency-go/x509"
	"github.com/google/certificate-transparency-go/x509util"
)

var oidSCTList = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 4, 2}

// verifySCTs checks the SCTs embedded in cert (RFC 6962 precertificate
// SCTs) against the trusted CT logs and returns how many distinct logs
// vouched for it.
func (v *Verifier) verifySCTs(cert *x509.Certificate, chain []*x509.Certificate) (int, error) {
	scts, err := embeddedSCTs(cert)
	if err != nil {
		return 0, fail(CheckSCT, "%w", err)
	}
	if len(chain) < 2 {
		return 0, fail(CheckSCT, "certificate chain has no issuer")
	}
	var ctChain []*ctx509.Certificate
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
		if ctChain == nil {
			if ctChain, err = ctParse(cert.Raw, chain[1].Raw); err != nil {
				return 0, fail(CheckSCT, "%w", err)
			}
		}
		if err := ctutil.VerifySCT(log.PublicKey, ctChain, sct, true); err != nil {
			errs = append(errs, fmt.Errorf("SCT from %s: %w", log.BaseURL, err))
			continue
		}
		verified[id] = true
	}
	if len(verified) < v.scts {
		if len(errs) == 0 {
			return 0, fail(CheckSCT, "%d verified SCTs, need %d", len(verified), v.scts)
		}
		return 0, fail(CheckSCT, "%d verified SCTs, need %d: %w", len(verified), v.scts, errors.Join(errs...))
	}
	return len(verified), nil
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
