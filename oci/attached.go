package oci

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"

	"github.com/signetproject/signet/bundle"
	"github.com/signetproject/signet/verify"
)

// Layout names where cosign stores signatures.
type Layout string

// The two layouts.
const (
	// LayoutReferrers stores Sigstore bundles as OCI 1.1 referrers
	// (cosign v3's default).
	LayoutReferrers Layout = "referrers"
	// LayoutLegacy stores signatures and attestations as layers of the
	// images tagged sha256-<hex>.sig and sha256-<hex>.att (cosign v2).
	LayoutLegacy Layout = "legacy"
)

// Tag suffixes of the legacy layout.
const (
	SuffixSignatures   = ".sig"
	SuffixAttestations = ".att"
	SuffixSBOM         = ".sbom"
)

// Kind says what an attachment is.
type Kind string

// Kinds of attachments.
const (
	KindSignature   Kind = "signature"
	KindAttestation Kind = "attestation"
	// KindOther is any other referrer or legacy attachment (SBOMs, cosign's
	// experimental OCI 1.1 signatures, …); it is listed, not verified.
	KindOther Kind = "other"
)

// Attachment is one signature, attestation or other artifact attached to
// an image. Everything in it comes from the registry and is unverified
// until Verify succeeds.
type Attachment struct {
	Layout Layout
	Kind   Kind
	// Ref locates it: the referrer manifest ("repo@sha256:…") or the
	// legacy tag ("repo:sha256-….sig"), with Index the layer index.
	Ref   string
	Index int
	// Digest is the referrer manifest's or the legacy layer's digest.
	Digest       v1.Hash
	ArtifactType string // referrers: artifact type; legacy: layer media type
	Annotations  map[string]string
	// PredicateType is the claimed predicate type (manifest or layer
	// annotation); Verify checks it against the signed statement.
	PredicateType string
	// Bundle is the verifiable form; nil for KindOther or when Err is set.
	Bundle *bundle.Bundle
	// Err says why a signature or attestation is malformed. Malformed
	// attachments are reported, not fatal: anyone who can push to the
	// repository can attach garbage.
	Err error

	subject name.Digest
	layer   *Layer // legacy only
}

// Attached is everything attached to one image.
type Attached struct {
	Subject     name.Digest
	Attachments []*Attachment
}

// Filter returns the attachments of one kind.
func (a *Attached) Filter(k Kind) []*Attachment {
	var out []*Attachment
	for _, x := range a.Attachments {
		if x.Kind == k {
			out = append(out, x)
		}
	}
	return out
}

// legacyTags are the tags of the legacy layout List reads, and the kind
// of attachment each holds.
var legacyTags = []struct {
	suffix string
	kind   Kind
}{{SuffixSignatures, KindSignature}, {SuffixAttestations, KindAttestation}, {SuffixSBOM, KindOther}}

// List finds everything attached to subject in both layouts: referrers
// (API or fallback tag), then the .sig, .att and .sbom tags. Registry
// errors fail the listing; malformed attachments are returned with Err set.
//
// The four lookups run concurrently and share one authenticated
// transport per repository, so a listing costs one ping of the registry
// and, on registries with token auth, one token exchange.
//
// List reads with the Client's keychain under cosign's default tags;
// ListKind takes a Lookup for other credentials or a tag prefix.
func (c *Client) List(ctx context.Context, subject name.Digest) (*Attached, error) {
	return c.list(ctx, subject, "", Lookup{})
}

// ListKind is List restricted to the attachments of one kind: it returns
// what List(...).Filter(kind) would, without reading the legacy tags that
// cannot hold that kind (for signatures: .att and .sbom) nor downloading
// the bundles of referrers of other kinds. Verifiers that want only
// signatures or only attestations save those registry requests.
//
// It reads as l says: with l.Keychain's credentials before the Client's,
// and the legacy tags under l.TagPrefix. The zero Lookup reads as List.
func (c *Client) ListKind(ctx context.Context, subject name.Digest, kind Kind, l Lookup) (*Attached, error) {
	switch kind {
	case KindSignature, KindAttestation, KindOther:
	default:
		return nil, fmt.Errorf("list attachments of %s: unknown kind %q", subject, kind)
	}
	return c.list(ctx, subject, kind, l)
}

// list implements List (kind "", the zero Lookup) and ListKind.
func (c *Client) list(ctx context.Context, subject name.Digest, kind Kind, l Lookup) (*Attached, error) {
	s := l.Session
	if s == nil {
		s = defaultSession()
	}
	kc := c.keychainFor(l)
	p, err := c.puller(ctx, kc, s)
	if err != nil {
		return nil, err
	}
	r := &reader{p: p, s: s, noRefs: c.noRefs}
	if c.content != nil {
		creds, err := credentialsKey(ctx, kc, subject.Context())
		if err != nil {
			return nil, fmt.Errorf("list attachments of %s: %w", subject, err)
		}
		r.content, r.contentKey = c.content, creds+" "
	}
	// found[0] holds the referrers, found[1:] the legacy tags, so that the
	// order does not depend on which lookup answers first.
	found := make([][]*Attachment, 1+len(legacyTags))
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		found[0], err = r.referrers(gctx, subject, kind)
		return err
	})
	for i, t := range legacyTags {
		if kind != "" && t.kind != kind {
			continue
		}
		g.Go(func() (err error) {
			found[i+1], err = r.legacy(gctx, subject, l.TagPrefix, t.suffix, t.kind)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	out := &Attached{Subject: subject}
	for _, as := range found {
		for _, a := range as {
			if kind == "" || a.Kind == kind {
				out.Attachments = append(out.Attachments, a)
			}
		}
	}
	return out, nil
}

// legacy reads the layers of the image tagged
// <prefix>sha256-<hex><suffix>.
func (r *reader) legacy(ctx context.Context, subject name.Digest, prefix, suffix string, kind Kind) ([]*Attachment, error) {
	tag, err := digestTag(subject, prefix, suffix)
	if err != nil {
		return nil, err
	}
	desc, err := r.get(ctx, tag)
	if err != nil {
		if isNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("read %s: %w", tag, classify(err))
	}
	img, err := desc.Image()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", tag, classify(err))
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", tag, err)
	}
	if len(m.Layers) > maxLayers {
		return nil, fmt.Errorf("read %s: %d layers, at most %d are read", tag, len(m.Layers), maxLayers)
	}
	// The layers' blobs are read concurrently, as referrers are.
	out := make([]*Attachment, len(m.Layers))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(referrerReads)
	for i, d := range m.Layers {
		a := &Attachment{Layout: LayoutLegacy, Kind: kind, Ref: tag.String(), Index: i, Digest: d.Digest,
			ArtifactType: string(d.MediaType), Annotations: d.Annotations, subject: subject}
		out[i] = a
		if kind == KindOther {
			continue
		}
		a.PredicateType = d.Annotations[AnnotationPredicateType]
		if err := checkDescriptor(d); err != nil {
			a.Err = fmt.Errorf("layer %d: %w", i, err)
			continue
		}
		g.Go(func() error { return r.legacyLayer(gctx, a, d) })
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// legacyLayer reads the blob of a's layer, described by d, and makes its
// bundle. Malformed layers are reported in a.Err; registry errors are
// returned.
func (r *reader) legacyLayer(ctx context.Context, a *Attachment, d v1.Descriptor) error {
	payload, ok := defaultPayload(a, d)
	var err error
	if !ok {
		payload, err = r.blob(ctx, a.subject.Context(), d)
	}
	if errors.Is(err, errMalformed) {
		a.Err = fmt.Errorf("layer %d: %w", a.Index, err)
		return nil
	} else if err != nil {
		return err
	}
	a.layer = &Layer{MediaType: string(d.MediaType), Payload: payload, Annotations: d.Annotations}
	want := MediaTypeSimpleSigning
	if a.Kind == KindAttestation {
		want = MediaTypeDSSE
	}
	if a.layer.MediaType != want {
		a.Err = fmt.Errorf("layer %d: media type %q, want %s", a.Index, d.MediaType, want)
		return nil
	}
	if a.Bundle, err = a.layer.Bundle(); err != nil {
		a.Err = fmt.Errorf("layer %d: %w", a.Index, err)
	}
	return nil
}

// defaultPayload returns the simple-signing payload cosign writes by
// default for a's subject (its repository as the identity, no
// annotations) when d names exactly those bytes: same size and SHA-256.
// The blob then need not be read, which saves a registry round trip in
// every cold verification of a legacy signature; the bytes are the ones
// the registry would have to return, so nothing is taken on trust.
func defaultPayload(a *Attachment, d v1.Descriptor) ([]byte, bool) {
	if a.Kind != KindSignature || d.MediaType != MediaTypeSimpleSigning || d.Digest.Algorithm != "sha256" {
		return nil, false
	}
	s := SimpleSigning{DockerReference: a.subject.Context().Name(), ManifestDigest: a.subject.DigestStr()}
	payload, err := s.Marshal()
	if err != nil || int64(len(payload)) != d.Size {
		return nil, false
	}
	sum := sha256.Sum256(payload)
	if hex.EncodeToString(sum[:]) != d.Digest.Hex {
		return nil, false
	}
	return payload, true
}

// AppendSignature adds a legacy signature layer to the image tagged
// sha256-<hex>.sig, keeping the signatures already there (a layer with the
// same content and annotations is not added twice). Like cosign, it
// reads, appends and writes the tag, so concurrent appends may lose one.
func (c *Client) AppendSignature(ctx context.Context, subject name.Digest, l *Layer) error {
	if l.MediaType != MediaTypeSimpleSigning {
		return fmt.Errorf("append signature: media type %q, want %s", l.MediaType, MediaTypeSimpleSigning)
	}
	return c.appendLayer(ctx, subject, SuffixSignatures, l)
}

// AppendAttestation adds a legacy attestation layer to the image tagged
// sha256-<hex>.att, keeping the attestations already there.
func (c *Client) AppendAttestation(ctx context.Context, subject name.Digest, l *Layer) error {
	if l.MediaType != MediaTypeDSSE {
		return fmt.Errorf("append attestation: media type %q, want %s", l.MediaType, MediaTypeDSSE)
	}
	return c.appendLayer(ctx, subject, SuffixAttestations, l)
}

func (c *Client) appendLayer(ctx context.Context, subject name.Digest, suffix string, l *Layer) error {
	tag, err := digestTag(subject, "", suffix)
	if err != nil {
		return err
	}
	ropts := c.remote(ctx, c.keychain, nil)
	base, err := remote.Image(tag, ropts...)
	switch {
	case isNotFound(err):
		// cosign's empty.Signatures(): an OCI manifest with an OCI config.
		base = mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	case err != nil:
		return fmt.Errorf("read %s: %w", tag, classify(err))
	}
	m, err := base.Manifest()
	if err != nil {
		return fmt.Errorf("read %s: %w", tag, err)
	}
	if len(m.Layers) >= maxLayers {
		return fmt.Errorf("append to %s: already %d layers", tag, len(m.Layers))
	}
	layer := static.NewLayer(l.Payload, types.MediaType(l.MediaType))
	h, err := layer.Digest()
	if err != nil {
		return err
	}
	for _, d := range m.Layers {
		if d.Digest == h && string(d.MediaType) == l.MediaType && maps.Equal(d.Annotations, l.Annotations) {
			return nil // already attached
		}
	}
	img, err := mutate.Append(base, mutate.Addendum{Layer: layer, Annotations: maps.Clone(l.Annotations)})
	if err != nil {
		return fmt.Errorf("append to %s: %w", tag, err)
	}
	if err := remote.Write(tag, img, ropts...); err != nil {
		return fmt.Errorf("write %s: %w", tag, classify(err))
	}
	return nil
}

// BundleVerifier checks a Sigstore bundle; *verify.Verifier is one.
type BundleVerifier interface {
	Verify(b *bundle.Bundle, artifact verify.Artifact, policy verify.Policy) (*verify.Result, error)
}

// Verified is a verified attachment.
type Verified struct {
	Result *verify.Result
	// PredicateType is the signed statement's predicate type; for legacy
	// signatures (simple signing) it is empty.
	PredicateType string
	// Statement is the signed in-toto statement (nil for legacy
	// signatures); SimpleSigning the signed legacy payload.
	Statement     *Statement
	SimpleSigning *SimpleSigning
}

// ErrContent is wrapped by Verify errors about signed content that does not
// match the image or the attachment's claims (as opposed to *verify.Error,
// which reports cryptographic and policy failures).
var ErrContent = errors.New("signed content does not match")

// Verify checks the attachment with v (which does the cryptography,
// evidence and identity checks) and then binds what was signed to the
// image: the simple-signing payload's docker-manifest-digest or a
// statement subject must be the image digest, a referrer's claimed
// predicate type must be the signed one, and a signature referrer must
// sign PredicateCosignSign.
func (a *Attachment) Verify(v BundleVerifier, policy verify.Policy) (*Verified, error) {
	if a.Err != nil {
		return nil, fmt.Errorf("%s: %w", a.Ref, a.Err)
	}
	if a.Bundle == nil {
		return nil, fmt.Errorf("%s: %s attachments cannot be verified", a.Ref, a.Kind)
	}
	digest, err := hex.DecodeString(a.subject.DigestStr()[len("sha256:"):])
	if err != nil {
		return nil, fmt.Errorf("image digest: %w", err)
	}
	if a.Bundle.Envelope() == nil {
		// Legacy simple signing: the payload is the signed artifact.
		if a.layer == nil || a.Kind != KindSignature {
			return nil, fmt.Errorf("%s: %w: a message signature can only be a legacy image signature", a.Ref, ErrContent)
		}
		res, err := v.Verify(a.Bundle, verify.Artifact{Reader: bytes.NewReader(a.layer.Payload)}, policy)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", a.Ref, err)
		}
		ss, err := ParseSimpleSigning(a.layer.Payload)
		if err != nil {
			return nil, fmt.Errorf("%s: %w: %w", a.Ref, ErrContent, err)
		}
		if ss.ManifestDigest != a.subject.DigestStr() {
			return nil, fmt.Errorf("%s: %w: payload signs %s, not the image %s", a.Ref, ErrContent, ss.ManifestDigest, a.subject.DigestStr())
		}
		return &Verified{Result: res, SimpleSigning: ss}, nil
	}

	res, err := v.Verify(a.Bundle, verify.Artifact{Digest: digest, DigestAlgorithm: crypto.SHA256}, policy)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", a.Ref, err)
	}
	st, err := ParseStatement(res.Payload)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", a.Ref, ErrContent, err)
	}
	if !st.HasSubjectDigest(a.subject.DigestStr()) {
		// verify already matched the subject; this guards against a
		// verifier stub that did not.
		return nil, fmt.Errorf("%s: %w: statement does not name the image %s", a.Ref, ErrContent, a.subject.DigestStr())
	}
	if a.PredicateType != st.PredicateType && (a.Layout == LayoutReferrers || a.PredicateType != "") {
		return nil, fmt.Errorf("%s: %w: annotated predicate type %q, signed %q", a.Ref, ErrContent, a.PredicateType, st.PredicateType)
	}
	if a.Kind == KindSignature && st.PredicateType != PredicateCosignSign {
		return nil, fmt.Errorf("%s: %w: a signature must sign predicate type %s", a.Ref, ErrContent, PredicateCosignSign)
	}
	return &Verified{Result: res, PredicateType: st.PredicateType, Statement: st}, nil
}
