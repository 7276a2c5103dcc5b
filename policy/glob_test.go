package policy

import (
	"strings"
	"testing"
)

// TestMatchGlob holds policy-controller v0.13.1's glob test cases
// (pkg/apis/glob/glob_test.go), followed by signet's own.
func TestMatchGlob(t *testing.T) {
	for _, c := range []struct {
		image, glob string
		wantMatch   bool
		wantErr     bool
	}{
		{image: "foo", glob: "index.docker.io/library/foo:latest", wantMatch: true},
		{image: "foo", glob: "index.docker.io/library/foo:*", wantMatch: true},
		{image: "foo", glob: "index.docker.io/library/*", wantMatch: true},
		{image: "foo", glob: "index.docker.io/library/*:latest", wantMatch: true},
		{image: "foo", glob: "index.docker.io/*/*", wantMatch: true},
		{image: "foo", glob: "index.docker.io/**", wantMatch: true},
		{image: "foo", glob: "index.docker.**", wantMatch: true},
		{image: "foo", glob: "inde**", wantMatch: true},
		{image: "foo", glob: "**", wantMatch: true},
		{image: "foo", glob: "foo", wantMatch: true},   // deprecated fallback to the reference as written
		{image: "foo", glob: "foo*", wantMatch: true},  // * matches 0+ characters
		{image: "foo", glob: "foo**", wantMatch: true}, // ** matches 0+ characters

		{image: "myuser/myapp", glob: "index.docker.io/myuser/myapp:latest", wantMatch: true},
		{image: "myuser/myapp", glob: "index.docker.io/myuser/myapp:*", wantMatch: true},
		{image: "myuser/myapp", glob: "index.docker.io/myuser/*", wantMatch: true},
		{image: "myuser/myapp", glob: "index.docker.io/myuser/*:latest", wantMatch: true},
		{image: "myuser/myapp", glob: "index.docker.io/*/*", wantMatch: true},
		{image: "myuser/myapp", glob: "index.docker.io/**", wantMatch: true},
		{image: "myuser/myapp", glob: "index.docker.**", wantMatch: true},
		{image: "myuser/myapp", glob: "inde**", wantMatch: true},
		{image: "myuser/myapp", glob: "**", wantMatch: true},
		{image: "myuser/myapp", glob: "myuser/myapp", wantMatch: true},
		{image: "myuser/myapp", glob: "myuser/myapp*", wantMatch: true},
		{image: "myuser/myapp", glob: "myuser/myapp**", wantMatch: true},

		// Fully qualified refs and globs.
		{image: "ghcr.io/foo/bar", glob: "ghcr.io/*/*", wantMatch: true},
		{image: "ghcr.io/foo/bar", glob: "ghcr.io/**", wantMatch: true},
		{image: "ghcr.io/foo", glob: "ghcr.io/*/*", wantMatch: false}, // doesn't match second *
		{image: "ghcr.io/foo", glob: "ghcr.io/**", wantMatch: true},
		{image: "ghcr.io/foo", glob: "ghc**", wantMatch: true},
		{image: "ghcr.io/foo", glob: "**", wantMatch: true},
		{image: "ghcr.io/foo", glob: "*/**", wantMatch: true},
		{image: "ghcr.io/foo", glob: "ghcr.io/foo*", wantMatch: true},
		{image: "ghcr.io/foo", glob: "ghcr.io/foo**", wantMatch: true},

		// Error cases.
		{image: "prefix-ghcr.io/foo", glob: "ghcr.io/foo", wantMatch: false},
		{image: "ghcr.io/foo-suffix", glob: "ghcr.io/foo", wantMatch: false},
		{image: "ghcrxio/foo", glob: "ghcr.io/**", wantMatch: false}, // "." is literal
		{image: "invalid&name", glob: "**", wantMatch: false, wantErr: true},
		{image: "invalid-glob", glob: ".+", wantMatch: false, wantErr: true},
		{image: "invalid-glob", glob: "[a-z]*", wantMatch: false, wantErr: true},

		// Unqualified globs assume index.docker.io.
		{image: "foo", glob: "*", wantMatch: true},
		{image: "myuser/myapp", glob: "*/*", wantMatch: true},

		// Image with digest (exact match).
		{
			image:     "ghcr.io/foo@sha256:5504f2a95018e3d8a52d80d9e1a128c6ea337581808ff9fe96f5628ce2336350",
			glob:      "ghcr.io/foo@sha256:5504f2a95018e3d8a52d80d9e1a128c6ea337581808ff9fe96f5628ce2336350",
			wantMatch: true,
		},

		// signet's cases.
		{image: "nginx", glob: "index.docker.io/library/nginx*", wantMatch: true},             // nginx ≡ index.docker.io/library/nginx:latest
		{image: "nginx", glob: "index.docker.io/library/nginx", wantMatch: false},             // the implied tag is part of the name
		{image: "docker.io/nginx", glob: "index.docker.io/library/nginx:**", wantMatch: true}, // docker.io ≡ index.docker.io
		{image: "nginx:1.27", glob: "index.docker.io/library/nginx", wantMatch: false},
		{image: "nginx:1.27", glob: "index.docker.io/library/nginx:*", wantMatch: true},
		{image: "docker.io/library/nginx", glob: "index.docker.io/library/nginx:latest", wantMatch: true},
		{image: "ghcr.io/org/team/app:v1", glob: "ghcr.io/org/*", wantMatch: false}, // * does not cross /
		{image: "ghcr.io/org/team/app:v1", glob: "ghcr.io/org/**", wantMatch: true},
		{image: "ghcr.io/org/app:v1", glob: "ghcr.io/org/*", wantMatch: true}, // * crosses ":"
		{image: "ghcr.io/org/app@sha256:5504f2a95018e3d8a52d80d9e1a128c6ea337581808ff9fe96f5628ce2336350", glob: "ghcr.io/org/app@**", wantMatch: true},
		{image: "ghcr.io/org/app@sha256:5504f2a95018e3d8a52d80d9e1a128c6ea337581808ff9fe96f5628ce2336350", glob: "ghcr.io/org/app:*", wantMatch: false},
		{image: "localhost:5000/app", glob: "localhost:5000/*", wantMatch: true},
		{image: "ghcr.io/org/app", glob: "ghcr.io/org/ap?", wantMatch: false, wantErr: true}, // "?" is not glob syntax here
		{image: "ghcr.io/org/app", glob: "***", wantMatch: true},
		{image: "", glob: "**", wantMatch: false, wantErr: true},

		// A glob naming docker.io names Docker Hub, as references do; the
		// webhook matches normalised references (index.docker.io/…).
		{image: "index.docker.io/library/nginx@sha256:5504f2a95018e3d8a52d80d9e1a128c6ea337581808ff9fe96f5628ce2336350", glob: "docker.io/**", wantMatch: true},
		{image: "index.docker.io/library/nginx@sha256:5504f2a95018e3d8a52d80d9e1a128c6ea337581808ff9fe96f5628ce2336350", glob: "docker.io/library/*", wantMatch: true},
		{image: "docker.io/library/nginx@sha256:5504f2a95018e3d8a52d80d9e1a128c6ea337581808ff9fe96f5628ce2336350", glob: "docker.io/library/*", wantMatch: true},
		{image: "nginx:1.27", glob: "docker.io/library/*", wantMatch: true},
		{image: "index.docker.io/myuser/app:v1", glob: "docker.io/myuser/**", wantMatch: true},
		{image: "index.docker.io/library/nginx:1.27", glob: "docker.io/other/*", wantMatch: false},
		{image: "ghcr.io/docker.io/app:v1", glob: "docker.io/**", wantMatch: false},
		{image: "registry-1.docker.io/library/nginx:1", glob: "docker.io/**", wantMatch: false}, // go-containerregistry keeps this host
	} {
		t.Run(c.image+"|"+c.glob, func(t *testing.T) {
			match, err := MatchGlob(c.glob, c.image)
			if match != c.wantMatch {
				t.Errorf("MatchGlob(%q, %q) = %t, want %t", c.glob, c.image, match, c.wantMatch)
			}
			if gotErr := err != nil; gotErr != c.wantErr {
				t.Errorf("MatchGlob(%q, %q) err = %v, want error %t", c.glob, c.image, err, c.wantErr)
			}
		})
	}
}

func TestValidateGlob(t *testing.T) {
	for _, c := range []struct {
		glob, wantErr string
	}{
		{glob: "ghcr.io/**"},
		{glob: "*"},
		{glob: "[", wantErr: "syntax error in pattern"},
		{glob: "$FOO*", wantErr: `invalid glob "$FOO*"`},
		{glob: "ghcr.io/foo bar", wantErr: `invalid glob "ghcr.io/foo bar"`},
	} {
		err := ValidateGlob(c.glob)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != c.wantErr {
			t.Errorf("ValidateGlob(%q) = %q, want %q", c.glob, got, c.wantErr)
		}
	}
}

// TestMatchesAnyDigest checks which globs a tag's repository may match
// once resolved, and that the answer never misses a digest Match matches.
func TestMatchesAnyDigest(t *testing.T) {
	const hex64 = "5504f2a95018e3d8a52d80d9e1a128c6ea337581808ff9fe96f5628ce2336350"
	for _, c := range []struct {
		glob, repo string
		want       bool
	}{
		{"ghcr.io/org/**", "ghcr.io/org/app", true},
		{"ghcr.io/org/*", "ghcr.io/org/app", true},
		{"ghcr.io/org/*", "ghcr.io/org/team/app", false},
		{"ghcr.io/other/**", "ghcr.io/org/app", false},
		{"ghcr.io/org/app:*", "ghcr.io/org/app", false}, // a digest reference has no tag
		{"ghcr.io/org/app@**", "ghcr.io/org/app", true},
		{"ghcr.io/org/app@sha256:55*", "ghcr.io/org/app", true},
		{"ghcr.io/org/app@sha256:zz*", "ghcr.io/org/app", false},
		{"ghcr.io/org/app@sha256:" + hex64, "ghcr.io/org/app", true},
		{"ghcr.io/org/app@sha256:" + hex64 + "0", "ghcr.io/org/app", false},
		{"ghcr.io/org/app*0", "ghcr.io/org/app", true},
		{"ghcr.io/org/app*g", "ghcr.io/org/app", false},
		{"**", "ghcr.io/org/app", true},
		{"*", "index.docker.io/library/nginx", true},
		{"*/*", "index.docker.io/library/nginx", true},
		{"docker.io/library/*", "index.docker.io/library/nginx", true},
		{"index.docker.io/library/nginx:*", "index.docker.io/library/nginx", false},
	} {
		g, err := CompileGlob(c.glob)
		if err != nil {
			t.Fatal(err)
		}
		if got := g.MatchesAnyDigest(c.repo); got != c.want {
			t.Errorf("CompileGlob(%q).MatchesAnyDigest(%q) = %v, want %v", c.glob, c.repo, got, c.want)
		}
		for _, h := range []string{hex64, strings.Repeat("0", 64), strings.Repeat("f", 63) + "0"} {
			if ok, _ := g.Match(c.repo + "@sha256:" + h); ok && !g.MatchesAnyDigest(c.repo) {
				t.Errorf("glob %q matches %s@sha256:%s but MatchesAnyDigest says none", c.glob, c.repo, h)
			}
		}
	}
}

func TestGlobNeverMatches(t *testing.T) {
	for _, c := range []struct {
		glob  string
		never bool
	}{
		{"nginx", true},
		{"nginx*", true},
		{"nginx:1.27", true},
		{"library/nginx*", true},
		{"myorg/**", true},
		{"**", false},
		{"*", false},
		{"*/*", false},
		{"*/**", false},
		{"inde**", false},
		{"ghcr.io/**", false},
		{"docker.io/**", false},
		{"localhost/app*", false},
		{"localhost:5000/*", false},
		{"10.0.0.1:5000/app:*", false},
	} {
		g, err := CompileGlob(c.glob)
		if err != nil {
			t.Fatal(err)
		}
		if got := g.NeverMatches(); (got != "") != c.never {
			t.Errorf("CompileGlob(%q).NeverMatches() = %q, want never=%v", c.glob, got, c.never)
		}
	}
}
