// Package cttest holds what the tests of signet's Certificate Transparency
// code share: certificate-transparency-go's view of a TBSCertificate, the
// oracle for how that library parses and re-encodes one when it removes a
// precertificate's poison or a certificate's SCT list.
package cttest

import (
	"fmt"
	"math/big"
	"time"

	ctasn1 "github.com/google/certificate-transparency-go/asn1"
	ctpkix "github.com/google/certificate-transparency-go/x509/pkix"
)

// TBSCertificate mirrors certificate-transparency-go's TBSCertificate,
// which its RemoveCTPoison and RemoveSCTList parse and re-encode.
type TBSCertificate struct {
	Raw                ctasn1.RawContent
	Version            int `asn1:"optional,explicit,default:0,tag:0"`
	SerialNumber       *big.Int
	SignatureAlgorithm ctpkix.AlgorithmIdentifier
	Issuer             ctasn1.RawValue
	Validity           struct{ NotBefore, NotAfter time.Time }
	Subject            ctasn1.RawValue
	PublicKey          struct {
		Raw       ctasn1.RawContent
		Algorithm ctpkix.AlgorithmIdentifier
		PublicKey ctasn1.BitString
	}
	UniqueID        ctasn1.BitString   `asn1:"optional,tag:1"`
	SubjectUniqueID ctasn1.BitString   `asn1:"optional,tag:2"`
	Extensions      []ctpkix.Extension `asn1:"optional,explicit,tag:3"`
}

// Parse parses tbs as certificate-transparency-go does, refusing trailing
// data as it does.
func Parse(tbs []byte) (*TBSCertificate, error) {
	var c TBSCertificate
	rest, err := ctasn1.Unmarshal(tbs, &c)
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%d bytes of trailing data after the TBSCertificate", len(rest))
	}
	return &c, nil
}

// Encode encodes c's fields as certificate-transparency-go writes them
// back, ignoring c.Raw.
func (c TBSCertificate) Encode() ([]byte, error) {
	c.Raw = nil
	return ctasn1.Marshal(c)
}
