package policy

import (
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
