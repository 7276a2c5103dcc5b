package oci

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/signetproject/signet/verify"
)

// VerifyImageOptions say which of an image's attachments VerifyImage
// accepts, as cosign verify and verify-attestation do.
type VerifyImageOptions struct {
	// Attestations verifies attestations instead of signatures.
	Attestations bool
	// PredicateType is the predicate type URI attestations must have
	// (PredicateTypeURI turns short names into one); "" accepts any.
	PredicateType string
	// Annotations must all have been signed with a signature, with these
	// values (cosign verify -a).
	Annotations map[string]string
	// Check, when set, must accept each verified attachment, for example
	// a CUE or Rego policy over an attestation.
	Check func(context.Context, *Verified) error
	// Lookup says how to read the registry; the zero value reads as List.
	Lookup Lookup
}

// Validate reports options that make no sense.
func (o VerifyImageOptions) Validate() error {
	if o.PredicateType != "" && !o.Attestations {
		return errors.New("a predicate type applies to attestations only")
	}
	if len(o.Annotations) > 0 && o.Attestations {
		return errors.New("annotations apply to signatures only")
	}
	return nil
}

// VerifiedAttachment is an attachment that passed VerifyImage.
type VerifiedAttachment struct {
	*Attachment
	Verified *Verified
}

// ImageVerification is what VerifyImage found.
type ImageVerification struct {
	// Verified are the attachments that passed every check, in listing
	// order.
	Verified []VerifiedAttachment
	// Rejected says why each other candidate failed; each error names
	// the attachment.
	Rejected []error
	// Candidates is the number of attachments of the kind asked for.
	Candidates int
}

// ErrNotVerified is wrapped by the error VerifyImage returns when no
// attachment passed.
var ErrNotVerified = errors.New("not verified")

// ImageVerifyOptions returns the verification options for an image's
// signatures, as cosign chooses them: one transparency log entry and one
// verified time by default. Without log entries (ignoreTlog), a key has
// no validity window, so its signatures are checked at the current time;
// a certificate still needs a verified time inside its validity.
func ImageVerifyOptions(keySigned, ignoreTlog bool) verify.Options {
	switch {
	case ignoreTlog && keySigned:
		return verify.Options{UseCurrentTime: true}
	case ignoreTlog:
		return verify.Options{ObserverTimestampThreshold: 1}
	}
	return verify.DefaultOptions()
}

// VerifyImage verifies the signatures (or attestations) attached to img
// with v and policy, and keeps those that also carry the wanted
// annotations, predicate type and pass opts.Check. It fails when the
// registry cannot be read, or (wrapping ErrNotVerified, with the
// rejections still reported) when none passed.
func (c *Client) VerifyImage(ctx context.Context, img name.Digest, v BundleVerifier, policy verify.Policy, opts VerifyImageOptions) (*ImageVerification, error) {
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("verify %s: %w", img, err)
	}
	kind, what := KindSignature, "signatures"
	if opts.Attestations {
		kind, what = KindAttestation, "attestations"
		if opts.PredicateType != "" {
			what += " of type " + opts.PredicateType
		}
	}
	attached, err := c.ListKind(ctx, img, kind, opts.Lookup)
	if err != nil {
		return nil, fmt.Errorf("list %s of %s: %w", what, img, err)
	}
	res := &ImageVerification{}
	for _, a := range attached.Filter(kind) {
		// A referrer that claims another predicate type is not a
		// candidate; Verify checks the claim against the signed type.
		if opts.PredicateType != "" && a.PredicateType != "" && a.PredicateType != opts.PredicateType {
			continue
		}
		res.Candidates++
		got, err := a.Verify(v, policy)
		switch {
		case err != nil:
			res.Rejected = append(res.Rejected, err) // names a.Ref
			continue
		case opts.PredicateType != "" && got.PredicateType != opts.PredicateType:
			res.Candidates--
			continue
		case !hasAnnotations(got.SignedAnnotations(img), opts.Annotations):
			res.Rejected = append(res.Rejected, fmt.Errorf("%s: missing or incorrect annotation", a.Ref))
			continue
		}
		if opts.Check != nil {
			if err := opts.Check(ctx, got); err != nil {
				res.Rejected = append(res.Rejected, fmt.Errorf("%s: %w", a.Ref, err))
				continue
			}
		}
		res.Verified = append(res.Verified, VerifiedAttachment{Attachment: a, Verified: got})
	}
	switch {
	case len(res.Verified) > 0:
		return res, nil
	case res.Candidates == 0:
		return res, fmt.Errorf("no %s found for %s: %w", what, img, ErrNotVerified)
	}
	return res, fmt.Errorf("none of the %d %s of %s verified: %w", len(res.Rejected), what, img, ErrNotVerified)
}

// SignedAnnotations returns the annotations signed with an image
// signature of img: the simple-signing payload's "optional" object
// (legacy layout) or the annotations of the statement subject naming the
// image (cosign v3).
func (v *Verified) SignedAnnotations(img name.Digest) map[string]any {
	if v.SimpleSigning != nil {
		return v.SimpleSigning.Optional
	}
	if v.Statement != nil {
		for _, s := range v.Statement.Subject {
			if "sha256:"+s.Digest["sha256"] == img.DigestStr() {
				return s.Annotations
			}
		}
	}
	return nil
}

// hasAnnotations reports whether have holds every wanted key with the
// wanted string value, as cosign verify -a checks.
func hasAnnotations(have map[string]any, want map[string]string) bool {
	for k, v := range want {
		if s, ok := have[k].(string); !ok || s != v {
			return false
		}
	}
	return true
}
