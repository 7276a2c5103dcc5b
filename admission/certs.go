package admission

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Files in a certificate directory.
const (
	CACertFile  = "ca.crt"  // the CA to put in the webhooks' caBundle
	caKeyFile   = "ca.key"  // its key (0600)
	TLSCertFile = "tls.crt" // the serving certificate
	tlsKeyFile  = "tls.key" // its key (0600)
)

// Lifetimes of the generated certificates. The serving certificate is
// renewed at start when it has less than servingRenewBefore left.
const (
	caLifetime         = 10 * 365 * 24 * time.Hour
	servingLifetime    = 365 * 24 * time.Hour
	servingRenewBefore = 30 * 24 * time.Hour
)

// EnsureCA returns the PEM certificate of the webhook CA in dir, creating
// the directory (0700) and a new ECDSA P-256 CA on first use.
func EnsureCA(dir string) ([]byte, error) {
	caPEM, _, _, err := ensureCA(dir)
	return caPEM, err
}

func ensureCA(dir string) ([]byte, *x509.Certificate, crypto.Signer, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, nil, fmt.Errorf("webhook certificates: %w", err)
	}
	certPath, keyPath := filepath.Join(dir, CACertFile), filepath.Join(dir, caKeyFile)
	caPEM, err := os.ReadFile(certPath)
	if err == nil {
		cert, key, err := loadPair(caPEM, keyPath)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("webhook CA in %s: %w", dir, err)
		}
		return caPEM, cert, key, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil, fmt.Errorf("webhook CA: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("webhook CA: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "signet admission webhook CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caLifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("webhook CA: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("webhook CA: %w", err)
	}
	caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	// Key first: a certificate without its key would be unusable.
	if err := writeKey(keyPath, key); err != nil {
		return nil, nil, nil, err
	}
	if err := writeFileAtomic(certPath, caPEM, 0o644); err != nil {
		return nil, nil, nil, err
	}
	return caPEM, cert, key, nil
}

// EnsureServingCert returns the webhook's serving certificate from dir and
// the CA's PEM. It issues a new one from the CA (see EnsureCA) when there
// is none, when it expires within 30 days, when the CA did not sign it, or
// when it lacks one of hosts (DNS names or IP addresses) as a SAN.
func EnsureServingCert(dir string, hosts []string) (tls.Certificate, []byte, error) {
	if len(hosts) == 0 {
		return tls.Certificate{}, nil, errors.New("webhook serving certificate: no host names")
	}
	caPEM, ca, caKey, err := ensureCA(dir)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	certPath, keyPath := filepath.Join(dir, TLSCertFile), filepath.Join(dir, tlsKeyFile)
	if certPEM, err := os.ReadFile(certPath); err == nil {
		if cert, _, err := loadPair(certPEM, keyPath); err == nil && servingCertOK(cert, ca, hosts) {
			pair, err := tls.LoadX509KeyPair(certPath, keyPath)
			if err != nil {
				return tls.Certificate{}, nil, fmt.Errorf("webhook serving certificate: %w", err)
			}
			return pair, caPEM, nil
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("webhook serving certificate: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: hosts[0]},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(servingLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("webhook serving certificate: %w", err)
	}
	if err := writeKey(keyPath, key); err != nil {
		return tls.Certificate{}, nil, err
	}
	if err := writeFileAtomic(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return tls.Certificate{}, nil, err
	}
	pair, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("webhook serving certificate: %w", err)
	}
	return pair, caPEM, nil
}

func servingCertOK(cert, ca *x509.Certificate, hosts []string) bool {
	if time.Until(cert.NotAfter) < servingRenewBefore || cert.CheckSignatureFrom(ca) != nil {
		return false
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			if !slices.ContainsFunc(cert.IPAddresses, ip.Equal) {
				return false
			}
		} else if !slices.Contains(cert.DNSNames, h) {
			return false
		}
	}
	return true
}

// loadPair parses a PEM certificate and the PEM PKCS #8 key in keyPath,
// and checks that they belong together.
func loadPair(certPEM []byte, keyPath string) (*x509.Certificate, crypto.Signer, error) {
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, nil, err
	}
	return parsePair(certPEM, keyPEM, keyPath)
}

// parsePair parses a PEM certificate and PEM PKCS #8 key (keyName names
// the key in errors) and checks that they belong together.
func parsePair(certPEM, keyPEM []byte, keyName string) (*x509.Certificate, crypto.Signer, error) {
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, nil, errors.New("no PEM certificate")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, nil, err
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return nil, nil, fmt.Errorf("%s: no PEM key", keyName)
	}
	k, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", keyName, err)
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, nil, fmt.Errorf("%s: not a signing key", keyName)
	}
	pub, ok := signer.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(cert.PublicKey) {
		return nil, nil, fmt.Errorf("%s does not match its certificate", keyName)
	}
	return cert, signer, nil
}

func writeKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return writeFileAtomic(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
}

// writeFileAtomic writes data to path through a temporary file and a
// rename, so a crash never leaves half a file.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after the rename
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		// crypto/rand never fails on supported platforms (Go 1.24+).
		return big.NewInt(time.Now().UnixNano())
	}
	return n
}

// CABundleMatches reports whether a webhook's caBundle is the CA's PEM.
func CABundleMatches(bundle, caPEM []byte) bool {
	return bytes.Equal(bytes.TrimSpace(bundle), bytes.TrimSpace(caPEM))
}
