package policy

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// FuzzLoad decodes, defaults and validates arbitrary input: it must never
// panic, and every policy that loads must survive a JSON round trip and
// validate identically afterwards.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(keylessYAML))
	f.Add([]byte(`{"apiVersion":"policy.sigstore.dev/v1alpha1","kind":"ClusterImagePolicy","spec":{"images":[{"glob":"*"}]}}`))
	f.Add([]byte("apiVersion: policy.sigstore.dev/v1alpha1\nkind: TrustRoot\nspec: {repository: {root: e30=, mirrorFS: H4sI}}\n"))
	files, _ := filepath.Glob(filepath.Join("testdata", "policy-controller", "test", "testdata", "policy-controller", "*", "*.yaml"))
	for _, name := range files {
		if data, err := os.ReadFile(name); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		docs, _, _ := Load(data, ValidateOptions{ResourceNames: DefaultResourceNames})
		if docs == nil {
			return
		}
		for _, c := range docs.Policies {
			first := c.Validate(ValidateOptions{}).Error()
			raw, err := jsonOf(c)
			if err != nil {
				t.Fatalf("marshal decoded policy: %v", err)
			}
			again, err := DecodeClusterImagePolicy(raw)
			if err != nil {
				// Load accepts any policy.sigstore.dev version; Decode
				// only the known ones.
				if c.APIVersion == V1alpha1 || c.APIVersion == V1beta1 {
					t.Fatalf("re-decode %s: %v", raw, err)
				}
				continue
			}
			if diff := cmp.Diff(c, again, cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("round trip (-first +second):\n%s", diff)
			}
			if second := again.Validate(ValidateOptions{}).Error(); second != first {
				t.Fatalf("validation changed after round trip:\n%s\n---\n%s", first, second)
			}
		}
		for _, tr := range docs.TrustRoots {
			_ = tr.Validate()
		}
	})
}

// FuzzMatchGlob checks glob compilation and matching never panic, that a
// glob that compiles also validates, and that "**" matches every parsable
// reference.
func FuzzMatchGlob(f *testing.F) {
	for _, s := range [][2]string{
		{"ghcr.io/**", "ghcr.io/foo/bar"},
		{"*", "foo"},
		{"*/*", "myuser/myapp"},
		{"index.docker.io/library/*:latest", "foo"},
		{"ghcr.io/foo@sha256:5504f2a95018e3d8a52d80d9e1a128c6ea337581808ff9fe96f5628ce2336350", "ghcr.io/foo@sha256:5504f2a95018e3d8a52d80d9e1a128c6ea337581808ff9fe96f5628ce2336350"},
		{"[a-z]*", "invalid&name"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, glob, image string) {
		g, err := CompileGlob(glob)
		if err != nil {
			return
		}
		if g.String() != glob {
			t.Fatalf("String() = %q, want %q", g.String(), glob)
		}
		ok, err := g.Match(image)
		if err != nil {
			return
		}
		all, _ := MatchGlob("**", image)
		if !all {
			t.Fatalf("** does not match parsable reference %q", image)
		}
		// A glob matching the reference as written always matches
		// (policy-controller's fallback).
		if g.re.MatchString(image) && !ok {
			t.Fatalf("Match(%q) = false, but the glob matches it as written", image)
		}
	})
}
