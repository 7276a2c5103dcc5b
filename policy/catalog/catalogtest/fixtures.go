// Package catalogtest runs the catalog's table tests: it builds the images
// they decide on (signed, attested, old and new, in an in-process registry
// next to an in-process signet server) and loads the test cases of
// policy/catalog/testdata, for the catalog's unit tests and the
// policy-tester differential in e2e.
package catalogtest

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/signetproject/signet/internal/registrytest"
	"github.com/signetproject/signet/oci"
	"github.com/signetproject/signet/oidc"
	"github.com/signetproject/signet/policy"
	"github.com/signetproject/signet/server/servertest"
	"github.com/signetproject/signet/sign"
	"github.com/signetproject/signet/trustroot"
)

// Identities the fixtures sign with (through the dev issuer).
const (
	// Workflow is the GitHub Actions workflow that signs and attests the
	// "github-*", "vuln-*" and "sbom-*" images.
	Workflow = "my-org/my-repo/.github/workflows/release.yml@refs/heads/main"
	// ForkWorkflow signs "github-fork".
	ForkWorkflow = "evil-org/my-repo/.github/workflows/release.yml@refs/heads/main"
	// SLSAWorkflow signs the provenance of the "provenance-*" images, as
	// the SLSA GitHub generator does.
	SLSAWorkflow = "slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v2.1.0"
	// KubernetesRelease is the Kubernetes release signing identity; it
	// signs "krel".
	KubernetesRelease = "krel-trust@k8s-releng-prod.iam.gserviceaccount.com"
)

// Fixtures are the images the catalog's test cases decide on, and what
// policies need to check them.
type Fixtures struct {
	// Registry is the in-process registry's host:port.
	Registry string
	// Server is the signet server's URL; Issuer its dev OIDC issuer's.
	Server, Issuer string
	// TrustedRoot is the server's trusted material, and TrustedRootJSON
	// its trusted_root.json.
	TrustedRoot     *trustroot.TrustedRoot
	TrustedRootJSON []byte
	// PublicKey is the PEM public key "key-signed" is signed with.
	PublicKey string
	// Images are digest references by fixture name.
	Images map[string]string
	// Times are the timestamps the fixtures carry (RFC 3339), by name:
	// "vuln-stale" (its scan finished), "built-long-ago" (created).
	Times map[string]string
}

// Start builds the fixtures; everything stops when the test ends.
func Start(t testing.TB) *Fixtures {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	inst := servertest.Start(t)
	fx := &Fixtures{Registry: registrytest.Start(t), Server: inst.URL, Issuer: inst.URL + "/oidc",
		Images: map[string]string{}, Times: map[string]string{}}
	get := func(path string) []byte {
		resp, err := http.Get(inst.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %v", path, resp.StatusCode, err)
		}
		return b
	}
	var err error
	fx.TrustedRootJSON = get("/trusted_root.json")
	if fx.TrustedRoot, err = trustroot.LoadTrustedRoot(fx.TrustedRootJSON); err != nil {
		t.Fatal(err)
	}
	sc, err := trustroot.LoadSigningConfig(get("/signing_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	// Legacy layout and Rekor v1, which policy-controller v0.13 reads.
	svc, err := sign.SelectServices(sc, time.Now(), nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	fx.PublicKey = publicPEM(t, key.Public())
	client := oci.New(oci.Options{})

	push := func(fixture string, created time.Time) name.Digest {
		t.Helper()
		img, err := random.Image(256, 1)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		cf = cf.DeepCopy()
		cf.OS, cf.Architecture, cf.Created = "linux", "amd64", v1.Time{Time: created}
		if img, err = mutate.ConfigFile(img, cf); err != nil {
			t.Fatal(err)
		}
		tag, err := name.NewTag(fx.Registry + "/" + fixture + ":v1")
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(tag, img); err != nil {
			t.Fatal(err)
		}
		h, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		d := tag.Context().Digest(h.String())
		fx.Images[fixture] = d.String()
		return d
	}
	keyless := func(req oidc.TokenRequest) sign.Options {
		t.Helper()
		tok, err := inst.Server.DevIssuer().Mint(req, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return sign.Options{CA: svc.CA, IDToken: tok, Logs: svc.Logs, TSAs: svc.TSAs}
	}
	signAs := func(d name.Digest, opts sign.Options) {
		t.Helper()
		if _, err := client.SignImage(ctx, d, oci.LayoutLegacy, nil, opts); err != nil {
			t.Fatalf("sign %s: %v", d, err)
		}
	}
	attest := func(d name.Digest, typ string, predicate any, opts sign.Options) {
		t.Helper()
		raw, err := json.Marshal(predicate)
		if err != nil {
			t.Fatal(err)
		}
		st, err := oci.NewStatement(d, typ, raw, now)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := client.AttestImage(ctx, d, oci.LayoutLegacy, st, opts); err != nil {
			t.Fatalf("attest %s: %v", d, err)
		}
	}
	recent := now.Add(-24 * time.Hour)

	push("unsigned", recent)
	signAs(push("key-signed", recent), sign.Options{Key: key, UnsafeNoTlog: true})
	signAs(push("github-main", recent), keyless(oidc.TokenRequest{GitHubWorkflow: Workflow}))
	signAs(push("github-fork", recent), keyless(oidc.TokenRequest{GitHubWorkflow: ForkWorkflow}))
	signAs(push("krel", recent), keyless(oidc.TokenRequest{Email: KubernetesRelease}))
	signAs(push("not-krel", recent), keyless(oidc.TokenRequest{Email: "someone@example.com"}))

	for fixture, repo := range map[string]string{"provenance": "my-org/my-repo", "provenance-other-repo": "evil-org/other"} {
		attest(push(fixture, recent), "slsaprovenance1", slsaProvenance(repo), keyless(oidc.TokenRequest{GitHubWorkflow: SLSAWorkflow}))
	}

	stale := now.Add(-30 * 24 * time.Hour)
	fx.Times["vuln-stale"] = stale.Format(time.RFC3339)
	for fixture, scan := range map[string]struct {
		finished time.Time
		vulns    []trivyVuln
	}{
		"vuln-clean":    {recent, nil},
		"vuln-stale":    {stale, nil},
		"vuln-high":     {recent, []trivyVuln{{"CVE-2023-0001", "libexample", "1.0.0", "HIGH"}}},
		"vuln-critical": {recent, []trivyVuln{{"CVE-2023-0002", "openssl", "3.0.1", "CRITICAL"}, {"CVE-2023-0003", "zlib", "1.2.11", "LOW"}}},
	} {
		attest(push(fixture, recent), "vuln", vulnPredicate(scan.finished, scan.vulns), keyless(oidc.TokenRequest{GitHubWorkflow: Workflow}))
	}

	for fixture, comps := range map[string][]component{
		"sbom-clean":      {{"org.apache.logging.log4j", "log4j-core", "2.17.1"}, {"org.apache.commons", "commons-text", "1.10.0"}},
		"sbom-log4shell":  {{"org.apache.logging.log4j", "log4j-api", "2.14.1"}, {"org.apache.logging.log4j", "log4j-core", "2.14.1"}},
		"sbom-text4shell": {{"org.apache.commons", "commons-text", "1.9"}},
	} {
		attest(push(fixture, recent), "cyclonedx", cycloneDX(comps), keyless(oidc.TokenRequest{GitHubWorkflow: Workflow}))
	}

	longAgo := now.Add(-400*24*time.Hour - time.Hour)
	fx.Times["built-long-ago"] = longAgo.Format(time.RFC3339)
	push("built-recently", now.Add(-10*24*time.Hour))
	push("built-long-ago", longAgo)
	return fx
}

func publicPEM(t testing.TB, pub crypto.PublicKey) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// slsaProvenance is a SLSA v1 predicate as the SLSA GitHub generator
// writes it for a build of repo.
func slsaProvenance(repo string) map[string]any {
	return map[string]any{
		"buildDefinition": map[string]any{
			"buildType": "https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1",
			"externalParameters": map[string]any{"workflow": map[string]any{
				"ref": "refs/heads/main", "repository": "https://github.com/" + repo, "path": ".github/workflows/release.yml",
			}},
			"resolvedDependencies": []any{map[string]any{
				"uri": "git+https://github.com/" + repo + "@refs/heads/main", "digest": map[string]any{"gitCommit": strings.Repeat("a", 40)},
			}},
		},
		"runDetails": map[string]any{
			"builder":  map[string]any{"id": "https://github.com/" + SLSAWorkflow},
			"metadata": map[string]any{"invocationId": "https://github.com/" + repo + "/actions/runs/1/attempts/1"},
		},
	}
}

type trivyVuln struct{ id, pkg, version, severity string }

// vulnPredicate is cosign's vuln predicate with a Trivy JSON result.
func vulnPredicate(finished time.Time, vulns []trivyVuln) map[string]any {
	var vs []any
	for _, v := range vulns {
		vs = append(vs, map[string]any{"VulnerabilityID": v.id, "PkgName": v.pkg, "InstalledVersion": v.version, "Severity": v.severity})
	}
	result := map[string]any{"SchemaVersion": 2, "Results": []any{map[string]any{"Target": "image", "Vulnerabilities": vs}}}
	return map[string]any{
		"invocation": map[string]any{"parameters": nil, "uri": "", "event_id": "", "builder.id": ""},
		"scanner":    map[string]any{"uri": "pkg:github/aquasecurity/trivy@0.50.0", "version": "0.50.0", "result": result},
		"metadata": map[string]any{
			"scanStartedOn":  finished.Add(-time.Minute).Format(time.RFC3339),
			"scanFinishedOn": finished.Format(time.RFC3339),
		},
	}
}

type component struct{ group, name, version string }

// cycloneDX is a CycloneDX 1.5 SBOM of Maven components.
func cycloneDX(comps []component) map[string]any {
	var cs []any
	for _, c := range comps {
		cs = append(cs, map[string]any{"type": "library", "group": c.group, "name": c.name, "version": c.version,
			"purl": fmt.Sprintf("pkg:maven/%s/%s@%s", c.group, c.name, c.version)})
	}
	return map[string]any{"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1, "components": cs}
}

// TrustRoot returns the signet server's trusted material as a
// policy-controller TrustRoot named name (sigstoreKeys: CA chain, logs,
// TSA), in JSON, for policies with a trustRootRef: signet reads it from a
// policy file, policy-controller's tester from --trustroot.
func (fx *Fixtures) TrustRoot(name string) ([]byte, error) {
	tr := fx.TrustedRoot
	var keys policy.SigstoreKeys
	for _, ca := range tr.CertificateAuthorities {
		keys.CertificateAuthorities = append(keys.CertificateAuthorities, policy.CertificateAuthority{
			Subject: policy.DistinguishedName{Organization: "signet", CommonName: "signet"}, URI: fx.Server,
			CertChain: pemChain(append(append([]*x509.Certificate{}, ca.Intermediates...), ca.Root)...),
		})
	}
	seen := map[string]bool{}
	for _, l := range tr.Tlogs {
		der, err := x509.MarshalPKIXPublicKey(l.PublicKey)
		if err != nil {
			return nil, err
		}
		p := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
		if !seen[string(p)] {
			seen[string(p)] = true
			keys.TLogs = append(keys.TLogs, policy.TransparencyLogInstance{BaseURL: l.BaseURL, HashAlgorithm: "sha-256", PublicKey: p})
		}
	}
	for _, tsa := range tr.TimestampAuthorities {
		var chain []*x509.Certificate
		if tsa.Leaf != nil {
			chain = append(chain, tsa.Leaf)
		}
		keys.TimeStampAuthorities = append(keys.TimeStampAuthorities, policy.CertificateAuthority{
			Subject: policy.DistinguishedName{Organization: "signet", CommonName: "tsa"}, URI: fx.Server,
			CertChain: pemChain(append(append(chain, tsa.Intermediates...), tsa.Root)...),
		})
	}
	return json.Marshal(&policy.TrustRoot{
		TypeMeta: policy.TypeMeta{APIVersion: policy.V1alpha1, Kind: policy.KindTrustRoot},
		Metadata: policy.ObjectMeta{Name: name},
		Spec:     policy.TrustRootSpec{SigstoreKeys: &keys},
	})
}

func pemChain(certs ...*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		if c != nil {
			out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
		}
	}
	return out
}
