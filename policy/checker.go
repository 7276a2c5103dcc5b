package policy

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/signetproject/signet/keys"
	"github.com/signetproject/signet/oci"
	"github.com/signetproject/signet/trustroot"
	"github.com/signetproject/signet/verify"
)

// AttachmentLister lists the attachments of one kind of an image, read
// as the Lookup says (whose credentials, which tag prefix); *oci.Client
// is one.
type AttachmentLister interface {
	ListKind(ctx context.Context, subject name.Digest, kind oci.Kind, l oci.Lookup) (*oci.Attached, error)
}

// SecretGetter returns the data of a Secret (for key authorities with a
// secretRef). The admission controller backs it with an informer.
type SecretGetter interface {
	Secret(ctx context.Context, namespace, name string) (map[string][]byte, error)
}

// RegistryChecker is the AuthorityChecker that does the real work: it lists
// an image's signatures and attestations in both cosign layouts and checks
// each with signet's verifier under the authority's key or identities.
type RegistryChecker struct {
	lister  AttachmentLister
	root    *trustroot.TrustedRoot
	secrets SecretGetter
	// named are the TrustRoots authorities may name by trustRootRef, or
	// why each cannot be used.
	named map[string]namedRoot

	mu        sync.Mutex
	verifiers map[string]*verify.Verifier // by trust material and options
}

type namedRoot struct {
	root *trustroot.TrustedRoot
	err  error
}

// CheckerOptions configures a RegistryChecker.
type CheckerOptions struct {
	// Secrets reads the Kubernetes Secrets of secretRef keys; it may be nil
	// when no policy uses them.
	Secrets SecretGetter
	// TrustRoots are available to authorities that name them by
	// trustRootRef (keyless, ctlog, rfc3161timestamp). A TrustRoot whose
	// material cannot be used (a TUF repository, a broken chain) fails
	// only the authorities that name it.
	TrustRoots []*TrustRoot
}

// NewRegistryChecker returns a checker that trusts root (the CA, logs and
// TSAs keyless signatures must chain to, unless an authority names other
// material).
func NewRegistryChecker(lister AttachmentLister, root *trustroot.TrustedRoot, opts CheckerOptions) *RegistryChecker {
	c := &RegistryChecker{lister: lister, root: root, secrets: opts.Secrets, named: map[string]namedRoot{}, verifiers: map[string]*verify.Verifier{}}
	for _, t := range opts.TrustRoots {
		root, err := t.TrustedRoot()
		c.named[t.Metadata.Name] = namedRoot{root: root, err: err}
	}
	return c
}

// VerifySignatures implements AuthorityChecker.
func (c *RegistryChecker) VerifySignatures(ctx context.Context, image string, a *Authority, creds RegistryCredentials) ([]Signature, error) {
	verified, err := c.check(ctx, image, a, creds, oci.KindSignature)
	if err != nil {
		return nil, err
	}
	var out []Signature
	for _, v := range verified {
		out = append(out, v.sig)
	}
	return out, nil
}

// VerifyAttestations implements AuthorityChecker.
func (c *RegistryChecker) VerifyAttestations(ctx context.Context, image string, a *Authority, creds RegistryCredentials) ([]VerifiedAttestation, error) {
	verified, err := c.check(ctx, image, a, creds, oci.KindAttestation)
	if err != nil {
		return nil, err
	}
	var out []VerifiedAttestation
	for _, v := range verified {
		payload, err := json.Marshal(v.got.Statement)
		if err != nil {
			return nil, fmt.Errorf("attestation %s: %w", v.sig.ID, err)
		}
		out = append(out, VerifiedAttestation{Signature: v.sig, PredicateType: v.got.PredicateType, Digest: v.sig.ID, Payload: payload})
	}
	return out, nil
}

type checked struct {
	sig Signature
	got *oci.Verified
}

// AuthorityVerification is how one authority verifies an image's
// signatures and attestations: where they are stored and how to read
// them, and the verifier and identity or key policy each must pass.
type AuthorityVerification struct {
	// Subject is the image digest in the repository holding the
	// signatures (the authority's source.oci, else the image's own).
	Subject name.Digest
	// Lookup says with which credentials and under which tag prefix.
	Lookup oci.Lookup
	// Verifier and Policy check each attachment (oci.Attachment.Verify).
	Verifier *verify.Verifier
	Policy   verify.Policy
	// Key is the authority's public key; nil for keyless authorities.
	Key crypto.PublicKey
}

// AuthorityVerification returns how the key or keyless authority a
// verifies the digest reference image, read with creds, exactly as
// VerifySignatures and VerifyAttestations do. Reports use it to attribute
// each verified attachment to the authority that trusts it.
func (c *RegistryChecker) AuthorityVerification(ctx context.Context, image string, a *Authority, creds RegistryCredentials) (*AuthorityVerification, error) {
	ref, err := name.NewDigest(image)
	if err != nil {
		return nil, fmt.Errorf("image %q must be a digest reference: %w", image, err)
	}
	repo, lookup, err := signatureSource(ctx, a.Sources, ref.Context(), creds)
	if err != nil {
		return nil, err
	}
	lookup.Session = creds.Session
	pol, opts, err := c.policyFor(ctx, a)
	if err != nil {
		return nil, err
	}
	v, err := c.verifier(a, opts)
	if err != nil {
		return nil, err
	}
	av := &AuthorityVerification{Subject: repo.Digest(ref.DigestStr()), Lookup: lookup, Verifier: v, Policy: pol}
	if pol.Key != nil {
		av.Key = pol.Key.PublicKey
	}
	return av, nil
}

func (c *RegistryChecker) check(ctx context.Context, image string, a *Authority, creds RegistryCredentials, kind oci.Kind) ([]checked, error) {
	av, err := c.AuthorityVerification(ctx, image, a, creds)
	if err != nil {
		return nil, err
	}
	subject, v, pol := av.Subject, av.Verifier, av.Policy
	attached, err := c.lister.ListKind(ctx, subject, kind, av.Lookup)
	if err != nil {
		if oci.IsUnavailable(err) {
			return nil, fmt.Errorf("list signatures of %s: %w: %w", subject, ErrUnavailable, err)
		}
		return nil, fmt.Errorf("list signatures of %s: %w", subject, err)
	}
	candidates := attached.Filter(kind)
	if len(candidates) == 0 {
		return nil, fmt.Errorf("no %ss found", kind)
	}
	var out []checked
	var reasons []string
	for _, att := range candidates {
		if att.Err != nil {
			reasons = append(reasons, fmt.Sprintf("%s: malformed: %v", att.Digest, att.Err))
			continue
		}
		got, err := att.Verify(v, pol)
		if err != nil {
			reasons = append(reasons, fmt.Sprintf("%s: %v", att.Digest, err))
			continue
		}
		out = append(out, checked{sig: signatureOf(att, got), got: got})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no matching %ss: %s", kind, firstReasons(reasons))
	}
	return out, nil
}

// maxReasons is how many reasons an error lists: a registry decides how
// many signatures fail, and an admission denial should stay readable.
const maxReasons = 5

// firstReasons joins the first maxReasons reasons and counts the others.
func firstReasons(reasons []string) string {
	if len(reasons) <= maxReasons {
		return strings.Join(reasons, "; ")
	}
	return fmt.Sprintf("%s; and %d more", strings.Join(reasons[:maxReasons], "; "), len(reasons)-maxReasons)
}

// RegistryCredentials are the registry credentials of one admitted
// object, with which RegistryChecker reads its images' signatures and
// attestations, as policy-controller does with the pod's pull secrets.
// The admission webhook puts them in each Request; the zero value means
// the lister's credentials only.
type RegistryCredentials struct {
	// Keychain holds the object's pull credentials (its imagePullSecrets
	// and its service account's). Registries it has no credentials for
	// are read with the lister's own. Nil means the lister's only.
	Keychain authn.Keychain
	// PullSecrets returns the credentials in the named Secrets of the
	// object's namespace, for source.signaturePullSecrets; they replace
	// Keychain for that authority. Nil where there is no cluster (signet
	// policy test): such authorities then fail.
	PullSecrets func(ctx context.Context, names []string) (authn.Keychain, error)
	// Session, when set, is the decision's registry session: one byte and
	// request budget for all its authorities, each manifest and blob read
	// once (see oci.Session). Nil means a session per listing.
	Session *oci.Session
}

// signatureSource returns the repository an authority's sources put the
// signatures in (cosign's COSIGN_REPOSITORY), else the image's own, and
// how to read them: with creds, under no tag prefix, unless a source says
// otherwise; the last source naming a repository, a tag prefix or
// signature pull secrets wins for each, as policy-controller's remote
// options override each other.
func signatureSource(ctx context.Context, sources []Source, image name.Repository, creds RegistryCredentials) (name.Repository, oci.Lookup, error) {
	repo, lookup := image, oci.Lookup{Keychain: creds.Keychain}
	var pullSecrets []string
	for i, s := range sources {
		if s.TagPrefix != nil && *s.TagPrefix != "" {
			if err := oci.ValidateTagPrefix(*s.TagPrefix); err != nil {
				return name.Repository{}, oci.Lookup{}, fmt.Errorf("source[%d]: %w", i, err)
			}
			lookup.TagPrefix = *s.TagPrefix
		}
		if len(s.SignaturePullSecrets) > 0 {
			pullSecrets = pullSecrets[:0]
			for _, ref := range s.SignaturePullSecrets {
				pullSecrets = append(pullSecrets, ref.Name)
			}
		}
		if s.OCI == "" {
			continue
		}
		r, err := name.NewRepository(s.OCI)
		if err != nil {
			return name.Repository{}, oci.Lookup{}, fmt.Errorf("source[%d]: oci %q: %w", i, s.OCI, err)
		}
		repo = r
	}
	if len(pullSecrets) > 0 {
		if creds.PullSecrets == nil {
			return name.Repository{}, oci.Lookup{}, fmt.Errorf("signaturePullSecrets %s: Secrets are read only by the admission webhook, from the namespace of the admitted object", strings.Join(pullSecrets, ", "))
		}
		kc, err := creds.PullSecrets(ctx, pullSecrets)
		if err != nil {
			return name.Repository{}, oci.Lookup{}, fmt.Errorf("signaturePullSecrets %s: %w", strings.Join(pullSecrets, ", "), err)
		}
		lookup.Keychain = kc
	}
	return repo, lookup, nil
}

func signatureOf(att *oci.Attachment, got *oci.Verified) Signature {
	s := Signature{ID: att.Digest.String()}
	if c := got.Result.Certificate; c != nil {
		s.Subject, s.Issuer = c.SAN, c.Issuer
		s.GithubExtensions = GithubExtensions{
			WorkflowTrigger: c.GitHubWorkflowTrigger, WorkflowSHA: c.GitHubWorkflowSHA, WorkflowName: c.GitHubWorkflowName,
			WorkflowRepo: c.GitHubWorkflowRepository, WorkflowRef: c.GitHubWorkflowRef,
		}
	}
	return s
}

// policyFor turns an authority into a verification policy and options,
// as policy-controller does: key authorities need no transparency log
// unless ctlog is set, and are checked at the current time (a key has no
// validity window; cosign --tlog-upload=false signatures carry no
// timestamps); keyless ones need a log entry and an observed signing time;
// rfc3161timestamp asks for a signed timestamp.
func (c *RegistryChecker) policyFor(ctx context.Context, a *Authority) (verify.Policy, verify.Options, error) {
	opts := verify.DefaultOptions()
	if a.RFC3161Timestamp != nil {
		opts.SignedTimestampThreshold = 1
	}
	switch {
	case a.Key != nil:
		pub, err := c.authorityKey(ctx, a.Key)
		if err != nil {
			return verify.Policy{}, verify.Options{}, err
		}
		// A key has no validity window: the current time will do unless
		// rfc3161timestamp asks for a signed one.
		opts = verify.Options{UseCurrentTime: true, SignedTimestampThreshold: opts.SignedTimestampThreshold}
		if a.CTLog != nil {
			opts.TlogThreshold = 1
		}
		return verify.Policy{Key: &verify.TrustedKey{PublicKey: pub}}, opts, nil
	case a.Keyless != nil:
		if k := a.Keyless.CACert; k != nil && k.Data == "" {
			// The admission controller inlines secretRefs before the
			// checker sees them; a KMS key is no certificate.
			return verify.Policy{}, verify.Options{}, errors.New("keyless ca-cert: give the CA certificate chain as inline data (secretRef needs the admission controller; kms is not supported for ca-cert)")
		}
		if a.Keyless.TrustRootRef != "" && a.CTLog == nil {
			// policy-controller ignores the log for a keyless authority
			// with its own trust root and no ctlog. signet is stricter:
			// log entries are checked when that TrustRoot lists logs;
			// otherwise a signed timestamp must vouch for the signing
			// time (ObserverTimestampThreshold).
			if named, err := c.namedRoot(a.Keyless.TrustRootRef); err == nil && len(named.Tlogs) == 0 {
				opts.TlogThreshold = 0
			}
		}
		var ids []verify.Identity
		for _, id := range a.Keyless.Identities {
			ids = append(ids, verify.Identity{SAN: id.Subject, SANRegexp: id.SubjectRegExp, Issuer: id.Issuer, IssuerRegexp: id.IssuerRegExp})
		}
		if len(ids) == 0 {
			return verify.Policy{}, verify.Options{}, errors.New("keyless authority has no identities")
		}
		if a.Keyless.InsecureIgnoreSCT != nil && *a.Keyless.InsecureIgnoreSCT {
			opts.UnsafeSkipSCT = true
		}
		return verify.Policy{Identities: ids}, opts, nil
	default:
		return verify.Policy{}, verify.Options{}, errors.New("authority has neither key nor keyless")
	}
}

func (c *RegistryChecker) authorityKey(ctx context.Context, k *KeyRef) (crypto.PublicKey, error) {
	switch {
	case k.Data != "":
		return keys.LoadPublicKey([]byte(k.Data))
	case k.SecretRef != nil:
		if c.secrets == nil {
			return nil, fmt.Errorf("key secretRef %s: no secret source configured", k.SecretRef.Name)
		}
		data, err := c.secrets.Secret(ctx, k.SecretRef.Namespace, k.SecretRef.Name)
		if err != nil {
			return nil, fmt.Errorf("key secretRef %s/%s: %w", k.SecretRef.Namespace, k.SecretRef.Name, err)
		}
		if len(data) != 1 {
			return nil, fmt.Errorf("key secretRef %s/%s: secret must hold exactly one public key, has %d entries", k.SecretRef.Namespace, k.SecretRef.Name, len(data))
		}
		for _, v := range data {
			return keys.LoadPublicKey(v)
		}
	case k.KMS != "":
		return nil, fmt.Errorf("KMS key %q: KMS keys are not supported yet", k.KMS)
	}
	return nil, errors.New("key authority has no key")
}

// namedRoot returns the material of the TrustRoot named by a trustRootRef.
func (c *RegistryChecker) namedRoot(name string) (*trustroot.TrustedRoot, error) {
	n, ok := c.named[name]
	switch {
	case !ok:
		return nil, fmt.Errorf("trustRootRef %s: no such TrustRoot", name)
	case n.err != nil:
		return nil, fmt.Errorf("trustRootRef %s: %w", name, n.err)
	}
	return n.root, nil
}

// material says where an authority's trusted material comes from: each
// field is "" for the configured root, else the TrustRoot name or the
// ca-cert PEM.
type material struct {
	caRef, caPEM, tlogRef, tsaRef string
}

func materialOf(a *Authority) material {
	var m material
	if k := a.Keyless; k != nil {
		m.caRef, m.tlogRef, m.tsaRef = k.TrustRootRef, k.TrustRootRef, k.TrustRootRef
		if k.CACert != nil {
			m.caPEM = k.CACert.Data
		}
	}
	if a.CTLog != nil && a.CTLog.TrustRootRef != "" {
		m.tlogRef = a.CTLog.TrustRootRef
	}
	if a.RFC3161Timestamp != nil && a.RFC3161Timestamp.TrustRootRef != "" {
		m.tsaRef = a.RFC3161Timestamp.TrustRootRef
	}
	return m
}

// trustedRoot assembles the material an authority trusts: the configured
// root, with its certificate authorities replaced by keyless.ca-cert or
// those of keyless.trustRootRef, its transparency logs by those of
// ctlog.trustRootRef (else keyless.trustRootRef), and its timestamp
// authorities by those of rfc3161timestamp.trustRootRef (else
// keyless.trustRootRef). CT logs come with the certificate authorities
// (none with a ca-cert).
func (c *RegistryChecker) trustedRoot(a *Authority, m material) (*trustroot.TrustedRoot, error) {
	var tr trustroot.TrustedRoot
	if c.root != nil {
		tr = *c.root
	}
	if m.caRef != "" {
		named, err := c.namedRoot(m.caRef)
		if err != nil {
			return nil, err
		}
		tr.CertificateAuthorities, tr.CTLogs = named.CertificateAuthorities, named.CTLogs
	}
	if m.caPEM != "" {
		ca, err := CertificateAuthorityFromPEM(a.Keyless.URL, []byte(m.caPEM))
		if err != nil {
			return nil, fmt.Errorf("keyless ca-cert: %w", err)
		}
		// The configured CT logs do not log a private CA's certificates.
		tr.CertificateAuthorities, tr.CTLogs = []trustroot.CertificateAuthority{*ca}, nil
	}
	if m.tlogRef != "" {
		named, err := c.namedRoot(m.tlogRef)
		if err != nil {
			return nil, err
		}
		tr.Tlogs = named.Tlogs
	}
	if m.tsaRef != "" {
		named, err := c.namedRoot(m.tsaRef)
		if err != nil {
			return nil, err
		}
		tr.TimestampAuthorities = named.TimestampAuthorities
	}
	return &tr, nil
}

// verifier returns a verifier for the authority's trusted material and
// the options, made once per checker.
func (c *RegistryChecker) verifier(a *Authority, opts verify.Options) (*verify.Verifier, error) {
	m := materialOf(a)
	key := fmt.Sprintf("%q|%+v", m, verify.Options{TlogThreshold: opts.TlogThreshold, SignedTimestampThreshold: opts.SignedTimestampThreshold,
		IntegratedTimeThreshold: opts.IntegratedTimeThreshold, ObserverTimestampThreshold: opts.ObserverTimestampThreshold,
		UseCurrentTime: opts.UseCurrentTime, SCTThreshold: opts.SCTThreshold, UnsafeSkipSCT: opts.UnsafeSkipSCT})
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.verifiers[key]; ok {
		return v, nil
	}
	root, err := c.trustedRoot(a, m)
	if err != nil {
		return nil, err
	}
	v, err := verify.New(root, opts)
	if err != nil {
		return nil, err
	}
	c.verifiers[key] = v
	return v, nil
}
