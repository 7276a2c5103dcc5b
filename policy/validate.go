package policy

import (
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// DefaultResourceNames are the spec.match[].resource values that
// policy-controller's webhook accepts: the resources it admits.
var DefaultResourceNames = []string{"replicasets", "deployments", "pods", "cronjobs", "jobs", "statefulsets", "daemonsets"}

// ValidateOptions are the deployment settings validation depends on. The
// zero value validates as a default policy-controller install does, except
// that it accepts any match resource and secretRef namespace.
type ValidateOptions struct {
	// AllowEmptyAuthorities accepts policies without authorities
	// (policy-controller's fail-on-empty-authorities: "false"). Such a
	// policy denies every image it matches.
	AllowEmptyAuthorities bool
	// ResourceNames, when not empty, are the only spec.match[].resource
	// values accepted; the webhook sets DefaultResourceNames.
	ResourceNames []string
	// SystemNamespace, when set, is the only namespace a key secretRef may
	// name (the namespace the admission controller runs in).
	SystemNamespace string
}

// Validate checks a ClusterImagePolicy the way policy-controller's
// validating webhook does, returning every finding (warnings included) with
// policy-controller's messages and field paths. Call SetDefaults first, as
// the API server does, or keyless authorities without a url are reported as
// "expected exactly one, got neither".
//
// Differences from policy-controller v0.13.1, all where its paths are
// unpinned by its tests and plainly wrong: findings in the CIP-level
// policy are reported under spec.policy (not spec), and a missing
// signaturePullSecrets name does not re-prefix the source's other findings.
// Findings under attestations keep policy-controller's index-less path
// ("spec.authorities[0].attestations.name"), which its tests pin.
func (c *ClusterImagePolicy) Validate(opts ValidateOptions) FieldErrors {
	var f findings
	c.Spec.validate(&f, "spec", opts)
	return f.list
}

func (s *ClusterImagePolicySpec) validate(f *findings, p path, opts ValidateOptions) {
	if len(s.Images) == 0 {
		f.missing(p.child("images"))
	}
	for i, img := range s.Images {
		ip := p.index("images", i).child("glob")
		if img.Glob == "" {
			f.missing(ip)
			continue
		}
		if err := ValidateGlob(img.Glob); err != nil {
			f.invalid(img.Glob, ip, "glob is invalid: "+err.Error())
		}
	}
	if len(s.Authorities) == 0 && !opts.AllowEmptyAuthorities {
		f.missing(p.child("authorities"))
	}
	for i := range s.Authorities {
		s.Authorities[i].validate(f, p.index("authorities", i), opts)
	}
	if s.Mode != "" && s.Mode != ModeEnforce && s.Mode != ModeWarn {
		f.invalid(s.Mode, p.child("mode"), "unsupported mode")
	}
	for i, m := range s.Match {
		m.validate(f, p.index("match", i), opts)
	}
	if s.Policy != nil {
		s.Policy.validate(f, p.child("policy"), true)
	}
}

func (a *Authority) validate(f *findings, p path, opts ValidateOptions) {
	kinds := 0
	for _, set := range []bool{a.Key != nil, a.Keyless != nil, a.Static != nil} {
		if set {
			kinds++
		}
	}
	// Like policy-controller, stop here: the sub-fields' findings would
	// only add noise.
	switch {
	case kinds == 0:
		f.missingOneOf(p.child("key"), p.child("keyless"), p.child("static"))
		return
	case kinds > 1:
		f.multipleOneOf(p.child("key"), p.child("keyless"), p.child("static"))
		return
	}
	switch {
	case a.Key != nil:
		a.Key.validate(f, p.child("key"), opts)
	case a.Keyless != nil:
		a.Keyless.validate(f, p.child("keyless"), opts)
	case a.Static != nil:
		a.Static.validate(f, p.child("static"))
		// Verification settings make no sense with a static result.
		if len(a.Attestations) > 0 {
			f.multipleOneOf(p.child("static"), p.child("attestations"))
		}
		if len(a.Sources) > 0 {
			f.multipleOneOf(p.child("static"), p.child("source"))
		}
		if a.CTLog != nil {
			f.multipleOneOf(p.child("static"), p.child("ctlog"))
		}
		if a.RFC3161Timestamp != nil {
			f.multipleOneOf(p.child("static"), p.child("rfc3161timestamp"))
		}
	}
	if a.CTLog != nil && a.CTLog.URL != "" {
		validateURL(f, a.CTLog.URL, p.child("ctlog").child("url"))
	}
	if len(a.Sources) > 1 {
		f.invalid("source", p.child("source"), "only single source is supported")
	} else {
		for i, s := range a.Sources {
			s.validate(f, p.index("source", i))
		}
	}
	for i := range a.Attestations {
		a.Attestations[i].validate(f, p.child("attestations"))
	}
}

func (s *StaticRef) validate(f *findings, p path) {
	switch s.Action {
	case "":
		f.missing(p.child("action"))
	case StaticPass, StaticFail:
	default:
		f.invalid(s.Action, p.child("action"), "unsupported action")
	}
}

func (m *MatchResource) validate(f *findings, p path, opts ValidateOptions) {
	if m.Resource != "" && len(opts.ResourceNames) > 0 && !slices.Contains(opts.ResourceNames, m.Resource) {
		f.invalid(m.Resource, p.child("resource"), "unsupported resource name")
	}
	if m.Selector != nil && m.Resource == "" && m.Version == "" && m.Group == "" {
		f.invalid(m.Resource, p.child("selector"), "selector requires a resource type to match the labels")
	}
}

// hashAlgorithms are the key.hashAlgorithm values policy-controller accepts
// (case-insensitive, surrounding space ignored).
var hashAlgorithms = []string{"sha224", "sha256", "sha384", "sha512"}

func (k *KeyRef) validate(f *findings, p path, opts ValidateOptions) {
	data, kms, secret := p.child("data"), p.child("kms"), p.child("secretref")
	if k.Data == "" && k.KMS == "" && k.SecretRef == nil {
		f.missingOneOf(data, kms, secret)
	}
	if k.HashAlgorithm != "" && !slices.Contains(hashAlgorithms, strings.ToLower(strings.TrimSpace(k.HashAlgorithm))) {
		f.invalid(k.HashAlgorithm, p.child("hashAlgorithm"))
	}
	if k.Data != "" {
		if k.KMS != "" || k.SecretRef != nil {
			f.multipleOneOf(data, kms, secret)
		}
		if pub, err := cryptoutils.UnmarshalPEMToPublicKey([]byte(k.Data)); err != nil || pub == nil {
			f.invalid(k.Data, data)
		}
	} else if k.KMS != "" && k.SecretRef != nil {
		f.multipleOneOf(data, kms, secret)
	}
	if k.KMS != "" {
		if err := ValidateKMS(k.KMS); err != nil {
			f.invalid(k.KMS, kms, err.Error())
		}
	}
	if k.SecretRef != nil && k.SecretRef.Namespace != "" && opts.SystemNamespace != "" && k.SecretRef.Namespace != opts.SystemNamespace {
		f.invalid(k.SecretRef.Namespace, p.child("secretref.namespace"),
			"secretref.namespace is invalid. If set, it should use the same namespace where the policy-controller was deployed")
	}
}

func (k *KeylessRef) validate(f *findings, p path, opts ValidateOptions) {
	switch {
	case k.URL == "" && k.CACert == nil:
		f.missingOneOf(p.child("url"), p.child("ca-cert"))
	case k.URL != "" && k.CACert != nil:
		f.multipleOneOf(p.child("url"), p.child("ca-cert"))
	}
	if k.URL != "" {
		validateURL(f, k.URL, p.child("url"))
	}
	if k.CACert != nil {
		k.CACert.validate(f, p.child("ca-cert"), opts)
	}
	if len(k.Identities) == 0 {
		f.missing(p.child("identities"))
	}
	for i, id := range k.Identities {
		id.validate(f, p.index("identities", i))
	}
}

func (id *Identity) validate(f *findings, p path) {
	if id.Issuer != "" && id.IssuerRegExp != "" {
		f.multipleOneOf(p.child("issuer"), p.child("issuerRegExp"))
	}
	if id.Subject != "" && id.SubjectRegExp != "" {
		f.multipleOneOf(p.child("subject"), p.child("subjectRegExp"))
	}
	for _, re := range []struct {
		expr  string
		field string
	}{{id.IssuerRegExp, "issuerRegExp"}, {id.SubjectRegExp, "subjectRegExp"}} {
		if re.expr == "" {
			continue
		}
		if _, err := regexp.Compile(re.expr); err != nil {
			f.invalid(re.expr, p.child(re.field), "regex is invalid: "+err.Error())
		}
	}
	if id.Subject == "" && id.SubjectRegExp == "" {
		f.missing(p.child("subject"), p.child("subjectRegExp"))
	}
	if id.Issuer == "" && id.IssuerRegExp == "" {
		f.missing(p.child("issuer"), p.child("issuerRegExp"))
	}
}

func (s *Source) validate(f *findings, p path) {
	if s.OCI != "" {
		if err := ValidateOCI(s.OCI); err != nil {
			f.invalid(s.OCI, p.child("oci"), err.Error())
		}
	}
	for i, sec := range s.SignaturePullSecrets {
		if sec.Name == "" {
			f.missing(p.index("signaturePullSecrets", i).child("name"))
		}
	}
}

func (a *Attestation) validate(f *findings, p path) {
	if a.Name == "" {
		f.missing(p.child("name"))
	}
	const deprecated = "deprecated value, please use RFC 3986 conformant values"
	switch {
	case a.PredicateType == "":
		f.missing(p.child("predicateType"))
	case slices.Contains(shortPredicateTypes, a.PredicateType):
		// The short names still work but are error prone: warn.
		f.invalidWarning(a.PredicateType, p.child("predicateType"), deprecated)
	default:
		if _, err := url.ParseRequestURI(a.PredicateType); err != nil {
			f.invalidWarning(a.PredicateType, p.child("predicateType"), deprecated)
		}
	}
	if a.Policy != nil {
		a.Policy.validate(f, p.child("policy"), false)
	}
}

// validate checks a policy; withinSpec is true for the CIP-level policy,
// the only place the fetch/include switches are allowed.
func (pol *Policy) validate(f *findings, p path, withinSpec bool) {
	if pol.Type != PolicyTypeCUE && pol.Type != PolicyTypeRego {
		f.invalid(pol.Type, p.child("type"), "only [cue,rego] are supported at the moment")
	}
	sources := 0
	for _, set := range []bool{pol.Data != "", pol.ConfigMapRef != nil, pol.Remote != nil} {
		if set {
			sources++
		}
	}
	switch {
	case sources == 0:
		f.missing(p.child("data"), p.child("configMapRef"), p.child("remote"))
	case sources > 1:
		f.multipleOneOf(p.child("data"), p.child("configMapRef"), p.child("remote"))
	}
	if r := pol.Remote; r != nil {
		rp := p.child("remote")
		if u, err := url.Parse(r.URL); err != nil || u.Host == "" || u.Scheme != "https" {
			f.invalid(r.URL, rp.child("url"), "url valid is invalid. host and https scheme are expected")
		}
		if r.Sha256sum == "" {
			f.missing(rp.child("sha256sum"))
		}
	}
	if cm := pol.ConfigMapRef; cm != nil {
		cp := p.child("configMapRef")
		if cm.Name == "" {
			f.missing(cp.child("name"))
		}
		if cm.Key == "" {
			f.missing(cp.child("key"))
		}
	}
	if withinSpec {
		return
	}
	for _, sw := range []struct {
		set   bool
		field string
	}{
		{pol.FetchConfigFile != nil, "fetchConfigFile"},
		{pol.IncludeSpec != nil, "includeSpec"},
		{pol.IncludeObjectMeta != nil, "includeObjectMeta"},
		{pol.IncludeTypeMeta != nil, "includeTypeMeta"},
	} {
		if sw.set {
			f.disallowed(p.child(sw.field))
		}
	}
}

// validateURL reports a URL that does not parse. The API server rejects
// these while decoding (knative's apis.URL); signet decodes URLs as strings
// and reports them here instead.
func validateURL(f *findings, raw string, p path) {
	if _, err := url.Parse(raw); err != nil {
		f.invalid(raw, p, err.Error())
	}
}

// ValidateGlob reports whether g is a valid image glob: a valid
// filepath.Match pattern that compiles to a matcher.
func ValidateGlob(g string) error {
	if _, err := filepath.Match(g, ""); err != nil {
		return err
	}
	if _, err := CompileGlob(g); err != nil {
		return err
	}
	return nil
}

// ValidateOCI checks a source.oci value: a registry ("gcr.io",
// "localhost:5000") or a repository within one ("ghcr.io/org/sigs"), with
// go-containerregistry's strict rules.
func ValidateOCI(oci string) error {
	parts := strings.SplitN(oci, "/", 2)
	if len(parts) == 2 && strings.ContainsAny(parts[0], ".:") {
		if _, err := name.NewRepository(oci, name.StrictValidation); err != nil {
			return err
		}
		return nil
	}
	if _, err := name.NewRegistry(oci, name.StrictValidation); err != nil {
		return err
	}
	return nil
}
