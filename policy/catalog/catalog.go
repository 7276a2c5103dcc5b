// Package catalog holds signet's ready-made ClusterImagePolicies, embedded
// in the binary: signatures (who signed), attestations (provenance,
// vulnerability scans, SBOMs), workloads (the Pod Security Standards) and
// images (age, registries). Each is a policy-controller compatible
// ClusterImagePolicy template with a title, a description, labels and
// parameters (--set NAME=VALUE) with defaults; Render fills them in and
// checks that the result loads as policy-controller would validate it.
package catalog

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/template"

	"go.yaml.in/yaml/v3"

	"github.com/signetproject/signet/policy"
)

// Annotation and label keys the catalog's policies carry.
const (
	// TitleAnnotation is a policy's one-line title.
	TitleAnnotation = "catalog.signet.dev/title"
	// DescriptionAnnotation says what a policy requires and why.
	DescriptionAnnotation = "catalog.signet.dev/description"
	// GroupLabel is a policy's group: signatures, attestations, workloads
	// or images.
	GroupLabel = "catalog.signet.dev/group"
)

// Groups are the catalog's groups, in listing order.
var Groups = []string{"signatures", "attestations", "workloads", "images"}

//go:embed policies
var files embed.FS

// partials are templates the policies include ("rego-pod", "rego-verdict").
//
//go:embed partials.tmpl
var partials string

// Param is a template parameter.
type Param struct {
	Name        string
	Default     string
	Description string
	// Required parameters have no default: Render fails without them.
	Required bool
}

// Entry is one catalog policy.
type Entry struct {
	// Name is the policy's metadata.name, which `catalog get` takes.
	Name                      string
	Group, Title, Description string
	// Mode is the policy's mode with its default parameters.
	Mode   string
	Labels map[string]string
	Params []Param
	// Source is the template as embedded.
	Source []byte
	tmpl   *template.Template
}

var (
	loadOnce sync.Once
	entries  []*Entry
	loadErr  error
)

// All returns every catalog policy, by group then name.
func All() ([]*Entry, error) {
	loadOnce.Do(func() { entries, loadErr = load() })
	return entries, loadErr
}

// Lookup returns the catalog policy with this name.
func Lookup(name string) (*Entry, error) {
	all, err := All()
	if err != nil {
		return nil, err
	}
	for _, e := range all {
		if e.Name == name {
			return e, nil
		}
	}
	names := make([]string, len(all))
	for i, e := range all {
		names[i] = e.Name
	}
	return nil, fmt.Errorf("no catalog policy %q; see `signet policy catalog list` (%s)", name, strings.Join(names, ", "))
}

func load() ([]*Entry, error) {
	var out []*Entry
	err := fs.WalkDir(files, "policies", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".yaml") {
			return err
		}
		src, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		e, err := parseEntry(p, src)
		if err != nil {
			return fmt.Errorf("catalog %s: %w", p, err)
		}
		if want := path.Base(path.Dir(p)); e.Group != want {
			return fmt.Errorf("catalog %s: group label %q, want %q (its directory)", p, e.Group, want)
		}
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool {
		gi, gj := slices.Index(Groups, out[i].Group), slices.Index(Groups, out[j].Group)
		if gi != gj {
			return gi < gj
		}
		return out[i].Name < out[j].Name
	})
	for i := 1; i < len(out); i++ {
		if out[i].Name == out[i-1].Name {
			return nil, fmt.Errorf("catalog: two policies named %q", out[i].Name)
		}
	}
	return out, nil
}

// paramLine declares a parameter in a template's leading comments:
// "# param NAME=DEFAULT: description" or, required, "# param NAME: description".
var paramLine = regexp.MustCompile(`^# param ([a-zA-Z][a-zA-Z0-9]*)(=(.*?))?: (.+)$`)

func parseEntry(file string, src []byte) (*Entry, error) {
	e := &Entry{Source: src}
	for _, line := range strings.Split(string(src), "\n") {
		if !strings.HasPrefix(line, "#") {
			break
		}
		if !strings.HasPrefix(line, "# param ") {
			continue
		}
		m := paramLine.FindStringSubmatch(line)
		if m == nil {
			return nil, fmt.Errorf("malformed parameter line %q", line)
		}
		e.Params = append(e.Params, Param{Name: m[1], Default: m[3], Description: m[4], Required: m[2] == ""})
	}
	t := template.New(file).Option("missingkey=error").Funcs(funcs)
	t.Funcs(template.FuncMap{"include": func(name string) (string, error) {
		var b bytes.Buffer
		err := t.ExecuteTemplate(&b, name, nil)
		return b.String(), err
	}})
	if _, err := t.Parse(partials); err != nil {
		return nil, fmt.Errorf("partials: %w", err)
	}
	if _, err := t.Parse(string(src)); err != nil {
		return nil, err
	}
	e.tmpl = t
	// Title, description, labels and mode are read from the policy
	// rendered with its defaults (and placeholders for required values).
	vals := map[string]string{}
	for _, p := range e.Params {
		vals[p.Name] = p.Default
		if p.Required {
			vals[p.Name] = "REQUIRED-" + p.Name
		}
	}
	out, err := e.execute(vals)
	if err != nil {
		return nil, err
	}
	var head struct {
		Metadata struct {
			Name        string            `yaml:"name"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"metadata"`
		Spec struct {
			Mode string `yaml:"mode"`
		} `yaml:"spec"`
	}
	if err := yaml.Unmarshal(out, &head); err != nil {
		return nil, fmt.Errorf("rendered with its defaults: %w", err)
	}
	m := head.Metadata
	e.Name, e.Labels, e.Mode = m.Name, m.Labels, head.Spec.Mode
	e.Group, e.Title, e.Description = m.Labels[GroupLabel], m.Annotations[TitleAnnotation], m.Annotations[DescriptionAnnotation]
	if e.Mode == "" {
		e.Mode = policy.ModeEnforce
	}
	for what, v := range map[string]string{"metadata.name": e.Name, "group label": e.Group, "title": e.Title, "description": e.Description} {
		if v == "" {
			return nil, fmt.Errorf("no %s", what)
		}
	}
	return e, nil
}

// Render fills in the template with values (parameters not given take
// their defaults) and returns the ClusterImagePolicy YAML to apply. The
// result must load and validate as policy-controller would check it.
func (e *Entry) Render(values map[string]string) ([]byte, error) {
	vals := map[string]string{}
	for _, p := range e.Params {
		if p.Required {
			continue
		}
		vals[p.Name] = p.Default
	}
	for k, v := range values {
		if !slices.ContainsFunc(e.Params, func(p Param) bool { return p.Name == k }) {
			return nil, fmt.Errorf("catalog policy %s has no parameter %q (parameters: %s)", e.Name, k, e.paramNames())
		}
		vals[k] = v
	}
	var missing []string
	for _, p := range e.Params {
		if _, ok := vals[p.Name]; !ok {
			missing = append(missing, p.Name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("catalog policy %s needs --set %s=…", e.Name, strings.Join(missing, "=… --set "))
	}
	out, err := e.execute(vals)
	if err != nil {
		return nil, err
	}
	out = e.header(out, vals)
	if _, _, err := policy.LoadFile(e.Name+".yaml", out, policy.ValidateOptions{}); err != nil {
		return nil, fmt.Errorf("catalog policy %s with these parameters does not load: %w", e.Name, err)
	}
	return out, nil
}

// header replaces the template's parameter declarations by a comment
// saying where the policy comes from and with which parameters.
func (e *Entry) header(out []byte, vals map[string]string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# signet policy catalog: %s (%s)\n", e.Name, e.Title)
	for _, p := range e.Params {
		v := vals[p.Name]
		if strings.Contains(v, "\n") || len(v) > 100 {
			v = fmt.Sprintf("(%d bytes)", len(v))
		}
		fmt.Fprintf(&b, "#   %s=%s\n", p.Name, v)
	}
	rest := out
	for bytes.HasPrefix(rest, []byte("# param ")) {
		_, rest, _ = bytes.Cut(rest, []byte("\n"))
	}
	b.Write(rest)
	return b.Bytes()
}

func (e *Entry) paramNames() string {
	names := make([]string, len(e.Params))
	for i, p := range e.Params {
		names[i] = p.Name
	}
	return strings.Join(names, ", ")
}

func (e *Entry) execute(vals map[string]string) ([]byte, error) {
	var b bytes.Buffer
	if err := e.tmpl.Execute(&b, vals); err != nil {
		return nil, fmt.Errorf("render catalog policy %s: %w", e.Name, err)
	}
	return b.Bytes(), nil
}

// funcs are the template functions: quote makes a double-quoted YAML (and
// JSON) string, regex quotes regular expression metacharacters, list
// splits a comma-separated value, json encodes a value as JSON (a Rego or
// CUE literal), indent indents every line but the first, int and bool
// check a whole number and a boolean; include (added per template) renders a partial.
var funcs = template.FuncMap{
	"quote": func(s string) (string, error) {
		b, err := json.Marshal(s)
		return string(b), err
	},
	"regex": regexp.QuoteMeta,
	"list": func(s string) []string {
		out := []string{}
		for _, f := range strings.Split(s, ",") {
			if f = strings.TrimSpace(f); f != "" {
				out = append(out, f)
			}
		}
		return out
	},
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
	"indent": func(n int, s string) string {
		return strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+strings.Repeat(" ", n))
	},
	"bool": func(s string) (bool, error) {
		switch s {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return false, errors.New("want true or false, got " + strconv.Quote(s))
	},
	"int": func(s string) (int, error) {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return 0, errors.New("want a non-negative whole number, got " + strconv.Quote(s))
		}
		return n, nil
	},
}
