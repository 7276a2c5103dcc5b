// Package oidc verifies OpenID Connect ID tokens from configured issuers and
// maps their claims to the identity a signing certificate states, the way
// Fulcio does for each issuer type. It also holds the built-in development
// issuer that mints tokens for local use.
package oidc

// Identity is what a verified ID token proves about its holder: the values a
// code-signing certificate will carry.
type Identity struct {
	// Issuer is the token's iss claim.
	Issuer string
	// Challenge is the string the client must sign to prove possession of
	// its key: the email address for email issuers, the subject otherwise
	// (Fulcio's "principal name").
	Challenge string

	// Exactly one of the subject alternative names below is set.
	Email     string // rfc822Name SAN
	URI       string // URI SAN (workflow ref, SPIFFE ID, service account, …)
	OtherName string // otherName SAN (OID 1.3.6.1.4.1.57264.1.7), "user!domain"

	// Build holds the CI claims of workflow tokens; it is empty otherwise.
	Build BuildClaims
}

// BuildClaims are the CI build facts Fulcio records in certificate
// extensions (OIDs 1.3.6.1.4.1.57264.1.2–.1.23). Empty fields are omitted.
type BuildClaims struct {
	// Deprecated GitHub-only extensions .1.2–.1.6 (raw strings).
	GitHubWorkflowTrigger    string
	GitHubWorkflowSHA        string
	GitHubWorkflowName       string
	GitHubWorkflowRepository string
	GitHubWorkflowRef        string

	BuildSignerURI                      string // .1.9
	BuildSignerDigest                   string // .1.10
	RunnerEnvironment                   string // .1.11
	SourceRepositoryURI                 string // .1.12
	SourceRepositoryDigest              string // .1.13
	SourceRepositoryRef                 string // .1.14
	SourceRepositoryIdentifier          string // .1.15
	SourceRepositoryOwnerURI            string // .1.16
	SourceRepositoryOwnerIdentifier     string // .1.17
	BuildConfigURI                      string // .1.18
	BuildConfigDigest                   string // .1.19
	BuildTrigger                        string // .1.20
	RunInvocationURI                    string // .1.21
	SourceRepositoryVisibilityAtSigning string // .1.22
	DeploymentEnvironment               string // .1.23
}
