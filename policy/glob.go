package policy

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// validGlob is the alphabet of image globs.
var validGlob = regexp.MustCompile(`^[a-zA-Z0-9-_:\/\*\.@]+$`)

// Glob is a compiled image glob.
type Glob struct {
	pattern string
	re      *regexp.Regexp
}

// CompileGlob compiles an image glob with policy-controller's semantics:
//
//   - "*" matches any run of characters except "/" (":" and "@" included,
//     so "ghcr.io/foo*" matches "ghcr.io/foo:v1");
//   - "**" matches any run of characters, "/" included;
//   - every other character is literal, "." included;
//   - the glob must match the whole reference;
//   - the bare globs "*" and "*/*" are shorthands for
//     "index.docker.io/library/*" and "index.docker.io/*/*".
//
// Globs may only use letters, digits and "-_:/*.@".
func CompileGlob(glob string) (*Glob, error) {
	pattern := glob
	switch glob {
	case "*/*":
		glob = "index.docker.io/*/*"
	case "*":
		glob = "index.docker.io/library/*"
	}
	if !validGlob.MatchString(glob) {
		return nil, fmt.Errorf("invalid glob %q", glob)
	}
	var b strings.Builder
	b.WriteByte('^')
	for i := 0; i < len(glob); i++ {
		switch c := glob[i]; {
		case c == '*' && i+1 < len(glob) && glob[i+1] == '*':
			b.WriteString(".*")
			i++
		case c == '*':
			b.WriteString("[^/]*")
		default:
			// Only "." needs quoting in this alphabet; QuoteMeta is exact.
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteByte('$')
	re, err := regexp.Compile(b.String())
	if err != nil {
		return nil, fmt.Errorf("compile glob %q: %w", pattern, err)
	}
	return &Glob{pattern: pattern, re: re}, nil
}

// String returns the glob as written.
func (g *Glob) String() string { return g.pattern }

// Match reports whether the image reference matches the glob.
//
// The reference is normalised first, as go-containerregistry does: the
// registry defaults to index.docker.io, Docker Hub official images gain
// "library/", and a reference without tag or digest gains ":latest". So
// "nginx" is "index.docker.io/library/nginx:latest", which the glob
// "index.docker.io/library/*" matches. If the normalised reference does
// not match, the reference as written is tried too (policy-controller's
// deprecated fallback, so the glob "nginx" still matches "nginx").
//
// To match every tag of a repository, end the glob with ":**" or "*".
// A reference that does not parse is an error.
func (g *Glob) Match(image string) (bool, error) {
	ref, err := name.ParseReference(image, name.WeakValidation)
	if err != nil {
		return false, fmt.Errorf("match glob %q: %w", g.pattern, err)
	}
	full := ref.Name()
	if g.re.MatchString(full) {
		return true, nil
	}
	return full != image && g.re.MatchString(image), nil
}

// MatchGlob compiles glob and matches image against it.
func MatchGlob(glob, image string) (bool, error) {
	g, err := CompileGlob(glob)
	if err != nil {
		return false, err
	}
	return g.Match(image)
}
