package server_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/signetproject/signet/ca"
	"github.com/signetproject/signet/oidc"
	"github.com/signetproject/signet/server"
	"github.com/signetproject/signet/server/servertest"
)

// TestMetaIssuerCertificate: a service-account token from a cluster whose
// issuer URL matches a meta-issuer pattern gets the Kubernetes SAN; the
// configuration lists the pattern as Fulcio does, and metrics count per
// pattern, not per matching URL.
func TestMetaIssuerCertificate(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	mux := http.NewServeMux()
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		prefix, ok := strings.CutSuffix(r.URL.Path, "/.well-known/openid-configuration")
		if !ok {
			http.NotFound(w, r)
			return
		}
		dev, err := oidc.NewDevIssuer(ts.URL+prefix, key) // its discovery and JWKS documents
		if err != nil {
			t.Error(err)
			return
		}
		_, _ = w.Write(dev.Discovery())
	})
	mux.HandleFunc("/clusters/{id}/jwks", func(w http.ResponseWriter, _ *http.Request) {
		dev, _ := oidc.NewDevIssuer(ts.URL, key)
		_, _ = w.Write(dev.JWKS())
	})
	pattern := ts.URL + "/clusters/*"
	inst := servertest.Start(t, func(o *server.Options) {
		o.Config.MetaIssuers = []oidc.IssuerConfig{{URL: pattern, Type: oidc.TypeKubernetes}}
	})

	for _, cluster := range []string{"eu-1", "us-2"} {
		iss := ts.URL + "/clusters/" + cluster
		now := time.Now()
		tok := signClaims(t, key, map[string]any{
			"iss": iss, "aud": []string{"sigstore"}, "sub": "system:serviceaccount:release:signer",
			"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
			"kubernetes.io": map[string]any{"namespace": "release", "serviceaccount": map[string]any{"name": "signer"}},
		})
		signer, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		status, body, _ := post(t, inst.URL+"/api/v2/signingCert",
			v2Body(t, tok, pemPublicKey(t, signer.Public()), ecdsaPoP(t, signer, "system:serviceaccount:release:signer")), nil)
		if status != http.StatusOK {
			t.Fatalf("%s: status %d: %s", cluster, status, body)
		}
		var resp struct {
			SignedCertificateEmbeddedSct struct {
				Chain struct {
					Certificates []string `json:"certificates"`
				} `json:"chain"`
			} `json:"signedCertificateEmbeddedSct"`
			SignedCertificateDetachedSct struct {
				Chain struct {
					Certificates []string `json:"certificates"`
				} `json:"chain"`
			} `json:"signedCertificateDetachedSct"`
		}
		if err := json.Unmarshal(body, &resp); err != nil {
			t.Fatal(err)
		}
		certs := resp.SignedCertificateEmbeddedSct.Chain.Certificates
		if len(certs) == 0 {
			certs = resp.SignedCertificateDetachedSct.Chain.Certificates
		}
		if len(certs) == 0 {
			t.Fatalf("%s: no certificate in %s", cluster, body)
		}
		leaf := parsePEMCert(t, certs[0])
		if len(leaf.URIs) != 1 || leaf.URIs[0].String() != "https://kubernetes.io/namespaces/release/serviceaccounts/signer" {
			t.Errorf("%s: SAN %v", cluster, leaf.URIs)
		}
		if got := issuerExtension(t, leaf); got != iss {
			t.Errorf("%s: issuer extension %q, want the cluster's URL %q", cluster, got, iss)
		}
	}
	metrics := string(get(t, inst.URL+"/metrics"))
	if !strings.Contains(metrics, `signet_ca_certificates_issued_total{issuer="`+pattern+`"} 2`) || strings.Contains(metrics, `issuer="`+ts.URL+`/clusters/eu-1"`) {
		t.Errorf("metrics do not count per pattern:\n%s", grepLines(metrics, "certificates_issued"))
	}
	var cfg struct {
		Issuers []map[string]string `json:"issuers"`
	}
	if err := json.Unmarshal(get(t, inst.URL+"/api/v2/configuration"), &cfg); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, is := range cfg.Issuers {
		if is["wildcardIssuerUrl"] == pattern && is["issuerUrl"] == "" {
			found = true
		}
	}
	if !found {
		t.Errorf("configuration lacks wildcardIssuerUrl %s: %+v", pattern, cfg.Issuers)
	}
}

func parsePEMCert(t *testing.T, s string) *x509.Certificate {
	t.Helper()
	certs, err := ca.ParsePEMChain([]byte(s))
	if err != nil || len(certs) == 0 {
		t.Fatalf("parse certificate: %v", err)
	}
	return certs[0]
}

// issuerExtension returns the OIDC issuer extension (1.3.6.1.4.1.57264.1.1).
func issuerExtension(t *testing.T, c *x509.Certificate) string {
	t.Helper()
	for _, e := range c.Extensions {
		if e.Id.String() == "1.3.6.1.4.1.57264.1.1" {
			return string(e.Value)
		}
	}
	t.Fatal("certificate has no issuer extension")
	return ""
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
