package policy

// shortPredicateTypes are the deprecated short predicateType names that
// policy-controller accepts with a warning.
var shortPredicateTypes = []string{"custom", "slsaprovenance", "spdx", "spdxjson", "cyclonedx", "link", "vuln"}

// predicateTypeURIs maps cosign's short predicate type names to the
// in-toto predicate type URIs they stand for (cosign's PredicateTypeMap).
var predicateTypeURIs = map[string]string{
	"custom":           "https://cosign.sigstore.dev/attestation/v1",
	"slsaprovenance":   "https://slsa.dev/provenance/v0.2",
	"slsaprovenance02": "https://slsa.dev/provenance/v0.2",
	"slsaprovenance1":  "https://slsa.dev/provenance/v1",
	"spdx":             "https://spdx.dev/Document",
	"spdxjson":         "https://spdx.dev/Document",
	"cyclonedx":        "https://cyclonedx.org/bom",
	"link":             "https://in-toto.io/Link/v1",
	"vuln":             "https://cosign.sigstore.dev/attestation/vuln/v1",
	"openvex":          "https://openvex.dev/ns",
}

// PredicateTypeURI returns the in-toto predicate type an attestation's
// predicateType asks for: the URI for one of cosign's short names
// ("vuln", "spdxjson"…), otherwise the value itself.
func PredicateTypeURI(predicateType string) string {
	if uri, ok := predicateTypeURIs[predicateType]; ok {
		return uri
	}
	return predicateType
}
