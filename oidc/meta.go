package oidc

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// MaxMetaIssuers bounds how many distinct issuers that matched meta-issuer
// patterns the verifier keeps at once; beyond it the least recently added
// one is forgotten (and discovered again when it returns), so tokens naming
// ever new matching URLs cannot grow memory without bound.
const MaxMetaIssuers = 256

// metaIssuer is a configured issuer URL pattern.
type metaIssuer struct {
	cfg IssuerConfig
	re  *regexp.Regexp
}

// metaIssuers holds the patterns and the issuers trusted through them.
type metaIssuers struct {
	patterns []metaIssuer // in configuration order: the first match wins

	mu      sync.Mutex
	matched map[string]*issuer
	order   []string // matched URLs, oldest first
}

// MetaPattern compiles a meta-issuer URL pattern as Fulcio does: the URL
// matched whole, each "*" standing for one or more of [-_a-zA-Z0-9]
// (never '.', '/' or ':', so it cannot reach into another host or path
// segment).
func MetaPattern(pattern string) (*regexp.Regexp, error) {
	quoted := regexp.QuoteMeta(pattern)
	return regexp.Compile("^" + strings.ReplaceAll(quoted, regexp.QuoteMeta("*"), "[-_a-zA-Z0-9]+") + "$")
}

// lookup finds the issuer of a token's iss: configured, or matching a
// meta-issuer pattern.
func (v *Verifier) lookup(iss string) (*issuer, bool) {
	if is, ok := v.issuers[iss]; ok {
		return is, true
	}
	return v.meta.lookup(iss)
}

func (m *metaIssuers) add(cfg IssuerConfig) error {
	for _, p := range m.patterns {
		if p.cfg.URL == cfg.URL {
			return fmt.Errorf("meta issuer %s is configured twice", cfg.URL)
		}
	}
	re, err := MetaPattern(cfg.URL)
	if err != nil {
		return fmt.Errorf("meta issuer %s: %w", cfg.URL, err)
	}
	m.patterns = append(m.patterns, metaIssuer{cfg: cfg, re: re})
	return nil
}

// lookup returns the issuer for a token's iss that matches a pattern,
// making it on first sight.
func (m *metaIssuers) lookup(iss string) (*issuer, bool) {
	for _, p := range m.patterns {
		if !p.re.MatchString(iss) {
			continue
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		if is, ok := m.matched[iss]; ok {
			return is, true
		}
		if m.matched == nil {
			m.matched = map[string]*issuer{}
		}
		if len(m.order) >= MaxMetaIssuers {
			delete(m.matched, m.order[0])
			m.order = m.order[1:]
		}
		cfg := p.cfg
		cfg.URL, cfg.MetaIssuer = iss, p.cfg.URL
		is := &issuer{cfg: cfg, remote: &remote{}}
		m.matched[iss] = is
		m.order = append(m.order, iss)
		return is, true
	}
	return nil, false
}
