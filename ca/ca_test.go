package ca_test

import (
	"bytes"
	"crypto"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/signetproject/signet/ca"
	"github.com/signetproject/signet/keys"
	"github.com/signetproject/signet/oidc"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// newCA returns a CA on a fresh P-256 hierarchy whose clock is testNow.
func newCA(t testing.TB) *ca.CA {
	t.Helper()
	rootKey, err := keys.Generate(keys.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	interKey, err := keys.Generate(keys.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	chain, err := ca.NewHierarchy("signet test", rootKey, interKey, testNow)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ca.New(interKey, chain)
	if err != nil {
		t.Fatal(err)
	}
	c.SetClock(func() time.Time { return testNow })
	return c
}

// githubIdentity is what oidc.MapIdentity makes of a GitHub Actions token.
var githubIdentity = oidc.Identity{
	Issuer:    "https://token.actions.githubusercontent.com",
	Challenge: "repo:octo-org/octo-repo:environment:prod",
	URI:       "https://github.com/octo-org/octo-automation/.github/workflows/oidc.yml@refs/heads/main",
	Build: oidc.BuildClaims{
		GitHubWorkflowTrigger:               "workflow_dispatch",
		GitHubWorkflowSHA:                   "2f0b5e3a8a5b4c1d6e7f8091a2b3c4d5e6f70819",
		GitHubWorkflowName:                  "example-workflow",
		GitHubWorkflowRepository:            "octo-org/octo-repo",
		GitHubWorkflowRef:                   "refs/heads/main",
		BuildSignerURI:                      "https://github.com/octo-org/octo-automation/.github/workflows/oidc.yml@refs/heads/main",
		BuildSignerDigest:                   "8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b",
		RunnerEnvironment:                   "github-hosted",
		SourceRepositoryURI:                 "https://github.com/octo-org/octo-repo",
		SourceRepositoryDigest:              "2f0b5e3a8a5b4c1d6e7f8091a2b3c4d5e6f70819",
		SourceRepositoryRef:                 "refs/heads/main",
		SourceRepositoryIdentifier:          "74",
		SourceRepositoryOwnerURI:            "https://github.com/octo-org",
		SourceRepositoryOwnerIdentifier:     "65",
		BuildConfigURI:                      "https://github.com/octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main",
		BuildConfigDigest:                   "2f0b5e3a8a5b4c1d6e7f8091a2b3c4d5e6f70819",
		BuildTrigger:                        "workflow_dispatch",
		RunInvocationURI:                    "https://github.com/octo-org/octo-repo/actions/runs/6143862131/attempts/2",
		SourceRepositoryVisibilityAtSigning: "private",
		DeploymentEnvironment:               "prod",
	},
}

func extension(cert *x509.Certificate, oid asn1.ObjectIdentifier) (pkix.Extension, bool) {
	for _, e := range cert.Extensions {
		if e.Id.Equal(oid) {
			return e, true
		}
	}
	return pkix.Extension{}, false
}

// TestIssueGitHubExtensions round-trips a full set of GitHub build claims
// through a certificate and sigstore-go's extension parser.
func TestIssueGitHubExtensions(t *testing.T) {
	c := newCA(t)
	cert, err := c.Issue(githubIdentity, key("P-256").Public())
	if err != nil {
		t.Fatal(err)
	}
	got, err := certificate.ParseExtensions(cert.Extensions)
	if err != nil {
		t.Fatalf("sigstore-go ParseExtensions: %v", err)
	}
	b := githubIdentity.Build
	want := certificate.Extensions{
		Issuer:                              githubIdentity.Issuer,
		GithubWorkflowTrigger:               b.GitHubWorkflowTrigger,
		GithubWorkflowSHA:                   b.GitHubWorkflowSHA,
		GithubWorkflowName:                  b.GitHubWorkflowName,
		GithubWorkflowRepository:            b.GitHubWorkflowRepository,
		GithubWorkflowRef:                   b.GitHubWorkflowRef,
		BuildSignerURI:                      b.BuildSignerURI,
		BuildSignerDigest:                   b.BuildSignerDigest,
		RunnerEnvironment:                   b.RunnerEnvironment,
		SourceRepositoryURI:                 b.SourceRepositoryURI,
		SourceRepositoryDigest:              b.SourceRepositoryDigest,
		SourceRepositoryRef:                 b.SourceRepositoryRef,
		SourceRepositoryIdentifier:          b.SourceRepositoryIdentifier,
		SourceRepositoryOwnerURI:            b.SourceRepositoryOwnerURI,
		SourceRepositoryOwnerIdentifier:     b.SourceRepositoryOwnerIdentifier,
		BuildConfigURI:                      b.BuildConfigURI,
		BuildConfigDigest:                   b.BuildConfigDigest,
		BuildTrigger:                        b.BuildTrigger,
		RunInvocationURI:                    b.RunInvocationURI,
		SourceRepositoryVisibilityAtSigning: b.SourceRepositoryVisibilityAtSigning,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("extensions (-want +got):\n%s", diff)
	}

	// What sigstore-go v1.3.0 does not parse: the deprecated issuer is the
	// raw string, deployment environment (.1.23) a DER UTF8String.
	if e, ok := extension(cert, ca.OIDIssuer); !ok || string(e.Value) != githubIdentity.Issuer {
		t.Errorf(".1.1 = %q, want the raw issuer", e.Value)
	}
	e, ok := extension(cert, ca.OIDDeploymentEnvironment)
	var env string
	if rest, err := asn1.UnmarshalWithParams(e.Value, &env, "utf8"); !ok || err != nil || len(rest) != 0 || env != "prod" {
		t.Errorf(".1.23 = %x (%v), want UTF8String prod", e.Value, err)
	}
	for _, e := range cert.Extensions {
		if e.Critical && !e.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 15}) && !e.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 17}) {
			t.Errorf("extension %v is critical", e.Id)
		}
	}
	if len(cert.URIs) != 1 || cert.URIs[0].String() != githubIdentity.URI || len(cert.EmailAddresses) != 0 {
		t.Errorf("SAN = %v %v, want URI %s", cert.URIs, cert.EmailAddresses, githubIdentity.URI)
	}
}

// TestIssueEmptyBuildClaims: a non-CI identity gets the issuer and nothing else.
func TestIssueEmptyBuildClaims(t *testing.T) {
	cert, err := newCA(t).Issue(oidc.Identity{Issuer: "https://accounts.google.com", Challenge: "a@example.com", Email: "a@example.com"}, key("P-256").Public())
	if err != nil {
		t.Fatal(err)
	}
	var fulcioOIDs []string
	for _, e := range cert.Extensions {
		if len(e.Id) == 9 && e.Id[6] == 57264 {
			fulcioOIDs = append(fulcioOIDs, e.Id.String())
		}
	}
	if diff := cmp.Diff([]string{"1.3.6.1.4.1.57264.1.1", "1.3.6.1.4.1.57264.1.8"}, fulcioOIDs); diff != "" {
		t.Errorf("Fulcio extensions (-want +got):\n%s", diff)
	}
}

func TestIssueSANs(t *testing.T) {
	const iss = "https://auth.example.com"
	tests := []struct {
		name      string
		id        oidc.Identity
		pub       crypto.PublicKey
		wantEmail []string
		wantURIs  []string
		wantOther string
	}{
		{"email", oidc.Identity{Issuer: iss, Email: "alice@example.com"}, key("P-256").Public(), []string{"alice@example.com"}, nil, ""},
		{"spiffe", oidc.Identity{Issuer: iss, URI: "spiffe://example.org/ns/prod"}, key("P-384").Public(), nil, []string{"spiffe://example.org/ns/prod"}, ""},
		{"kubernetes", oidc.Identity{Issuer: iss, URI: "https://kubernetes.io/namespaces/release/serviceaccounts/signer"}, key("RSA-2048").Public(),
			nil, []string{"https://kubernetes.io/namespaces/release/serviceaccounts/signer"}, ""},
		{"username", oidc.Identity{Issuer: iss, OtherName: "alice!example.com"}, key("Ed25519").Public(), nil, nil, "alice!example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cert, err := newCA(t).Issue(tt.id, tt.pub)
			if err != nil {
				t.Fatal(err)
			}
			var uris []string
			for _, u := range cert.URIs {
				uris = append(uris, u.String())
			}
			other, err := cryptoutils.UnmarshalOtherNameSAN(cert.Extensions)
			if tt.wantOther == "" {
				other = "" // no otherName SAN: the error is expected
			} else if err != nil {
				t.Fatalf("UnmarshalOtherNameSAN: %v", err)
			}
			got := []any{cert.EmailAddresses, uris, other}
			if diff := cmp.Diff([]any{tt.wantEmail, tt.wantURIs, tt.wantOther}, got); diff != "" {
				t.Errorf("email, URI, otherName SANs (-want +got):\n%s", diff)
			}
			if tt.wantOther != "" {
				san, _ := extension(cert, asn1.ObjectIdentifier{2, 5, 29, 17})
				if !san.Critical {
					t.Error("otherName SAN is not critical (the subject is empty)")
				}
				// sigstore's own encoder must produce the same extension.
				ref, err := cryptoutils.MarshalOtherNameSAN(tt.wantOther, true)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(ref.Value, san.Value) {
					t.Errorf("otherName SAN = %x, sigstore encodes %x", san.Value, ref.Value)
				}
			}
			if !cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool }).Equal(tt.pub) {
				t.Error("certificate is not for the given key")
			}
		})
	}
}

// TestIssueCertificateProfile checks validity, key usage, key IDs, empty
// subject and that the chain verifies.
func TestIssueCertificateProfile(t *testing.T) {
	c := newCA(t)
	pub := key("P-256").Public()
	cert, err := c.Issue(oidc.Identity{Issuer: "https://accounts.google.com", Email: "alice@example.com"}, pub)
	if err != nil {
		t.Fatal(err)
	}
	chain := c.Chain()
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	var parsed struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(spki, &parsed); err != nil {
		t.Fatal(err)
	}
	skid := sha1.Sum(parsed.PublicKey.Bytes)
	type profile struct {
		NotBefore, NotAfter time.Time
		KeyUsage            x509.KeyUsage
		ExtKeyUsage         []x509.ExtKeyUsage
		IsCA                bool
		Subject             string
		SubjectKeyID        []byte
		AuthorityKeyID      []byte
		SerialPositive      bool
		SerialBytesAtMost20 bool
	}
	got := profile{
		cert.NotBefore, cert.NotAfter, cert.KeyUsage, cert.ExtKeyUsage, cert.IsCA, cert.Subject.String(),
		cert.SubjectKeyId, cert.AuthorityKeyId, cert.SerialNumber.Sign() > 0, len(cert.SerialNumber.Bytes()) <= 20,
	}
	want := profile{
		testNow, testNow.Add(10 * time.Minute), x509.KeyUsageDigitalSignature, []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}, false, "",
		skid[:], chain[0].SubjectKeyId, true, true,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("certificate profile (-want +got):\n%s", diff)
	}
	if len(chain[0].SubjectKeyId) == 0 {
		t.Error("intermediate has no subject key ID")
	}

	roots, inters := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(chain[len(chain)-1])
	for _, ic := range chain[:len(chain)-1] {
		inters.AddCert(ic)
	}
	opts := x509.VerifyOptions{Roots: roots, Intermediates: inters, CurrentTime: testNow.Add(5 * time.Minute),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}}
	if _, err := cert.Verify(opts); err != nil {
		t.Fatalf("chain does not verify: %v", err)
	}
	opts.CurrentTime = testNow.Add(11 * time.Minute)
	if _, err := cert.Verify(opts); err == nil {
		t.Error("certificate still valid after 11 minutes")
	}

	second, err := c.Issue(oidc.Identity{Issuer: "https://accounts.google.com", Email: "alice@example.com"}, pub)
	if err != nil {
		t.Fatal(err)
	}
	if second.SerialNumber.Cmp(cert.SerialNumber) == 0 {
		t.Error("two certificates share a serial number")
	}
}

func TestIssueErrors(t *testing.T) {
	c := newCA(t)
	tests := []struct {
		name    string
		id      oidc.Identity
		pub     crypto.PublicKey
		wantErr string
		badReq  bool
	}{
		{"no SAN", oidc.Identity{Issuer: "https://a.example"}, key("P-256").Public(), "no subject alternative name", false},
		{"no issuer", oidc.Identity{Email: "alice@example.com"}, key("P-256").Public(), "no issuer", false},
		{"weak key", oidc.Identity{Issuer: "https://a.example", Email: "alice@example.com"}, key("RSA-1024").Public(), "too weak", true},
		{"P-224 key", oidc.Identity{Issuer: "https://a.example", Email: "alice@example.com"}, key("P-224").Public(), "P-224", true},
		{"unparsable URI", oidc.Identity{Issuer: "https://a.example", URI: "https://a.example/%zz"}, key("P-256").Public(), "identity URI", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cert, err := c.Issue(tt.id, tt.pub)
			if err == nil {
				t.Fatalf("Issue = %v, want error", cert.Subject)
			}
			if !strings.Contains(err.Error(), tt.wantErr) || errors.Is(err, ca.ErrBadRequest) != tt.badReq {
				t.Errorf("error %q: want mention of %q, ErrBadRequest %v", err, tt.wantErr, tt.badReq)
			}
		})
	}
}

func TestNew(t *testing.T) {
	rootKey, _ := keys.Generate(keys.ECDSAP256)
	interKey, _ := keys.Generate(keys.ECDSAP256)
	chain, err := ca.NewHierarchy("signet test", rootKey, interKey, testNow)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := newCA(t).Issue(oidc.Identity{Issuer: "https://a.example", Email: "a@example.com"}, key("P-256").Public())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		signer  crypto.Signer
		chain   []*x509.Certificate
		wantErr string
	}{
		{"good", interKey, chain, ""},
		{"root as issuer", rootKey, chain[1:], ""},
		{"empty chain", interKey, nil, "empty certificate chain"},
		{"key does not match", rootKey, chain, "does not match"},
		{"leaf is not a CA", key("P-256"), []*x509.Certificate{leaf}, "not a CA certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ca.New(tt.signer, tt.chain)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("New: %v, want error %q", err, tt.wantErr)
			}
		})
	}
}
