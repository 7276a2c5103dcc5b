package ctlog

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

// ParseRoots parses a PEM file of CA certificates a log accepts chains
// to (besides the CA's own root), e.g. the root of another CA logging into
// it. Every block must be a CERTIFICATE of a CA (basic constraints CA:TRUE,
// and, if it has a key usage extension, certificate signing); anything
// else in the file, or no certificate at all, is an error naming it.
func ParseRoots(data []byte) ([]*x509.Certificate, error) {
	var roots []*x509.Certificate
	rest := data
	for n := 1; ; n++ {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("PEM block %d is a %q, want CERTIFICATE", n, block.Type)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", n, err)
		}
		if !c.BasicConstraintsValid || !c.IsCA {
			return nil, fmt.Errorf("certificate %d (%s) is not a CA certificate (basic constraints CA:TRUE)", n, c.Subject)
		}
		if c.KeyUsage != 0 && c.KeyUsage&x509.KeyUsageCertSign == 0 {
			return nil, fmt.Errorf("certificate %d (%s) may not sign certificates (key usage lacks certSign)", n, c.Subject)
		}
		roots = append(roots, c)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("data after PEM certificate %d is not a PEM block", len(roots))
	}
	if len(roots) == 0 {
		return nil, errors.New("no PEM certificate")
	}
	return roots, nil
}
