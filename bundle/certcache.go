package bundle

import (
	"crypto/sha256"
	"crypto/x509"
	"sync"
)

// Bounds of the parsed certificate cache: a certificate is small (Fulcio's
// are under 2 KiB), so the cache holds at most a few megabytes.
const (
	maxCachedCertificates = 512
	maxCachedDER          = 8 << 10
)

// certCache shares the parse of a certificate between the bundles that
// carry it: a signer's certificate comes back in every bundle it signed,
// and parsing costs as much as an ECDSA verification. It holds parses,
// not verdicts: a parse depends on the DER alone, which the key (its
// SHA-256) stands for. It is emptied when full.
var certCache struct {
	mu    sync.Mutex
	certs map[[sha256.Size]byte]*x509.Certificate
}

// parseCertificate is x509.ParseCertificate through certCache. The
// certificate it returns may be shared: callers must not modify it.
func parseCertificate(der []byte) (*x509.Certificate, error) {
	if len(der) > maxCachedDER {
		return x509.ParseCertificate(der)
	}
	key := sha256.Sum256(der)
	certCache.mu.Lock()
	cert := certCache.certs[key]
	certCache.mu.Unlock()
	if cert != nil {
		return cert, nil
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	certCache.mu.Lock()
	if certCache.certs == nil || len(certCache.certs) >= maxCachedCertificates {
		certCache.certs = make(map[[sha256.Size]byte]*x509.Certificate)
	}
	certCache.certs[key] = cert
	certCache.mu.Unlock()
	return cert, nil
}
