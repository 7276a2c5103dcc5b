package report

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/signetproject/signet/oci"
)

func TestParseScanResult(t *testing.T) {
	for _, c := range []struct {
		name, in, format, err string
		ids                   []string
	}{
		{"trivy", `{"SchemaVersion":2,"Results":[{"Vulnerabilities":[{"VulnerabilityID":"CVE-2","Severity":"low"},{"VulnerabilityID":"CVE-1","Severity":"CRITICAL"}]}]}`, "trivy", "", []string{"CVE-1", "CVE-2"}},
		{"trivy without findings", `{"SchemaVersion":2}`, "trivy", "", nil},
		{"grype", `{"matches":[{"vulnerability":{"id":"GHSA-1","severity":"Negligible"},"artifact":{"name":"a"}}]}`, "grype", "", []string{"GHSA-1"}},
		{"grype null matches", `{"matches":null}`, "", "matches is null", nil},
		{"neither", `{"vulnerabilities":[]}`, "", "neither Trivy JSON", nil},
		{"not an object", `[1,2]`, "", "not a JSON object", nil},
		{"wrong types", `{"Results":"x"}`, "", "Trivy JSON", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			format, findings, err := parseScanResult([]byte(c.in))
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want %q", err, c.err)
				}
				return
			}
			if err != nil || format != c.format {
				t.Fatalf("format %q err %v, want %q", format, err, c.format)
			}
			var ids []string
			for _, f := range findings {
				ids = append(ids, f.ID)
			}
			if diff := cmp.Diff(c.ids, ids); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSeverityAndSummary(t *testing.T) {
	if severity(" critical ") != SeverityCritical || severity("bogus") != SeverityUnknown || severity("Negligible") != SeverityNegligible {
		t.Error("severity names are not normalised")
	}
	old, newer := time.Unix(1000, 0), time.Unix(2000, 0)
	v := &Vulnerabilities{Scans: []VulnScan{
		{FinishedAt: &newer, Highest: SeverityLow, Counts: map[string]int{"LOW": 1}, Findings: []Finding{{ID: "CVE-new", Severity: "LOW"}}},
		{FinishedAt: &old, Highest: SeverityCritical, Counts: map[string]int{"CRITICAL": 1}, Findings: []Finding{{ID: "CVE-old", Severity: "CRITICAL"}}},
		{Error: "unreadable"},
	}}
	v.summarise()
	if v.Highest != SeverityLow || v.IDs[0] != "CVE-new" {
		t.Errorf("the newest scan is not the answer: %+v", v)
	}
	bad := &Vulnerabilities{Scans: []VulnScan{{Error: "unreadable"}}}
	bad.summarise()
	if bad.Highest != SeverityUnscanned {
		t.Errorf("only unreadable scans: highest %q, want UNSCANNED", bad.Highest)
	}
	scan := readVulnScan([]byte(`{"scanner":{"result":{"Results":[]}},"metadata":{"scanFinishedOn":"2026-01-01T00:00:00Z"}}`), Signer{}, time.Date(2026, 1, 3, 5, 0, 0, 0, time.UTC))
	if scan.Highest != SeverityNone || scan.Age != "2d5h" || scan.Format != "trivy" {
		t.Errorf("scan = %+v", scan)
	}
}

func TestParseSBOM(t *testing.T) {
	nested := `{"bomFormat":"CycloneDX","specVersion":"1.5","components":[{"name":"a","version":"1","components":[{"group":"org.apache.logging.log4j","name":"log4j-core","version":"2.14.1"}]}]}`
	deep := `{"name":"x"}`
	for range maxComponentDepth + 2 {
		deep = `{"name":"x","components":[` + deep + `]}`
	}
	for _, c := range []struct {
		name, typ, in, err string
		packages           int
	}{
		{"spdx", oci.PredicateSPDX, `{"spdxVersion":"SPDX-2.3","packages":[{"name":"a"},{"name":"b"}]}`, "", 2},
		{"spdx 3 is not read", oci.PredicateSPDX, `{"spdxVersion":"SPDX-3.0"}`, "want SPDX-2.x", 0},
		{"cyclonedx nested", oci.PredicateCycloneDX, nested, "", 2},
		{"cyclonedx too deep", oci.PredicateCycloneDX, `{"bomFormat":"CycloneDX","specVersion":"1.5","components":[` + deep + `]}`, "nested deeper", 0},
		{"not cyclonedx", oci.PredicateCycloneDX, `{"bomFormat":"SPDX"}`, "want CycloneDX JSON", 0},
		{"not json", oci.PredicateSPDX, `{`, "SPDX document", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			sb, pkgs := readSBOM(c.typ, []byte(c.in), Signer{})
			if c.err != "" {
				if !strings.Contains(sb.Error, c.err) || pkgs != nil {
					t.Fatalf("error %q, packages %v; want %q", sb.Error, pkgs, c.err)
				}
				return
			}
			if sb.Error != "" || sb.Packages != c.packages || len(pkgs) != c.packages {
				t.Fatalf("SBOM %+v, want %d packages", sb, c.packages)
			}
		})
	}
}

func TestPackageQuery(t *testing.T) {
	pkgs := []Package{
		{Name: "log4j-core", Version: "2.14.1"},
		{Name: "org.apache.logging.log4j:log4j-core", Version: "2.17.1"},
		{Name: "core", Version: "1", PURL: "pkg:maven/org.apache.logging.log4j/log4j-core@2.20.0"},
		{Name: "log4j-core-extras", Version: "2.14.1"},
		{Name: "log4j-api", Version: "2.14.1"},
	}
	for _, c := range []struct {
		query string
		want  []string
	}{
		{"log4j-core", []string{"log4j-core 2.14.1", "org.apache.logging.log4j:log4j-core 2.17.1", "core 1"}},
		{"LOG4J-CORE@2.14.1", []string{"log4j-core 2.14.1"}},
		{"log4j-core@2.20.0", []string{"core 1"}},
		{"log4j-core@2.0", nil},
		{"log4j", nil},
	} {
		q, err := ParsePackageQuery(c.query)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range q.Match(pkgs) {
			got = append(got, p.Name+" "+p.Version)
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.query, diff)
		}
	}
	for _, bad := range []string{"", "@1", "a b"} {
		if _, err := ParsePackageQuery(bad); err == nil {
			t.Errorf("ParsePackageQuery(%q) accepted", bad)
		}
	}
}

func TestSourceConflicts(t *testing.T) {
	s := Source{Claims: []SourceClaim{
		{From: "certificate", Repository: "https://GitHub.com/octo/app", Commit: "ABC", Ref: "refs/heads/main"},
		{From: "provenance v1 resolvedDependencies", Repository: "git+https://github.com/octo/app.git", Commit: "abc"},
		{From: "provenance v1 externalParameters", Repository: "https://github.com/octo/app", Ref: "refs/heads/dev"},
	}}
	s.resolve()
	if s.Repository != "https://github.com/octo/app" || s.Commit != "abc" || s.Ref != "" {
		t.Errorf("answer = %q %q %q", s.Repository, s.Commit, s.Ref)
	}
	if len(s.Conflicts) != 1 || !strings.HasPrefix(s.Conflicts[0], "ref disagrees: certificate says refs/heads/main; provenance v1 externalParameters says refs/heads/dev") {
		t.Errorf("conflicts = %q", s.Conflicts)
	}
	c, ok := gitClaim("m", "git+https://github.com/octo/app@refs/tags/v1", map[string]string{"sha1": "f00"}, "x")
	if !ok || c.Repository != "https://github.com/octo/app" || c.Ref != "refs/tags/v1" || c.Commit != "f00" {
		t.Errorf("gitClaim = %+v", c)
	}
	if _, ok := gitClaim("m", "pkg:docker/alpine@3", map[string]string{"sha256": "00"}, "x"); ok {
		t.Error("a base image was taken as a source claim")
	}
}

// FuzzParseScanResult: any scanner.result parses or fails with an error,
// never panics, and its findings are sorted highest severity first.
func FuzzParseScanResult(f *testing.F) {
	f.Add([]byte(`{"Results":[{"Vulnerabilities":[{"VulnerabilityID":"CVE-1","Severity":"HIGH"}]}]}`))
	f.Add([]byte(`{"matches":[{"vulnerability":{"id":"CVE-1","severity":"High"}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, findings, err := parseScanResult(data)
		if err != nil {
			return
		}
		for i := 1; i < len(findings); i++ {
			if sevRank(findings[i-1].Severity) > sevRank(findings[i].Severity) {
				t.Fatalf("findings out of order: %+v", findings)
			}
		}
	})
}

// FuzzReadSBOM: any SPDX or CycloneDX predicate is read or reported as
// unreadable, with a package count matching the packages returned.
func FuzzReadSBOM(f *testing.F) {
	f.Add([]byte(`{"spdxVersion":"SPDX-2.3","packages":[{"name":"a"}]}`), true)
	f.Add([]byte(`{"bomFormat":"CycloneDX","specVersion":"1.5","components":[{"name":"a","components":[{"name":"b"}]}]}`), false)
	f.Fuzz(func(t *testing.T, data []byte, spdx bool) {
		typ := oci.PredicateCycloneDX
		if spdx {
			typ = oci.PredicateSPDX
		}
		sb, pkgs := readSBOM(typ, data, Signer{})
		if (sb.Error == "") != (pkgs != nil || sb.Packages == 0) || sb.Packages != len(pkgs) {
			t.Fatalf("SBOM %+v with %d packages", sb, len(pkgs))
		}
		if _, err := json.Marshal(sb); err != nil {
			t.Fatal(fmt.Errorf("encode: %w", err))
		}
	})
}
