package catalogtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"

	"go.yaml.in/yaml/v3"
)

// Verdicts of a test case, over all the images it decides on.
const (
	Allowed = "allowed" // no errors, no warnings
	Warned  = "warned"  // warnings only
	Denied  = "denied"  // errors
)

// CaseFile is the table of one catalog policy's tests,
// policy/catalog/testdata/NAME.yaml: the parameters to render the policy
// with and the cases. It is a Go template over the Fixtures, for the
// images and identities the fixtures made: {{ .Image "key-signed" }},
// {{ .Time "vuln-stale" }}, {{ .Issuer }}, {{ json .PublicKey }}.
type CaseFile struct {
	Params map[string]string `yaml:"params"`
	Cases  []Case            `yaml:"cases"`
}

// Case is one table test: a Kubernetes object whose images are decided as
// the admission webhook decides them, or images alone; the verdict over
// all of them; and every error and warning, in container order, exactly.
type Case struct {
	Name     string   `yaml:"name"`
	Resource string   `yaml:"resource"`
	Images   []string `yaml:"images"`
	Want     string   `yaml:"want"`
	Errors   []string `yaml:"errors"`
	Warnings []string `yaml:"warnings"`
}

// Image returns a fixture image's digest reference.
func (fx *Fixtures) Image(name string) (string, error) {
	if d, ok := fx.Images[name]; ok {
		return d, nil
	}
	return "", fmt.Errorf("no fixture image %q", name)
}

// Time returns a fixture timestamp.
func (fx *Fixtures) Time(name string) (string, error) {
	if s, ok := fx.Times[name]; ok {
		return s, nil
	}
	return "", fmt.Errorf("no fixture time %q", name)
}

// SigTag returns the tag of a fixture image's legacy signatures,
// "REGISTRY/NAME:sha256-HEX.sig".
func (fx *Fixtures) SigTag(name string) (string, error) {
	d, err := fx.Image(name)
	if err != nil {
		return "", err
	}
	repo, digest, _ := strings.Cut(d, "@")
	return repo + ":" + strings.Replace(digest, ":", "-", 1) + ".sig", nil
}

// anyDigest stands for a digest that differs between runs (a signature's
// layer: ECDSA signatures are randomised) in an expected text.
const anyDigest = "<any-digest>"

// AnyDigest returns the placeholder for a digest that differs between
// runs, which Matches accepts for any sha256 digest.
func (fx *Fixtures) AnyDigest() string { return anyDigest }

// Matches reports whether got is the expected text want, with any
// AnyDigest placeholder standing for one sha256 digest.
func Matches(want, got string) bool {
	parts := strings.Split(want, anyDigest)
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile("^" + strings.Join(parts, "sha256:[0-9a-f]{64}") + "$").MatchString(got)
}

// MatchAll reports whether got are the expected texts want, in order.
func MatchAll(want, got []string) bool {
	if len(want) != len(got) {
		return false
	}
	for i := range want {
		if !Matches(want[i], got[i]) {
			return false
		}
	}
	return true
}

// LoadCases reads testdata/NAME.yaml under dir (policy/catalog) for the
// catalog policy NAME, rendered with the fixtures.
func LoadCases(dir, name string, fx *Fixtures) (*CaseFile, error) {
	path := filepath.Join(dir, "testdata", name+".yaml")
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	t, err := template.New(path).Option("missingkey=error").Funcs(template.FuncMap{
		"json": func(v any) (string, error) {
			b, err := json.Marshal(v)
			return string(b), err
		},
	}).Parse(string(src))
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, fx); err != nil {
		return nil, err
	}
	var cf CaseFile
	dec := yaml.NewDecoder(&b)
	dec.KnownFields(true)
	if err := dec.Decode(&cf); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for i, c := range cf.Cases {
		switch {
		case c.Name == "":
			return nil, fmt.Errorf("%s: case %d has no name", path, i)
		case (c.Resource == "") == (len(c.Images) == 0):
			return nil, fmt.Errorf("%s: case %q: give a resource or images", path, c.Name)
		case c.Want != Allowed && c.Want != Warned && c.Want != Denied:
			return nil, fmt.Errorf("%s: case %q: want %q, not allowed, warned or denied", path, c.Name, c.Want)
		case (c.Want == Denied) != (len(c.Errors) > 0), c.Want == Allowed && len(c.Warnings) > 0, c.Want == Warned && len(c.Warnings) == 0:
			return nil, fmt.Errorf("%s: case %q: want %s does not fit %d errors and %d warnings", path, c.Name, c.Want, len(c.Errors), len(c.Warnings))
		}
	}
	return &cf, nil
}

// VerdictOf is the verdict of a decision with these errors and warnings.
func VerdictOf(errors, warnings []string) string {
	switch {
	case len(errors) > 0:
		return Denied
	case len(warnings) > 0:
		return Warned
	}
	return Allowed
}
