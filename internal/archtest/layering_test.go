// Package archtest enforces signet's layering (DESIGN.md): domain packages
// never import Kubernetes, cobra or HTTP server code, and signet packages
// import each other only down the layers (allowedImports).
package archtest

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// domainPackages are the packages that must stay free of transport code.
var domainPackages = []string{"ca", "oidc", "tlog", "tsa", "bundle", "fulcio", "verify", "trustroot", "oci", "policy", "keys", "report"}

// forbiddenImports are import-path prefixes no domain package may depend
// on, directly or transitively. (k8s.io/klog is a plain logging library
// that Tessera and transparency-dev use; it is not Kubernetes API code.)
var forbiddenImports = []string{"k8s.io/api", "k8s.io/apimachinery", "k8s.io/client-go", "k8s.io/apiextensions-apiserver",
	"sigs.k8s.io/", "github.com/spf13/cobra", "net/http/httptest", "net/http/pprof", "net/http/cgi", "net/http/fcgi"}

// serverIdents are net/http names that only server code uses.
var serverIdents = map[string]bool{
	"Handler": true, "HandlerFunc": true, "ServeMux": true, "NewServeMux": true, "Server": true,
	"ResponseWriter": true, "ListenAndServe": true, "ListenAndServeTLS": true, "Serve": true, "ServeTLS": true, "Handle": true, "HandleFunc": true,
}

func repoRoot(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

func existing(t *testing.T, root string) []string {
	var out []string
	for _, p := range domainPackages {
		matches, _ := filepath.Glob(filepath.Join(root, p, "*.go"))
		if len(matches) > 0 {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		t.Fatal("no domain packages found: is the list out of date?")
	}
	return out
}

func TestDomainPackagesImportNoTransport(t *testing.T) {
	root := repoRoot(t)
	for _, pkg := range existing(t, root) {
		cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", "./"+pkg)
		cmd.Dir = root
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list %s: %v", pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, bad := range forbiddenImports {
				if strings.HasPrefix(dep, bad) {
					t.Errorf("domain package %s depends on %s", pkg, dep)
				}
			}
		}
	}
}

func TestDomainPackagesUseNoHTTPServerAPI(t *testing.T) {
	root := repoRoot(t)
	for _, pkg := range existing(t, root) {
		files, _ := filepath.Glob(filepath.Join(root, pkg, "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			for _, v := range checkFile(t, f) {
				t.Error(v)
			}
		}
	}
}

// checkFile returns the uses of HTTP server API in a Go file.
func checkFile(t *testing.T, path string) []string {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	httpName := ""
	for _, imp := range file.Imports {
		if strings.Trim(imp.Path.Value, `"`) == "net/http" {
			httpName = "http"
			if imp.Name != nil {
				httpName = imp.Name.Name
			}
		}
	}
	if httpName == "" {
		return nil
	}
	var violations []string
	ast.Inspect(file, func(n ast.Node) bool {
		sel, ok := n.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		if id, ok := sel.X.(*ast.Ident); ok && id.Name == httpName && serverIdents[sel.Sel.Name] {
			violations = append(violations, fmt.Sprintf("%s: domain package uses http.%s (server code belongs in server/ or admission/)", fset.Position(sel.Pos()), sel.Sel.Name))
		}
		return true
	})
	return violations
}

// TestCheckerCatchesViolations proves the file check can fail.
func TestCheckerCatchesViolations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.go")
	src := "package bad\nimport web \"net/http\"\nvar _ web.Handler\nvar _ = web.Get\n"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := checkFile(t, path); len(got) != 1 || !strings.Contains(got[0], "http.Handler") {
		t.Errorf("checkFile = %q, want one violation for http.Handler (and none for the client call)", got)
	}
}
