package policy

import "encoding/json"

// API group, versions and kinds of the policy-controller resources.
const (
	// Group is the API group of ClusterImagePolicy and TrustRoot.
	Group = "policy.sigstore.dev"
	// V1alpha1 is the storage version of both resources.
	V1alpha1 = Group + "/v1alpha1"
	// V1beta1 is the served ClusterImagePolicy version that clients prefer.
	V1beta1 = Group + "/v1beta1"

	// KindClusterImagePolicy is the kind of a ClusterImagePolicy.
	KindClusterImagePolicy = "ClusterImagePolicy"
	// KindTrustRoot is the kind of a TrustRoot.
	KindTrustRoot = "TrustRoot"
)

// Modes of a ClusterImagePolicy (spec.mode).
const (
	// ModeEnforce rejects images that fail the policy. It is the default.
	ModeEnforce = "enforce"
	// ModeWarn admits images that fail the policy, with a warning.
	ModeWarn = "warn"
)

// Static actions (spec.authorities[].static.action).
const (
	// StaticPass makes the authority pass for every matching image.
	StaticPass = "pass"
	// StaticFail makes the authority fail for every matching image.
	StaticFail = "fail"
)

// Policy languages (policy.type).
const (
	// PolicyTypeCUE is a CUE policy.
	PolicyTypeCUE = "cue"
	// PolicyTypeRego is a Rego policy (package sigstore, rule isCompliant).
	PolicyTypeRego = "rego"
)

// TypeMeta is the apiVersion and kind of a Kubernetes object.
type TypeMeta struct {
	APIVersion string `json:"apiVersion,omitempty"`
	Kind       string `json:"kind,omitempty"`
}

// ObjectMeta is the subset of Kubernetes object metadata that policies use.
// Decoding accepts, and drops, the other fields the API server sets
// (managedFields, ownerReferences…), so that `kubectl get -o yaml` output
// loads; names that are not ObjectMeta fields at all are rejected.
type ObjectMeta struct {
	Name            string            `json:"name,omitempty"`
	Namespace       string            `json:"namespace,omitempty"`
	UID             string            `json:"uid,omitempty"`
	ResourceVersion string            `json:"resourceVersion,omitempty"`
	Generation      int64             `json:"generation,omitempty"`
	Labels          map[string]string `json:"labels,omitempty"`
	Annotations     map[string]string `json:"annotations,omitempty"`
}

// Status is the knative duck status that policy-controller writes on its
// resources. signet keeps it only so that exported objects round-trip.
type Status struct {
	ObservedGeneration int64             `json:"observedGeneration,omitempty"`
	Conditions         []Condition       `json:"conditions,omitempty"`
	Annotations        map[string]string `json:"annotations,omitempty"`
}

// Condition is one entry of Status.Conditions.
type Condition struct {
	Type               string `json:"type"`
	Status             string `json:"status"`
	Severity           string `json:"severity,omitempty"`
	LastTransitionTime string `json:"lastTransitionTime,omitempty"`
	Reason             string `json:"reason,omitempty"`
	Message            string `json:"message,omitempty"`
}

// ClusterImagePolicy selects images by glob and says which authorities must
// vouch for them. The v1alpha1 and v1beta1 schemas are identical (see
// ConvertTo), so one Go type serves both; APIVersion tells them apart.
type ClusterImagePolicy struct {
	TypeMeta `json:",inline"`
	Metadata ObjectMeta             `json:"metadata"`
	Spec     ClusterImagePolicySpec `json:"spec"`
	Status   *Status                `json:"status,omitempty"`
}

// ClusterImagePolicySpec is the body of a ClusterImagePolicy.
type ClusterImagePolicySpec struct {
	// Images are the globs of the image references the policy applies to.
	Images []ImagePattern `json:"images"`
	// Authorities are the ways an image may satisfy the policy; any one
	// passing is enough unless Policy says otherwise.
	Authorities []Authority `json:"authorities,omitempty"`
	// Policy, when set, is evaluated over the results of all the passing
	// authorities and must also pass.
	Policy *Policy `json:"policy,omitempty"`
	// Mode is "enforce" (default) or "warn".
	Mode string `json:"mode,omitempty"`
	// Match, when set, restricts the policy to these resource kinds.
	Match []MatchResource `json:"match,omitempty"`
}

// ImagePattern is one image glob.
type ImagePattern struct {
	Glob string `json:"glob"`
}

// Authority is one way of vouching for an image: a key, a keyless
// (Fulcio) identity, or a static pass/fail.
type Authority struct {
	// Name identifies the authority in CIP-level policies; defaulted to
	// "authority-<index>".
	Name             string            `json:"name"`
	Key              *KeyRef           `json:"key,omitempty"`
	Keyless          *KeylessRef       `json:"keyless,omitempty"`
	Static           *StaticRef        `json:"static,omitempty"`
	Sources          []Source          `json:"source,omitempty"`
	CTLog            *TLog             `json:"ctlog,omitempty"`
	Attestations     []Attestation     `json:"attestations,omitempty"`
	RFC3161Timestamp *RFC3161Timestamp `json:"rfc3161timestamp,omitempty"`
	// SignatureFormat is "legacy" (cosign's default) or "bundle".
	SignatureFormat string `json:"signatureFormat,omitempty"`
}

// KeyRef names a public key: inline PEM, a Secret, or a KMS URI.
type KeyRef struct {
	SecretRef     *SecretReference `json:"secretRef,omitempty"`
	Data          string           `json:"data,omitempty"`
	KMS           string           `json:"kms,omitempty"`
	HashAlgorithm string           `json:"hashAlgorithm,omitempty"`
}

// SecretReference names a Secret.
type SecretReference struct {
	Name      string `json:"name,omitempty"`
	Namespace string `json:"namespace,omitempty"`
}

// LocalObjectReference names an object in the admitted resource's
// namespace.
type LocalObjectReference struct {
	Name string `json:"name,omitempty"`
}

// StaticRef makes an authority pass or fail without verification.
type StaticRef struct {
	Action  string `json:"action"`
	Message string `json:"message,omitempty"`
}

// Source says where signatures and attestations are stored.
type Source struct {
	OCI                  string                 `json:"oci,omitempty"`
	SignaturePullSecrets []LocalObjectReference `json:"signaturePullSecrets,omitempty"`
	TagPrefix            *string                `json:"tagPrefix,omitempty"`
}

// TLog is a transparency log (Rekor) to check signatures against.
type TLog struct {
	URL          string `json:"url,omitempty"`
	TrustRootRef string `json:"trustRootRef,omitempty"`
}

// KeylessRef is a Fulcio-style certificate authority and the identities
// whose certificates are accepted.
type KeylessRef struct {
	URL               string     `json:"url,omitempty"`
	Identities        []Identity `json:"identities"`
	CACert            *KeyRef    `json:"ca-cert,omitempty"`
	TrustRootRef      string     `json:"trustRootRef,omitempty"`
	InsecureIgnoreSCT *bool      `json:"insecureIgnoreSCT,omitempty"`
}

// Identity is an accepted certificate issuer and subject, each exact or a
// regular expression.
type Identity struct {
	Issuer        string `json:"issuer,omitempty"`
	Subject       string `json:"subject,omitempty"`
	IssuerRegExp  string `json:"issuerRegExp,omitempty"`
	SubjectRegExp string `json:"subjectRegExp,omitempty"`
}

// RFC3161Timestamp names the TrustRoot whose timestamp authorities are
// trusted.
type RFC3161Timestamp struct {
	TrustRootRef string `json:"trustRootRef,omitempty"`
}

// Attestation is an in-toto predicate type the authority must have
// attested, optionally with a policy over its statement.
type Attestation struct {
	Name          string  `json:"name"`
	PredicateType string  `json:"predicateType"`
	Policy        *Policy `json:"policy,omitempty"`
}

// MatchResource restricts a policy to a resource type and, optionally,
// labels.
type MatchResource struct {
	Group    string         `json:"group,omitempty"`
	Version  string         `json:"version,omitempty"`
	Resource string         `json:"resource,omitempty"`
	Selector *LabelSelector `json:"selector,omitempty"`
}

// LabelSelector is Kubernetes' label selector.
type LabelSelector struct {
	MatchLabels      map[string]string          `json:"matchLabels,omitempty"`
	MatchExpressions []LabelSelectorRequirement `json:"matchExpressions,omitempty"`
}

// LabelSelectorRequirement is one matchExpressions entry.
type LabelSelectorRequirement struct {
	Key      string   `json:"key"`
	Operator string   `json:"operator"`
	Values   []string `json:"values,omitempty"`
}

// Policy is a CUE or Rego policy, given inline, in a ConfigMap or at an
// https URL pinned by digest.
type Policy struct {
	Type              string              `json:"type"`
	Data              string              `json:"data,omitempty"`
	Remote            *RemotePolicy       `json:"remote,omitempty"`
	ConfigMapRef      *ConfigMapReference `json:"configMapRef,omitempty"`
	FetchConfigFile   *bool               `json:"fetchConfigFile,omitempty"`
	IncludeSpec       *bool               `json:"includeSpec,omitempty"`
	IncludeObjectMeta *bool               `json:"includeObjectMeta,omitempty"`
	IncludeTypeMeta   *bool               `json:"includeTypeMeta,omitempty"`
}

// RemotePolicy is a policy fetched over https and checked against a digest.
type RemotePolicy struct {
	URL       string `json:"url,omitempty"`
	Sha256sum string `json:"sha256sum,omitempty"`
}

// ConfigMapReference names a key in a ConfigMap.
type ConfigMapReference struct {
	Name      string `json:"name,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	Key       string `json:"key,omitempty"`
}

// TrustRoot is the trusted material (TUF root, or keys and certificates)
// that authorities refer to by trustRootRef.
type TrustRoot struct {
	TypeMeta `json:",inline"`
	Metadata ObjectMeta    `json:"metadata"`
	Spec     TrustRootSpec `json:"spec"`
	Status   *Status       `json:"status,omitempty"`
}

// TrustRootSpec holds exactly one of Remote, Repository or SigstoreKeys.
type TrustRootSpec struct {
	Remote       *Remote       `json:"remote,omitempty"`
	Repository   *Repository   `json:"repository,omitempty"`
	SigstoreKeys *SigstoreKeys `json:"sigstoreKeys,omitempty"`
}

// Remote is a TUF repository reached over the network, with its initial
// root.
type Remote struct {
	Root              []byte `json:"root"`
	Mirror            string `json:"mirror"`
	Targets           string `json:"targets,omitempty"`
	TrustedRootTarget string `json:"trustedRootTarget,omitempty"`
}

// Repository is an air-gapped TUF repository: a gzipped tarball of it and
// its initial root.
type Repository struct {
	Root              []byte `json:"root"`
	MirrorFS          []byte `json:"mirrorFS"`
	Targets           string `json:"targets,omitempty"`
	TrustedRootTarget string `json:"trustedRootTarget,omitempty"`
}

// SigstoreKeys is bring-your-own trusted material.
type SigstoreKeys struct {
	CertificateAuthorities []CertificateAuthority    `json:"certificateAuthorities"`
	TLogs                  []TransparencyLogInstance `json:"tLogs,omitempty"`
	CTLogs                 []TransparencyLogInstance `json:"ctLogs,omitempty"`
	TimeStampAuthorities   []CertificateAuthority    `json:"timestampAuthorities,omitempty"`
}

// TransparencyLogInstance is a log's URL, hash algorithm and PEM key.
type TransparencyLogInstance struct {
	BaseURL       string `json:"baseURL"`
	HashAlgorithm string `json:"hashAlgorithm"`
	PublicKey     []byte `json:"publicKey"`
}

// DistinguishedName is a certificate subject.
type DistinguishedName struct {
	Organization string `json:"organization"`
	CommonName   string `json:"commonName"`
}

// CertificateAuthority is a CA or TSA: subject, URI and PEM chain (root
// last).
type CertificateAuthority struct {
	Subject   DistinguishedName `json:"subject"`
	URI       string            `json:"uri"`
	CertChain []byte            `json:"certChain"`
}

// objectMetaFields are the JSON names of Kubernetes' ObjectMeta; decoding
// accepts them all and keeps the ones ObjectMeta models.
var objectMetaFields = map[string]bool{
	"name": true, "generateName": true, "namespace": true, "selfLink": true, "uid": true,
	"resourceVersion": true, "generation": true, "creationTimestamp": true, "deletionTimestamp": true,
	"deletionGracePeriodSeconds": true, "labels": true, "annotations": true, "ownerReferences": true,
	"finalizers": true, "managedFields": true,
}

// UnmarshalJSON decodes metadata, rejecting names that are not Kubernetes
// ObjectMeta fields.
func (m *ObjectMeta) UnmarshalJSON(data []byte) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return err
	}
	for k := range fields {
		if !objectMetaFields[k] {
			return &unknownFieldError{field: "metadata." + k}
		}
	}
	type plain ObjectMeta // no UnmarshalJSON method
	var p plain
	// Unknown-but-legal fields were checked above; decode leniently.
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	*m = ObjectMeta(p)
	return nil
}

// unknownFieldError reports a field the schema does not have.
type unknownFieldError struct{ field string }

func (e *unknownFieldError) Error() string { return "unknown field " + `"` + e.field + `"` }
