// Command mutate checks that a package's tests can fail: it deletes or
// inverts each guard of the package's code, one at a time, runs the
// package's tests against each such mutant and lists the mutants no test
// kills.
//
// Mutation points:
//   - every if statement: "delete" forces its condition false (the guard
//     never fires), "invert" negates it;
//   - every return in a function whose only result is a bool: "invert"
//     negates the returned value.
//
// The mutants are compiled once, as schemata: each condition is wrapped in
// a call that consults SIGNET_MUTANT at run time, through a go build
// -overlay, so the worktree is never modified. The test binary then runs
// once per mutant, first without the tests named by -slow, and with them
// only for mutants that survive the fast pass.
//
//	go run ./internal/tools/mutate -pkg ./verify -slow '^TestDifferential$'
//
// The exit status is 1 when mutants survive and 2 on errors.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

// envVar selects the active mutant in the instrumented test binary.
const envVar = "SIGNET_MUTANT"

// helperName is the schemata function the instrumented code calls.
const helperName = "signetMutant"

// Mutant is one change to one guard.
type Mutant struct {
	ID   int    // SIGNET_MUTANT value that activates it
	Pos  string // file:line relative to the package directory's parent
	Func string // enclosing function
	Kind string // "delete" or "invert"
	What string // "if <cond>" or "return <expr>"
	Key  string // names the mutant without its line, for the equivalents list
}

func (m Mutant) String() string { return fmt.Sprintf("%s: %s %s", m.Pos, m.Kind, m.What) }

// The mutation kinds, as the helper encodes them: mutant 2k deletes point
// k, mutant 2k+1 inverts it.
const (
	kindDelete = "delete"
	kindInvert = "invert"
)

// instrument rewrites one file's source so that every mutation point
// consults the helper, and returns the new source and its mutants.
// nextPoint numbers the points across files; display is the file name
// used in reports.
func instrument(src []byte, display string, nextPoint *int, lines map[int]bool) ([]byte, []Mutant, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, display, src, parser.ParseComments)
	if err != nil {
		return nil, nil, err
	}
	var mutants []Mutant
	text := func(n ast.Node) string {
		var b bytes.Buffer
		if err := format.Node(&b, token.NewFileSet(), n); err != nil {
			return "?"
		}
		s := strings.Join(strings.Fields(b.String()), " ")
		if len(s) > 90 {
			s = s[:87] + "..."
		}
		return s
	}
	wrap := func(e ast.Expr, point int) ast.Expr {
		return &ast.CallExpr{
			Fun:  ast.NewIdent(helperName),
			Args: []ast.Expr{&ast.BasicLit{Kind: token.INT, Value: fmt.Sprint(point)}, e},
		}
	}
	selected := func(n ast.Node) bool {
		return len(lines) == 0 || lines[fset.Position(n.Pos()).Line]
	}
	fn := ""
	var visit func(n ast.Node, boolResult bool) bool
	visit = func(n ast.Node, boolResult bool) bool {
		switch n := n.(type) {
		case *ast.FuncDecl:
			fn = n.Name.Name
			if n.Recv != nil && len(n.Recv.List) == 1 {
				fn = "(" + text(n.Recv.List[0].Type) + ")." + fn
			}
			if n.Body != nil {
				b := returnsOnlyBool(n.Type)
				ast.Inspect(n.Body, func(m ast.Node) bool { return visit(m, b) })
			}
			return false
		case *ast.FuncLit:
			b := returnsOnlyBool(n.Type)
			ast.Inspect(n.Body, func(m ast.Node) bool { return visit(m, b) })
			return false
		case *ast.IfStmt:
			if !selected(n) {
				return true
			}
			p := *nextPoint
			*nextPoint++
			pos := fmt.Sprintf("%s:%d", display, fset.Position(n.Pos()).Line)
			what := "if " + text(n.Cond)
			mutants = append(mutants,
				Mutant{ID: 2 * p, Pos: pos, Func: fn, Kind: kindDelete, What: what},
				Mutant{ID: 2*p + 1, Pos: pos, Func: fn, Kind: kindInvert, What: what})
			n.Cond = wrap(n.Cond, p)
			return true
		case *ast.ReturnStmt:
			if !boolResult || len(n.Results) != 1 || !selected(n) {
				return true
			}
			p := *nextPoint
			*nextPoint++
			mutants = append(mutants, Mutant{ID: 2*p + 1, Pos: fmt.Sprintf("%s:%d", display, fset.Position(n.Pos()).Line),
				Func: fn, Kind: kindInvert, What: "return " + text(n.Results[0])})
			n.Results[0] = wrap(n.Results[0], p)
			return true
		}
		return true
	}
	ast.Inspect(f, func(n ast.Node) bool { return visit(n, false) })
	seen := map[string]int{}
	for i := range mutants {
		m := &mutants[i]
		m.Key = fmt.Sprintf("%s %s: %s %s", display, m.Func, m.Kind, m.What)
		seen[m.Key]++
		if n := seen[m.Key]; n > 1 {
			m.Key += fmt.Sprintf(" #%d", n)
		}
	}
	var out bytes.Buffer
	if err := format.Node(&out, fset, f); err != nil {
		return nil, nil, err
	}
	return out.Bytes(), mutants, nil
}

func returnsOnlyBool(t *ast.FuncType) bool {
	if t.Results == nil || len(t.Results.List) != 1 || len(t.Results.List[0].Names) > 1 {
		return false
	}
	id, ok := t.Results.List[0].Type.(*ast.Ident)
	return ok && id.Name == "bool"
}

// helperSource is the schemata function, added to the package.
func helperSource(pkg string) []byte {
	return fmt.Appendf(nil, `package %s

import (
	"os"
	"strconv"
)

var signetMutantActive = func() int {
	n, err := strconv.Atoi(os.Getenv(%q))
	if err != nil {
		return -1
	}
	return n
}()

// %s returns c, or the mutation of point p when it is active.
func %s[B ~bool](p int, c B) B {
	switch signetMutantActive {
	case 2 * p:
		return false
	case 2*p + 1:
		return !c
	}
	return c
}
`, pkg, envVar, helperName, helperName)
}

// target is one package directory and the files (and lines) to mutate.
type target struct {
	dir   string
	files map[string]map[int]bool // base name → lines (empty: all)
}

func parseTarget(pkg, files string) (target, error) {
	t := target{dir: pkg, files: map[string]map[int]bool{}}
	if files == "" {
		matches, err := filepath.Glob(filepath.Join(pkg, "*.go"))
		if err != nil {
			return t, err
		}
		for _, m := range matches {
			if !strings.HasSuffix(m, "_test.go") {
				t.files[filepath.Base(m)] = nil
			}
		}
		return t, nil
	}
	for _, spec := range strings.Split(files, ",") {
		name, rng, _ := strings.Cut(spec, ":")
		if t.files[name] == nil {
			t.files[name] = map[int]bool{}
		}
		if rng == "" {
			continue
		}
		var lo, hi int
		if _, err := fmt.Sscanf(rng, "%d-%d", &lo, &hi); err != nil {
			return t, fmt.Errorf("file spec %q: want name.go or name.go:from-to", spec)
		}
		for l := lo; l <= hi; l++ {
			t.files[name][l] = true
		}
	}
	return t, nil
}

// build instruments the target and compiles its test binary into work.
func build(ctx context.Context, t target, work string) (string, []Mutant, error) {
	abs, err := filepath.Abs(t.dir)
	if err != nil {
		return "", nil, err
	}
	overlay := map[string]string{}
	var mutants []Mutant
	point := 0
	var pkgName string
	names := make([]string, 0, len(t.files))
	for name := range t.files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		path := filepath.Join(abs, name)
		src, err := os.ReadFile(path)
		if err != nil {
			return "", nil, err
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, src, parser.PackageClauseOnly)
		if err != nil {
			return "", nil, err
		}
		pkgName = f.Name.Name
		out, ms, err := instrument(src, filepath.Join(filepath.Base(abs), name), &point, t.files[name])
		if err != nil {
			return "", nil, fmt.Errorf("%s: %w", name, err)
		}
		mutants = append(mutants, ms...)
		repl := filepath.Join(work, "src", name)
		if err := os.MkdirAll(filepath.Dir(repl), 0o755); err != nil {
			return "", nil, err
		}
		if err := os.WriteFile(repl, out, 0o644); err != nil {
			return "", nil, err
		}
		overlay[path] = repl
	}
	if pkgName == "" {
		return "", nil, errors.New("no files to mutate")
	}
	helper := filepath.Join(work, "src", "zz_signet_mutant.go")
	if err := os.WriteFile(helper, helperSource(pkgName), 0o644); err != nil {
		return "", nil, err
	}
	overlay[filepath.Join(abs, "zz_signet_mutant.go")] = helper
	oj, err := json.Marshal(map[string]any{"Replace": overlay})
	if err != nil {
		return "", nil, err
	}
	ojPath := filepath.Join(work, "overlay.json")
	if err := os.WriteFile(ojPath, oj, 0o644); err != nil {
		return "", nil, err
	}
	bin := filepath.Join(work, "pkg.test")
	cmd := exec.CommandContext(ctx, goCmd(), "test", "-c", "-vet=off", "-overlay", ojPath, "-o", bin, ".")
	cmd.Dir = abs
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", nil, fmt.Errorf("compile instrumented tests: %v\n%s", err, out)
	}
	return bin, mutants, nil
}

func goCmd() string {
	if g := os.Getenv("GO"); g != "" {
		return g
	}
	return "go"
}

// outcome of one mutant run.
type outcome int

const (
	survived outcome = iota
	killed
	timedOut
)

// run executes the test binary with mutant id active (-1: none).
func run(ctx context.Context, bin, dir string, id int, args []string, timeout time.Duration) (outcome, string) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"-test.count=1", "-test.failfast"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d", envVar, id))
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	switch {
	case ctx.Err() != nil:
		return timedOut, ""
	case err != nil:
		return killed, firstFailure(out)
	}
	return survived, ""
}

var failLine = regexp.MustCompile(`(?m)^\s*--- FAIL: (\S+)`)

// firstFailure names the innermost failing test in go test output.
func firstFailure(out []byte) string {
	m := failLine.FindAllSubmatch(out, -1)
	if len(m) == 0 {
		if i := bytes.Index(out, []byte("panic:")); i >= 0 {
			return "panic"
		}
		return "exit"
	}
	return string(m[len(m)-1][1])
}

func main() {
	pkg := flag.String("pkg", "", "package directory to mutate, e.g. ./verify")
	files := flag.String("files", "", "comma-separated files of the package to mutate, each optionally name.go:from-to lines (default: all non-test files)")
	slow := flag.String("slow", "", "regexp of tests run only for mutants that survive the others")
	skip := flag.String("skip", "", "regexp of tests never run (to explore quickly)")
	equiv := flag.String("equivalent", "", "file listing known equivalent mutants, one key per line followed by '  # reason'")
	jobs := flag.Int("j", 2, "mutants run in parallel")
	verbose := flag.Bool("v", false, "print every mutant's outcome")
	flag.Parse()
	if *pkg == "" || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	t, err := parseTarget(*pkg, *files)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mutate:", err)
		os.Exit(2)
	}
	known, err := loadEquivalents(*equiv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mutate:", err)
		os.Exit(2)
	}
	survivors, err := mutate(context.Background(), t, *slow, *skip, *jobs, *verbose, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mutate:", err)
		os.Exit(2)
	}
	if len(unexpected(survivors, known, t, os.Stdout)) > 0 {
		os.Exit(1)
	}
}

// loadEquivalents reads the known equivalent mutants: key → reason.
func loadEquivalents(path string) (map[string]string, error) {
	known := map[string]string{}
	if path == "" {
		return known, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	for i, line := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, reason, ok := strings.Cut(line, "  # ")
		if !ok || strings.TrimSpace(reason) == "" {
			return nil, fmt.Errorf("%s:%d: want '<key>  # <why the mutant cannot be killed>'", path, i+1)
		}
		known[strings.TrimSpace(key)] = strings.TrimSpace(reason)
	}
	return known, nil
}

// unexpected prints which survivors are known equivalents, which listed
// equivalents of this package were killed (the list is stale), and
// returns the survivors that are not listed.
func unexpected(survivors []Mutant, known map[string]string, t target, w *os.File) []Mutant {
	var out []Mutant
	surviving := map[string]bool{}
	for _, m := range survivors {
		surviving[m.Key] = true
		if why, ok := known[m.Key]; ok {
			fmt.Fprintf(w, "  equivalent %s (%s)\n", m, why)
			continue
		}
		out = append(out, m)
	}
	dir, _ := filepath.Abs(t.dir)
	for key := range known {
		file, _, _ := strings.Cut(key, " ")
		if _, mutated := t.files[filepath.Base(file)]; mutated && filepath.Dir(file) == filepath.Base(dir) && !surviving[key] {
			fmt.Fprintf(w, "  stale: listed as equivalent but did not survive: %s\n", key)
		}
	}
	fmt.Fprintf(w, "%s: %d unexpected survivors\n", t.dir, len(out))
	return out
}

// mutate runs every mutant of t and returns the survivors, printing a
// summary to w.
func mutate(ctx context.Context, t target, slow, skip string, jobs int, verbose bool, w *os.File) ([]Mutant, error) {
	work, err := os.MkdirTemp("", "signet-mutate-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	bin, mutants, err := build(ctx, t, work)
	if err != nil {
		return nil, err
	}
	dir, _ := filepath.Abs(t.dir)

	// The unmutated tests must pass, and set the time budget.
	start := time.Now()
	var never []string
	if skip != "" {
		never = []string{"-test.skip", skip}
	}
	if o, why := run(ctx, bin, dir, -1, never, 30*time.Minute); o != survived {
		return nil, fmt.Errorf("tests fail without mutants (%s)", why)
	}
	budget := max(3*time.Since(start), 2*time.Minute)
	fmt.Fprintf(w, "%s: %d mutants, baseline %s\n", t.dir, len(mutants), time.Since(start).Round(time.Second))

	fast := never
	if slow != "" {
		fast = []string{"-test.skip", strings.Trim(slow+"|"+skip, "|")}
	}
	results := make([]outcome, len(mutants))
	killers := make([]string, len(mutants))
	var mu sync.Mutex
	sem := make(chan struct{}, max(jobs, 1))
	var wg sync.WaitGroup
	for i, m := range mutants {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			o, why := run(ctx, bin, dir, m.ID, fast, budget)
			if o == survived && slow != "" {
				o, why = run(ctx, bin, dir, m.ID, append([]string{"-test.run", slow}, never...), budget)
			}
			mu.Lock()
			results[i], killers[i] = o, why
			if verbose {
				fmt.Fprintf(w, "%-8s %s %s\n", [...]string{"SURVIVED", "killed", "timeout"}[o], m, why)
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	var survivors []Mutant
	var nKilled, nTimeout int
	for i, m := range mutants {
		switch results[i] {
		case survived:
			survivors = append(survivors, m)
		case killed:
			nKilled++
		case timedOut:
			nTimeout++
		}
	}
	fmt.Fprintf(w, "%s: %d killed, %d timed out (counted as killed), %d survived\n", t.dir, nKilled, nTimeout, len(survivors))
	for _, m := range survivors {
		fmt.Fprintf(w, "  SURVIVED %s  [key: %s]\n", m, m.Key)
	}
	return survivors, nil
}
