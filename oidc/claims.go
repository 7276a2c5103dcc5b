package oidc

import (
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"math"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"unicode"
)

// Claims are the decoded claims of a verified ID token.
type Claims map[string]any

// String returns claim name as a string. Numbers are formatted as integers
// when they have no fraction (as Fulcio does), booleans as "true"/"false".
// ok is false when the claim is absent or not a scalar.
func (c Claims) String(name string) (s string, ok bool) {
	switch v := c[name].(type) {
	case string:
		return v, true
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
			return strconv.FormatInt(int64(v), 10), true
		}
		return strconv.FormatFloat(v, 'f', -1, 64), true
	case json.Number:
		return v.String(), true
	case bool:
		return strconv.FormatBool(v), true
	default:
		return "", false
	}
}

// required returns the named claims, or an error naming the first missing one.
func (c Claims) required(kind IssuerType, names ...string) ([]string, error) {
	out := make([]string, len(names))
	for i, n := range names {
		v, ok := c.String(n)
		if !ok || v == "" {
			return nil, fmt.Errorf("%w: %s token has no %q claim", ErrIdentityNotAllowed, kind, n)
		}
		out[i] = v
	}
	return out, nil
}

// MapIdentity turns the claims of a token verified for the issuer cfg into
// the identity its certificate will state, following Fulcio's rules for
// cfg.Type. Claims that the rules reject give an error wrapping
// ErrIdentityNotAllowed.
func MapIdentity(cfg IssuerConfig, c Claims) (Identity, error) {
	id, err := mapIdentity(cfg, c)
	if err != nil {
		return Identity{}, err
	}
	if err := certifiable(id); err != nil {
		return Identity{}, fmt.Errorf("%w: %v", ErrIdentityNotAllowed, err)
	}
	return id, nil
}

// certifiable checks what issuing a certificate for id needs: a challenge
// for the proof of possession (OpenID Connect requires sub; without it the
// proof would be a signature over the empty string) and a subject
// alternative name X.509 can encode.
func certifiable(id Identity) error {
	if id.Challenge == "" {
		return errors.New("token has no sub claim")
	}
	for name, v := range id.certified() {
		if i := strings.IndexFunc(v, unicode.IsControl); i >= 0 {
			return fmt.Errorf("%s %.200q contains the control character %U", name, v, []rune(v[i:])[0])
		}
	}
	for _, r := range id.Email {
		if r > unicode.MaxASCII {
			return fmt.Errorf("email %q is not ASCII, as an rfc822Name must be", id.Email)
		}
	}
	if id.URI != "" {
		if u, err := url.Parse(id.URI); err != nil || u.Scheme == "" {
			return fmt.Errorf("identity %q is not a URI", id.URI)
		}
	}
	return nil
}

func mapIdentity(cfg IssuerConfig, c Claims) (Identity, error) {
	iss, _ := c.String("iss")
	sub, _ := c.String("sub")
	id := Identity{Issuer: iss, Challenge: sub}
	switch cfg.Type {
	case TypeEmail:
		return mapEmail(id, c)
	case TypeGitHubWorkflow:
		return mapGitHub(id, c, cfg.BaseURL)
	case TypeGitLabPipeline:
		return mapGitLab(id, c, cfg.BaseURL)
	case TypeSPIFFE:
		return mapSPIFFE(id, cfg.SPIFFETrustDomain)
	case TypeKubernetes:
		return mapKubernetes(id, c)
	case TypeURI:
		return mapURI(id, cfg.SubjectDomain)
	case TypeUsername:
		return mapUsername(id, cfg.SubjectDomain)
	case TypeDev:
		return mapDev(id, c, cfg.URL)
	default:
		return Identity{}, fmt.Errorf("%w: issuer %s has unknown type %q", ErrIdentityNotAllowed, cfg.URL, cfg.Type)
	}
}

func mapEmail(id Identity, c Claims) (Identity, error) {
	email, ok := c.String("email")
	if !ok || email == "" {
		return Identity{}, fmt.Errorf("%w: token has no email claim", ErrIdentityNotAllowed)
	}
	verified, ok := c.String("email_verified")
	if !ok {
		return Identity{}, fmt.Errorf("%w: token has no email_verified claim", ErrIdentityNotAllowed)
	}
	if verified != "true" {
		return Identity{}, fmt.Errorf("%w: email_verified claim is %s", ErrIdentityNotAllowed, verified)
	}
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email || a.Name != "" {
		return Identity{}, fmt.Errorf("%w: email claim %q is not a plain email address", ErrIdentityNotAllowed, email)
	}
	id.Email = email
	id.Challenge = email
	return id, nil
}

func mapGitHub(id Identity, c Claims, base string) (Identity, error) {
	if base == "" {
		base = "https://github.com"
	}
	v, err := c.required(TypeGitHubWorkflow, "job_workflow_ref", "job_workflow_sha", "sha", "event_name",
		"repository", "ref", "workflow", "runner_environment", "repository_id", "repository_owner",
		"repository_owner_id", "workflow_ref", "workflow_sha", "run_id", "run_attempt", "repository_visibility")
	if err != nil {
		return Identity{}, err
	}
	jobRef, jobSHA, sha, event, repo, ref, workflow, runner, repoID, owner, ownerID, wfRef, wfSHA, runID, attempt, visibility :=
		v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13], v[14], v[15]
	env, _ := c.String("environment")
	id.URI = base + "/" + jobRef
	id.Build = BuildClaims{
		GitHubWorkflowTrigger:               event,
		GitHubWorkflowSHA:                   sha,
		GitHubWorkflowName:                  workflow,
		GitHubWorkflowRepository:            repo,
		GitHubWorkflowRef:                   ref,
		BuildSignerURI:                      base + "/" + jobRef,
		BuildSignerDigest:                   jobSHA,
		RunnerEnvironment:                   runner,
		SourceRepositoryURI:                 base + "/" + repo,
		SourceRepositoryDigest:              sha,
		SourceRepositoryRef:                 ref,
		SourceRepositoryIdentifier:          repoID,
		SourceRepositoryOwnerURI:            base + "/" + owner,
		SourceRepositoryOwnerIdentifier:     ownerID,
		BuildConfigURI:                      base + "/" + wfRef,
		BuildConfigDigest:                   wfSHA,
		BuildTrigger:                        event,
		RunInvocationURI:                    fmt.Sprintf("%s/%s/actions/runs/%s/attempts/%s", base, repo, runID, attempt),
		SourceRepositoryVisibilityAtSigning: visibility,
		DeploymentEnvironment:               env,
	}
	return id, nil
}

func mapGitLab(id Identity, c Claims, base string) (Identity, error) {
	if base == "" {
		base = "https://gitlab.com"
	}
	v, err := c.required(TypeGitLabPipeline, "ci_config_ref_uri", "ci_config_sha", "runner_environment",
		"project_path", "sha", "ref_type", "ref", "project_id", "namespace_path", "namespace_id",
		"pipeline_source", "job_id", "project_visibility")
	if err != nil {
		return Identity{}, err
	}
	cfgRef, cfgSHA, runner, project, sha, refType, ref, projectID, ns, nsID, source, jobID, visibility :=
		v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12]
	env, _ := c.String("environment")
	fullRef := "refs/tags/" + ref
	if refType == "branch" {
		fullRef = "refs/heads/" + ref
	}
	id.URI = "https://" + cfgRef
	id.Build = BuildClaims{
		BuildSignerURI:                      "https://" + cfgRef,
		BuildSignerDigest:                   cfgSHA,
		RunnerEnvironment:                   runner,
		SourceRepositoryURI:                 base + "/" + project,
		SourceRepositoryDigest:              sha,
		SourceRepositoryRef:                 fullRef,
		SourceRepositoryIdentifier:          projectID,
		SourceRepositoryOwnerURI:            base + "/" + ns,
		SourceRepositoryOwnerIdentifier:     nsID,
		BuildConfigURI:                      "https://" + cfgRef,
		BuildConfigDigest:                   cfgSHA,
		BuildTrigger:                        source,
		RunInvocationURI:                    fmt.Sprintf("%s/%s/-/jobs/%s", base, project, jobID),
		SourceRepositoryVisibilityAtSigning: visibility,
		DeploymentEnvironment:               env,
	}
	return id, nil
}

func mapSPIFFE(id Identity, trustDomain string) (Identity, error) {
	td, err := spiffeTrustDomain(id.Challenge)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: subject %q is not a SPIFFE ID: %v", ErrIdentityNotAllowed, id.Challenge, err)
	}
	if td != trustDomain {
		return Identity{}, fmt.Errorf("%w: SPIFFE ID trust domain %s does not match configured trust domain %s", ErrIdentityNotAllowed, td, trustDomain)
	}
	id.URI = id.Challenge
	return id, nil
}

// spiffeTrustDomain checks id against the SPIFFE ID format, as go-spiffe's
// spiffeid.FromString (which Fulcio uses) does: "spiffe://", a trust
// domain, then path segments of letters, digits, '.', '-' and '_' that are
// neither empty, "." nor "..". It returns the trust domain.
func spiffeTrustDomain(id string) (string, error) {
	rest, ok := strings.CutPrefix(id, "spiffe://")
	if !ok {
		return "", errors.New(`scheme must be "spiffe://"`)
	}
	td, path, hasPath := strings.Cut(rest, "/")
	if err := validTrustDomain(td); err != nil {
		return "", err
	}
	if !hasPath {
		return td, nil
	}
	for _, seg := range strings.Split(path, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", fmt.Errorf("path segment %q is not allowed", seg)
		}
		for _, r := range seg {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(".-_", r)) {
				return "", fmt.Errorf("path segment %q: invalid character %q", seg, r)
			}
		}
	}
	return td, nil
}

func mapKubernetes(id Identity, c Claims) (Identity, error) {
	k8s, _ := c["kubernetes.io"].(map[string]any)
	ns, _ := k8s["namespace"].(string)
	sa, _ := k8s["serviceaccount"].(map[string]any)
	name, _ := sa["name"].(string)
	if ns == "" || name == "" {
		return Identity{}, fmt.Errorf("%w: token has no kubernetes.io namespace and serviceaccount name claims", ErrIdentityNotAllowed)
	}
	id.URI = "https://kubernetes.io/namespaces/" + url.PathEscape(ns) + "/serviceaccounts/" + url.PathEscape(name)
	return id, nil
}

func mapURI(id Identity, domain string) (Identity, error) {
	if isEmail(id.Challenge) {
		return Identity{}, fmt.Errorf("%w: URI subject %q is an email address", ErrIdentityNotAllowed, id.Challenge)
	}
	u, err := url.Parse(id.Challenge)
	d, derr := url.Parse(domain)
	if err != nil || derr != nil || u.Scheme == "" {
		return Identity{}, fmt.Errorf("%w: subject %q is not a URI", ErrIdentityNotAllowed, id.Challenge)
	}
	if u.Scheme != d.Scheme || u.Hostname() != d.Hostname() {
		return Identity{}, fmt.Errorf("%w: subject %q is outside the subject domain %s", ErrIdentityNotAllowed, id.Challenge, domain)
	}
	id.URI = id.Challenge
	return id, nil
}

func mapUsername(id Identity, domain string) (Identity, error) {
	if id.Challenge == "" || strings.Contains(id.Challenge, "!") || isEmail(id.Challenge) {
		return Identity{}, fmt.Errorf("%w: username %q must be non-empty, without '!' and not an email address", ErrIdentityNotAllowed, id.Challenge)
	}
	id.OtherName = id.Challenge + "!" + domain
	return id, nil
}

// mapDev maps tokens of the built-in development issuer by their shape.
func mapDev(id Identity, c Claims, issuerURL string) (Identity, error) {
	if _, ok := c["job_workflow_ref"]; ok {
		return mapGitHub(id, c, "")
	}
	if _, ok := c["email"]; ok {
		return mapEmail(id, c)
	}
	if u, err := url.Parse(id.Challenge); err == nil && u.Scheme != "" && u.Host != "" {
		id.URI = id.Challenge
		return id, nil
	}
	host := issuerURL
	if u, err := url.Parse(issuerURL); err == nil {
		host = u.Hostname()
	}
	return mapUsername(id, host)
}

func isEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s
}

// certified yields every string of id that a certificate or a log line
// states, by name.
func (id Identity) certified() iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		b := id.Build
		for _, f := range []struct{ name, v string }{
			{"issuer", id.Issuer}, {"subject", id.Challenge}, {"email", id.Email}, {"URI", id.URI}, {"username", id.OtherName},
			{"github_workflow_trigger", b.GitHubWorkflowTrigger}, {"github_workflow_sha", b.GitHubWorkflowSHA},
			{"github_workflow_name", b.GitHubWorkflowName}, {"github_workflow_repository", b.GitHubWorkflowRepository},
			{"github_workflow_ref", b.GitHubWorkflowRef}, {"build_signer_uri", b.BuildSignerURI},
			{"build_signer_digest", b.BuildSignerDigest}, {"runner_environment", b.RunnerEnvironment},
			{"source_repository_uri", b.SourceRepositoryURI}, {"source_repository_digest", b.SourceRepositoryDigest},
			{"source_repository_ref", b.SourceRepositoryRef}, {"source_repository_identifier", b.SourceRepositoryIdentifier},
			{"source_repository_owner_uri", b.SourceRepositoryOwnerURI}, {"source_repository_owner_identifier", b.SourceRepositoryOwnerIdentifier},
			{"build_config_uri", b.BuildConfigURI}, {"build_config_digest", b.BuildConfigDigest},
			{"build_trigger", b.BuildTrigger}, {"run_invocation_uri", b.RunInvocationURI},
			{"source_repository_visibility_at_signing", b.SourceRepositoryVisibilityAtSigning},
			{"deployment_environment", b.DeploymentEnvironment},
		} {
			if !yield(f.name, f.v) {
				return
			}
		}
	}
}
