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
	// tokens are the glob as matched: literal bytes, globStar and
	// globDoubleStar.
	tokens []int
}

// Glob tokens other than literal bytes.
const (
	globStar       = -1 // "*": any run of characters but "/"
	globDoubleStar = -2 // "**": any run of characters
)

// CompileGlob compiles an image glob with policy-controller's semantics:
//
//   - "*" matches any run of characters except "/" (":" and "@" included,
//     so "ghcr.io/foo*" matches "ghcr.io/foo:v1");
//   - "**" matches any run of characters, "/" included;
//   - every other character is literal, "." included;
//   - the glob must match the whole reference;
//   - the bare globs "*" and "*/*" are shorthands for
//     "index.docker.io/library/*" and "index.docker.io/*/*";
//   - a glob naming the registry "docker.io" names Docker Hub as image
//     references do: "docker.io/library/*" is "index.docker.io/library/*".
//
// The last rule is signet's: policy-controller v0.13.1 matches the
// normalised reference ("index.docker.io/library/nginx@sha256:…") and so
// matches nothing with "docker.io/**", silently. go-containerregistry, and
// so both, turn the registry "docker.io" of a reference into
// "index.docker.io"; signet does the same to globs.
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
	if rest, ok := strings.CutPrefix(glob, "docker.io/"); ok {
		glob = name.DefaultRegistry + "/" + rest
	}
	var b strings.Builder
	var tokens []int
	b.WriteByte('^')
	for i := 0; i < len(glob); i++ {
		switch c := glob[i]; {
		case c == '*' && i+1 < len(glob) && glob[i+1] == '*':
			b.WriteString(".*")
			tokens = append(tokens, globDoubleStar)
			i++
		case c == '*':
			b.WriteString("[^/]*")
			tokens = append(tokens, globStar)
		default:
			// Only "." needs quoting in this alphabet; QuoteMeta is exact.
			b.WriteString(regexp.QuoteMeta(string(c)))
			tokens = append(tokens, int(c))
		}
	}
	b.WriteByte('$')
	re, err := regexp.Compile(b.String())
	if err != nil {
		return nil, fmt.Errorf("compile glob %q: %w", pattern, err)
	}
	return &Glob{pattern: pattern, re: re, tokens: tokens}, nil
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

// MatchesAnyDigest reports whether the glob matches
// "<repo>@sha256:<hex>" for some digest, where repo is a normalised
// repository name ("index.docker.io/library/nginx"): whether a tag of repo
// can resolve to an image the glob matches. Admission uses it to resolve
// only the tags some policy may apply to.
func (g *Glob) MatchesAnyDigest(repo string) bool {
	// A glob is a regular expression over literal bytes, "*" and "**";
	// run it as a set of positions over repo@sha256: and then 64 symbols
	// that each stand for any hex digit.
	const hexDigits = 64
	subject := repo + "@sha256:"
	n := len(g.tokens)
	active := make([]bool, n+1)
	next := make([]bool, n+1)
	// closure adds the positions reachable by stars matching nothing.
	closure := func(set []bool) {
		for i := 0; i < n; i++ {
			if set[i] && g.tokens[i] < 0 {
				set[i+1] = true
			}
		}
	}
	active[0] = true
	closure(active)
	step := func(c byte, anyHex bool) bool {
		clear(next)
		alive := false
		for i := 0; i < n; i++ {
			if !active[i] {
				continue
			}
			switch t := g.tokens[i]; {
			case t == globDoubleStar:
				next[i] = true
			case t == globStar:
				if anyHex || c != '/' {
					next[i] = true
				}
			case anyHex:
				if ('0' <= t && t <= '9') || ('a' <= t && t <= 'f') {
					next[i+1] = true
				}
			case byte(t) == c:
				next[i+1] = true
			}
		}
		closure(next)
		for _, a := range next {
			alive = alive || a
		}
		active, next = next, active
		return alive
	}
	for i := 0; i < len(subject); i++ {
		if !step(subject[i], false) {
			return false
		}
	}
	for range hexDigits {
		if !step(0, true) {
			return false
		}
	}
	return active[n]
}

// NeverMatches returns why the glob cannot match any image reference the
// admission webhook checks, or "" when it can. The webhook matches
// normalised references, which always start with a registry host
// ("index.docker.io/library/nginx@sha256:…"): a glob without "/" or "**",
// or one whose first path element is a plain word ("library/nginx*",
// "myorg/**"), matches only references as written by the deprecated
// fallback of `signet policy test`, never in a cluster.
func (g *Glob) NeverMatches() string {
	hasSlash, hasDoubleStar := false, false
	for _, t := range g.tokens {
		hasSlash = hasSlash || t == '/'
		hasDoubleStar = hasDoubleStar || t == globDoubleStar
	}
	if !hasSlash && !hasDoubleStar {
		return `a glob without "/" or "**" matches no reference: references are matched with their registry, as in index.docker.io/library/nginx:latest`
	}
	first, _, ok := strings.Cut(g.pattern, "/")
	if ok && !strings.Contains(first, "*") && !strings.ContainsAny(first, ".:") && first != "localhost" {
		return fmt.Sprintf(`%q is not a registry host (one has a "." or ":" or is localhost), and references are matched with their registry: Docker Hub's is index.docker.io`, first)
	}
	return ""
}

// GlobWarnings returns a warning for each of the policy's globs that can
// never match an image reference the admission webhook checks (see
// Glob.NeverMatches).
func (c *ClusterImagePolicy) GlobWarnings() []string {
	var out []string
	for i, p := range c.Spec.Images {
		g, err := CompileGlob(p.Glob)
		if err != nil {
			continue // a validation error
		}
		if why := g.NeverMatches(); why != "" {
			out = append(out, fmt.Sprintf("spec.images[%d].glob %q can never match: %s", i, p.Glob, why))
		}
	}
	return out
}

// MatchGlob compiles glob and matches image against it.
func MatchGlob(glob, image string) (bool, error) {
	g, err := CompileGlob(glob)
	if err != nil {
		return false, err
	}
	return g.Match(image)
}
