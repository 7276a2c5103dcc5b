package report

import (
	"context"
	"crypto"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/signetproject/signet/keys"
	"github.com/signetproject/signet/oci"
	"github.com/signetproject/signet/policy"
	"github.com/signetproject/signet/verify"
)

// Authority is one source of trust evidence may verify under.
type Authority struct {
	// Name says where the trust comes from ("trusted root", "key
	// cosign.pub", "ClusterImagePolicy p, authority a").
	Name string
	// Subject is the image digest in the repository holding the
	// evidence, and Lookup how to read it; the zero Subject means the
	// image itself.
	Subject name.Digest
	Lookup  oci.Lookup
	// Verifier and Policy check each attachment.
	Verifier oci.BundleVerifier
	Policy   verify.Policy
	// KeyFingerprint identifies a key authority's key (see
	// keys.Fingerprint) and KeyName names it.
	KeyFingerprint, KeyName string
}

// Trust says which authorities may vouch for an image's evidence.
type Trust interface {
	// Authorities returns the authorities for the image, and errors for
	// authorities that cannot be used (they are reported on the image).
	Authorities(ctx context.Context, image name.Digest) ([]Authority, []error)
	// Describe says in a few words what the trust is.
	Describe() string
}

// StaticTrust is a fixed set of authorities for every image, with the
// evidence stored beside the image (a trusted root and identities, keys).
type StaticTrust struct {
	List        []Authority
	Description string
}

// Authorities implements Trust.
func (s *StaticTrust) Authorities(_ context.Context, image name.Digest) ([]Authority, []error) {
	out := make([]Authority, len(s.List))
	for i, a := range s.List {
		a.Subject = image
		out[i] = a
	}
	return out, nil
}

// Describe implements Trust.
func (s *StaticTrust) Describe() string { return s.Description }

// KeyAuthority makes the authority of a public key: evidence signed by
// it, checked with v under policy (which must name the key).
func KeyAuthority(name string, pub crypto.PublicKey, v oci.BundleVerifier) (Authority, error) {
	fp, err := keyFingerprint(pub)
	if err != nil {
		return Authority{}, fmt.Errorf("key %s: %w", name, err)
	}
	return Authority{Name: "key " + name, Verifier: v, Policy: verify.Policy{Key: &verify.TrustedKey{PublicKey: pub}},
		KeyFingerprint: fp, KeyName: name}, nil
}

// AuthorityVerifier is what PolicyTrust needs of a policy engine's
// checker; *policy.RegistryChecker is one.
type AuthorityVerifier interface {
	AuthorityVerification(ctx context.Context, image string, a *policy.Authority, creds policy.RegistryCredentials) (*policy.AuthorityVerification, error)
}

// PolicyTrust trusts what the key and keyless authorities of a policy
// engine's ClusterImagePolicies trust — of every policy, not only those
// matching the image: a signature is verified evidence when some
// authority of the cluster would accept it. (Whether the image passes the
// policies that match it is the report's Policy verdict.)
type PolicyTrust struct {
	Engine *policy.Engine
	// Credentials read the evidence; the zero value means the lister's.
	Credentials policy.RegistryCredentials
}

// Authorities implements Trust.
func (p *PolicyTrust) Authorities(ctx context.Context, image name.Digest) ([]Authority, []error) {
	av, ok := p.Engine.Checker().(AuthorityVerifier)
	if !ok {
		return nil, []error{fmt.Errorf("the policy engine's checker %T cannot say how its authorities verify", p.Engine.Checker())}
	}
	var out []Authority
	var errs []error
	for _, cip := range p.Engine.Policies() {
		for i := range cip.Spec.Authorities {
			a := &cip.Spec.Authorities[i]
			if a.Static != nil {
				continue
			}
			label := fmt.Sprintf("ClusterImagePolicy %s, authority %s", cip.Metadata.Name, a.Name)
			v, err := av.AuthorityVerification(ctx, image.String(), a, p.Credentials)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", label, err))
				continue
			}
			auth := Authority{Name: label, Subject: v.Subject, Lookup: v.Lookup, Verifier: v.Verifier, Policy: v.Policy}
			if v.Key != nil {
				if auth.KeyFingerprint, err = keyFingerprint(v.Key); err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", label, err))
					continue
				}
				auth.KeyName = cip.Metadata.Name + "/" + a.Name
			}
			out = append(out, auth)
		}
	}
	return out, errs
}

// Describe implements Trust.
func (p *PolicyTrust) Describe() string {
	var names []string
	for _, c := range p.Engine.Policies() {
		names = append(names, c.Metadata.Name)
	}
	if len(names) == 0 {
		return "ClusterImagePolicies: none"
	}
	return "the key and keyless authorities of the ClusterImagePolicies " + strings.Join(names, ", ")
}

// keyFingerprint is how the report names a key: "SHA256:" and the hex
// fingerprint keys.Fingerprint computes (the form search accepts too).
func keyFingerprint(pub crypto.PublicKey) (string, error) {
	fp, err := keys.Fingerprint(pub)
	if err != nil {
		return "", err
	}
	return "SHA256:" + fp, nil
}
