package policy

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const validPublicKey = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEaEOVJCFtduYr3xqTxeRWSW32CY/s\nTBNZj4oIUPl8JvhVPJ1TKDPlNcuT4YphSt6t3yOmMvkdQbCj8broX6vijw==\n-----END PUBLIC KEY-----"

// checkFindings compares findings with the error and warning texts wanted,
// as policy-controller's validateError helper does ("" = none).
func checkFindings(t *testing.T, got FieldErrors, wantErr, wantWarn string) {
	t.Helper()
	if diff := cmp.Diff(wantErr, got.Filter(LevelError).Error()); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantWarn, got.Filter(LevelWarning).Error()); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}

func hashivault() *KeyRef { return &KeyRef{KMS: "hashivault://key/path"} }

func boolPtr(b bool) *bool { return &b }

func spec(glob string, auths ...Authority) ClusterImagePolicy {
	c := ClusterImagePolicy{}
	if glob != "" {
		c.Spec.Images = []ImagePattern{{Glob: glob}}
	}
	c.Spec.Authorities = auths
	return c
}

func keyless(url string, ids ...Identity) *KeylessRef { return &KeylessRef{URL: url, Identities: ids} }

var someIdentity = Identity{Subject: "somesubject", Issuer: "someissuer"}

// TestValidateClusterImagePolicy holds the cases of policy-controller
// v0.13.1's clusterimagepolicy_validation_test.go (v1alpha1 and v1beta1
// have the same cases), with their expected messages, then signet's.
func TestValidateClusterImagePolicy(t *testing.T) {
	sourcePolicy := &Policy{Type: "cue", Data: `predicateType: "cosign.sigstore.dev/attestation/vuln/v1"`}
	withSwitch := func(set func(*Policy)) *Policy {
		p := *sourcePolicy
		set(&p)
		return &p
	}
	tests := []struct {
		name     string
		policy   ClusterImagePolicy
		opts     ValidateOptions
		wantErr  string
		wantWarn string
	}{
		// TestImagePatternValidation
		{name: "glob not present", policy: ClusterImagePolicy{Spec: ClusterImagePolicySpec{Images: []ImagePattern{{}}}},
			wantErr: "missing field(s): spec.authorities, spec.images[0].glob"},
		{name: "invalid glob", policy: spec("["),
			wantErr: "invalid value: [: spec.images[0].glob\nglob is invalid: syntax error in pattern\nmissing field(s): spec.authorities"},
		{name: "glob with invalid regexp", policy: spec("$FOO*"),
			wantErr: "invalid value: $FOO*: spec.images[0].glob\nglob is invalid: invalid glob \"$FOO*\"\nmissing field(s): spec.authorities"},
		{name: "missing images and authorities", policy: ClusterImagePolicy{},
			wantErr: "missing field(s): spec.authorities, spec.images"},
		{name: "missing authorities", policy: spec("*"), wantErr: "missing field(s): spec.authorities"},
		{name: "valid glob", policy: spec("gcr.io/*", Authority{Key: hashivault()})},
		{name: "glob with exact digest", policy: spec("ghcr.io/foo@sha256:5504f2a95018e3d8a52d80d9e1a128c6ea337581808ff9fe96f5628ce2336350", Authority{Key: hashivault()})},

		// TestKeyValidation
		{name: "key with multiple properties", policy: spec("myglob", Authority{Key: &KeyRef{Data: validPublicKey, KMS: "hashivault://key/path"}}),
			wantErr: "expected exactly one, got both: spec.authorities[0].key.data, spec.authorities[0].key.kms, spec.authorities[0].key.secretref"},
		{name: "malformed key data", policy: spec("myglob", Authority{Key: &KeyRef{Data: "---some key data----"}}),
			wantErr: "invalid value: ---some key data----: spec.authorities[0].key.data"},
		{name: "secretref in another namespace", opts: ValidateOptions{SystemNamespace: "cosign-system"},
			policy:  spec("myglob", Authority{Key: &KeyRef{SecretRef: &SecretReference{Name: "test", Namespace: "invalid"}}}),
			wantErr: "invalid value: invalid: spec.authorities[0].key.secretref.namespace\nsecretref.namespace is invalid. If set, it should use the same namespace where the policy-controller was deployed"},
		{name: "secretref in the system namespace", opts: ValidateOptions{SystemNamespace: "cosign-system"},
			policy: spec("myglob", Authority{Key: &KeyRef{SecretRef: &SecretReference{Name: "test", Namespace: "cosign-system"}}})},
		{name: "empty key", policy: spec("myglob*", Authority{Key: &KeyRef{}}),
			wantErr: "expected exactly one, got neither: spec.authorities[0].key.data, spec.authorities[0].key.kms, spec.authorities[0].key.secretref"},
		{name: "key with one property", policy: spec("yepanotherglob", Authority{Key: hashivault()})},
		{name: "invalid hash algorithm", policy: spec("*", Authority{Key: &KeyRef{Data: validPublicKey, HashAlgorithm: "shaINVALID"}}),
			wantErr: "invalid value: shaINVALID: spec.authorities[0].key.hashAlgorithm"},
		{name: "hash algorithm sha512", policy: spec("*", Authority{Key: &KeyRef{Data: validPublicKey, HashAlgorithm: "SHA512"}})},

		// TestKeylessValidation
		{name: "empty keyless", policy: spec("globbityglob", Authority{Keyless: &KeylessRef{}}),
			wantErr: "expected exactly one, got neither: spec.authorities[0].keyless.ca-cert, spec.authorities[0].keyless.url\nmissing field(s): spec.authorities[0].keyless.identities"},
		{name: "keyless with url and ca-cert", policy: spec("globbityglob", Authority{Keyless: &KeylessRef{URL: "//myhost", CACert: &KeyRef{Data: validPublicKey}}}),
			wantErr: "expected exactly one, got both: spec.authorities[0].keyless.ca-cert, spec.authorities[0].keyless.url\nmissing field(s): spec.authorities[0].keyless.identities"},
		{name: "keyless without identities", policy: spec("globbityglob", Authority{Keyless: keyless("//myhost")}),
			wantErr: "missing field(s): spec.authorities[0].keyless.identities"},
		{name: "valid keyless", policy: spec("globbityglob", Authority{Keyless: keyless("//myhost", someIdentity)})},

		// TestStaticValidation
		{name: "empty static", policy: spec("globbityglob", Authority{Static: &StaticRef{}}),
			wantErr: "missing field(s): spec.authorities[0].static.action"},
		{name: "invalid static action", policy: spec("globbityglob", Authority{Static: &StaticRef{Action: "garbage"}}),
			wantErr: "invalid value: garbage: spec.authorities[0].static.action\nunsupported action"},
		{name: "static pass", policy: spec("globbityglob", Authority{Static: &StaticRef{Action: "pass"}})},
		{name: "static fail", policy: spec("globbityglob", Authority{Static: &StaticRef{Action: "fail"}})},
		{name: "static pass with CIP policy switches", policy: func() ClusterImagePolicy {
			c := spec("globbityglob", Authority{Static: &StaticRef{Action: "pass"}})
			c.Spec.Policy = withSwitch(func(p *Policy) {
				p.FetchConfigFile, p.IncludeSpec, p.IncludeObjectMeta, p.IncludeTypeMeta = boolPtr(true), boolPtr(true), boolPtr(true), boolPtr(true)
			})
			return c
		}()},

		// TestModeValidation
		{name: "mode empty", policy: spec("*", Authority{Key: hashivault()})},
		{name: "mode enforce", policy: withMode(spec("*", Authority{Key: hashivault()}), "enforce")},
		{name: "mode warn", policy: withMode(spec("*", Authority{Key: hashivault()}), "warn")},
		{name: "mode garbage", policy: withMode(spec("*", Authority{Key: hashivault()}), "garbage"),
			wantErr: "invalid value: garbage: spec.mode\nunsupported mode"},

		// TestAuthoritiesValidation
		{name: "empty authority", policy: spec("globbityglob", Authority{}),
			wantErr: "expected exactly one, got neither: spec.authorities[0].key, spec.authorities[0].keyless, spec.authorities[0].static"},
		{name: "key and keyless", policy: spec("globbityglob", Authority{Key: hashivault(), Keyless: keyless("//myhost", someIdentity)}),
			wantErr: "expected exactly one, got both: spec.authorities[0].key, spec.authorities[0].keyless, spec.authorities[0].static"},
		{name: "key and static", policy: spec("globbityglob", Authority{Key: hashivault(), Static: &StaticRef{Action: "pass"}}),
			wantErr: "expected exactly one, got both: spec.authorities[0].key, spec.authorities[0].keyless, spec.authorities[0].static"},
		{name: "keyless and static", policy: spec("globbityglob", Authority{Keyless: keyless("//myhost", someIdentity), Static: &StaticRef{Action: "pass"}}),
			wantErr: "expected exactly one, got both: spec.authorities[0].key, spec.authorities[0].keyless, spec.authorities[0].static"},
		{name: "static with sources, attestations and ctlog", policy: spec("globbityglob", Authority{
			Static:       &StaticRef{Action: "fail"},
			Attestations: []Attestation{{Name: "first", PredicateType: "vuln"}},
			Sources:      []Source{{OCI: "registry1", SignaturePullSecrets: []LocalObjectReference{{Name: "placeholder"}}}},
			CTLog:        &TLog{},
		}),
			wantErr:  "expected exactly one, got both: spec.authorities[0].attestations, spec.authorities[0].ctlog, spec.authorities[0].source, spec.authorities[0].static",
			wantWarn: "invalid value: vuln: spec.authorities[0].attestations.predicateType\ndeprecated value, please use RFC 3986 conformant values"},
		{name: "static with rfc3161timestamp", policy: spec("g", Authority{Static: &StaticRef{Action: "pass"}, RFC3161Timestamp: &RFC3161Timestamp{TrustRootRef: "x"}}),
			wantErr: "expected exactly one, got both: spec.authorities[0].rfc3161timestamp, spec.authorities[0].static"},
		{name: "empty authorities", policy: spec("globbityglob"), wantErr: "missing field(s): spec.authorities"},
		{name: "empty authorities allowed", policy: spec("globbityglob"), opts: ValidateOptions{AllowEmptyAuthorities: true}},
		{name: "source oci", policy: spec("g", Authority{Key: hashivault(), Sources: []Source{{OCI: "registry.example.com"}}})},
		{name: "invalid AWS KMS", policy: spec("g", Authority{Key: &KeyRef{KMS: "awskms://localhost:8888/arn:butnotvalid"}, Sources: []Source{{OCI: "registry.example.com"}}}),
			wantErr: "invalid value: awskms://localhost:8888/arn:butnotvalid: spec.authorities[0].key.kms\nkms key should be in the format awskms://[ENDPOINT]/[ID/ALIAS/ARN] (endpoint optional)"},
		{name: "invalid kms prefix", policy: spec("g", Authority{Key: &KeyRef{KMS: "fookms://localhost:8888/xpa:butnotvalid"}}),
			wantErr: "invalid value: fookms://localhost:8888/xpa:butnotvalid: spec.authorities[0].key.kms\nmalformed KMS format, should be prefixed by any of the supported providers: [awskms:// azurekms:// hashivault:// gcpkms://]"},
		{name: "invalid OCI repository", policy: spec("g", Authority{Key: hashivault(), Sources: []Source{{OCI: "registry.example.com/repo/*"}}}),
			wantErr: "invalid value: registry.example.com/repo/*: spec.authorities[0].source[0].oci\nrepository can only contain the characters `abcdefghijklmnopqrstuvwxyz0123456789_-./`: repo/*"},
		{name: "invalid OCI registry", policy: spec("g", Authority{Key: hashivault(), Sources: []Source{{OCI: "re@gistry/reponame"}}}),
			wantErr: "invalid value: re@gistry/reponame: spec.authorities[0].source[0].oci\nregistries must be valid RFC 3986 URI authorities: re@gistry/reponame"},
		{name: "valid OCI repository", policy: spec("g", Authority{Key: hashivault(), Sources: []Source{{OCI: "gcr.io/google.com/project/hello-world"}}})},
		{name: "valid OCI repository 2", policy: spec("g", Authority{Key: hashivault(), Sources: []Source{{OCI: "registry.example.com/repository"}}})},
		{name: "invalid AWS KMS for keyless ca-cert", policy: spec("g", Authority{Keyless: &KeylessRef{CACert: &KeyRef{KMS: "awskms://localhost:8888/arn:butnotvalid"}}}),
			wantErr: "invalid value: awskms://localhost:8888/arn:butnotvalid: spec.authorities[0].keyless.ca-cert.kms\nkms key should be in the format awskms://[ENDPOINT]/[ID/ALIAS/ARN] (endpoint optional)\nmissing field(s): spec.authorities[0].keyless.identities"},
		{name: "single source", policy: spec("g", Authority{Key: hashivault(), Sources: []Source{{OCI: "registry1"}}})},
		{name: "multiple sources", policy: spec("g", Authority{Key: hashivault(), Sources: []Source{{OCI: "registry1"}, {OCI: "registry2"}}}),
			wantErr: "invalid value: source: spec.authorities[0].source\nonly single source is supported"},
		{name: "attestations", policy: spec("g", Authority{Key: hashivault(), Attestations: []Attestation{
			{Name: "first", PredicateType: "https://cosign.sigstore.dev/attestation/vuln/v1"},
			{Name: "second", PredicateType: "https://cosign.sigstore.dev/attestation/v1", Policy: sourcePolicy},
		}})},
		{name: "attestation policy with fetchConfigFile", policy: spec("g", Authority{Key: hashivault(), Attestations: []Attestation{
			{Name: "second", PredicateType: "https://cosign.sigstore.dev/attestation/v1", Policy: withSwitch(func(p *Policy) { p.FetchConfigFile = boolPtr(true) })},
		}}), wantErr: "must not set the field(s): spec.authorities[0].attestations.policy.fetchConfigFile"},
		{name: "attestation policy with includeSpec", policy: spec("g", Authority{Key: hashivault(), Attestations: []Attestation{
			{Name: "second", PredicateType: "https://cosign.sigstore.dev/attestation/v1", Policy: withSwitch(func(p *Policy) { p.IncludeSpec = boolPtr(true) })},
		}}), wantErr: "must not set the field(s): spec.authorities[0].attestations.policy.includeSpec"},
		{name: "attestation policy with includeObjectMeta", policy: spec("g", Authority{Key: hashivault(), Attestations: []Attestation{
			{Name: "second", PredicateType: "https://cosign.sigstore.dev/attestation/v1", Policy: withSwitch(func(p *Policy) { p.IncludeObjectMeta = boolPtr(false) })},
		}}), wantErr: "must not set the field(s): spec.authorities[0].attestations.policy.includeObjectMeta"},
		{name: "attestation policy with includeTypeMeta", policy: spec("g", Authority{Key: hashivault(), Attestations: []Attestation{
			{Name: "second", PredicateType: "https://cosign.sigstore.dev/attestation/v1", Policy: withSwitch(func(p *Policy) { p.IncludeTypeMeta = boolPtr(true) })},
		}}), wantErr: "must not set the field(s): spec.authorities[0].attestations.policy.includeTypeMeta"},
		{name: "signaturePullSecret without name", policy: spec("g", Authority{Key: hashivault(), Sources: []Source{{OCI: "registry1", SignaturePullSecrets: []LocalObjectReference{{}}}}}),
			wantErr: "missing field(s): spec.authorities[0].source[0].signaturePullSecrets[0].name"},
		{name: "signaturePullSecret with name", policy: spec("g", Authority{Key: hashivault(), Sources: []Source{{OCI: "registry1", SignaturePullSecrets: []LocalObjectReference{{Name: "testPullSecrets"}}}}})},
		{name: "source without oci", policy: spec("g", Authority{Key: hashivault(), Sources: []Source{{}}})},

		// TestIdentitiesValidation
		{name: "identity fields empty", policy: spec("g", Authority{Keyless: keyless("//myhost", Identity{})}),
			wantErr: "missing field(s): spec.authorities[0].keyless.identities[0].issuer, spec.authorities[0].keyless.identities[0].issuerRegExp, spec.authorities[0].keyless.identities[0].subject, spec.authorities[0].keyless.identities[0].subjectRegExp"},
		{name: "issuer and issuerRegExp", policy: spec("g", Authority{Keyless: keyless("//myhost", Identity{Issuer: "a", IssuerRegExp: "a", Subject: "s"})}),
			wantErr: "expected exactly one, got both: spec.authorities[0].keyless.identities[0].issuer, spec.authorities[0].keyless.identities[0].issuerRegExp"},
		{name: "subject and subjectRegExp", policy: spec("g", Authority{Keyless: keyless("//myhost", Identity{Issuer: "a", Subject: "s", SubjectRegExp: "s"})}),
			wantErr: "expected exactly one, got both: spec.authorities[0].keyless.identities[0].subject, spec.authorities[0].keyless.identities[0].subjectRegExp"},
		{name: "invalid issuerRegExp", policy: spec("g", Authority{Keyless: keyless("//myhost", Identity{IssuerRegExp: "****", Subject: "s"})}),
			wantErr: "invalid value: ****: spec.authorities[0].keyless.identities[0].issuerRegExp\nregex is invalid: error parsing regexp: missing argument to repetition operator: `*`"},
		{name: "issuer missing", policy: spec("g", Authority{Keyless: keyless("//myhost", Identity{Subject: "s"})}),
			wantErr: "missing field(s): spec.authorities[0].keyless.identities[0].issuer, spec.authorities[0].keyless.identities[0].issuerRegExp"},
		{name: "subject missing", policy: spec("g", Authority{Keyless: keyless("//myhost", Identity{Issuer: "i"})}),
			wantErr: "missing field(s): spec.authorities[0].keyless.identities[0].subject, spec.authorities[0].keyless.identities[0].subjectRegExp"},
		{name: "invalid subjectRegExp", policy: spec("g", Authority{Keyless: keyless("//myhost", Identity{Issuer: "i", SubjectRegExp: "****"})}),
			wantErr: "invalid value: ****: spec.authorities[0].keyless.identities[0].subjectRegExp\nregex is invalid: error parsing regexp: missing argument to repetition operator: `*`"},
		{name: "valid regexps", policy: spec("g", Authority{Keyless: keyless("//myhost", Identity{IssuerRegExp: ".*", SubjectRegExp: ".*"})})},

		// TestMatchValidation (policy-controller adds "supported" to the
		// accepted resource names).
		{name: "match label selector", opts: ValidateOptions{ResourceNames: []string{"supported"}}, policy: withMatch(spec("*", Authority{Keyless: keyless("//myhost", someIdentity)}),
			MatchResource{Group: "apps", Version: "v1", Resource: "supported", Selector: &LabelSelector{MatchLabels: map[string]string{"test": "test"}}})},
		{name: "match resource types", opts: ValidateOptions{ResourceNames: []string{"supported"}}, policy: withMatch(spec("*", Authority{Keyless: keyless("//myhost", someIdentity)}),
			MatchResource{Group: "", Version: "v1", Resource: "supported"}, MatchResource{Group: "batch", Version: "v1", Resource: "supported"})},
		{name: "invalid match resource", opts: ValidateOptions{ResourceNames: []string{"supported"}}, policy: withMatch(spec("*", Authority{Keyless: keyless("//myhost", someIdentity)}),
			MatchResource{Group: "apps", Version: "v1", Resource: "myobject"}),
			wantErr: "invalid value: myobject: spec.match[0].resource\nunsupported resource name"},

		// signet's cases.
		{name: "selector without resource", policy: withMatch(spec("*", Authority{Key: hashivault()}), MatchResource{Selector: &LabelSelector{}}),
			wantErr: "invalid value: : spec.match[0].selector\nselector requires a resource type to match the labels"},
		{name: "CIP-level policy path", policy: func() ClusterImagePolicy {
			c := spec("*", Authority{Key: hashivault()})
			c.Spec.Policy = &Policy{Type: "wasm"}
			return c
		}(), wantErr: "invalid value: wasm: spec.policy.type\nonly [cue,rego] are supported at the moment\nmissing field(s): spec.policy.configMapRef, spec.policy.data, spec.policy.remote"},
		{name: "unparsable keyless url", policy: spec("*", Authority{Keyless: keyless("http://[::1", someIdentity)}),
			wantErr: "invalid value: http://[::1: spec.authorities[0].keyless.url\nparse \"http://[::1\": missing ']' in host"},
		{name: "second authority findings", policy: spec("*", Authority{Key: hashivault()}, Authority{Static: &StaticRef{Action: "maybe"}}),
			wantErr: "invalid value: maybe: spec.authorities[1].static.action\nunsupported action"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkFindings(t, tc.policy.Validate(tc.opts), tc.wantErr, tc.wantWarn)
		})
	}
}

func withMode(c ClusterImagePolicy, mode string) ClusterImagePolicy {
	c.Spec.Mode = mode
	return c
}

func withMatch(c ClusterImagePolicy, m ...MatchResource) ClusterImagePolicy {
	c.Spec.Match = m
	return c
}

// TestValidateAttestation holds policy-controller's
// TestAttestationsValidation cases; paths are relative to the attestation.
func TestValidateAttestation(t *testing.T) {
	cue := func(p Policy) *Policy { p.Type = "cue"; return &p }
	tests := []struct {
		name              string
		att               Attestation
		wantErr, wantWarn string
	}{
		{name: "vuln URI", att: Attestation{Name: "first", PredicateType: "https://cosign.sigstore.dev/attestation/vuln/v1"}},
		{name: "fully specified URL", att: Attestation{Name: "fullyspecified", PredicateType: "https://cyclonedx.org/schema"}},
		{name: "missing name", att: Attestation{PredicateType: "https://cosign.sigstore.dev/attestation/vuln/v1"}, wantErr: "missing field(s): name"},
		{name: "missing predicatetype", att: Attestation{Name: "first"}, wantErr: "missing field(s): predicateType"},
		{name: "invalid predicatetype", att: Attestation{Name: "first", PredicateType: "notsupported"},
			wantWarn: "invalid value: notsupported: predicateType\ndeprecated value, please use RFC 3986 conformant values"},
		{name: "invalid policy type", att: Attestation{Name: "second", PredicateType: "https://cosign.sigstore.dev/attestation/v1",
			Policy: &Policy{Type: "not-cue", Data: `predicateType: "cosign.sigstore.dev/attestation/vuln/v1"`}},
			wantErr: "invalid value: not-cue: policy.type\nonly [cue,rego] are supported at the moment"},
		{name: "missing policy data and configMapRef", att: Attestation{Name: "second", PredicateType: "https://cosign.sigstore.dev/attestation/v1", Policy: cue(Policy{})},
			wantErr: "missing field(s): policy.configMapRef, policy.data, policy.remote"},
		{name: "policy data and configMapRef", att: Attestation{Name: "second", PredicateType: "https://cosign.sigstore.dev/attestation/v1",
			Policy: cue(Policy{Data: "x: 1", ConfigMapRef: &ConfigMapReference{Name: "cmname", Key: "keyname"}})},
			wantErr: "expected exactly one, got both: policy.configMapRef, policy.data, policy.remote"},
		{name: "policy data, url and configMapRef", att: Attestation{Name: "second", PredicateType: "https://cosign.sigstore.dev/attestation/v1",
			Policy: cue(Policy{Data: "x: 1", ConfigMapRef: &ConfigMapReference{Name: "cmname", Key: "keyname"}, Remote: &RemotePolicy{URL: "https://example.com", Sha256sum: "123123123"}})},
			wantErr: "expected exactly one, got both: policy.configMapRef, policy.data, policy.remote"},
		{name: "policy url", att: Attestation{Name: "second", PredicateType: "https://cosign.sigstore.dev/attestation/v1",
			Policy: cue(Policy{Remote: &RemotePolicy{URL: "https://example.com", Sha256sum: "123123123"}})}},
		{name: "policy url with http", att: Attestation{Name: "second", PredicateType: "https://cosign.sigstore.dev/attestation/v1",
			Policy: cue(Policy{Remote: &RemotePolicy{URL: "http://example.com", Sha256sum: "123123123"}})},
			wantErr: "invalid value: http://example.com: policy.remote.url\nurl valid is invalid. host and https scheme are expected"},
		{name: "configMapRef without key", att: Attestation{Name: "second", PredicateType: "https://cosign.sigstore.dev/attestation/v1",
			Policy: cue(Policy{ConfigMapRef: &ConfigMapReference{Name: "cmname"}})},
			wantErr: "missing field(s): policy.configMapRef.key"},
		{name: "policy", att: Attestation{Name: "second", PredicateType: "https://cosign.sigstore.dev/attestation/v1", Policy: cue(Policy{Data: "x: 1"})}},
		// signet's.
		{name: "remote without digest", att: Attestation{Name: "n", PredicateType: "https://x.dev/v1", Policy: cue(Policy{Remote: &RemotePolicy{URL: "https://example.com/p.cue"}})},
			wantErr: "missing field(s): policy.remote.sha256sum"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var f findings
			tc.att.validate(&f, "")
			checkFindings(t, f.list, tc.wantErr, tc.wantWarn)
		})
	}
}

// TestValidateKMS holds policy-controller's TestAWSKMSValidation cases,
// run for key.kms and keyless.ca-cert.kms as there.
func TestValidateKMS(t *testing.T) {
	tests := []struct {
		name, kms, wantErr string
	}{
		{name: "only 2 slashes", kms: "awskms://1234abcd-12ab-34cd-56ef-1234567890ab",
			wantErr: "invalid value: awskms://1234abcd-12ab-34cd-56ef-1234567890ab: KMSORCACERT\nmalformed AWS KMS format 'awskms://$ENDPOINT/$KEYID', should be conformant with KMS standard documented here: https://docs.aws.amazon.com/kms/latest/developerguide/concepts.html#key-id"},
		{name: "invalid host", kms: "awskms://localhost:::4566/alias/exampleAlias",
			wantErr: "invalid value: awskms://localhost:::4566/alias/exampleAlias: KMSORCACERT\nmalformed endpoint: address localhost:::4566: too many colons in address"},
		{name: "non-arn alias", kms: "awskms://localhost:4566/alias/exampleAlias",
			wantErr: "invalid value: awskms://localhost:4566/alias/exampleAlias: KMSORCACERT\nfailed to parse either key or alias arn: arn: invalid prefix"},
		{name: "invalid arn", kms: "awskms://localhost:4566/arn:sonotvalid",
			wantErr: "invalid value: awskms://localhost:4566/arn:sonotvalid: KMSORCACERT\nkms key should be in the format awskms://[ENDPOINT]/[ID/ALIAS/ARN] (endpoint optional)"},
		{name: "arn as endpoint", kms: "awskms://arn:aws:kms:us-east-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
			wantErr: "invalid value: awskms://arn:aws:kms:us-east-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab: KMSORCACERT\nkms key should be in the format awskms://[ENDPOINT]/[ID/ALIAS/ARN] (endpoint optional)"},
		{name: "arn key and endpoint", kms: "awskms://localhost:4566/arn:aws:kms:us-east-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"},
		{name: "arn key", kms: "awskms:///arn:aws:kms:us-east-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"},
		{name: "arn alias and endpoint", kms: "awskms://localhost:4566/arn:aws:kms:us-east-2:111122223333:alias/ExampleAlias"},
		{name: "arn alias", kms: "awskms:///arn:aws:kms:us-east-2:111122223333:alias/ExampleAlias"},
		// signet's: the key ids and aliases policy-controller's e2e data
		// expects to be rejected.
		{name: "key id", kms: "awskms:///1234abcd-12ab-34cd-56ef-1234567890ab",
			wantErr: "invalid value: awskms:///1234abcd-12ab-34cd-56ef-1234567890ab: KMSORCACERT\nfailed to parse either key or alias arn: arn: invalid prefix"},
		{name: "alias", kms: "awskms:///alias/ExampleAlias",
			wantErr: "invalid value: awskms:///alias/ExampleAlias: KMSORCACERT\nfailed to parse either key or alias arn: arn: invalid prefix"},
		{name: "gcp", kms: "gcpkms://projects/p/locations/global/keyRings/r/cryptoKeys/k"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key := KeyRef{KMS: tc.kms}
			var f findings
			key.validate(&f, "", ValidateOptions{})
			checkFindings(t, f.list, strings.Replace(tc.wantErr, "KMSORCACERT", "kms", 1), "")

			f = findings{}
			kl := KeylessRef{CACert: &key, Identities: []Identity{{Subject: "testsubject", Issuer: "testIssuer"}}}
			kl.validate(&f, "", ValidateOptions{})
			checkFindings(t, f.list, strings.Replace(tc.wantErr, "KMSORCACERT", "ca-cert.kms", 1), "")
		})
	}
}

func TestFieldErrorsFormat(t *testing.T) {
	fe := FieldErrors{
		{Message: "missing field(s)", Paths: []string{"spec.b"}},
		{Level: LevelWarning, Message: "invalid value: x", Paths: []string{"spec.w"}, Details: "why"},
		{Message: "missing field(s)", Paths: []string{"spec.a", "spec.b"}},
		{Message: "expected exactly one, got both", Paths: []string{"spec.z", "spec.y"}},
	}
	want := "expected exactly one, got both: spec.y, spec.z\ninvalid value: x: spec.w\nwhy\nmissing field(s): spec.a, spec.b"
	if diff := cmp.Diff(want, fe.Error()); diff != "" {
		t.Errorf("Error() (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"invalid value: x: spec.w\nwhy"}, fe.Warnings()); diff != "" {
		t.Errorf("Warnings() (-want +got):\n%s", diff)
	}
	if fe.Filter(LevelWarning).Err() != nil {
		t.Error("warnings alone: Err() != nil")
	}
	if fe.Err() == nil {
		t.Error("Err() = nil with error findings")
	}
}

func TestValidateTrustRoot(t *testing.T) {
	root := []byte(`{"signed": {}, "signatures": [{}]}`)
	tests := []struct {
		name    string
		spec    TrustRootSpec
		wantErr string
	}{
		{name: "empty", wantErr: "expected exactly one, got neither: spec.remote, spec.repository, spec.sigstoreKeys"},
		{name: "two", spec: TrustRootSpec{Remote: &Remote{}, SigstoreKeys: &SigstoreKeys{}},
			wantErr: "expected exactly one, got both: spec.remote, spec.repository, spec.sigstoreKeys"},
		{name: "remote", spec: TrustRootSpec{Remote: &Remote{Root: root, Mirror: "https://tuf-repo-cdn.sigstore.dev"}}},
		{name: "remote without mirror or root", spec: TrustRootSpec{Remote: &Remote{}},
			wantErr: "missing field(s): spec.remote.mirror, spec.remote.root"},
		{name: "root without signatures", spec: TrustRootSpec{Remote: &Remote{Root: []byte(`{}`), Mirror: "https://m"}},
			wantErr: "invalid value: missing signatures in root.json: spec.remote.root\nno signatures"},
		{name: "repository missing root", spec: TrustRootSpec{Repository: &Repository{MirrorFS: []byte{1}, Targets: "targets"}},
			wantErr: "missing field(s): spec.repository.root"},
		{name: "repository missing repository", spec: TrustRootSpec{Repository: &Repository{Root: root, Targets: "targets"}},
			wantErr: "missing field(s): spec.repository.repository"},
		{name: "repository missing targets", spec: TrustRootSpec{Repository: &Repository{Root: root, MirrorFS: []byte{1}}},
			wantErr: "missing field(s): spec.repository.targets"},
		{name: "repository not gzip", spec: TrustRootSpec{Repository: &Repository{Root: root, MirrorFS: []byte("this is not a gzipped tarball"), Targets: "targets"}},
			wantErr: "invalid value: failed to construct a TUF client: spec.repository.mirrorFS\nfailed to uncompress: gzip: invalid header"},
		{name: "keys without authorities", spec: TrustRootSpec{SigstoreKeys: &SigstoreKeys{}},
			wantErr: "expected exactly one, got neither: spec.sigstoreKeys.certificateAuthority, spec.sigstoreKeys.timestampAuthorities"},
		{name: "incomplete keys", spec: TrustRootSpec{SigstoreKeys: &SigstoreKeys{
			CertificateAuthorities: []CertificateAuthority{{}},
			TLogs:                  []TransparencyLogInstance{{}},
		}}, wantErr: "missing field(s): spec.sigstoreKeys.certificateAuthority[0].certchain, spec.sigstoreKeys.certificateAuthority[0].subject.commonName, " +
			"spec.sigstoreKeys.certificateAuthority[0].subject.organization, spec.sigstoreKeys.certificateAuthority[0].uri, " +
			"spec.sigstoreKeys.tLogs[0].baseURL, spec.sigstoreKeys.tLogs[0].hashAlgorithm, spec.sigstoreKeys.tLogs[0].publicKey"},
		{name: "tsa chain not PEM", spec: TrustRootSpec{SigstoreKeys: &SigstoreKeys{TimeStampAuthorities: []CertificateAuthority{{
			Subject: DistinguishedName{Organization: "o", CommonName: "c"}, URI: "https://tsa", CertChain: []byte("nope"),
		}}}}, wantErr: "invalid value: error splitting the certificates: spec.sigstoreKeys.timestampAuthorities[0].certChain\nerror during PEM decoding"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := TrustRoot{Spec: tc.spec}
			checkFindings(t, tr.Validate(), tc.wantErr, "")
		})
	}
}
