package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signetproject/signet/internal/registrytest"
	"github.com/signetproject/signet/report"
)

// TestReportCommand runs `signet report` on images signed and attested by
// the signet binary, under each kind of trust, in each output format.
func TestReportCommand(t *testing.T) {
	bin := buildSignet(t)
	url := startServer(t, bin)
	dir := t.TempDir()
	env := []string{"SIGNET_SERVER=" + url, "SIGSTORE_ID_TOKEN=", "COSIGN_PASSWORD="}
	signet := func(args ...string) string {
		t.Helper()
		out, err := run(t, env, bin, args...)
		if err != nil {
			t.Fatalf("signet %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	signet("generate-key-pair", "--output-key-prefix", filepath.Join(dir, "k"))
	vuln := write("vuln.json", `{"scanner":{"uri":"pkg:github/aquasecurity/trivy@0.74.0","version":"0.74.0","result":{"Results":[{"Target":"app",`+
		`"Vulnerabilities":[{"VulnerabilityID":"CVE-2021-44228","PkgName":"log4j-core","InstalledVersion":"2.14.1","Severity":"CRITICAL"}]}]}},`+
		`"metadata":{"scanStartedOn":"2026-11-25T00:00:00Z","scanFinishedOn":"2026-11-25T00:01:00Z"}}`)
	sbom := write("sbom.json", `{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","name":"app","packages":[`+
		`{"name":"log4j-core","SPDXID":"SPDXRef-1","versionInfo":"2.14.1"}]}`)

	host := registrytest.Start(t)
	_, alice := registrytest.PushRandom(t, host, "alice")
	_, keyed := registrytest.PushRandom(t, host, "keyed")
	_, unsigned := registrytest.PushRandom(t, host, "unsigned")
	signet("sign", alice, "--dev-identity", "alice@example.com")
	signet("attest", alice, "--type", "vuln", "--predicate", vuln, "--dev-identity", "alice@example.com")
	signet("sign", keyed, "--key", filepath.Join(dir, "k.key"))
	signet("attest", keyed, "--type", "spdxjson", "--predicate", sbom, "--key", filepath.Join(dir, "k.key"))

	reportJSON := func(args ...string) *report.Report {
		t.Helper()
		out := signet(append([]string{"report", "-o", "json"}, args...)...)
		var r report.Report
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("report -o json: %v\n%s", err, out)
		}
		if r.SchemaVersion != report.SchemaVersion {
			t.Errorf("schemaVersion %q", r.SchemaVersion)
		}
		return &r
	}
	find := func(r *report.Report, ref string) *report.Image {
		t.Helper()
		for _, img := range r.Images {
			if img.Image == ref {
				return img
			}
		}
		t.Fatalf("report has no %s", ref)
		return nil
	}

	t.Run("trusted root", func(t *testing.T) {
		r := reportJSON(alice, keyed, unsigned, "--package", "log4j-core")
		a := find(r, alice)
		if !a.Signed || a.Who[0].Identity != "alice@example.com" || a.Vulnerabilities == nil || a.Vulnerabilities.Highest != "CRITICAL" ||
			a.Vulnerabilities.IDs[0] != "CVE-2021-44228" {
			t.Errorf("alice: %+v", a)
		}
		// No key trusted: the key signature is present but does not
		// verify, and its SBOM is no answer.
		k := find(r, keyed)
		if k.Signed || len(k.SBOMs) != 0 || len(k.Unverified) != 2 || !strings.Contains(k.Unverified[0].Reason, "signed with a key that no trusted authority names") {
			t.Errorf("keyed without --key: %+v", k)
		}
		if len(r.Package.Matches) != 0 {
			t.Errorf("package found in unverified SBOMs: %+v", r.Package)
		}
	})

	t.Run("key and identity", func(t *testing.T) {
		r := reportJSON(alice, keyed, "--key", filepath.Join(dir, "k.pub"), "--certificate-identity", "bob@example.com",
			"--certificate-oidc-issuer", url+"/oidc", "--package", "log4j-core@2.14.1")
		k := find(r, keyed)
		if !k.Signed || k.Who[0].KeyName != filepath.Join(dir, "k.pub") || len(k.SBOMs) != 1 {
			t.Errorf("keyed: %+v", k)
		}
		if len(r.Package.Matches) != 1 || r.Package.Matches[0].Image != keyed {
			t.Errorf("package: %+v", r.Package)
		}
		a := find(r, alice)
		if a.Signed || len(a.Unverified) != 2 || !strings.Contains(a.Unverified[0].Reason, `identity: no identity matches`) {
			t.Errorf("alice under bob's identity: %+v", a)
		}
	})

	t.Run("policy file", func(t *testing.T) {
		cip := write("policy.yaml", `apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata:
  name: require-alice
spec:
  images:
  - glob: "`+host+`/**"
  authorities:
  - name: alice
    keyless:
      identities:
      - issuer: `+url+`/oidc
        subject: alice@example.com
`)
		r := reportJSON(alice, unsigned, "--policy", cip)
		if a := find(r, alice); a.Policy == nil || !a.Policy.Allowed || a.Who[0].TrustedBy != "ClusterImagePolicy require-alice, authority alice" {
			t.Errorf("alice: %+v", a)
		}
		if u := find(r, unsigned); u.Policy == nil || u.Policy.Allowed {
			t.Errorf("unsigned: %+v", u.Policy)
		}
	})

	t.Run("table and html", func(t *testing.T) {
		out := signet("report", alice, keyed)
		for _, want := range []string{"IMAGE " + alice + "  [SIGNED]", "alice@example.com (issuer " + url + "/oidc)",
			"highest CRITICAL: 1 CRITICAL — CVE-2021-44228", "signature present, does not verify"} {
			if !strings.Contains(out, want) {
				t.Errorf("table lacks %q:\n%s", want, out)
			}
		}
		page := signet("report", alice, "-o", "html")
		if !strings.HasPrefix(page, "<!DOCTYPE html>") || !strings.Contains(page, "CVE-2021-44228") {
			t.Errorf("html:\n%s", page)
		}
	})

	t.Run("bad input", func(t *testing.T) {
		for _, c := range []struct {
			args []string
			want string
		}{
			{[]string{"report", alice, "-o", "yaml"}, `-o "yaml": want table, json or html`},
			{[]string{"report", alice, "--package", "@1.0"}, "--package: package query"},
			{[]string{"report", alice, "-A"}, "not both"},
			{[]string{"report", alice, "--key", filepath.Join(dir, "missing.pub")}, "--key"},
		} {
			out, err := run(t, env, bin, c.args...)
			if err == nil || !strings.Contains(out, c.want) {
				t.Errorf("signet %s: err %v, output %q, want %q", strings.Join(c.args, " "), err, out, c.want)
			}
		}
	})
}
