package archtest

import (
	"fmt"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/signetproject/signet/"

// domain are the domain packages of DESIGN.md, and the lower packages
// the layers above them may use.
var domain = []string{"bundle", "ca", "ctlog", "fulcio", "idtoken", "keys", "oci", "oidc", "policy", "report", "search", "sign", "tlog", "trustroot", "tsa", "tuf", "verify"}

// allowedImports is DESIGN.md's layering as a rule: for each signet
// package (and its subpackages, unless listed themselves), the signet
// packages its non-test code may import. Domain packages import only
// domain packages below them — policy does not reach into tlog for a
// helper, verify into oci, nothing into the adapters (server, admission,
// internal/cli) — so each domain package's dependencies stay its own. The
// one shared helper is internal/fastjson, the JSON subset scanner that the
// fast decoding paths of bundle, tlog, verify, policy and admission share,
// which imports nothing.
// One domain package builds on another's machinery rather than a helper:
// the CT log (ctlog) signs through tlog's consistency guard, so that no
// signet log signs a checkpoint inconsistent with one it published.
// A package may also import its own subpackages. A new package must be
// placed here.
var allowedImports = map[string][]string{
	// Domain packages, lowest first.
	"bundle":    {"internal/fastjson"},
	"fulcio":    nil,
	"keys":      nil,
	"oidc":      nil,
	"trustroot": nil,
	"tsa":       nil,
	"ca":        {"keys", "oidc", "trustroot"},
	"idtoken":   {"keys", "oidc", "trustroot"},
	"tuf":       {"keys", "trustroot"},
	"tlog":      {"bundle", "internal/fastjson", "keys", "trustroot"},
	"ctlog":     {"keys", "tlog", "trustroot"},
	"verify":    {"bundle", "fulcio", "internal/fastjson", "keys", "trustroot"},
	"sign":      {"bundle", "keys", "trustroot"},
	"search":    {"bundle", "fulcio", "internal/jsonlines", "keys", "tlog", "trustroot", "verify"},
	"oci":       {"bundle", "keys", "sign", "trustroot", "verify"},
	"policy":    {"bundle", "internal/fastjson", "keys", "oci", "trustroot", "tuf", "verify"},
	"report":    {"bundle", "keys", "oci", "policy", "trustroot", "tuf", "verify"},

	// The logs' parts, as tessera splits its drivers from its core: the
	// storage drivers stand alone, the shared machinery (proofs from
	// tiles, the consistency guard) sits on them, and the Rekor v1 log
	// builds on the v2 log's entries and that machinery.
	"tlog/storage":           nil,
	"tlog/internal/tiles":    {"tlog/storage"},
	"tlog/internal/guard":    {"tlog/internal/tiles", "tlog/storage"},
	"tlog/rekorv1":           {"bundle", "fulcio", "internal/jsonlines", "keys", "tlog", "tlog/internal/guard", "tlog/internal/tiles", "tlog/storage", "trustroot"},
	"tlog/internal/tlogtest": {"tlog/storage"},

	// The policy catalog: policies built on policy, and the harness that
	// tests each against a real signet server, registry and signer.
	"policy/catalog":             {"policy"},
	"policy/catalog/catalogtest": {"internal/registrytest", "oci", "oidc", "policy", "server/servertest", "sign", "trustroot"},

	// Adapters: HTTP and Kubernetes on top of the domain.
	"server":            slices.Concat(domain, []string{"internal/webui"}),
	"server/servertest": {"server"},
	"admission":         slices.Concat(domain, []string{"internal/fastjson", "internal/kube"}),
	"internal/cli":      slices.Concat(domain, []string{"admission", "internal/kube", "server"}),
	"cmd/signet":        {"internal/cli"},

	// The adapters' Kubernetes access (client-go's dynamic client, not its
	// typed clientset), and its fake for tests.
	"internal/kube":          nil,
	"internal/kube/kubetest": {"internal/kube"},

	// The JSON subset scanner of the fast decoding paths, and the
	// append-only JSON-lines files of the embedded stores, standing alone
	// below the domain packages.
	"internal/fastjson":  nil,
	"internal/jsonlines": nil,

	// Helpers for tests and tools, standing alone.
	"internal/archtest":     nil,
	"internal/benchutil":    nil,
	"internal/cttest":       nil,
	"internal/freeport":     nil,
	"internal/registrytest": nil,
	"internal/spiffetest":   nil,
	"internal/tools":        nil,
	"internal/webui":        nil,
}

// rule returns the allowed imports of pkg: those of the longest listed
// prefix, plus its own subpackages.
func rule(pkg string) (allowed map[string]bool, ok bool) {
	for p := pkg; p != "."; p = parent(p) {
		if list, found := allowedImports[p]; found {
			allowed = map[string]bool{}
			for _, a := range list {
				allowed[a] = true
			}
			return allowed, true
		}
	}
	return nil, false
}

func parent(p string) string {
	if i := strings.LastIndex(p, "/"); i >= 0 {
		return p[:i]
	}
	return "."
}

// layeringViolations checks an import graph (module-relative package →
// module-relative imports) against allowedImports.
func layeringViolations(graph map[string][]string) []string {
	var out []string
	pkgs := make([]string, 0, len(graph))
	for p := range graph {
		pkgs = append(pkgs, p)
	}
	sort.Strings(pkgs)
	for _, pkg := range pkgs {
		allowed, ok := rule(pkg)
		if !ok {
			out = append(out, fmt.Sprintf("%s is not in internal/archtest's allowedImports: place it in DESIGN.md's layers", pkg))
			continue
		}
		for _, imp := range graph[pkg] {
			if _, ok := rule(imp); ok && (allowed[imp] || allowedByPrefix(allowed, imp) || strings.HasPrefix(imp, pkg+"/")) {
				continue
			}
			out = append(out, fmt.Sprintf("%s imports %s, which DESIGN.md's layering does not allow (internal/archtest allowedImports)", pkg, imp))
		}
	}
	return out
}

// allowedByPrefix lets a rule that names a package also cover its
// subpackages (tlog covers tlog/rekorv1).
func allowedByPrefix(allowed map[string]bool, imp string) bool {
	for p := parent(imp); p != "."; p = parent(p) {
		if allowed[p] {
			return true
		}
	}
	return false
}

// TestLayering enforces allowedImports on the module's packages.
func TestLayering(t *testing.T) {
	cmd := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "./...")
	cmd.Dir = repoRoot(t)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	graph := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkg, ok := strings.CutPrefix(f[0], module)
		if !ok {
			continue
		}
		graph[pkg] = nil
		for _, imp := range f[1:] {
			if rel, ok := strings.CutPrefix(imp, module); ok {
				graph[pkg] = append(graph[pkg], rel)
			}
		}
	}
	if len(graph) < 10 {
		t.Fatalf("only %d packages listed", len(graph))
	}
	for _, v := range layeringViolations(graph) {
		t.Error(v)
	}
}

// TestLayeringCatchesViolations proves the layering check can fail.
func TestLayeringCatchesViolations(t *testing.T) {
	tests := []struct {
		graph map[string][]string
		want  string // "" for no violation
	}{
		{map[string][]string{"policy": {"tlog"}}, "policy imports tlog"},
		{map[string][]string{"verify": {"oci"}}, "verify imports oci"},
		{map[string][]string{"tlog": {"server"}}, "tlog imports server"},
		{map[string][]string{"oci": {"internal/cli"}}, "oci imports internal/cli"},
		{map[string][]string{"admission": {"server"}}, "admission imports server"},
		{map[string][]string{"newthing": nil}, "newthing is not in internal/archtest's allowedImports"},
		{map[string][]string{"policy": {"newthing"}}, "policy imports newthing"},
		{map[string][]string{"policy": {"oci", "verify", "trustroot"}}, ""},
		{map[string][]string{"tlog": {"tlog/rekorv1", "trustroot"}, "tlog/rekorv1": {"trustroot"}}, ""},
		{map[string][]string{"server": {"tlog/rekorv1"}}, ""},
		{map[string][]string{"internal/tools/mutate": nil, "cmd/signet": {"internal/cli"}}, ""},
	}
	for _, tt := range tests {
		got := strings.Join(layeringViolations(tt.graph), "\n")
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("%v: violations %q, want %q", tt.graph, got, tt.want)
		}
	}
}
