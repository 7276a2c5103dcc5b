package server_test

import (
	"context"
	"crypto/x509"
	"encoding/asn1"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/signetproject/signet/oidc"
	"github.com/signetproject/signet/server/servertest"
)

func get(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", url, resp.Status, body)
	}
	return body
}

// TestSigstoreGoAcceptsCertificates has sigstore-go's own Fulcio client
// request certificates from a running server, then checks them with
// sigstore-go: they chain to the served trusted root and carry the
// expected identity and Fulcio extensions.
func TestSigstoreGoAcceptsCertificates(t *testing.T) {
	inst := servertest.Start(t)
	dev := inst.Server.DevIssuer()
	trusted, err := root.NewTrustedRootFromJSON(get(t, inst.URL+"/trusted_root.json"))
	if err != nil {
		t.Fatalf("sigstore-go rejects our trusted root: %v", err)
	}
	if _, err := root.NewSigningConfigFromJSON(get(t, inst.URL+"/signing_config.json")); err != nil {
		t.Fatalf("sigstore-go rejects our signing config: %v", err)
	}
	tests := []struct {
		name string
		req  oidc.TokenRequest
		alg  protocommon.PublicKeyDetails
		want certificate.Summary
	}{{
		name: "email",
		req:  oidc.TokenRequest{Email: "alice@example.com"},
		want: certificate.Summary{
			SubjectAlternativeName: "alice@example.com",
			Extensions:             certificate.Extensions{Issuer: dev.URL()},
		},
	}, {
		name: "email P-384",
		req:  oidc.TokenRequest{Email: "bob@example.com"},
		alg:  protocommon.PublicKeyDetails_PKIX_ECDSA_P384_SHA_384,
		want: certificate.Summary{
			SubjectAlternativeName: "bob@example.com",
			Extensions:             certificate.Extensions{Issuer: dev.URL()},
		},
	}, {
		name: "email Ed25519",
		req:  oidc.TokenRequest{Email: "carol@example.com"},
		alg:  protocommon.PublicKeyDetails_PKIX_ED25519,
		want: certificate.Summary{
			SubjectAlternativeName: "carol@example.com",
			Extensions:             certificate.Extensions{Issuer: dev.URL()},
		},
	}, {
		name: "email RSA",
		req:  oidc.TokenRequest{Email: "dave@example.com"},
		alg:  protocommon.PublicKeyDetails_PKIX_RSA_PKCS1V15_2048_SHA256,
		want: certificate.Summary{
			SubjectAlternativeName: "dave@example.com",
			Extensions:             certificate.Extensions{Issuer: dev.URL()},
		},
	}, {
		name: "spiffe subject",
		req:  oidc.TokenRequest{Subject: "spiffe://example.org/ns/prod/sa/builder"},
		want: certificate.Summary{
			SubjectAlternativeName: "spiffe://example.org/ns/prod/sa/builder",
			Extensions:             certificate.Extensions{Issuer: dev.URL()},
		},
	}, {
		name: "username subject",
		req:  oidc.TokenRequest{Subject: "builder"},
		want: certificate.Summary{
			SubjectAlternativeName: "builder!127.0.0.1",
			Extensions:             certificate.Extensions{Issuer: dev.URL()},
		},
	}, {
		name: "github workflow",
		req:  oidc.TokenRequest{GitHubWorkflow: "octo/app@main"},
		want: certificate.Summary{
			SubjectAlternativeName: "https://github.com/octo/app/.github/workflows/release.yml@refs/heads/main",
			Extensions: certificate.Extensions{
				Issuer:                              dev.URL(),
				GithubWorkflowTrigger:               "push",
				GithubWorkflowName:                  "release",
				GithubWorkflowRepository:            "octo/app",
				GithubWorkflowRef:                   "refs/heads/main",
				BuildSignerURI:                      "https://github.com/octo/app/.github/workflows/release.yml@refs/heads/main",
				RunnerEnvironment:                   "github-hosted",
				SourceRepositoryURI:                 "https://github.com/octo/app",
				SourceRepositoryRef:                 "refs/heads/main",
				SourceRepositoryOwnerURI:            "https://github.com/octo",
				BuildConfigURI:                      "https://github.com/octo/app/.github/workflows/release.yml@refs/heads/main",
				BuildTrigger:                        "push",
				RunInvocationURI:                    "https://github.com/octo/app/actions/runs/1000000001/attempts/1",
				SourceRepositoryVisibilityAtSigning: "public",
			},
		},
	}}
	fulcio := sign.NewFulcio(&sign.FulcioOptions{BaseURL: inst.URL, Timeout: 10 * time.Second})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := dev.Mint(tt.req, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			var kpOpts *sign.EphemeralKeypairOptions
			if tt.alg != 0 {
				kpOpts = &sign.EphemeralKeypairOptions{Algorithm: tt.alg}
			}
			kp, err := sign.NewEphemeralKeypair(kpOpts)
			if err != nil {
				t.Fatal(err)
			}
			der, err := fulcio.GetCertificate(context.Background(), kp, &sign.CertificateProviderOptions{IDToken: tok})
			if err != nil {
				t.Fatalf("sigstore-go Fulcio client: %v", err)
			}
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				t.Fatal(err)
			}
			// Go's x509 does not handle otherName SANs; sigstore-go's bundle
			// verifier drops the SAN from the unhandled critical extensions
			// before path validation, and so does this test.
			var unhandled []asn1.ObjectIdentifier
			for _, oid := range cert.UnhandledCriticalExtensions {
				if !oid.Equal(asn1.ObjectIdentifier{2, 5, 29, 17}) {
					unhandled = append(unhandled, oid)
				}
			}
			cert.UnhandledCriticalExtensions = unhandled
			chains, err := verify.VerifyLeafCertificate(time.Now(), cert, trusted)
			if err != nil {
				t.Fatalf("sigstore-go: certificate does not chain to the trusted root: %v", err)
			}
			// The embedded SCT is from the CT log the trusted root lists.
			if err := verify.VerifySignedCertificateTimestamp(chains, 1, trusted); err != nil {
				t.Fatalf("sigstore-go: SCT: %v", err)
			}
			got, err := certificate.SummarizeCertificate(cert)
			if err != nil {
				t.Fatalf("sigstore-go cannot summarize certificate: %v", err)
			}
			got.CertificateIssuer = ""
			// Digests and IDs are derived from the repository name; check
			// they are present, then compare the rest exactly.
			if tt.req.GitHubWorkflow != "" {
				for name, v := range map[string]string{
					"GithubWorkflowSHA": got.GithubWorkflowSHA, "BuildSignerDigest": got.BuildSignerDigest,
					"SourceRepositoryDigest": got.SourceRepositoryDigest, "SourceRepositoryIdentifier": got.SourceRepositoryIdentifier,
					"SourceRepositoryOwnerIdentifier": got.SourceRepositoryOwnerIdentifier, "BuildConfigDigest": got.BuildConfigDigest,
				} {
					if v == "" {
						t.Errorf("extension %s is empty", name)
					}
				}
				if got.GithubWorkflowSHA != got.SourceRepositoryDigest {
					t.Errorf("sha extensions differ: %q vs %q", got.GithubWorkflowSHA, got.SourceRepositoryDigest)
				}
				got.GithubWorkflowSHA, got.BuildSignerDigest, got.SourceRepositoryDigest = "", "", ""
				got.SourceRepositoryIdentifier, got.SourceRepositoryOwnerIdentifier, got.BuildConfigDigest = "", "", ""
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("certificate summary (-want +got):\n%s", diff)
			}
			if v := cert.NotAfter.Sub(cert.NotBefore); v != 10*time.Minute {
				t.Errorf("validity = %s, want 10m", v)
			}
			if len(cert.ExtKeyUsage) != 1 || cert.ExtKeyUsage[0] != x509.ExtKeyUsageCodeSigning || cert.KeyUsage != x509.KeyUsageDigitalSignature {
				t.Errorf("key usage = %v / %v, want digitalSignature / codeSigning", cert.KeyUsage, cert.ExtKeyUsage)
			}
		})
	}
}

// TestTrustRootStableAcrossRestarts restarts a server on the same data
// directory: keys are reused, so the trusted root keeps its CA chain.
func TestTrustRootStableAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	var cas []*root.FulcioCertificateAuthority
	for _, name := range []string{"first start", "restart"} {
		t.Run(name, func(t *testing.T) { // the server stops when the subtest ends
			inst := servertest.StartInDir(t, dir)
			tr, err := root.NewTrustedRootFromJSON(get(t, inst.URL+"/trusted_root.json"))
			if err != nil {
				t.Fatal(err)
			}
			cas = append(cas, tr.FulcioCertificateAuthorities()[0].(*root.FulcioCertificateAuthority))
		})
	}
	if len(cas) != 2 || !cas[0].Root.Equal(cas[1].Root) || !cas[0].Intermediates[0].Equal(cas[1].Intermediates[0]) {
		t.Fatal("CA chain changed across restart on the same data dir")
	}
}
