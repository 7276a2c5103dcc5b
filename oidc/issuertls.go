package oidc

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
)

// loadCAFile reads a PEM file of CA certificates.
func loadCAFile(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	n := 0
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: certificate %d: %w", path, n+1, err)
		}
		pool.AddCert(c)
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("%s holds no PEM certificate", path)
	}
	return pool, nil
}

// issuerTransport sends requests for the hosts of issuers configured with
// a CA file over TLS that trusts only those CAs; all other requests go to
// base.
type issuerTransport struct {
	base  http.RoundTripper
	hosts []issuerHost
}

type issuerHost struct {
	match func(host string) bool
	rt    http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t *issuerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	for _, h := range t.hosts {
		if h.match(r.URL.Host) {
			return h.rt.RoundTrip(r)
		}
	}
	return t.base.RoundTrip(r)
}

// withIssuerCAs returns c, or when some issuer has a CA file a copy of c
// whose transport uses that CA for the issuer's host (host:port as in its
// URL; for a meta issuer, every host its pattern matches).
func withIssuerCAs(c *http.Client, cfgs []IssuerConfig) (*http.Client, error) {
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	t := &issuerTransport{base: base}
	for _, cfg := range cfgs {
		if cfg.CAFile == "" {
			continue
		}
		pool, err := loadCAFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("issuer %s: caFile: %w", cfg.URL, err)
		}
		var tr *http.Transport
		if bt, ok := base.(*http.Transport); ok {
			tr = bt.Clone()
		} else {
			tr = http.DefaultTransport.(*http.Transport).Clone()
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		match, err := hostMatcher(cfg.URL)
		if err != nil {
			return nil, fmt.Errorf("issuer %s: %w", cfg.URL, err)
		}
		t.hosts = append(t.hosts, issuerHost{match: match, rt: tr})
	}
	if len(t.hosts) == 0 {
		return c, nil
	}
	cc := *c
	cc.Transport = t
	return &cc, nil
}

// hostMatcher matches the host[:port] of an issuer URL or pattern.
func hostMatcher(issuerURL string) (func(string) bool, error) {
	rest, ok := strings.CutPrefix(issuerURL, "https://")
	if !ok {
		return nil, errors.New("caFile is for https issuers")
	}
	host, _, _ := strings.Cut(rest, "/")
	if !strings.Contains(host, "*") {
		return func(h string) bool { return h == host }, nil
	}
	re, err := MetaPattern(host)
	if err != nil {
		return nil, err
	}
	return re.MatchString, nil
}
