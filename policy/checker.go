package policy

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/signetproject/signet/keys"
	"github.com/signetproject/signet/oci"
	"github.com/signetproject/signet/trustroot"
	"github.com/signetproject/signet/verify"
)

// AttachmentLister lists what is attached to an image; *oci.Client is one.
type AttachmentLister interface {
	List(ctx context.Context, subject name.Digest) (*oci.Attached, error)
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

	mu        sync.Mutex
	verifiers map[string]*verify.Verifier // by options
}

// NewRegistryChecker returns a checker that trusts root (the CA, logs and
// TSAs keyless signatures must chain to). secrets may be nil when no policy
// uses secretRef keys.
func NewRegistryChecker(lister AttachmentLister, root *trustroot.TrustedRoot, secrets SecretGetter) *RegistryChecker {
	return &RegistryChecker{lister: lister, root: root, secrets: secrets, verifiers: map[string]*verify.Verifier{}}
}

// VerifySignatures implements AuthorityChecker.
func (c *RegistryChecker) VerifySignatures(ctx context.Context, image string, a *Authority) ([]Signature, error) {
	verified, err := c.check(ctx, image, a, oci.KindSignature)
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
func (c *RegistryChecker) VerifyAttestations(ctx context.Context, image string, a *Authority) ([]VerifiedAttestation, error) {
	verified, err := c.check(ctx, image, a, oci.KindAttestation)
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

func (c *RegistryChecker) check(ctx context.Context, image string, a *Authority, kind oci.Kind) ([]checked, error) {
	ref, err := name.NewDigest(image)
	if err != nil {
		return nil, fmt.Errorf("image %q must be a digest reference: %w", image, err)
	}
	if len(a.Sources) > 0 {
		return nil, errors.New("authority source (signatures in another repository) is not supported yet")
	}
	pol, opts, err := c.policyFor(ctx, a)
	if err != nil {
		return nil, err
	}
	v, err := c.verifier(opts)
	if err != nil {
		return nil, err
	}
	attached, err := c.lister.List(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("list signatures of %s: %w", ref, err)
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
		return nil, fmt.Errorf("no matching %ss: %s", kind, strings.Join(reasons, "; "))
	}
	return out, nil
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
// unless ctlog is set; keyless ones need one; rfc3161timestamp asks for a
// signed timestamp.
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
		if a.CTLog == nil {
			opts = verify.Options{ObserverTimestampThreshold: 1, UseCurrentTime: true, SignedTimestampThreshold: opts.SignedTimestampThreshold}
		}
		return verify.Policy{Key: &verify.TrustedKey{PublicKey: pub}}, opts, nil
	case a.Keyless != nil:
		if a.Keyless.CACert != nil || a.Keyless.TrustRootRef != "" {
			return verify.Policy{}, verify.Options{}, errors.New("keyless ca-cert and trustRootRef are not supported yet: signet trusts its configured trust root")
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

func (c *RegistryChecker) verifier(opts verify.Options) (*verify.Verifier, error) {
	key := fmt.Sprintf("%+v", verify.Options{TlogThreshold: opts.TlogThreshold, SignedTimestampThreshold: opts.SignedTimestampThreshold,
		IntegratedTimeThreshold: opts.IntegratedTimeThreshold, ObserverTimestampThreshold: opts.ObserverTimestampThreshold,
		UseCurrentTime: opts.UseCurrentTime, SCTThreshold: opts.SCTThreshold, UnsafeSkipSCT: opts.UnsafeSkipSCT})
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.verifiers[key]; ok {
		return v, nil
	}
	v, err := verify.New(c.root, opts)
	if err != nil {
		return nil, err
	}
	c.verifiers[key] = v
	return v, nil
}
