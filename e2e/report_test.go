//go:build e2e

package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/signetproject/signet/admission"
	"github.com/signetproject/signet/bundle"
	"github.com/signetproject/signet/internal/freeport"
	"github.com/signetproject/signet/oci"
	"github.com/signetproject/signet/report"
	"github.com/signetproject/signet/sign"
	"github.com/signetproject/signet/trustroot"
)

// reportCritical is a Trivy report with a CRITICAL finding (log4shell).
const reportCritical = `{"SchemaVersion":2,"ArtifactName":"app","Results":[{"Target":"app","Class":"lang-pkgs","Type":"jar","Vulnerabilities":[` +
	`{"VulnerabilityID":"CVE-2021-44228","PkgName":"org.apache.logging.log4j:log4j-core","InstalledVersion":"2.14.1","FixedVersion":"2.15.0","Severity":"CRITICAL"},` +
	`{"VulnerabilityID":"CVE-2021-45046","PkgName":"org.apache.logging.log4j:log4j-core","InstalledVersion":"2.14.1","FixedVersion":"2.16.0","Severity":"CRITICAL"},` +
	`{"VulnerabilityID":"CVE-2022-0001","PkgName":"openssl","InstalledVersion":"3.0.0","Severity":"LOW"}]}]}`

// reportSBOM is an SPDX 2.3 SBOM listing log4j-core 2.14.1.
const reportSBOM = `{"spdxVersion":"SPDX-2.3","dataLicense":"CC0-1.0","SPDXID":"SPDXRef-DOCUMENT","name":"keyed-app",` +
	`"documentNamespace":"https://example.com/keyed-app","creationInfo":{"created":"2026-11-25T10:00:00Z","creators":["Tool: syft"]},` +
	`"packages":[{"name":"log4j-core","SPDXID":"SPDXRef-1","versionInfo":"2.14.1","downloadLocation":"NOASSERTION",` +
	`"externalRefs":[{"referenceCategory":"PACKAGE-MANAGER","referenceType":"purl","referenceLocator":"pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"}]},` +
	`{"name":"openssl","SPDXID":"SPDXRef-2","versionInfo":"3.0.0","downloadLocation":"NOASSERTION"}]}`

// TestReportCluster runs `signet report -A` and the webhook's /report
// against a real cluster whose node (kubelet + containerd) runs pods in
// two namespaces from a docker-registry: keyless-signed by a GitHub
// workflow with provenance and a vuln scan with critical CVEs;
// key-signed with an SBOM containing log4j-core 2.14.1 (in both
// namespaces); signed by an identity no policy trusts; unsigned; and
// signed with an attestation whose signature was tampered with. The HTML
// report is rendered by headless Chromium (its PNG is kept in
// $SIGNET_E2E_ARTIFACTS, default the system temp dir).
func TestReportCluster(t *testing.T) {
	k := admissionK8sUp(t)
	regHost := startDockerRegistry(t)
	_, regPort, _ := strings.Cut(regHost, ":")
	nodeUp(t, k, regPort)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	work := t.TempDir()

	// Five images that run: hello:1 (node-images.sh) with a label
	// (in its config) that makes each image distinct.
	hello, err := remote.Image(mustRef(t, regHost+"/hello:1"), remote.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	push := func(repo string) name.Digest {
		t.Helper()
		// A label in the config, not a manifest annotation: containerd
		// names an image by its config digest, so images that differ only
		// in their manifests would all run as the first one pulled.
		cf, err := hello.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		cfg := *cf.Config.DeepCopy()
		cfg.Labels = map[string]string{"dev.signet.e2e/case": repo}
		img, err := mutate.Config(hello, cfg)
		if err != nil {
			t.Fatal(err)
		}
		tag := mustRef(t, regHost+"/"+repo+":v1").(name.Tag)
		if err := remote.Write(tag, img, remote.WithContext(ctx)); err != nil {
			t.Fatalf("push %s: %v", tag, err)
		}
		desc, err := remote.Head(tag, remote.WithContext(ctx))
		if err != nil {
			t.Fatal(err)
		}
		return tag.Context().Digest(desc.Digest.String())
	}
	gh, keyed, untrusted, unsigned, tampered := push("gh/app"), push("keyed/app"), push("untrusted/app"), push("unsigned/app"), push("tampered/app")

	signet := func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, env.signetBin, args...)
		cmd.Env = append(os.Environ(), "SIGNET_SERVER="+env.serverURL, "SIGSTORE_ID_TOKEN=", "COSIGN_PASSWORD=", "HOME="+work)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("signet %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	ghToken := writeFile(t, work, "gh.token", []byte(devToken(t, "--github-workflow", "octo/app@main")))
	ghClaims := tokenClaims(t, string(readFile(t, ghToken)))
	commit := claim(ghClaims, "sha")
	provenance := writeFile(t, work, "provenance.json", fmt.Appendf(nil, `{"buildDefinition":{"buildType":"https://actions.github.io/buildtypes/workflow/v1",`+
		`"externalParameters":{"workflow":{"ref":"refs/heads/main","repository":"https://github.com/octo/app","path":".github/workflows/release.yml"}},`+
		`"resolvedDependencies":[{"uri":"git+https://github.com/octo/app@refs/heads/main","digest":{"gitCommit":%q}}]},`+
		`"runDetails":{"builder":{"id":"https://github.com/octo/app/.github/workflows/release.yml@refs/heads/main"},`+
		`"metadata":{"invocationId":"https://github.com/octo/app/actions/runs/1000000001/attempts/1"}}}`, commit))
	scanned := time.Now().Add(-26 * time.Hour).UTC().Format(time.RFC3339)
	vuln := writeFile(t, work, "vuln.json", fmt.Appendf(nil, `{"scanner":{"uri":"pkg:github/aquasecurity/trivy@0.74.0","version":"0.74.0","result":%s},`+
		`"metadata":{"scanStartedOn":%q,"scanFinishedOn":%q}}`, reportCritical, scanned, scanned))
	sbom := writeFile(t, work, "sbom.json", []byte(reportSBOM))
	signet("generate-key-pair", "--output-key-prefix", filepath.Join(work, "release"))

	signet("sign", gh.String(), "--identity-token", ghToken)
	signet("attest", gh.String(), "--identity-token", ghToken, "--type", "slsaprovenance1", "--predicate", provenance)
	signet("attest", gh.String(), "--identity-token", ghToken, "--type", "vuln", "--predicate", vuln)
	signet("sign", keyed.String(), "--key", filepath.Join(work, "release.key"))
	signet("attest", keyed.String(), "--key", filepath.Join(work, "release.key"), "--type", "spdxjson", "--predicate", sbom)
	signet("sign", untrusted.String(), "--dev-identity", "mallory@example.com")
	signet("sign", tampered.String(), "--identity-token", ghToken)
	attachTampered(t, ctx, tampered, devToken(t, "--github-workflow", "octo/app@main"), vuln)

	// Policies (no namespace is labelled for admission: the pods run
	// whatever their signatures say; the report tells).
	certDir := filepath.Join(work, "webhook-certs")
	addr := fmt.Sprintf("127.0.0.1:%d", freeport.Get(t))
	if out, err := exec.CommandContext(ctx, env.signetBin, "admission", "install", "--kubeconfig", k.kubeconfig,
		"--webhook-url", "https://"+addr+"/validate", "--ca-bundle-from", certDir).CombinedOutput(); err != nil {
		t.Fatalf("admission install: %v\n%s", err, out)
	}
	pub := readFile(t, filepath.Join(work, "release.pub"))
	applyCIP := func(name, spec string) {
		t.Helper()
		raw := fmt.Sprintf(`{"apiVersion":"policy.sigstore.dev/v1beta1","kind":"ClusterImagePolicy","metadata":{"name":%q},"spec":%s}`, name, spec)
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON([]byte(raw)); err != nil {
			t.Fatal(err)
		}
		if _, err := k.dyn.Resource(admission.ClusterImagePolicyResource).Create(ctx, u, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create ClusterImagePolicy %s: %v", name, err)
		}
	}
	var globs []string
	for _, r := range []string{"gh", "untrusted", "unsigned", "tampered"} {
		globs = append(globs, fmt.Sprintf(`{"glob":%q}`, regHost+"/"+r+"/**"))
	}
	applyCIP("octo-builds", fmt.Sprintf(`{"images":[%s],"authorities":[{"name":"octo","keyless":{"url":%q,"identities":[{"issuer":%q,"subjectRegExp":"^https://github.com/octo/"}]}}]}`,
		strings.Join(globs, ","), env.serverURL, env.oidcIssuer))
	applyCIP("release-key", fmt.Sprintf(`{"images":[{"glob":%q}],"authorities":[{"name":"release","key":{"data":%q}}]}`, regHost+"/keyed/**", pub))

	// Pods in two namespaces, by tag: the kubelet reports the digests.
	pods := map[string][2]string{ // name → namespace, image
		"gh": {"team-a", "gh/app"}, "keyed": {"team-a", "keyed/app"}, "untrusted": {"team-a", "untrusted/app"},
		"keyed-2": {"team-b", "keyed/app"}, "unsigned": {"team-b", "unsigned/app"}, "tampered": {"team-b", "tampered/app"},
	}
	for _, ns := range []string{"team-a", "team-b"} {
		if _, err := k.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	grace := int64(1)
	for pod, p := range pods {
		_, err := k.client.CoreV1().Pods(p[0]).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: pod},
			Spec: corev1.PodSpec{NodeName: "e2e-node", TerminationGracePeriodSeconds: &grace,
				Containers: []corev1.Container{{Name: "app", Image: regHost + "/" + p[1] + ":v1", Args: []string{pod}}}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("create pod %s: %v", pod, err)
		}
	}
	deadline := time.Now().Add(3 * time.Minute)
	for pod, p := range pods {
		for {
			got, err := k.client.CoreV1().Pods(p[0]).Get(ctx, pod, metav1.GetOptions{})
			if err == nil && got.Status.Phase == corev1.PodRunning && len(got.Status.ContainerStatuses) == 1 && got.Status.ContainerStatuses[0].ImageID != "" {
				t.Logf("pod %s/%s runs %s", p[0], pod, got.Status.ContainerStatuses[0].ImageID)
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("pod %s/%s not running with an imageID: %v %+v", p[0], pod, err, got.Status)
			}
			time.Sleep(time.Second)
		}
	}

	want := func(t *testing.T, r *report.Report, via string) {
		t.Helper()
		imgs := map[string]*report.Image{}
		for _, img := range r.Images {
			imgs[img.Image] = img
		}
		if len(imgs) != 5 {
			t.Fatalf("%s: %d images, want 5", via, len(imgs))
		}
		podsOf := func(img *report.Image) []string {
			var out []string
			for _, p := range img.Pods {
				out = append(out, p.Namespace+"/"+p.Name)
			}
			return out
		}
		g := imgs[gh.String()]
		wantSAN := "https://github.com/octo/app/.github/workflows/release.yml@refs/heads/main"
		switch {
		case g == nil:
			t.Fatalf("%s: no report on %s", via, gh)
		case !g.Signed || len(g.Who) != 1 || g.Who[0].Identity != wantSAN || g.Who[0].Issuer != env.oidcIssuer || g.Who[0].SignedAt == nil:
			t.Errorf("%s: gh who = %+v", via, g.Who)
		case len(g.Where.Certificate) != 1 || g.Where.Certificate[0].RunnerEnvironment != "github-hosted" || g.Where.Certificate[0].BuildTrigger != "push":
			t.Errorf("%s: gh where = %+v", via, g.Where)
		case len(g.Where.Provenance) != 1 || g.Where.Provenance[0].PredicateType != oci.PredicateSLSA1:
			t.Errorf("%s: gh provenance = %+v", via, g.Where.Provenance)
		case g.Source.Repository != "https://github.com/octo/app" || g.Source.Commit != commit || g.Source.Ref != "refs/heads/main" || len(g.Source.Conflicts) != 0:
			t.Errorf("%s: gh source = %+v", via, g.Source)
		case g.Vulnerabilities == nil || g.Vulnerabilities.Highest != "CRITICAL" || g.Vulnerabilities.Counts["CRITICAL"] != 2 ||
			!slices.Contains(g.Vulnerabilities.IDs, "CVE-2021-44228") || !strings.HasPrefix(g.Vulnerabilities.Scans[0].Age, "1d"):
			t.Errorf("%s: gh vulnerabilities = %+v", via, g.Vulnerabilities)
		case g.Policy == nil || !g.Policy.Allowed:
			t.Errorf("%s: gh policy = %+v", via, g.Policy)
		case !slices.Equal(podsOf(g), []string{"team-a/gh"}):
			t.Errorf("%s: gh pods = %v", via, podsOf(g))
		}
		kd := imgs[keyed.String()]
		switch {
		case kd == nil:
			t.Fatalf("%s: no report on %s", via, keyed)
		case !kd.Signed || len(kd.Who) != 1 || kd.Who[0].KeyName != "release-key/release" || !strings.HasPrefix(kd.Who[0].KeyFingerprint, "SHA256:"):
			t.Errorf("%s: keyed who = %+v", via, kd.Who)
		case len(kd.SBOMs) != 1 || kd.SBOMs[0].Format != "SPDX-2.3" || kd.SBOMs[0].Packages != 2:
			t.Errorf("%s: keyed SBOMs = %+v", via, kd.SBOMs)
		case kd.Policy == nil || !kd.Policy.Allowed:
			t.Errorf("%s: keyed policy = %+v", via, kd.Policy)
		case !slices.Equal(podsOf(kd), []string{"team-a/keyed", "team-b/keyed-2"}):
			t.Errorf("%s: keyed pods = %v", via, podsOf(kd))
		}
		u := imgs[untrusted.String()]
		switch {
		case u == nil:
			t.Fatalf("%s: no report on %s", via, untrusted)
		case u.Signed || len(u.Who) != 0 || len(u.Where.Certificate) != 0:
			t.Errorf("%s: an untrusted identity became an answer: %+v", via, u)
		case len(u.Unverified) != 1 || !strings.HasPrefix(u.Unverified[0].String(), "signature present, does not verify: identity: no identity matches") ||
			!strings.Contains(u.Unverified[0].Reason, "mallory@example.com"):
			t.Errorf("%s: untrusted unverified = %+v", via, u.Unverified)
		case u.Policy == nil || u.Policy.Allowed:
			t.Errorf("%s: untrusted policy = %+v", via, u.Policy)
		}
		n := imgs[unsigned.String()]
		switch {
		case n == nil:
			t.Fatalf("%s: no report on %s", via, unsigned)
		case n.Signed || len(n.Unverified) != 0 || n.Vulnerabilities != nil || n.Policy == nil || n.Policy.Allowed:
			t.Errorf("%s: unsigned = %+v", via, n)
		}
		tm := imgs[tampered.String()]
		switch {
		case tm == nil:
			t.Fatalf("%s: no report on %s", via, tampered)
		case !tm.Signed || tm.Vulnerabilities != nil || len(tm.Attestations) != 0:
			t.Errorf("%s: tampered: signed %v, vulnerabilities %+v, attestations %+v", via, tm.Signed, tm.Vulnerabilities, tm.Attestations)
		case len(tm.Unverified) != 1 || !strings.HasPrefix(tm.Unverified[0].String(), "attestation "+oci.PredicateVuln+" present, does not verify: signature: "):
			t.Errorf("%s: tampered unverified = %+v", via, tm.Unverified)
		}
		if s := r.Summary; s.Images != 5 || s.Pods != 6 || s.Signed != 3 || s.Unsigned != 2 || s.PolicyAllowed != 3 || s.PolicyDenied != 2 ||
			s.BySeverity["CRITICAL"] != 1 || s.BySeverity["UNSCANNED"] != 4 {
			t.Errorf("%s: summary = %+v", via, s)
		}
	}
	packageMatches := func(t *testing.T, r *report.Report) {
		t.Helper()
		var pods []string
		for _, m := range r.Package.Matches {
			if m.Image != keyed.String() {
				t.Errorf("log4j-core found in %s", m.Image)
			}
			for _, p := range m.Pods {
				pods = append(pods, p.Namespace+"/"+p.Name)
			}
		}
		if !slices.Equal(pods, []string{"team-a/keyed", "team-b/keyed-2"}) {
			t.Errorf("log4j-core runs in %v, want team-a/keyed and team-b/keyed-2", pods)
		}
	}
	cli := func(args ...string) *report.Report {
		t.Helper()
		out := signet(append([]string{"report", "-A", "--kubeconfig", k.kubeconfig, "--server", env.serverURL, "-o", "json"}, args...)...)
		var r report.Report
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("signet report -o json: %v\n%s", err, out)
		}
		return &r
	}

	t.Run("signet report -A", func(t *testing.T) {
		want(t, cli(), "signet report")
		packageMatches(t, cli("--package", "log4j-core"))
		if r := cli("--package", "log4j-core@2.17.1"); len(r.Package.Matches) != 0 {
			t.Errorf("log4j-core 2.17.1 found: %+v", r.Package.Matches)
		}
	})

	t.Run("webhook /report", func(t *testing.T) {
		admissionStartWebhook(t, env.signetBin, k.kubeconfig, addr, certDir, "--server", env.serverURL, "--report-interval", "2s")
		ca := readFile(t, filepath.Join(certDir, admission.CACertFile))
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(ca)
		client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
		get := func(path string) []byte {
			t.Helper()
			deadline := time.Now().Add(time.Minute)
			for {
				resp, err := client.Get("https://" + addr + path)
				if err == nil {
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode == 200 {
						return body
					}
					err = fmt.Errorf("%s: %s", resp.Status, body)
				}
				if time.Now().After(deadline) {
					t.Fatalf("GET %s: %v", path, err)
				}
				time.Sleep(500 * time.Millisecond)
			}
		}
		var r report.Report
		if err := json.Unmarshal(get("/report"), &r); err != nil {
			t.Fatal(err)
		}
		want(t, &r, "webhook /report")
		var p report.Report
		if err := json.Unmarshal(get("/report?package=log4j-core"), &p); err != nil {
			t.Fatal(err)
		}
		packageMatches(t, &p)
		deadline := time.Now().Add(time.Minute)
		for {
			metrics := string(get("/metrics"))
			if strings.Contains(metrics, `signet_report_images{signed="true"} 3`) && strings.Contains(metrics, `signet_report_images{signed="false"} 2`) &&
				strings.Contains(metrics, `signet_report_images_by_severity{severity="CRITICAL"} 1`) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("gauges never reached the report's figures:\n%s", metrics)
			}
			time.Sleep(time.Second)
		}
	})

	t.Run("HTML in Chromium", func(t *testing.T) {
		page := signet("report", "-A", "--kubeconfig", k.kubeconfig, "--server", env.serverURL, "-o", "html", "--package", "log4j-core")
		html := writeFile(t, work, "report.html", []byte(page))
		dom, png := renderInChromium(t, html)
		for _, s := range []string{"CVE-2021-44228", "team-a/gh [app]", "team-b/keyed-2 [app]", "contains log4j-core 2.14.1",
			"signature present, does not verify: identity: no identity matches", "present, does not verify: signature:", commit} {
			if !strings.Contains(dom, s) {
				t.Errorf("rendered page lacks %q", s)
			}
		}
		t.Logf("screenshot: %s", png)
	})
}

// attachTampered attaches a vuln attestation signed keyless with token,
// with one byte of its DSSE signature changed.
func attachTampered(t *testing.T, ctx context.Context, image name.Digest, token, predicateFile string) {
	t.Helper()
	sc, err := trustroot.LoadSigningConfig(httpGet(t, "/signing_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := sign.ServicesFrom(sc, time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := oci.NewStatement(image, "vuln", readFile(t, predicateFile), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	payload, err := st.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	pb, err := sign.DSSE(ctx, oci.MediaTypeInToto, payload, sign.Options{CA: svc.CA, IDToken: token, Logs: svc.Logs, TSAs: svc.TSAs})
	if err != nil {
		t.Fatal(err)
	}
	pb.GetDsseEnvelope().GetSignatures()[0].Sig[8] ^= 0x01
	b, err := bundle.FromProto(pb)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := oci.New(oci.Options{}).AttachBundle(ctx, image, b, st.PredicateType, time.Now()); err != nil {
		t.Fatal(err)
	}
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// renderInChromium opens the page in headless Chromium (Debian's
// chromium, installed with apt-get when missing) and returns the
// rendered DOM and the path of a full-page screenshot, kept in
// $SIGNET_E2E_ARTIFACTS (default: the system temp dir).
func renderInChromium(t *testing.T, page string) (dom, png string) {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		if out, err := exec.Command("bash", "-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium").CombinedOutput(); err != nil {
			t.Fatalf("install chromium: %v\n%s", err, out)
		}
		if bin, err = exec.LookPath("chromium"); err != nil {
			t.Fatal(err)
		}
	}
	artifacts := os.Getenv("SIGNET_E2E_ARTIFACTS")
	if artifacts == "" {
		artifacts = filepath.Join(os.TempDir(), "signet-e2e-artifacts")
	}
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	png = filepath.Join(artifacts, "report-"+strconv.FormatInt(time.Now().Unix(), 10)+".png")
	flags := func(profile string) []string {
		return []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
			"--disable-sync", "--no-first-run", "--user-data-dir=" + filepath.Join(t.TempDir(), profile)}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, append(flags("dom"), "--dump-dom", "file://"+page)...).Output()
	if err != nil {
		t.Fatalf("chromium --dump-dom: %v", err)
	}
	if msg, err := exec.CommandContext(ctx, bin, append(flags("shot"), "--screenshot="+png, "--window-size=1280,2400", "file://"+page)...).CombinedOutput(); err != nil {
		t.Fatalf("chromium --screenshot: %v\n%s", err, msg)
	}
	if info, err := os.Stat(png); err != nil || info.Size() == 0 {
		t.Fatalf("no screenshot: %v", err)
	}
	return string(out), png
}

// TestReportHTMLChromium renders `signet report -o html` for images given
// as arguments (no cluster) in headless Chromium and checks the text a
// person sees.
func TestReportHTMLChromium(t *testing.T) {
	reg := startInProcessRegistry(t)
	work := t.TempDir()
	signed := pushRandomImage(t, reg+"/signed")
	unsigned := pushRandomImage(t, reg+"/unsigned")
	vuln := writeFile(t, work, "vuln.json", fmt.Appendf(nil, `{"scanner":{"uri":"pkg:github/aquasecurity/trivy@0.74.0","version":"0.74.0","result":%s},`+
		`"metadata":{"scanStartedOn":"2026-11-25T00:00:00Z","scanFinishedOn":"2026-11-25T00:01:00Z"}}`, reportCritical))
	for _, args := range [][]string{
		{"sign", signed.String(), "--dev-identity", "alice@example.com"},
		{"attest", signed.String(), "--dev-identity", "alice@example.com", "--type", "vuln", "--predicate", vuln},
	} {
		if res := runSignet(t, args...); res.err != nil {
			t.Fatalf("%v\n%s", res.err, res.out)
		}
	}
	cmd := exec.Command(env.signetBin, "report", signed.String(), unsigned.String(), "--server", env.serverURL, "-o", "html")
	page, err := cmd.Output()
	if err != nil {
		t.Fatalf("signet report -o html: %v", err)
	}
	dom, png := renderInChromium(t, writeFile(t, work, "report.html", page))
	for _, s := range []string{"alice@example.com", "highest CRITICAL", "CVE-2021-44228", "UNSIGNED", "no verified signature"} {
		if !strings.Contains(dom, s) {
			t.Errorf("rendered page lacks %q", s)
		}
	}
	t.Logf("screenshot: %s", png)
}
