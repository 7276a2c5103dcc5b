package archtest

import (
	"os/exec"
	"strings"
	"testing"
)

// testOnlyModules are the peers signet tests itself against (INTEROP.md):
// reference oracles, never part of the signet binary. Rekor's v1 entry
// types also pulled go-openapi and govalidator into every command's start
// (several milliseconds of package initialisation); tlog/rekorv1 has its
// own code for them.
var testOnlyModules = []string{
	"github.com/sigstore/rekor/", "github.com/sigstore/sigstore-go/", "github.com/sigstore/cosign/",
	"github.com/sigstore/policy-controller/", "github.com/go-openapi/", "github.com/asaskevich/govalidator",
}

// binaryViolations returns the packages of deps under a test-only module.
func binaryViolations(deps []string) []string {
	var out []string
	for _, d := range deps {
		for _, m := range testOnlyModules {
			if strings.HasPrefix(d+"/", m) || strings.HasPrefix(d, m) {
				out = append(out, d)
			}
		}
	}
	return out
}

func TestBinaryLinksNoTestOnlyModule(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", "./cmd/signet")
	cmd.Dir = repoRoot(t)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list ./cmd/signet: %v", err)
	}
	if v := binaryViolations(strings.Fields(string(out))); len(v) > 0 {
		t.Errorf("the signet binary links test-only modules:\n%s", strings.Join(v, "\n"))
	}
}

func TestBinaryViolationsCatchesModules(t *testing.T) {
	deps := []string{"github.com/sigstore/rekor/pkg/types", "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf", "github.com/go-openapi/strfmt", "github.com/asaskevich/govalidator", "fmt"}
	got := binaryViolations(deps)
	want := []string{"github.com/sigstore/rekor/pkg/types", "github.com/go-openapi/strfmt", "github.com/asaskevich/govalidator"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("binaryViolations = %q, want %q", got, want)
	}
}
