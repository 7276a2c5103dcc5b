package oidc

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// DevIssuer is an OIDC issuer for local development and tests: it signs any
// identity it is asked for. It is insecure by design and must never be
// trusted outside a developer's machine.
type DevIssuer struct {
	url    string
	key    *ecdsa.PrivateKey
	keyID  string
	signer jose.Signer
}

// NewDevIssuer returns a development issuer at issuerURL signing with key,
// which must be an ECDSA P-256 key (tokens are ES256).
func NewDevIssuer(issuerURL string, key crypto.Signer) (*DevIssuer, error) {
	ec, ok := key.(*ecdsa.PrivateKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, errors.New("dev issuer key must be ECDSA P-256")
	}
	spki, err := x509.MarshalPKIXPublicKey(ec.Public())
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(spki)
	kid := base64.RawURLEncoding.EncodeToString(sum[:16])
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: ec},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		return nil, err
	}
	return &DevIssuer{url: strings.TrimRight(issuerURL, "/"), key: ec, keyID: kid, signer: signer}, nil
}

// URL returns the issuer URL tokens carry as iss.
func (d *DevIssuer) URL() string { return d.url }

// PublicKey returns the key tokens are signed with.
func (d *DevIssuer) PublicKey() crypto.PublicKey { return d.key.Public() }

// Config returns the issuer configuration that trusts this issuer.
func (d *DevIssuer) Config() IssuerConfig {
	return IssuerConfig{URL: d.url, Type: TypeDev, ClientID: DefaultAudience}
}

// Discovery returns the OpenID provider metadata document.
func (d *DevIssuer) Discovery() []byte {
	doc := map[string]any{
		"issuer":                                d.url,
		"jwks_uri":                              d.url + "/jwks",
		"token_endpoint":                        d.url + "/token",
		"response_types_supported":              []string{"id_token"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"ES256"},
		"claims_supported":                      []string{"iss", "sub", "aud", "exp", "iat", "email", "email_verified"},
		// Lets clients recognise the insecure issuer (signet sign-blob uses
		// it when no token is given).
		"signet_insecure_dev_issuer": true,
	}
	b, _ := json.MarshalIndent(doc, "", "  ")
	return b
}

// JWKS returns the JSON Web Key Set with the issuer's public key.
func (d *DevIssuer) JWKS() []byte {
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: d.key.Public(), KeyID: d.keyID, Algorithm: "ES256", Use: "sig"}}}
	b, _ := json.MarshalIndent(set, "", "  ")
	return b
}

// TokenRequest says which identity a development token asserts. Exactly one
// of Email, GitHubWorkflow and Subject is set.
type TokenRequest struct {
	// Email makes an email-verified token for this address.
	Email string `json:"email,omitempty"`
	// GitHubWorkflow makes a GitHub Actions-like token for
	// "owner/repo@ref" or "owner/repo/.github/workflows/file.yml@ref";
	// a ref without "refs/" is taken as a branch.
	GitHubWorkflow string `json:"githubWorkflow,omitempty"`
	// Subject makes a token with just this sub claim.
	Subject string `json:"subject,omitempty"`
	// Audience defaults to "sigstore".
	Audience string `json:"audience,omitempty"`
	// TTL defaults to 10 minutes and is at most 24 hours.
	TTL time.Duration `json:"ttl,omitempty"`
}

// MaxDevTokenTTL bounds the lifetime of development tokens.
const MaxDevTokenTTL = 24 * time.Hour

// Mint signs a token for the requested identity, issued at now.
func (d *DevIssuer) Mint(req TokenRequest, now time.Time) (string, error) {
	set := 0
	for _, s := range []string{req.Email, req.GitHubWorkflow, req.Subject} {
		if s != "" {
			set++
		}
	}
	if set != 1 {
		return "", errors.New("dev token: give exactly one of email, github workflow or subject")
	}
	for name, v := range map[string]string{"email": req.Email, "github workflow": req.GitHubWorkflow, "subject": req.Subject, "audience": req.Audience} {
		if i := strings.IndexFunc(v, unicode.IsControl); i >= 0 {
			return "", fmt.Errorf("dev token: %s %.200q contains the control character %U", name, v, []rune(v[i:])[0])
		}
	}
	ttl := req.TTL
	if ttl == 0 {
		ttl = 10 * time.Minute
	}
	if ttl < 0 || ttl > MaxDevTokenTTL {
		return "", fmt.Errorf("dev token: ttl %s outside (0, %s]", ttl, MaxDevTokenTTL)
	}
	aud := req.Audience
	if aud == "" {
		aud = DefaultAudience
	}
	claims := map[string]any{
		"iss": d.url,
		"aud": aud,
		"iat": now.Unix(),
		"nbf": now.Unix(),
		"exp": now.Add(ttl).Unix(),
	}
	switch {
	case req.Email != "":
		if !isEmail(req.Email) {
			return "", fmt.Errorf("dev token: %q is not an email address", req.Email)
		}
		claims["sub"] = req.Email
		claims["email"] = req.Email
		claims["email_verified"] = true
	case req.GitHubWorkflow != "":
		gh, err := githubClaims(req.GitHubWorkflow)
		if err != nil {
			return "", err
		}
		for k, v := range gh {
			claims[k] = v
		}
	default:
		claims["sub"] = req.Subject
	}
	return jwt.Signed(d.signer).Claims(claims).Serialize()
}

// githubClaims builds the claims GitHub Actions puts in its ID tokens for a
// push-triggered run of the given workflow.
func githubClaims(spec string) (map[string]any, error) {
	path, ref, ok := strings.Cut(spec, "@")
	parts := strings.Split(path, "/")
	if !ok || ref == "" || len(parts) < 2 || parts[0] == "" || parts[1] == "" {
		return nil, fmt.Errorf("dev token: github workflow %q: want owner/repo@ref or owner/repo/.github/workflows/file.yml@ref", spec)
	}
	owner, repo := parts[0], parts[0]+"/"+parts[1]
	workflowPath := strings.Join(parts[2:], "/")
	if workflowPath == "" {
		workflowPath = ".github/workflows/release.yml"
	}
	if !strings.HasPrefix(ref, "refs/") {
		ref = "refs/heads/" + ref
	}
	refType := "branch"
	if strings.HasPrefix(ref, "refs/tags/") {
		refType = "tag"
	}
	sha := fakeSHA(repo + "@" + ref)
	workflowRef := repo + "/" + workflowPath + "@" + ref
	name := strings.TrimSuffix(strings.TrimSuffix(workflowPath[strings.LastIndex(workflowPath, "/")+1:], ".yml"), ".yaml")
	return map[string]any{
		"sub":                   "repo:" + repo + ":ref:" + ref,
		"ref":                   ref,
		"ref_type":              refType,
		"sha":                   sha,
		"repository":            repo,
		"repository_id":         fakeID(repo),
		"repository_owner":      owner,
		"repository_owner_id":   fakeID(owner),
		"repository_visibility": "public",
		"actor":                 owner,
		"actor_id":              fakeID(owner),
		"workflow":              name,
		"workflow_ref":          workflowRef,
		"workflow_sha":          sha,
		"job_workflow_ref":      workflowRef,
		"job_workflow_sha":      sha,
		"event_name":            "push",
		"run_id":                "1000000001",
		"run_number":            "1",
		"run_attempt":           "1",
		"runner_environment":    "github-hosted",
		"head_ref":              "",
		"base_ref":              "",
	}, nil
}

// fakeSHA makes a stable commit-like hash so repeated tokens for the same
// workflow agree.
func fakeSHA(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:20])
}

func fakeID(s string) string {
	sum := sha256.Sum256([]byte(s))
	n := uint32(sum[0])<<24 | uint32(sum[1])<<16 | uint32(sum[2])<<8 | uint32(sum[3])
	return fmt.Sprint(n%900000000 + 100000000)
}
