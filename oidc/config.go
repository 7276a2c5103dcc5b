package oidc

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// IssuerType says how an issuer's claims map to a certificate identity.
type IssuerType string

// The issuer types signet understands, named as in Fulcio's configuration.
const (
	TypeEmail          IssuerType = "email"
	TypeGitHubWorkflow IssuerType = "github-workflow"
	TypeGitLabPipeline IssuerType = "gitlab-pipeline"
	TypeSPIFFE         IssuerType = "spiffe"
	TypeKubernetes     IssuerType = "kubernetes"
	TypeURI            IssuerType = "uri"
	TypeUsername       IssuerType = "username"
	// TypeDev is the built-in development issuer: it maps GitHub-like tokens
	// as github-workflow, tokens with an email as email, and any other
	// subject as a URI (when it is one) or a username.
	TypeDev IssuerType = "dev"
)

// DefaultAudience is the audience Sigstore clients request tokens for.
const DefaultAudience = "sigstore"

// IssuerConfig describes one trusted OIDC issuer.
type IssuerConfig struct {
	// URL is the issuer URL; tokens must carry it as iss.
	URL string `yaml:"url"`
	// Type selects the claim mapping.
	Type IssuerType `yaml:"type"`
	// ClientID is the audience tokens must be issued for (default "sigstore").
	ClientID string `yaml:"clientID"`
	// SPIFFETrustDomain is required for spiffe issuers: SPIFFE IDs must lie
	// in this trust domain.
	SPIFFETrustDomain string `yaml:"spiffeTrustDomain"`
	// SubjectDomain is required for uri and username issuers: URI subjects
	// must have its scheme and host; usernames become "user!<domain>".
	SubjectDomain string `yaml:"subjectDomain"`
	// BaseURL is the web URL of the code host for github-workflow and
	// gitlab-pipeline issuers (default https://github.com / https://gitlab.com).
	BaseURL string `yaml:"baseURL"`
	// CAFile is a PEM file of CA certificates: TLS connections to the
	// issuer's host (discovery and keys) must chain to one of them instead
	// of the system roots. For a Kubernetes API server as issuer it is the
	// cluster CA (in a pod: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt).
	CAFile string `yaml:"caFile"`

	// MetaIssuer is not configured: the verifier sets it, on the
	// configuration of an issuer it trusts because its URL matched a
	// meta-issuer pattern, to that pattern.
	MetaIssuer string `yaml:"-"`
}

// IsMeta reports whether c is a meta issuer: its URL is a pattern in which
// each "*" stands for one or more letters, digits, '-' or '_' (as Fulcio's
// meta issuers, e.g. https://oidc.eks.*.amazonaws.com/id/*).
func (c IssuerConfig) IsMeta() bool { return strings.Contains(c.URL, "*") }

// Validate reports the first problem with c, naming the field.
func (c IssuerConfig) Validate() error {
	u, err := url.Parse(strings.ReplaceAll(c.URL, "*", "x"))
	if c.IsMeta() {
		if strings.ContainsAny(c.URL, "?#") {
			return fmt.Errorf("issuer url %q: a meta-issuer pattern has no query or fragment", c.URL)
		}
	}
	if c.URL == "" || err != nil || u.Scheme == "" || u.Host == "" {
		return fmt.Errorf("issuer url %q: must be an absolute URL", c.URL)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return fmt.Errorf("issuer url %q: scheme must be https (or http for local testing)", c.URL)
	}
	switch c.Type {
	case TypeDev:
		if c.IsMeta() {
			return fmt.Errorf("issuer %s: type dev cannot be a meta issuer", c.URL)
		}
	case TypeEmail, TypeKubernetes:
	case TypeGitHubWorkflow, TypeGitLabPipeline:
		if c.BaseURL != "" {
			if b, err := url.Parse(c.BaseURL); err != nil || b.Scheme == "" || b.Host == "" {
				return fmt.Errorf("issuer %s: baseURL %q must be an absolute URL", c.URL, c.BaseURL)
			}
		}
	case TypeSPIFFE:
		if c.SPIFFETrustDomain == "" {
			return fmt.Errorf("issuer %s: type spiffe needs spiffeTrustDomain", c.URL)
		}
		if err := validTrustDomain(c.SPIFFETrustDomain); err != nil {
			return fmt.Errorf("issuer %s: spiffeTrustDomain: %w", c.URL, err)
		}
	case TypeURI, TypeUsername:
		if c.SubjectDomain == "" {
			return fmt.Errorf("issuer %s: type %s needs subjectDomain", c.URL, c.Type)
		}
		if c.Type == TypeURI {
			if d, err := url.Parse(c.SubjectDomain); err != nil || d.Scheme == "" || d.Host == "" {
				return fmt.Errorf("issuer %s: subjectDomain %q must be a URL such as https://example.com", c.URL, c.SubjectDomain)
			}
		}
	case "":
		return fmt.Errorf("issuer %s: type is required (one of %s)", c.URL, typeList)
	default:
		return fmt.Errorf("issuer %s: unknown type %q (want one of %s)", c.URL, c.Type, typeList)
	}
	if c.CAFile != "" {
		if u.Scheme != "https" {
			return fmt.Errorf("issuer %s: caFile is for https issuers", c.URL)
		}
	}
	return nil
}

const typeList = "email, github-workflow, gitlab-pipeline, spiffe, kubernetes, uri, username"

func (c IssuerConfig) audience() string {
	if c.ClientID == "" {
		return DefaultAudience
	}
	return c.ClientID
}

// validTrustDomain checks a SPIFFE trust domain name: lowercase letters,
// digits, dots, dashes and underscores.
func validTrustDomain(td string) error {
	if td == "" {
		return errors.New("empty trust domain")
	}
	for _, r := range td {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune(".-_", r)) {
			return fmt.Errorf("trust domain %q: invalid character %q", td, r)
		}
	}
	return nil
}
