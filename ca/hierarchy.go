package ca

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/signetproject/signet/keys"
)

// Validity of the CA certificates a fresh server creates.
const (
	RootValidity         = 10 * 365 * 24 * time.Hour
	IntermediateValidity = 5 * 365 * 24 * time.Hour
)

// NewHierarchy creates a self-signed root certificate for rootKey and an
// intermediate certificate for intermediateKey signed by it, named after
// org. It returns the chain intermediate first.
func NewHierarchy(org string, rootKey, intermediateKey crypto.Signer, now time.Time) ([]*x509.Certificate, error) {
	notBefore := now.Add(-time.Minute).UTC().Truncate(time.Second)
	// x509.CreateCertificate draws the serials (RFC 5280 4.1.2.2).
	rootTmpl := &x509.Certificate{
		Subject:               pkix.Name{Organization: []string{org}, CommonName: org + " root"},
		NotBefore:             notBefore,
		NotAfter:              notBefore.Add(RootValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            1,
	}
	rootDER, err := x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, rootKey.Public(), rootKey)
	if err != nil {
		return nil, fmt.Errorf("create root certificate: %w", err)
	}
	root, err := x509.ParseCertificate(rootDER)
	if err != nil {
		return nil, err
	}
	inter, err := NewIntermediate(org, root, rootKey, intermediateKey, now)
	if err != nil {
		return nil, err
	}
	return []*x509.Certificate{inter, root}, nil
}

// NewIntermediate certifies intermediateKey as an issuing CA under root
// (whose key is rootKey), valid from a minute before now, named after org.
// A CA key rotation makes a new one under the same root.
func NewIntermediate(org string, root *x509.Certificate, rootKey, intermediateKey crypto.Signer, now time.Time) (*x509.Certificate, error) {
	notBefore := now.Add(-time.Minute).UTC().Truncate(time.Second)
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{Organization: []string{org}, CommonName: org + " intermediate"},
		NotBefore:             notBefore,
		NotAfter:              notBefore.Add(IntermediateValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	if tmpl.NotAfter.After(root.NotAfter) {
		tmpl.NotAfter = root.NotAfter
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, root, intermediateKey.Public(), rootKey)
	if err != nil {
		return nil, fmt.Errorf("create intermediate certificate: %w", err)
	}
	return x509.ParseCertificate(der)
}

// LoadOrCreateHierarchy returns the chain stored as dir/intermediate.pem and
// dir/root.pem, creating both with NewHierarchy when neither exists. Stored
// certificates must belong to the given keys.
func LoadOrCreateHierarchy(dir, org string, rootKey, intermediateKey crypto.Signer, now time.Time) ([]*x509.Certificate, error) {
	rootPath, interPath := filepath.Join(dir, "root.pem"), filepath.Join(dir, "intermediate.pem")
	root, rootErr := readCert(rootPath)
	inter, interErr := readCert(interPath)
	if errors.Is(rootErr, fs.ErrNotExist) && errors.Is(interErr, fs.ErrNotExist) {
		chain, err := NewHierarchy(org, rootKey, intermediateKey, now)
		if err != nil {
			return nil, err
		}
		if err := keys.WriteFileAtomic(rootPath, EncodePEM(chain[1:]), 0o644); err != nil {
			return nil, err
		}
		if err := keys.WriteFileAtomic(interPath, EncodePEM(chain[:1]), 0o644); err != nil {
			return nil, err
		}
		return chain, nil
	}
	if rootErr != nil {
		return nil, rootErr
	}
	if interErr != nil {
		return nil, interErr
	}
	if err := samePublicKey(root.PublicKey, rootKey.Public()); err != nil {
		return nil, fmt.Errorf("%s: %w", rootPath, err)
	}
	if err := samePublicKey(inter.PublicKey, intermediateKey.Public()); err != nil {
		return nil, fmt.Errorf("%s: %w", interPath, err)
	}
	if err := inter.CheckSignatureFrom(root); err != nil {
		return nil, fmt.Errorf("%s is not signed by %s: %w", interPath, rootPath, err)
	}
	return []*x509.Certificate{inter, root}, nil
}

func readCert(path string) (*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	certs, err := ParsePEMChain(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(certs) != 1 {
		return nil, fmt.Errorf("%s: want one certificate, found %d", path, len(certs))
	}
	return certs[0], nil
}

func samePublicKey(a, b crypto.PublicKey) error {
	da, err := x509.MarshalPKIXPublicKey(a)
	if err != nil {
		return err
	}
	db, err := x509.MarshalPKIXPublicKey(b)
	if err != nil {
		return err
	}
	if !bytes.Equal(da, db) {
		return errors.New("certificate does not match its private key")
	}
	return nil
}

// EncodePEM encodes certificates as concatenated PEM blocks.
func EncodePEM(certs []*x509.Certificate) []byte {
	var buf bytes.Buffer
	for _, c := range certs {
		_ = pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return buf.Bytes()
}

// ParsePEMChain decodes one or more PEM certificates.
func ParsePEMChain(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("unexpected PEM block %q", block.Type)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("no PEM certificates found")
	}
	return certs, nil
}
