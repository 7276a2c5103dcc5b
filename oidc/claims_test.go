package oidc_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"text/template"

	"github.com/google/go-cmp/cmp"

	"github.com/signetproject/signet/oidc"
)

const (
	githubIssuer = "https://token.actions.githubusercontent.com"
	gitlabIssuer = "https://gitlab.com"
)

// githubClaims is the claim set of a GitHub Actions ID token for a reusable
// workflow run in a deployment environment, as GitHub documents it
// ("Understanding the OIDC token"), decoded the way go-oidc decodes it.
func githubClaims() oidc.Claims {
	return decodeClaims(`{
		"jti": "example-id",
		"sub": "repo:octo-org/octo-repo:environment:prod",
		"environment": "prod",
		"aud": "sigstore",
		"ref": "refs/heads/main",
		"sha": "2f0b5e3a8a5b4c1d6e7f8091a2b3c4d5e6f70819",
		"repository": "octo-org/octo-repo",
		"repository_owner": "octo-org",
		"actor_id": "12",
		"repository_visibility": "private",
		"repository_id": "74",
		"repository_owner_id": "65",
		"run_id": "6143862131",
		"run_number": "10",
		"run_attempt": "2",
		"runner_environment": "github-hosted",
		"actor": "octocat",
		"workflow": "example-workflow",
		"head_ref": "",
		"base_ref": "",
		"event_name": "workflow_dispatch",
		"ref_type": "branch",
		"ref_protected": "true",
		"job_workflow_ref": "octo-org/octo-automation/.github/workflows/oidc.yml@refs/heads/main",
		"job_workflow_sha": "8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b",
		"workflow_ref": "octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main",
		"workflow_sha": "2f0b5e3a8a5b4c1d6e7f8091a2b3c4d5e6f70819",
		"iss": "https://token.actions.githubusercontent.com",
		"nbf": 1632492967,
		"exp": 1632493867,
		"iat": 1632493567
	}`)
}

// gitlabClaims is the claim set of a GitLab CI ID token (id_tokens with
// aud: sigstore) as GitLab documents it, for a branch pipeline.
func gitlabClaims() oidc.Claims {
	return decodeClaims(`{
		"namespace_id": "72",
		"namespace_path": "my-group",
		"project_id": "20",
		"project_path": "my-group/my-project",
		"user_id": "1",
		"user_login": "sample-user",
		"user_email": "sample-user@example.com",
		"user_access_level": "developer",
		"user_identities": [{"provider": "github", "extern_uid": "2435223452345"}],
		"pipeline_id": "574",
		"pipeline_source": "push",
		"job_id": "302",
		"ref": "feature-branch-1",
		"ref_type": "branch",
		"ref_path": "refs/heads/feature-branch-1",
		"ref_protected": "false",
		"environment": "test-environment2",
		"environment_protected": "false",
		"deployment_tier": "testing",
		"environment_action": "start",
		"runner_id": 1,
		"runner_environment": "self-hosted",
		"sha": "714a629c0b401fdce83e847fc9589983fc6f46bc",
		"project_visibility": "public",
		"ci_config_ref_uri": "gitlab.com/my-group/my-project//.gitlab-ci.yml@refs/heads/main",
		"ci_config_sha": "714a629c0b401fdce83e847fc9589983fc6f46bc",
		"jti": "235b3a54-b797-45c7-ae9a-f72d7bc6ef5b",
		"iss": "https://gitlab.com",
		"iat": 1681395193,
		"nbf": 1681395188,
		"exp": 1681398793,
		"sub": "project_path:my-group/my-project:ref_type:branch:ref:feature-branch-1",
		"aud": "sigstore"
	}`)
}

// kubernetesClaims is a projected service account token as EKS issues it.
func kubernetesClaims() oidc.Claims {
	return decodeClaims(`{
		"aud": ["sigstore"],
		"exp": 1700003600,
		"iat": 1700000000,
		"iss": "https://oidc.eks.us-west-2.amazonaws.com/id/B3A5D1C2E4F6",
		"kubernetes.io": {
			"namespace": "release",
			"pod": {"name": "builder-7d9f8", "uid": "6a1b2c3d-0000-4000-8000-000000000001"},
			"serviceaccount": {"name": "signer", "uid": "6a1b2c3d-0000-4000-8000-000000000002"}
		},
		"nbf": 1700000000,
		"sub": "system:serviceaccount:release:signer"
	}`)
}

func decodeClaims(s string) oidc.Claims {
	var c oidc.Claims
	if err := json.Unmarshal([]byte(s), &c); err != nil {
		panic(err)
	}
	return c
}

// with returns a copy of c with the given claims replaced; a nil value
// deletes the claim.
func with(c oidc.Claims, kv ...any) oidc.Claims {
	out := maps.Clone(c)
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
		} else {
			out[kv[i].(string)] = kv[i+1]
		}
	}
	return out
}

// Fulcio's templates for its github-workflow and gitlab-pipeline CI
// providers, as config/identity/config.yaml (fulcio v1.8.5) defines them,
// keyed by the BuildClaims field they fill. A template without "{{" names a
// claim.
var (
	fulcioGitHubTemplates = map[string]string{
		"GitHubWorkflowTrigger":               "event_name",
		"GitHubWorkflowSHA":                   "sha",
		"GitHubWorkflowName":                  "workflow",
		"GitHubWorkflowRepository":            "repository",
		"GitHubWorkflowRef":                   "ref",
		"BuildSignerURI":                      "{{ .url }}/{{ .job_workflow_ref }}",
		"BuildSignerDigest":                   "job_workflow_sha",
		"RunnerEnvironment":                   "runner_environment",
		"SourceRepositoryURI":                 "{{ .url }}/{{ .repository }}",
		"SourceRepositoryDigest":              "sha",
		"SourceRepositoryRef":                 "ref",
		"SourceRepositoryIdentifier":          "repository_id",
		"SourceRepositoryOwnerURI":            "{{ .url }}/{{ .repository_owner }}",
		"SourceRepositoryOwnerIdentifier":     "repository_owner_id",
		"BuildConfigURI":                      "{{ .url }}/{{ .workflow_ref }}",
		"BuildConfigDigest":                   "workflow_sha",
		"BuildTrigger":                        "event_name",
		"RunInvocationURI":                    "{{ .url }}/{{ .repository }}/actions/runs/{{ .run_id }}/attempts/{{ .run_attempt }}",
		"SourceRepositoryVisibilityAtSigning": "repository_visibility",
		"DeploymentEnvironment":               "environment",
		"SAN":                                 "{{ .url }}/{{ .job_workflow_ref }}",
	}
	fulcioGitHubDefaults = map[string]string{"url": "https://github.com", "environment": ""}

	fulcioGitLabTemplates = map[string]string{
		"BuildSignerURI":                      "https://{{ .ci_config_ref_uri }}",
		"BuildSignerDigest":                   "ci_config_sha",
		"RunnerEnvironment":                   "runner_environment",
		"SourceRepositoryURI":                 "{{ .url }}/{{ .project_path }}",
		"SourceRepositoryDigest":              "sha",
		"SourceRepositoryRef":                 `refs/{{if eq .ref_type "branch"}}heads/{{ else }}tags/{{end}}{{ .ref }}`,
		"SourceRepositoryIdentifier":          "project_id",
		"SourceRepositoryOwnerURI":            "{{ .url }}/{{ .namespace_path }}",
		"SourceRepositoryOwnerIdentifier":     "namespace_id",
		"BuildConfigURI":                      "https://{{ .ci_config_ref_uri }}",
		"BuildConfigDigest":                   "ci_config_sha",
		"BuildTrigger":                        "pipeline_source",
		"RunInvocationURI":                    "{{ .url }}/{{ .project_path }}/-/jobs/{{ .job_id }}",
		"SourceRepositoryVisibilityAtSigning": "project_visibility",
		"DeploymentEnvironment":               "environment",
		"SAN":                                 "https://{{ .ci_config_ref_uri }}",
	}
	fulcioGitLabDefaults = map[string]string{"url": "https://gitlab.com", "environment": ""}
)

// fulcioIdentity renders templates the way Fulcio's ciprovider principal
// does (claims stringified, merged over the defaults, missing keys an
// error) and returns the identity Fulcio would certify.
func fulcioIdentity(t *testing.T, templates, defaults map[string]string, c oidc.Claims) oidc.Identity {
	t.Helper()
	data := maps.Clone(defaults)
	for k, v := range c {
		if f, ok := v.(float64); ok {
			if f == math.Trunc(f) {
				data[k] = fmt.Sprintf("%v", math.Trunc(f))
			} else {
				data[k] = strconv.FormatFloat(f, 'f', -1, 64)
			}
			continue
		}
		data[k] = fmt.Sprintf("%v", v)
	}
	id := oidc.Identity{Issuer: c["iss"].(string), Challenge: c["sub"].(string)}
	build := reflect.ValueOf(&id.Build).Elem()
	for field, tmpl := range templates {
		var value string
		if strings.Contains(tmpl, "{{") {
			var buf bytes.Buffer
			if err := template.Must(template.New("").Option("missingkey=error").Parse(tmpl)).Execute(&buf, data); err != nil {
				t.Fatalf("Fulcio template %s: %v", field, err)
			}
			value = buf.String()
		} else {
			var ok bool
			if value, ok = data[tmpl]; !ok {
				t.Fatalf("Fulcio template %s: no claim %q", field, tmpl)
			}
		}
		if field == "SAN" {
			id.URI = value
			continue
		}
		build.FieldByName(field).SetString(value)
	}
	return id
}

// TestMapIdentityMatchesFulcioTemplates checks that the identity and build
// claims signet derives from CI tokens equal what Fulcio's configured
// templates produce for the same claims.
func TestMapIdentityMatchesFulcioTemplates(t *testing.T) {
	tests := []struct {
		name      string
		cfg       oidc.IssuerConfig
		claims    oidc.Claims
		templates map[string]string
		defaults  map[string]string
	}{
		{"github reusable workflow with environment", oidc.IssuerConfig{URL: githubIssuer, Type: oidc.TypeGitHubWorkflow},
			githubClaims(), fulcioGitHubTemplates, fulcioGitHubDefaults},
		{"github tag push without environment", oidc.IssuerConfig{URL: githubIssuer, Type: oidc.TypeGitHubWorkflow},
			with(githubClaims(), "environment", nil, "event_name", "push", "ref", "refs/tags/v1.2.0", "ref_type", "tag",
				"job_workflow_ref", "octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1.2.0",
				"workflow_ref", "octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1.2.0",
				"sub", "repo:octo-org/octo-repo:ref:refs/tags/v1.2.0"),
			fulcioGitHubTemplates, fulcioGitHubDefaults},
		{"github enterprise base URL", oidc.IssuerConfig{URL: "https://token.ghe.example.com", Type: oidc.TypeGitHubWorkflow, BaseURL: "https://ghe.example.com"},
			with(githubClaims(), "iss", "https://token.ghe.example.com"), fulcioGitHubTemplates,
			map[string]string{"url": "https://ghe.example.com", "environment": ""}},
		{"gitlab branch pipeline", oidc.IssuerConfig{URL: gitlabIssuer, Type: oidc.TypeGitLabPipeline},
			gitlabClaims(), fulcioGitLabTemplates, fulcioGitLabDefaults},
		{"gitlab tag pipeline without environment", oidc.IssuerConfig{URL: gitlabIssuer, Type: oidc.TypeGitLabPipeline},
			with(gitlabClaims(), "ref", "v2.0.0", "ref_type", "tag", "environment", nil, "pipeline_source", "web",
				"ci_config_ref_uri", "gitlab.com/my-group/my-project//.gitlab-ci.yml@refs/tags/v2.0.0"),
			fulcioGitLabTemplates, fulcioGitLabDefaults},
		{"self-managed gitlab", oidc.IssuerConfig{URL: "https://gitlab.example.com", Type: oidc.TypeGitLabPipeline, BaseURL: "https://gitlab.example.com"},
			with(gitlabClaims(), "iss", "https://gitlab.example.com",
				"ci_config_ref_uri", "gitlab.example.com/my-group/my-project//.gitlab-ci.yml@refs/heads/main"),
			fulcioGitLabTemplates, map[string]string{"url": "https://gitlab.example.com", "environment": ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := oidc.MapIdentity(tt.cfg, tt.claims)
			if err != nil {
				t.Fatalf("MapIdentity: %v", err)
			}
			want := fulcioIdentity(t, tt.templates, tt.defaults, tt.claims)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("identity differs from Fulcio's templates (-fulcio +signet):\n%s", diff)
			}
		})
	}
}

func TestMapIdentity(t *testing.T) {
	gh := oidc.IssuerConfig{URL: githubIssuer, Type: oidc.TypeGitHubWorkflow}
	gl := oidc.IssuerConfig{URL: gitlabIssuer, Type: oidc.TypeGitLabPipeline}
	email := oidc.IssuerConfig{URL: "https://accounts.google.com", Type: oidc.TypeEmail}
	spiffe := oidc.IssuerConfig{URL: "https://spire.example.org", Type: oidc.TypeSPIFFE, SPIFFETrustDomain: "example.org"}
	k8s := oidc.IssuerConfig{URL: "https://oidc.eks.us-west-2.amazonaws.com/id/B3A5D1C2E4F6", Type: oidc.TypeKubernetes}
	uri := oidc.IssuerConfig{URL: "https://auth.example.com", Type: oidc.TypeURI, SubjectDomain: "https://example.com"}
	user := oidc.IssuerConfig{URL: "https://auth.example.com", Type: oidc.TypeUsername, SubjectDomain: "example.com"}
	dev := oidc.IssuerConfig{URL: "http://127.0.0.1:8080/oidc", Type: oidc.TypeDev}

	emailClaims := decodeClaims(`{"iss":"https://accounts.google.com","sub":"110169484474386276334","aud":"sigstore",
		"email":"alice@example.com","email_verified":true,"iat":1700000000,"exp":1700000600}`)
	sub := func(iss, s string) oidc.Claims { return oidc.Claims{"iss": iss, "sub": s, "aud": "sigstore"} }

	tests := []struct {
		name   string
		cfg    oidc.IssuerConfig
		claims oidc.Claims
		want   oidc.Identity
	}{
		{"email", email, emailClaims,
			oidc.Identity{Issuer: "https://accounts.google.com", Challenge: "alice@example.com", Email: "alice@example.com"}},
		{"email_verified as string", email, with(emailClaims, "email_verified", "true"),
			oidc.Identity{Issuer: "https://accounts.google.com", Challenge: "alice@example.com", Email: "alice@example.com"}},
		{"github", gh, githubClaims(), oidc.Identity{
			Issuer:    githubIssuer,
			Challenge: "repo:octo-org/octo-repo:environment:prod",
			URI:       "https://github.com/octo-org/octo-automation/.github/workflows/oidc.yml@refs/heads/main",
			Build: oidc.BuildClaims{
				GitHubWorkflowTrigger:               "workflow_dispatch",
				GitHubWorkflowSHA:                   "2f0b5e3a8a5b4c1d6e7f8091a2b3c4d5e6f70819",
				GitHubWorkflowName:                  "example-workflow",
				GitHubWorkflowRepository:            "octo-org/octo-repo",
				GitHubWorkflowRef:                   "refs/heads/main",
				BuildSignerURI:                      "https://github.com/octo-org/octo-automation/.github/workflows/oidc.yml@refs/heads/main",
				BuildSignerDigest:                   "8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b",
				RunnerEnvironment:                   "github-hosted",
				SourceRepositoryURI:                 "https://github.com/octo-org/octo-repo",
				SourceRepositoryDigest:              "2f0b5e3a8a5b4c1d6e7f8091a2b3c4d5e6f70819",
				SourceRepositoryRef:                 "refs/heads/main",
				SourceRepositoryIdentifier:          "74",
				SourceRepositoryOwnerURI:            "https://github.com/octo-org",
				SourceRepositoryOwnerIdentifier:     "65",
				BuildConfigURI:                      "https://github.com/octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main",
				BuildConfigDigest:                   "2f0b5e3a8a5b4c1d6e7f8091a2b3c4d5e6f70819",
				BuildTrigger:                        "workflow_dispatch",
				RunInvocationURI:                    "https://github.com/octo-org/octo-repo/actions/runs/6143862131/attempts/2",
				SourceRepositoryVisibilityAtSigning: "private",
				DeploymentEnvironment:               "prod",
			},
		}},
		{"github numeric ids", gh, with(githubClaims(), "repository_id", float64(74), "run_id", float64(6143862131), "run_attempt", float64(2)),
			func() oidc.Identity {
				id, _ := oidc.MapIdentity(gh, githubClaims())
				return id
			}()},
		{"gitlab", gl, gitlabClaims(), oidc.Identity{
			Issuer:    gitlabIssuer,
			Challenge: "project_path:my-group/my-project:ref_type:branch:ref:feature-branch-1",
			URI:       "https://gitlab.com/my-group/my-project//.gitlab-ci.yml@refs/heads/main",
			Build: oidc.BuildClaims{
				BuildSignerURI:                      "https://gitlab.com/my-group/my-project//.gitlab-ci.yml@refs/heads/main",
				BuildSignerDigest:                   "714a629c0b401fdce83e847fc9589983fc6f46bc",
				RunnerEnvironment:                   "self-hosted",
				SourceRepositoryURI:                 "https://gitlab.com/my-group/my-project",
				SourceRepositoryDigest:              "714a629c0b401fdce83e847fc9589983fc6f46bc",
				SourceRepositoryRef:                 "refs/heads/feature-branch-1",
				SourceRepositoryIdentifier:          "20",
				SourceRepositoryOwnerURI:            "https://gitlab.com/my-group",
				SourceRepositoryOwnerIdentifier:     "72",
				BuildConfigURI:                      "https://gitlab.com/my-group/my-project//.gitlab-ci.yml@refs/heads/main",
				BuildConfigDigest:                   "714a629c0b401fdce83e847fc9589983fc6f46bc",
				BuildTrigger:                        "push",
				RunInvocationURI:                    "https://gitlab.com/my-group/my-project/-/jobs/302",
				SourceRepositoryVisibilityAtSigning: "public",
				DeploymentEnvironment:               "test-environment2",
			},
		}},
		{"spiffe", spiffe, sub(spiffe.URL, "spiffe://example.org/ns/prod/sa/builder"),
			oidc.Identity{Issuer: spiffe.URL, Challenge: "spiffe://example.org/ns/prod/sa/builder", URI: "spiffe://example.org/ns/prod/sa/builder"}},
		{"spiffe trust domain only", spiffe, sub(spiffe.URL, "spiffe://example.org"),
			oidc.Identity{Issuer: spiffe.URL, Challenge: "spiffe://example.org", URI: "spiffe://example.org"}},
		{"kubernetes", k8s, kubernetesClaims(), oidc.Identity{
			Issuer: k8s.URL, Challenge: "system:serviceaccount:release:signer",
			URI: "https://kubernetes.io/namespaces/release/serviceaccounts/signer",
		}},
		{"uri", uri, sub(uri.URL, "https://example.com/users/alice"),
			oidc.Identity{Issuer: uri.URL, Challenge: "https://example.com/users/alice", URI: "https://example.com/users/alice"}},
		{"uri with port", uri, sub(uri.URL, "https://example.com:8443/users/alice"),
			oidc.Identity{Issuer: uri.URL, Challenge: "https://example.com:8443/users/alice", URI: "https://example.com:8443/users/alice"}},
		{"username", user, sub(user.URL, "alice"),
			oidc.Identity{Issuer: user.URL, Challenge: "alice", OtherName: "alice!example.com"}},
		{"dev email", dev, decodeClaims(`{"iss":"http://127.0.0.1:8080/oidc","sub":"bob@example.com","email":"bob@example.com","email_verified":true}`),
			oidc.Identity{Issuer: dev.URL, Challenge: "bob@example.com", Email: "bob@example.com"}},
		{"dev uri subject", dev, sub(dev.URL, "spiffe://example.org/builder"),
			oidc.Identity{Issuer: dev.URL, Challenge: "spiffe://example.org/builder", URI: "spiffe://example.org/builder"}},
		{"dev username subject", dev, sub(dev.URL, "builder"),
			oidc.Identity{Issuer: dev.URL, Challenge: "builder", OtherName: "builder!127.0.0.1"}},
		{"dev github", dev, with(githubClaims(), "iss", dev.URL), func() oidc.Identity {
			id, _ := oidc.MapIdentity(gh, githubClaims())
			id.Issuer = dev.URL
			return id
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := oidc.MapIdentity(tt.cfg, tt.claims)
			if err != nil {
				t.Fatalf("MapIdentity: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("identity (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMapIdentityRejects(t *testing.T) {
	gh := oidc.IssuerConfig{URL: githubIssuer, Type: oidc.TypeGitHubWorkflow}
	gl := oidc.IssuerConfig{URL: gitlabIssuer, Type: oidc.TypeGitLabPipeline}
	email := oidc.IssuerConfig{URL: "https://accounts.google.com", Type: oidc.TypeEmail}
	spiffe := oidc.IssuerConfig{URL: "https://spire.example.org", Type: oidc.TypeSPIFFE, SPIFFETrustDomain: "example.org"}
	k8s := oidc.IssuerConfig{URL: "https://oidc.eks.us-west-2.amazonaws.com/id/B3A5D1C2E4F6", Type: oidc.TypeKubernetes}
	uri := oidc.IssuerConfig{URL: "https://auth.example.com", Type: oidc.TypeURI, SubjectDomain: "https://example.com"}
	user := oidc.IssuerConfig{URL: "https://auth.example.com", Type: oidc.TypeUsername, SubjectDomain: "example.com"}

	emailClaims := decodeClaims(`{"iss":"https://accounts.google.com","sub":"110169484474386276334","email":"alice@example.com","email_verified":true}`)
	sub := func(iss, s string) oidc.Claims { return oidc.Claims{"iss": iss, "sub": s} }

	type test struct {
		name    string
		cfg     oidc.IssuerConfig
		claims  oidc.Claims
		wantMsg string
	}
	tests := []test{
		{"email missing", email, with(emailClaims, "email", nil), "no email claim"},
		{"email empty", email, with(emailClaims, "email", ""), "no email claim"},
		{"email_verified missing", email, with(emailClaims, "email_verified", nil), "no email_verified claim"},
		{"email_verified false", email, with(emailClaims, "email_verified", false), "email_verified claim is false"},
		{"email_verified string false", email, with(emailClaims, "email_verified", "false"), "email_verified claim is false"},
		{"email_verified number", email, with(emailClaims, "email_verified", float64(1)), "email_verified claim is 1"},
		{"email_verified object", email, with(emailClaims, "email_verified", map[string]any{}), "no email_verified claim"},
		{"email with display name", email, with(emailClaims, "email", "Alice <alice@example.com>"), "not a plain email address"},
		{"email not an address", email, with(emailClaims, "email", "alice"), "not a plain email address"},
		{"email not a string", email, with(emailClaims, "email", []any{"alice@example.com"}), "no email claim"},

		{"spiffe other trust domain", spiffe, sub(spiffe.URL, "spiffe://evil.example/ns/prod"), "does not match"},
		{"spiffe trust domain suffix", spiffe, sub(spiffe.URL, "spiffe://example.org.evil.example/x"), "does not match"},
		{"spiffe uppercase trust domain", spiffe, sub(spiffe.URL, "spiffe://EXAMPLE.org/x"), "SPIFFE ID"},
		{"spiffe https scheme", spiffe, sub(spiffe.URL, "https://example.org/x"), "not a SPIFFE ID"},
		{"spiffe uppercase scheme", spiffe, sub(spiffe.URL, "SPIFFE://example.org/x"), "not a SPIFFE ID"},
		{"spiffe no trust domain", spiffe, sub(spiffe.URL, "spiffe:///x"), "not a SPIFFE ID"},
		{"spiffe port", spiffe, sub(spiffe.URL, "spiffe://example.org:443/x"), "not a SPIFFE ID"},
		{"spiffe userinfo", spiffe, sub(spiffe.URL, "spiffe://user@example.org/x"), "not a SPIFFE ID"},
		{"spiffe query", spiffe, sub(spiffe.URL, "spiffe://example.org/x?y=1"), "not a SPIFFE ID"},
		{"spiffe fragment", spiffe, sub(spiffe.URL, "spiffe://example.org/x#y"), "not a SPIFFE ID"},
		{"spiffe empty segment", spiffe, sub(spiffe.URL, "spiffe://example.org/a//b"), "not a SPIFFE ID"},
		{"spiffe trailing slash", spiffe, sub(spiffe.URL, "spiffe://example.org/a/"), "not a SPIFFE ID"},
		{"spiffe dot segment", spiffe, sub(spiffe.URL, "spiffe://example.org/a/./b"), "not a SPIFFE ID"},
		{"spiffe dot-dot segment", spiffe, sub(spiffe.URL, "spiffe://example.org/a/../b"), "not a SPIFFE ID"},
		{"spiffe percent-encoding", spiffe, sub(spiffe.URL, "spiffe://example.org/a%2Fb"), "not a SPIFFE ID"},
		{"spiffe bad path character", spiffe, sub(spiffe.URL, "spiffe://example.org/a b"), "not a SPIFFE ID"},
		{"spiffe not a URI", spiffe, sub(spiffe.URL, "builder"), "not a SPIFFE ID"},
		{"spiffe missing sub", spiffe, oidc.Claims{"iss": spiffe.URL}, "not a SPIFFE ID"},

		{"kubernetes claim missing", k8s, with(kubernetesClaims(), "kubernetes.io", nil), "kubernetes.io"},
		{"kubernetes namespace missing", k8s, with(kubernetesClaims(), "kubernetes.io",
			map[string]any{"serviceaccount": map[string]any{"name": "signer"}}), "kubernetes.io"},
		{"kubernetes serviceaccount missing", k8s, with(kubernetesClaims(), "kubernetes.io",
			map[string]any{"namespace": "release"}), "kubernetes.io"},
		{"kubernetes serviceaccount name empty", k8s, with(kubernetesClaims(), "kubernetes.io",
			map[string]any{"namespace": "release", "serviceaccount": map[string]any{"name": ""}}), "kubernetes.io"},
		{"kubernetes claim of wrong type", k8s, with(kubernetesClaims(), "kubernetes.io", "release/signer"), "kubernetes.io"},

		{"uri other host", uri, sub(uri.URL, "https://evil.example/users/alice"), "outside the subject domain"},
		{"uri host suffix", uri, sub(uri.URL, "https://example.com.evil.example/alice"), "outside the subject domain"},
		{"uri userinfo trick", uri, sub(uri.URL, "https://example.com@evil.example/alice"), "outside the subject domain"},
		{"uri other scheme", uri, sub(uri.URL, "http://example.com/users/alice"), "outside the subject domain"},
		{"uri email subject", uri, sub(uri.URL, "alice@example.com"), "email address"},
		{"uri relative", uri, sub(uri.URL, "users/alice"), "not a URI"},
		{"uri missing sub", uri, oidc.Claims{"iss": uri.URL}, "not a URI"},

		{"username with bang", user, sub(user.URL, "alice!evil.example"), "'!'"},
		{"username email", user, sub(user.URL, "alice@example.com"), "email address"},
		{"username empty", user, sub(user.URL, ""), "non-empty"},

		{"email not ASCII", email, with(emailClaims, "email", "jürgen@example.com"), "not ASCII"},
		{"github job_workflow_ref not a URI path", gh, with(githubClaims(), "job_workflow_ref", "octo-org/app/%zz@refs/heads/main"), "is not a URI"},
		{"github without sub", gh, with(githubClaims(), "sub", nil), "no sub claim"},
		{"gitlab with empty sub", gl, with(gitlabClaims(), "sub", ""), "no sub claim"},
		{"kubernetes without sub", k8s, with(kubernetesClaims(), "sub", nil), "no sub claim"},
		{"unknown type", oidc.IssuerConfig{URL: "https://x.example", Type: "ci-provider"}, sub("https://x.example", "x"), "unknown type"},
	}
	for _, claim := range []string{"job_workflow_ref", "job_workflow_sha", "sha", "event_name", "repository", "ref",
		"workflow", "runner_environment", "repository_id", "repository_owner", "repository_owner_id", "workflow_ref",
		"workflow_sha", "run_id", "run_attempt", "repository_visibility"} {
		tests = append(tests,
			test{"github without " + claim, gh, with(githubClaims(), claim, nil), fmt.Sprintf("no %q claim", claim)},
			test{"github with empty " + claim, gh, with(githubClaims(), claim, ""), fmt.Sprintf("no %q claim", claim)})
	}
	for _, claim := range []string{"ci_config_ref_uri", "ci_config_sha", "runner_environment", "project_path", "sha",
		"ref_type", "ref", "project_id", "namespace_path", "namespace_id", "pipeline_source", "job_id", "project_visibility"} {
		tests = append(tests, test{"gitlab without " + claim, gl, with(gitlabClaims(), claim, nil), fmt.Sprintf("no %q claim", claim)})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := oidc.MapIdentity(tt.cfg, tt.claims)
			if err == nil {
				t.Fatalf("MapIdentity accepted the claims: %+v", id)
			}
			if !errors.Is(err, oidc.ErrIdentityNotAllowed) {
				t.Errorf("error %v does not wrap ErrIdentityNotAllowed", err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not mention %q", err, tt.wantMsg)
			}
		})
	}
}

func TestClaimsString(t *testing.T) {
	c := decodeClaims(`{"s":"x","i":1700000000,"f":1.5,"big":1e300,"t":true,"n":null,"a":[1],"o":{}}`)
	c["num"] = json.Number("42")
	type result struct {
		S  string
		OK bool
	}
	got := map[string]result{}
	for _, name := range []string{"s", "i", "f", "big", "t", "n", "a", "o", "num", "absent"} {
		s, ok := c.String(name)
		got[name] = result{s, ok}
	}
	want := map[string]result{
		"s": {"x", true}, "i": {"1700000000", true}, "f": {"1.5", true},
		"big": {"1" + strings.Repeat("0", 300), true}, "t": {"true", true},
		"n": {"", false}, "a": {"", false}, "o": {"", false}, "num": {"42", true}, "absent": {"", false},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Claims.String (-want +got):\n%s", diff)
	}
}
