package report_test

import (
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "copy the third-party test data from the Go module cache into testdata/")

// thirdParty are real scanner reports and SBOMs from the Trivy and Grype
// projects' own test data (both Apache-2.0), copied from the Go module
// cache by `go test ./report -run TestThirdPartyTestdata -update`.
var thirdParty = []struct{ module, path, file string }{
	// Trivy's JSON report of alpine:3.9 (CRITICAL CVE-2019-14697 in musl).
	{"github.com/aquasecurity/trivy@v0.74.0", "integration/testdata/alpine-39.json.golden", "trivy-alpine-39.json"},
	// Grype's JSON report of an image (a Low and a Critical finding).
	{"github.com/anchore/grype@v0.121.2", "grype/presenter/json/testdata/snapshot/TestJsonImgsPresenter.golden", "grype-image.json"},
	// A CycloneDX 1.5 BOM (Maven group in the component name).
	{"github.com/aquasecurity/trivy@v0.74.0", "pkg/sbom/cyclonedx/testdata/happy/group-in-name.json", "cyclonedx-1.5.json"},
	// An SPDX 2.3 document (Elasticsearch's Java packages).
	{"github.com/aquasecurity/trivy@v0.74.0", "pkg/fanal/analyzer/sbom/testdata/elasticsearch.spdx.json", "spdx-2.3.json"},
}

// TestThirdPartyTestdata checks the copies are present; with -update it
// makes them.
func TestThirdPartyTestdata(t *testing.T) {
	for _, f := range thirdParty {
		dst := filepath.Join("testdata", f.file)
		if *update {
			out, err := exec.Command("go", "mod", "download", "-json", f.module).Output()
			if err != nil {
				t.Fatalf("go mod download %s: %v", f.module, err)
			}
			var m struct{ Dir string }
			if err := json.Unmarshal(out, &m); err != nil || m.Dir == "" {
				t.Fatalf("go mod download %s: no directory in %s", f.module, out)
			}
			data, err := os.ReadFile(filepath.Join(m.Dir, f.path))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(dst, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := os.Stat(dst); err != nil {
			t.Errorf("%s (from %s %s): %v; run go test ./report -run TestThirdPartyTestdata -update", dst, f.module, f.path, err)
		}
	}
}
