package report_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"

	"github.com/signetproject/signet/bundle"
	"github.com/signetproject/signet/internal/registrytest"
	"github.com/signetproject/signet/keys"
	"github.com/signetproject/signet/oci"
	"github.com/signetproject/signet/oidc"
	"github.com/signetproject/signet/policy"
	"github.com/signetproject/signet/report"
	"github.com/signetproject/signet/server/servertest"
	"github.com/signetproject/signet/sign"
	"github.com/signetproject/signet/trustroot"
	"github.com/signetproject/signet/verify"
)

// fixture is a signet server with its dev issuer, a registry, and a key.
type fixture struct {
	t      *testing.T
	inst   *servertest.Instance
	svc    *sign.Services
	svcV1  *sign.Services // Rekor v1, for the legacy layout
	tr     *trustroot.TrustedRoot
	issuer string
	reg    string
	client *oci.Client
	key    *ecdsa.PrivateKey
	pubPEM []byte
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	inst := servertest.Start(t)
	sc, err := trustroot.LoadSigningConfig(httpGet(t, inst.URL+"/signing_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := sign.ServicesFrom(sc, time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	svcV1, err := sign.SelectServices(sc, time.Now(), nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := trustroot.LoadTrustedRoot(httpGet(t, inst.URL+"/trusted_root.json"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, inst: inst, svc: svc, svcV1: svcV1, tr: tr, issuer: inst.URL + "/oidc", reg: registrytest.Start(t),
		client: oci.New(oci.Options{InsecureHTTP: true, Keychain: authn.NewMultiKeychain()}), key: key,
		pubPEM: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})}
}

func httpGet(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return b
}

func (f *fixture) push(repo string) name.Digest {
	f.t.Helper()
	_, ref := registrytest.PushRandom(f.t, f.reg, repo)
	d, err := name.NewDigest(ref)
	if err != nil {
		f.t.Fatal(err)
	}
	return d
}

// github signs as a GitHub Actions workflow of the dev issuer
// ("owner/repo@ref"): Fulcio puts the workflow's build claims in the
// certificate.
func (f *fixture) github(workflow string) sign.Options {
	f.t.Helper()
	tok, err := f.inst.Server.DevIssuer().Mint(oidc.TokenRequest{GitHubWorkflow: workflow}, time.Now())
	if err != nil {
		f.t.Fatal(err)
	}
	return sign.Options{CA: f.svc.CA, IDToken: tok, Logs: f.svc.Logs, TSAs: f.svc.TSAs}
}

func (f *fixture) email(addr string) sign.Options {
	f.t.Helper()
	tok, err := f.inst.Server.DevIssuer().Mint(oidc.TokenRequest{Email: addr}, time.Now())
	if err != nil {
		f.t.Fatal(err)
	}
	return sign.Options{CA: f.svc.CA, IDToken: tok, Logs: f.svc.Logs, TSAs: f.svc.TSAs}
}

func (f *fixture) keyed() sign.Options {
	return sign.Options{Key: f.key, Logs: f.svc.Logs, TSAs: f.svc.TSAs}
}

func (f *fixture) sign(d name.Digest, layout oci.Layout, opts sign.Options) {
	f.t.Helper()
	if _, err := f.client.SignImage(context.Background(), d, layout, nil, opts); err != nil {
		f.t.Fatalf("sign %s: %v", d, err)
	}
}

func (f *fixture) attest(d name.Digest, layout oci.Layout, typ string, predicate []byte, opts sign.Options) {
	f.t.Helper()
	st, err := oci.NewStatement(d, typ, predicate, time.Now())
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.client.AttestImage(context.Background(), d, layout, st, opts); err != nil {
		f.t.Fatalf("attest %s: %v", d, err)
	}
}

// attestRaw attests the predicate as it is, as cosign does for SLSA v0.2
// (signet attest passes it through the in-toto protobuf schema).
func (f *fixture) attestRaw(d name.Digest, layout oci.Layout, predicateType string, predicate []byte, opts sign.Options) {
	f.t.Helper()
	st := &oci.Statement{Type: oci.StatementTypeV01, PredicateType: predicateType, Predicate: predicate,
		Subject: []oci.Subject{{Name: d.Context().String(), Digest: map[string]string{"sha256": strings.TrimPrefix(d.DigestStr(), "sha256:")}}}}
	if _, err := f.client.AttestImage(context.Background(), d, layout, st, opts); err != nil {
		f.t.Fatalf("attest %s: %v", d, err)
	}
}

// attestTampered attaches an attestation whose DSSE signature was
// changed after signing.
func (f *fixture) attestTampered(d name.Digest, typ string, predicate []byte, opts sign.Options) {
	f.t.Helper()
	st, err := oci.NewStatement(d, typ, predicate, time.Now())
	if err != nil {
		f.t.Fatal(err)
	}
	payload, err := st.Marshal()
	if err != nil {
		f.t.Fatal(err)
	}
	pb, err := sign.DSSE(context.Background(), oci.MediaTypeInToto, payload, opts)
	if err != nil {
		f.t.Fatal(err)
	}
	pb.GetDsseEnvelope().GetSignatures()[0].Sig[10] ^= 0xff
	b, err := bundle.FromProto(pb)
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.client.AttachBundle(context.Background(), d, b, st.PredicateType, time.Now()); err != nil {
		f.t.Fatal(err)
	}
}

// fakeSHA is the commit the dev issuer puts in GitHub workflow tokens.
func fakeSHA(repoAtRef string) string {
	sum := sha256.Sum256([]byte(repoAtRef))
	return hex.EncodeToString(sum[:20])
}

func readTestdata(t testing.TB, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// vulnPredicate wraps a scanner's JSON report as cosign's vuln predicate.
func vulnPredicate(t testing.TB, scanner, version string, result []byte, finished time.Time) []byte {
	t.Helper()
	return fmt.Appendf(nil, `{"invocation":{"uri":"https://github.com/octo/app/actions/runs/1","event_id":"1","builder.id":"github"},`+
		`"scanner":{"uri":%q,"version":%q,"db":{"uri":"","version":"2"},"result":%s},`+
		`"metadata":{"scanStartedOn":%q,"scanFinishedOn":%q}}`,
		scanner, version, result, finished.Add(-time.Minute).Format(time.RFC3339), finished.Format(time.RFC3339))
}

// slsa1 is a SLSA v1 provenance predicate as GitHub's build type writes it.
func slsa1(repo, ref, commit string) []byte {
	return fmt.Appendf(nil, `{"buildDefinition":{"buildType":"https://actions.github.io/buildtypes/workflow/v1",`+
		`"externalParameters":{"workflow":{"ref":%q,"repository":"https://github.com/%s","path":".github/workflows/release.yml"}},`+
		`"internalParameters":{"github":{"event_name":"push"}},`+
		`"resolvedDependencies":[{"uri":"git+https://github.com/%s@%s","digest":{"gitCommit":%q}}]},`+
		`"runDetails":{"builder":{"id":"https://github.com/%s/.github/workflows/release.yml@%s"},`+
		`"metadata":{"invocationId":"https://github.com/%s/actions/runs/1000000001/attempts/1","startedOn":"2026-11-25T10:00:00Z","finishedOn":"2026-11-25T10:05:00Z"}}}`,
		ref, repo, repo, ref, commit, repo, ref, repo)
}

// slsa02 is a SLSA v0.2 provenance predicate as slsa-github-generator
// writes it.
func slsa02(repo, ref, commit string) []byte {
	return fmt.Appendf(nil, `{"builder":{"id":"https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v2.0.0"},`+
		`"buildType":"https://github.com/slsa-framework/slsa-github-generator/container@v1",`+
		`"invocation":{"configSource":{"uri":"git+https://github.com/%s@%s","digest":{"sha1":%q},"entryPoint":".github/workflows/release.yml"},`+
		`"parameters":{},"environment":{"github_run_id":"1000000001"}},`+
		`"metadata":{"buildInvocationID":"1000000001-1","buildStartedOn":"2026-11-25T10:00:00Z","buildFinishedOn":"2026-11-25T10:05:00Z",`+
		`"completeness":{"parameters":true,"environment":false,"materials":false},"reproducible":false},`+
		`"materials":[{"uri":"git+https://github.com/%s@%s","digest":{"sha1":%q}},{"uri":"pkg:docker/alpine@3.19","digest":{"sha256":"00"}}]}`,
		repo, ref, commit, repo, ref, commit)
}

// spdxLog4j is an SPDX 2.3 document with log4j-core 2.14.1, named with
// markup and a terminal escape, to check both are escaped.
const spdxLog4j = `{"spdxVersion":"SPDX-2.3","dataLicense":"CC0-1.0","SPDXID":"SPDXRef-DOCUMENT","name":"legacy-app <script>alert(\"x\")</script>\u001b[31m",
"documentNamespace":"https://example.com/spdx/legacy-app","creationInfo":{"created":"2026-11-25T10:00:00Z","creators":["Tool: syft-1.0.0"]},
"packages":[{"name":"log4j-core","SPDXID":"SPDXRef-Package-log4j-core","versionInfo":"2.14.1","downloadLocation":"NOASSERTION",
"externalRefs":[{"referenceCategory":"PACKAGE-MANAGER","referenceType":"purl","referenceLocator":"pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"}]},
{"name":"log4j-api","SPDXID":"SPDXRef-Package-log4j-api","versionInfo":"2.14.1","downloadLocation":"NOASSERTION"},
{"name":"log4j-1.2-api","SPDXID":"SPDXRef-Package-x","versionInfo":"2.14.1","downloadLocation":"NOASSERTION"}]}`

// images are the fixture's images, signed as their names say.
type images struct {
	gh, legacy, keyed, mallory, unsigned, tampered name.Digest
	ghCommit, legacyCommit                         string
}

func (f *fixture) images() images {
	var im images
	now := time.Now()
	// Keyless by a GitHub workflow, cosign v3 layout: signature, SLSA v1
	// provenance agreeing with the certificate, Trivy scan with a
	// CRITICAL finding.
	im.gh, im.ghCommit = f.push("gh/app"), fakeSHA("octo/app@refs/heads/main")
	gh := f.github("octo/app@main")
	f.sign(im.gh, oci.LayoutReferrers, gh)
	f.attest(im.gh, oci.LayoutReferrers, "slsaprovenance1", slsa1("octo/app", "refs/heads/main", im.ghCommit), gh)
	f.attest(im.gh, oci.LayoutReferrers, "vuln", vulnPredicate(f.t, "pkg:github/aquasecurity/trivy@0.74.0", "0.74.0",
		readTestdata(f.t, "trivy-alpine-39.json"), now.Add(-50*time.Hour)), gh)

	// Keyless by another workflow, cosign v2 layout: SLSA v0.2
	// provenance naming another commit than the certificate, and a
	// Grype scan.
	im.legacy, im.legacyCommit = f.push("legacy/app"), fakeSHA("octo/lib@refs/tags/v1.0.0")
	lib := f.github("octo/lib@refs/tags/v1.0.0")
	lib.Logs = f.svcV1.Logs
	f.sign(im.legacy, oci.LayoutLegacy, lib)
	f.attestRaw(im.legacy, oci.LayoutLegacy, oci.PredicateSLSA02, slsa02("octo/lib", "refs/tags/v1.0.0", strings.Repeat("e", 40)), lib)
	f.attest(im.legacy, oci.LayoutLegacy, "vuln", vulnPredicate(f.t, "pkg:github/anchore/grype@0.121.2", "0.121.2",
		readTestdata(f.t, "grype-image.json"), now.Add(-2*time.Hour)), lib)

	// Key-signed with SBOMs: SPDX 2.3 with log4j-core 2.14.1, and a
	// real CycloneDX 1.5 BOM.
	im.keyed = f.push("keyed/app")
	f.sign(im.keyed, oci.LayoutReferrers, f.keyed())
	f.attest(im.keyed, oci.LayoutReferrers, "spdxjson", []byte(spdxLog4j), f.keyed())
	f.attest(im.keyed, oci.LayoutReferrers, "cyclonedx", readTestdata(f.t, "cyclonedx-1.5.json"), f.keyed())

	// Signed by an identity the policies do not trust.
	im.mallory = f.push("mallory/app")
	f.sign(im.mallory, oci.LayoutReferrers, f.email("mallory@example.com"))
	f.attest(im.mallory, oci.LayoutReferrers, "slsaprovenance1", slsa1("mallory/app", "refs/heads/main", strings.Repeat("a", 40)), f.email("mallory@example.com"))

	im.unsigned = f.push("unsigned/app")

	// Signed, with an attestation whose signature was tampered with.
	im.tampered = f.push("tampered/app")
	tam := f.github("octo/app@main")
	f.sign(im.tampered, oci.LayoutReferrers, tam)
	f.attestTampered(im.tampered, "vuln", vulnPredicate(f.t, "pkg:github/aquasecurity/trivy@0.74.0", "0.74.0", []byte(`{"Results":[]}`), now), tam)
	return im
}

// rootTrust trusts any identity the trusted root's CA certified (with a
// log entry), and the fixture's key.
func (f *fixture) rootTrust(t *testing.T) *report.StaticTrust {
	t.Helper()
	v, err := verify.New(f.tr, verify.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	key, err := report.KeyAuthority("release.pub", f.key.Public(), v)
	if err != nil {
		t.Fatal(err)
	}
	return &report.StaticTrust{Description: "test root and key", List: []report.Authority{
		{Name: "trusted root", Verifier: v, Policy: verify.Policy{UnsafeSkipIdentity: true}}, key,
	}}
}

func byImage(r *report.Report) map[string]*report.Image {
	m := map[string]*report.Image{}
	for _, img := range r.Images {
		m[img.Image] = img
	}
	return m
}

func TestReportRootTrust(t *testing.T) {
	f := newFixture(t)
	im := f.images()
	rep, err := report.New(report.Options{Lister: f.client, Trust: f.rootTrust(t)})
	if err != nil {
		t.Fatal(err)
	}
	pods := []report.Target{
		{Image: im.gh, Reference: im.gh.String(), Pod: &report.Pod{Namespace: "prod", Name: "web-1", Container: "app", Owner: "Deployment/web"}},
		{Image: im.gh, Reference: im.gh.String(), Pod: &report.Pod{Namespace: "prod", Name: "web-2", Container: "app", Owner: "Deployment/web"}},
		{Image: im.legacy, Reference: im.legacy.Context().Tag("v1").String()},
		{Image: im.keyed}, {Image: im.unsigned}, {Image: im.tampered}, {Image: im.mallory},
	}
	var progress []int
	q, err := report.ParsePackageQuery("log4j-core")
	if err != nil {
		t.Fatal(err)
	}
	r := rep.Report(context.Background(), pods, q, func(done, total int) { progress = append(progress, done*100+total) })
	if want := []int{106, 206, 306, 406, 506, 606}; !slices.Equal(progress, want) {
		t.Errorf("progress = %v, want %v (each of 6 distinct images once)", progress, want)
	}
	if r.SchemaVersion != report.SchemaVersion || len(r.Images) != 6 {
		t.Fatalf("report has schema %q and %d images, want 6", r.SchemaVersion, len(r.Images))
	}
	imgs := byImage(r)

	t.Run("keyless GitHub workflow, referrers", func(t *testing.T) {
		img := imgs[im.gh.String()]
		wantSAN := "https://github.com/octo/app/.github/workflows/release.yml@refs/heads/main"
		if !img.Signed || len(img.Who) != 1 || img.Who[0].Identity != wantSAN || img.Who[0].Issuer != f.issuer {
			t.Fatalf("who = %+v, want one signer %s", img.Who, wantSAN)
		}
		if w := img.Who[0]; w.LogIndex == nil || w.SignedAt == nil || w.TrustedBy != "trusted root" {
			t.Errorf("signer lacks log index, signing time or trust: %+v", w)
		}
		if len(img.Pods) != 2 || img.Pods[0].Name != "web-1" {
			t.Errorf("pods = %+v", img.Pods)
		}
		if len(img.Where.Certificate) != 1 {
			t.Fatalf("certificate claims = %+v", img.Where.Certificate)
		}
		c := img.Where.Certificate[0]
		if c.BuildSignerURI != wantSAN || c.RunnerEnvironment != "github-hosted" || c.BuildTrigger != "push" ||
			!strings.HasPrefix(c.RunInvocationURI, "https://github.com/octo/app/actions/runs/1000000001") {
			t.Errorf("build claims = %+v", c)
		}
		if len(img.Where.Provenance) != 1 || img.Where.Provenance[0].BuildType != "https://actions.github.io/buildtypes/workflow/v1" ||
			img.Where.Provenance[0].BuilderID != wantSAN || img.Where.Provenance[0].StartedOn == nil {
			t.Errorf("provenance = %+v", img.Where.Provenance)
		}
		want := report.Source{Repository: "https://github.com/octo/app", Commit: im.ghCommit, Ref: "refs/heads/main"}
		got := img.Source
		got.Claims = nil
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("source (-want +got):\n%s", diff)
		}
		var froms []string
		for _, c := range img.Source.Claims {
			froms = append(froms, c.From)
		}
		slices.Sort(froms)
		if !slices.Equal(froms, []string{"certificate", "provenance v1 externalParameters", "provenance v1 resolvedDependencies"}) {
			t.Errorf("source claims from %q", froms)
		}
		v := img.Vulnerabilities
		if v == nil || v.Highest != report.SeverityCritical || v.Counts["CRITICAL"] != 2 || v.Counts["MEDIUM"] != 4 {
			t.Fatalf("vulnerabilities = %+v", v)
		}
		if !slices.Contains(v.IDs, "CVE-2019-14697") || v.IDs[0] != "CVE-2019-14697" {
			t.Errorf("IDs = %v, want CVE-2019-14697 first", v.IDs)
		}
		s := v.Scans[0]
		if s.Format != "trivy" || s.ScannerVersion != "0.74.0" || !strings.HasPrefix(s.Age, "2d") {
			t.Errorf("scan = format %q version %q age %q", s.Format, s.ScannerVersion, s.Age)
		}
		if len(img.Unverified) != 0 || len(img.Errors) != 0 {
			t.Errorf("unverified %+v errors %v", img.Unverified, img.Errors)
		}
	})

	t.Run("keyless, legacy layout, provenance disagrees", func(t *testing.T) {
		img := imgs[im.legacy.String()]
		if !img.Signed || len(img.References) != 1 {
			t.Fatalf("signed %v, references %v", img.Signed, img.References)
		}
		if len(img.Where.Provenance) != 1 || img.Where.Provenance[0].PredicateType != oci.PredicateSLSA02 ||
			img.Where.Provenance[0].InvocationID != "1000000001-1" {
			t.Errorf("provenance = %+v", img.Where.Provenance)
		}
		if img.Source.Commit != "" || img.Source.Repository != "https://github.com/octo/lib" || img.Source.Ref != "refs/tags/v1.0.0" {
			t.Errorf("source answer = %q %q %q; want the repository and ref, no commit", img.Source.Repository, img.Source.Commit, img.Source.Ref)
		}
		if len(img.Source.Conflicts) != 1 || !strings.Contains(img.Source.Conflicts[0], "commit disagrees") ||
			!strings.Contains(img.Source.Conflicts[0], "certificate says "+im.legacyCommit) ||
			!strings.Contains(img.Source.Conflicts[0], "provenance v0.2 materials says "+strings.Repeat("e", 40)) {
			t.Errorf("conflicts = %q", img.Source.Conflicts)
		}
		v := img.Vulnerabilities
		if v == nil || v.Highest != report.SeverityCritical || v.Scans[0].Format != "grype" ||
			!slices.Equal(v.IDs, []string{"CVE-1999-0002", "CVE-1999-0001"}) || v.Counts["LOW"] != 1 {
			t.Errorf("vulnerabilities = %+v", v)
		}
	})

	t.Run("key-signed with SBOMs", func(t *testing.T) {
		img := imgs[im.keyed.String()]
		fp, err := keys.Fingerprint(f.key.Public())
		if err != nil {
			t.Fatal(err)
		}
		fp = "SHA256:" + fp
		if !img.Signed || len(img.Who) != 1 || img.Who[0].KeyFingerprint != fp || img.Who[0].KeyName != "release.pub" || img.Who[0].Identity != "" {
			t.Fatalf("who = %+v, want the key %s", img.Who, fp)
		}
		if len(img.SBOMs) != 2 {
			t.Fatalf("SBOMs = %+v", img.SBOMs)
		}
		spdx, cdx := img.SBOMs[0], img.SBOMs[1]
		if spdx.Format != "SPDX-2.3" {
			spdx, cdx = cdx, spdx
		}
		if spdx.Format != "SPDX-2.3" || spdx.Packages != 3 || len(spdx.Matches) != 1 || spdx.Matches[0].Version != "2.14.1" {
			t.Errorf("SPDX = %+v", spdx)
		}
		if cdx.Format != "CycloneDX-1.5" || cdx.Packages != 1 || cdx.Name != "spring-web-5.3.22.jar" || len(cdx.Matches) != 0 {
			t.Errorf("CycloneDX = %+v", cdx)
		}
		if img.Vulnerabilities != nil || len(img.Where.Certificate) != 0 {
			t.Errorf("a key-signed image with no scan has vulnerabilities %+v or certificate claims %+v", img.Vulnerabilities, img.Where.Certificate)
		}
	})

	t.Run("unsigned", func(t *testing.T) {
		img := imgs[im.unsigned.String()]
		if img.Signed || len(img.Who) != 0 || img.Vulnerabilities != nil || img.HighestSeverity() != report.SeverityUnscanned || len(img.Unverified) != 0 {
			t.Errorf("unsigned image = %+v", img)
		}
	})

	t.Run("tampered attestation", func(t *testing.T) {
		img := imgs[im.tampered.String()]
		if !img.Signed {
			t.Error("the image signature did not verify")
		}
		if img.Vulnerabilities != nil || len(img.Attestations) != 0 {
			t.Errorf("tampered attestation used as evidence: %+v %+v", img.Vulnerabilities, img.Attestations)
		}
		if len(img.Unverified) != 1 || img.Unverified[0].PredicateType != oci.PredicateVuln ||
			!strings.HasPrefix(img.Unverified[0].String(), "attestation "+oci.PredicateVuln+" present, does not verify: signature: ") {
			t.Errorf("unverified = %+v", img.Unverified)
		}
	})

	t.Run("package query", func(t *testing.T) {
		if r.Package == nil || len(r.Package.Matches) != 1 || r.Package.Matches[0].Image != im.keyed.String() {
			t.Errorf("package answer = %+v", r.Package)
		}
	})

	t.Run("summary", func(t *testing.T) {
		want := report.Summary{Images: 6, Pods: 2, Signed: 5, Unsigned: 1,
			BySeverity: map[string]int{"CRITICAL": 2, "UNSCANNED": 4}}
		if diff := cmp.Diff(want, r.Summary); diff != "" {
			t.Errorf("summary (-want +got):\n%s", diff)
		}
	})

	t.Run("outputs", func(t *testing.T) {
		var js bytes.Buffer
		if err := report.WriteJSON(&js, r); err != nil {
			t.Fatal(err)
		}
		var back report.Report
		if err := json.Unmarshal(js.Bytes(), &back); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(r, &back); diff != "" {
			t.Errorf("JSON round trip (-want +got):\n%s", diff)
		}
		var tab bytes.Buffer
		if err := report.WriteTable(&tab, r); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"IMAGE " + im.gh.String() + "  [SIGNED]", "prod/web-1 [app] (Deployment/web)",
			"highest CRITICAL: 2 CRITICAL, 4 MEDIUM — CVE-2019-14697", "CONFLICT: commit disagrees",
			"present, does not verify: signature:", "package log4j-core: found in 1 images", `\x1b[31m`} {
			if !strings.Contains(tab.String(), want) {
				t.Errorf("table lacks %q", want)
			}
		}
		if strings.Contains(tab.String(), "\x1b") {
			t.Error("table passes an escape sequence from the registry to the terminal")
		}
		var page bytes.Buffer
		if err := report.WriteHTML(&page, r); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(page.String(), `<script>alert`) || !strings.Contains(page.String(), `&lt;script&gt;alert`) {
			t.Error("HTML does not escape a package name from an SBOM")
		}
		for _, want := range []string{"CVE-2019-14697", "contains log4j-core 2.14.1", "CONFLICT: commit disagrees"} {
			if !strings.Contains(page.String(), want) {
				t.Errorf("HTML lacks %q", want)
			}
		}
		for _, external := range []string{"<script", "<link", "src=", "@import", "url("} {
			if strings.Contains(page.String(), external) {
				t.Errorf("HTML page has %q: it must be self-contained and script-free", external)
			}
		}
	})
}

// TestReportPolicyTrust reports under ClusterImagePolicies: evidence
// verifies only under their authorities, and each image gets the verdict.
func TestReportPolicyTrust(t *testing.T) {
	f := newFixture(t)
	im := f.images()
	docs, _, err := policy.Load(fmt.Appendf(nil, `apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata: {name: octo-builds}
spec:
  images: [{glob: "%[1]s/gh/**"}, {glob: "%[1]s/legacy/**"}, {glob: "%[1]s/mallory/**"}, {glob: "%[1]s/tampered/**"}, {glob: "%[1]s/unsigned/**"}]
  authorities:
  - name: octo
    keyless:
      url: %[2]s
      identities: [{issuer: %[3]q, subjectRegExp: "^https://github.com/octo/"}]
---
apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata: {name: release-key}
spec:
  images: [{glob: "%[1]s/keyed/**"}]
  authorities:
  - name: release
    key:
      data: |
%[4]s`, f.reg, f.inst.URL, f.issuer, indent(string(f.pubPEM), "        ")), policy.ValidateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	listings := report.NewListings(f.client)
	eng, err := policy.NewEngine(docs.Policies, policy.NewRegistryChecker(listings, f.tr, policy.CheckerOptions{}), policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := report.New(report.Options{Lister: listings, Trust: &report.PolicyTrust{Engine: eng},
		Decide: func(ctx context.Context, d name.Digest, _ report.Target) policy.Decision {
			return eng.Evaluate(ctx, policy.Request{Image: d.String()})
		}})
	if err != nil {
		t.Fatal(err)
	}
	var targets []report.Target
	for _, d := range []name.Digest{im.gh, im.legacy, im.keyed, im.mallory, im.unsigned, im.tampered} {
		targets = append(targets, report.Target{Image: d})
	}
	r := rep.Report(context.Background(), targets, nil, nil)
	imgs := byImage(r)

	allowed := map[name.Digest]bool{im.gh: true, im.legacy: true, im.keyed: true, im.tampered: true}
	for d, img := range map[name.Digest]*report.Image{im.gh: imgs[im.gh.String()], im.legacy: imgs[im.legacy.String()],
		im.keyed: imgs[im.keyed.String()], im.mallory: imgs[im.mallory.String()], im.unsigned: imgs[im.unsigned.String()],
		im.tampered: imgs[im.tampered.String()]} {
		if img.Policy == nil || img.Policy.Allowed != allowed[d] {
			t.Errorf("%s: policy verdict %+v, want allowed %v", d, img.Policy, allowed[d])
		}
		if img.Signed != allowed[d] {
			t.Errorf("%s: signed %v, want %v", d, img.Signed, allowed[d])
		}
	}
	gh := imgs[im.gh.String()]
	if len(gh.Who) != 1 || gh.Who[0].TrustedBy != "ClusterImagePolicy octo-builds, authority octo" || gh.Vulnerabilities == nil {
		t.Errorf("gh: who %+v, vulnerabilities %v", gh.Who, gh.Vulnerabilities)
	}
	keyed := imgs[im.keyed.String()]
	if len(keyed.Who) != 1 || keyed.Who[0].KeyName != "release-key/release" || len(keyed.SBOMs) != 2 {
		t.Errorf("keyed: who %+v, %d SBOMs", keyed.Who, len(keyed.SBOMs))
	}

	// Mallory's signature and provenance are shown for what they are,
	// and none of their claims is an answer.
	m := imgs[im.mallory.String()]
	if len(m.Who) != 0 || len(m.Where.Certificate) != 0 || len(m.Where.Provenance) != 0 || len(m.Source.Claims) != 0 {
		t.Errorf("an untrusted identity's evidence became answers: %+v", m)
	}
	if len(m.Unverified) != 2 {
		t.Fatalf("mallory unverified = %+v", m.Unverified)
	}
	for _, u := range m.Unverified {
		if !strings.Contains(u.Reason, "identity: no identity matches") || !strings.Contains(u.Reason, `SAN "mallory@example.com"`) ||
			!strings.Contains(u.Reason, "ClusterImagePolicy octo-builds, authority octo") {
			t.Errorf("mallory: reason %q", u.Reason)
		}
	}
	if p := m.Policy; len(p.Policies) != 1 || p.Policies[0].Passed || !strings.Contains(strings.Join(p.Policies[0].Reasons, " "), "no matching signatures") {
		t.Errorf("mallory verdict = %+v", p)
	}
	// The key-signed SBOM attestations would verify under the key only.
	if u := imgs[im.unsigned.String()]; len(u.Unverified) != 0 || u.Policy.Allowed {
		t.Errorf("unsigned = %+v", u)
	}
	if r.Summary.PolicyAllowed != 4 || r.Summary.PolicyDenied != 2 {
		t.Errorf("summary = %+v", r.Summary)
	}
	if !strings.Contains(r.Trust, "octo-builds, release-key") {
		t.Errorf("trust = %q", r.Trust)
	}
}

func indent(s, prefix string) string {
	var b strings.Builder
	for line := range strings.Lines(s) {
		b.WriteString(prefix + line)
	}
	return b.String()
}

// TestReportJunk shows attachments that are no evidence for what they
// are: an unsigned SBOM (`cosign attach sbom`) and a malformed signature.
func TestReportJunk(t *testing.T) {
	f := newFixture(t)
	d := f.push("junk/app")
	hexDigest := strings.TrimPrefix(d.DigestStr(), "sha256:")
	sbomImg, err := mutate.Append(empty.Image, mutate.Addendum{Layer: static.NewLayer([]byte(spdxLog4j), "text/spdx+json")})
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(d.Context().Tag("sha256-"+hexDigest+".sbom"), sbomImg); err != nil {
		t.Fatal(err)
	}
	sigImg, err := mutate.Append(empty.Image, mutate.Addendum{Layer: static.NewLayer([]byte(`{"critical":{}}`), oci.MediaTypeSimpleSigning)})
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(d.Context().Tag("sha256-"+hexDigest+".sig"), sigImg); err != nil {
		t.Fatal(err)
	}
	rep, err := report.New(report.Options{Lister: f.client, Trust: f.rootTrust(t)})
	if err != nil {
		t.Fatal(err)
	}
	img := rep.Report(context.Background(), []report.Target{{Image: d}}, &report.PackageQuery{Name: "log4j-core"}, nil).Images[0]
	if img.Signed || len(img.SBOMs) != 0 || len(img.Unverified) != 2 {
		t.Fatalf("junk = %+v", img)
	}
	var got []string
	for _, u := range img.Unverified {
		got = append(got, u.String())
	}
	slices.Sort(got)
	if !strings.HasPrefix(got[0], "other present, unsigned: text/spdx+json not signed") || !strings.HasPrefix(got[1], "signature present, does not verify: malformed: ") {
		t.Errorf("unverified = %q", got)
	}
}
