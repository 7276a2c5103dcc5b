package oci

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"

	"github.com/signetproject/signet/bundle"
)

// Manifest annotations of cosign v3 bundle referrers
// (pkg/oci/remote.WriteAttestationNewBundleFormat).
const (
	AnnotationBundlePredicateType = "dev.sigstore.bundle.predicateType"
	AnnotationBundleContent       = "dev.sigstore.bundle.content"
	AnnotationCreated             = "org.opencontainers.image.created"
)

// emptyConfig is the config blob of artifact manifests.
var emptyConfig = []byte("{}")

// maxReferrers bounds how many referrers of one image are read.
const maxReferrers = 1000

// AttachBundle attaches a bundle to the image subject as an OCI 1.1
// referrer, byte for byte the manifest cosign v3.1.3 writes: artifactType
// application/vnd.dev.sigstore.bundle.v0.3+json (also on the empty
// config descriptor), one layer holding the bundle JSON, and annotations
// org.opencontainers.image.created, dev.sigstore.bundle.content
// ("dsse-envelope" or "message-signature") and
// dev.sigstore.bundle.predicateType. On registries without the referrers
// API, go-containerregistry adds the manifest to the fallback tag index
// "sha256-<hex>". It returns the referrer manifest's digest.
func (c *Client) AttachBundle(ctx context.Context, subject name.Digest, b *bundle.Bundle, predicateType string, now time.Time) (name.Digest, error) {
	ropts := c.remote(ctx, c.keychain, nil)
	desc, err := remote.Head(subject, ropts...)
	if err != nil {
		return name.Digest{}, fmt.Errorf("attach bundle: look up %s: %w", subject, classify(err))
	}
	raw, err := b.Encode()
	if err != nil {
		return name.Digest{}, fmt.Errorf("attach bundle: %w", err)
	}
	if b.MediaType() != MediaTypeBundle03 {
		return name.Digest{}, fmt.Errorf("attach bundle: media type %q, want %s", b.MediaType(), MediaTypeBundle03)
	}
	content := "dsse-envelope"
	if b.Envelope() == nil {
		content = "message-signature"
	}
	layer := static.NewLayer(raw, MediaTypeBundle03)
	config := static.NewLayer(emptyConfig, mediaTypeOCIConfig)
	for _, l := range []v1.Layer{config, layer} {
		if err := remote.WriteLayer(subject.Context(), l, ropts...); err != nil {
			return name.Digest{}, fmt.Errorf("attach bundle: upload blob: %w", classify(err))
		}
	}
	m, err := referrerManifest(*desc, raw, content, predicateType, now)
	if err != nil {
		return name.Digest{}, fmt.Errorf("attach bundle: %w", err)
	}
	h, _, err := v1.SHA256(bytes.NewReader(m))
	if err != nil {
		return name.Digest{}, fmt.Errorf("attach bundle: %w", err)
	}
	ref := subject.Context().Digest(h.String())
	if err := remote.Put(ref, rawManifest{m, types.OCIManifestSchema1}, ropts...); err != nil {
		return name.Digest{}, fmt.Errorf("attach bundle: put referrer manifest: %w", classify(err))
	}
	return ref, nil
}

// referrerManifest encodes the manifest of a bundle referrer.
func referrerManifest(subject v1.Descriptor, bundleJSON []byte, content, predicateType string, now time.Time) ([]byte, error) {
	if !utf8.ValidString(predicateType) || !utf8.ValidString(content) {
		return nil, errors.New("predicate type is not valid UTF-8")
	}
	cfg, _, err := v1.SHA256(bytes.NewReader(emptyConfig))
	if err != nil {
		return nil, err
	}
	lh, lsize, err := v1.SHA256(bytes.NewReader(bundleJSON))
	if err != nil {
		return nil, err
	}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		Config: v1.Descriptor{
			MediaType:    mediaTypeOCIEmpty,
			ArtifactType: MediaTypeBundle03,
			Digest:       cfg,
			Size:         int64(len(emptyConfig)),
		},
		Layers:  []v1.Descriptor{{MediaType: MediaTypeBundle03, Digest: lh, Size: lsize}},
		Subject: &v1.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size},
		Annotations: map[string]string{
			AnnotationCreated:             now.UTC().Format(time.RFC3339),
			AnnotationBundleContent:       content,
			AnnotationBundlePredicateType: predicateType,
		},
		ArtifactType: MediaTypeBundle03,
	}
	return json.Marshal(m)
}

// rawManifest is a manifest to put as is.
type rawManifest struct {
	raw []byte
	mt  types.MediaType
}

func (r rawManifest) RawManifest() ([]byte, error)        { return r.raw, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return r.mt, nil }

// Referrer is a manifest that names an image as its subject.
type Referrer struct {
	// Manifest digest, artifact type and annotations, from the referrer
	// manifest itself (the index entries are not trusted).
	Digest       v1.Hash
	ArtifactType string
	Annotations  map[string]string
	// Layers are the manifest's layers.
	Layers []v1.Descriptor
}

// ParseReferrerManifest parses a referrer's manifest strictly and checks
// that it refers to subject: an OCI image manifest (schema 2) with a
// subject equal to subject, an artifact type (its own, else the config
// media type, as OCI 1.1 says), valid descriptors and at most
// maxLayers layers.
func ParseReferrerManifest(raw []byte, subject v1.Hash) (*Referrer, error) {
	if len(raw) > maxPayloadSize {
		return nil, fmt.Errorf("referrer manifest: %d bytes is too large", len(raw))
	}
	if err := checkJSONObject(raw); err != nil {
		return nil, fmt.Errorf("referrer manifest: %w", err)
	}
	var m v1.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("referrer manifest: %w", err)
	}
	h, _, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	switch {
	case m.SchemaVersion != 2:
		return nil, fmt.Errorf("referrer manifest: schemaVersion %d, want 2", m.SchemaVersion)
	case m.MediaType != types.OCIManifestSchema1:
		return nil, fmt.Errorf("referrer manifest: media type %q, want %s", m.MediaType, types.OCIManifestSchema1)
	case m.Subject == nil:
		return nil, errors.New("referrer manifest: no subject")
	case m.Subject.Digest != subject:
		return nil, fmt.Errorf("referrer manifest: subject %s is not the image %s", m.Subject.Digest, subject)
	case len(m.Layers) > maxLayers:
		return nil, fmt.Errorf("referrer manifest: %d layers, at most %d allowed", len(m.Layers), maxLayers)
	}
	if err := checkDescriptor(m.Config); err != nil {
		return nil, fmt.Errorf("referrer manifest: config: %w", err)
	}
	for i, l := range m.Layers {
		if err := checkDescriptor(l); err != nil {
			return nil, fmt.Errorf("referrer manifest: layer %d: %w", i, err)
		}
	}
	at := m.ArtifactType
	if at == "" {
		at = string(m.Config.MediaType)
	}
	return &Referrer{Digest: h, ArtifactType: at, Annotations: m.Annotations, Layers: m.Layers}, nil
}

func checkDescriptor(d v1.Descriptor) error {
	switch {
	case d.MediaType == "":
		return errors.New("missing media type")
	case d.Size < 0:
		return fmt.Errorf("negative size %d", d.Size)
	case d.Digest.Algorithm != "sha256" || len(d.Digest.Hex) != 64:
		return fmt.Errorf("digest %q is not sha256", d.Digest)
	}
	return nil
}

// referrerReads bounds how many referrers of one image are read at once.
const referrerReads = 4

// referrers lists the manifests referring to subject (through the
// referrers API or the fallback tag) and reads each one. When want is
// set, the bundles of referrers of other kinds are not downloaded.
func (r *reader) referrers(ctx context.Context, subject name.Digest, want Kind) ([]*Attachment, error) {
	im, err := r.referrersIndex(ctx, subject)
	if err != nil {
		return nil, err
	}
	if len(im.Manifests) > maxReferrers {
		return nil, fmt.Errorf("list referrers of %s: %d referrers, at most %d are read", subject, len(im.Manifests), maxReferrers)
	}
	out := make([]*Attachment, len(im.Manifests))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(referrerReads)
	for i, d := range im.Manifests {
		g.Go(func() (err error) {
			out[i], err = r.readReferrer(gctx, subject, d, want)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// readReferrer reads the referrer manifest d names and, for a bundle
// referrer of the wanted kind (any kind when want is ""), the bundle.
// Malformed referrers are returned with Err set; registry errors are
// returned.
func (r *reader) readReferrer(ctx context.Context, subject name.Digest, d v1.Descriptor, want Kind) (*Attachment, error) {
	ref := subject.Context().Digest(d.Digest.String())
	a := &Attachment{Layout: LayoutReferrers, Kind: KindOther, Ref: ref.String(), Digest: d.Digest,
		ArtifactType: d.ArtifactType, Annotations: d.Annotations, subject: subject}
	raw, err := r.manifest(ctx, ref)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			a.Err = err
			return a, nil
		}
		return nil, err
	}
	h, err := v1.NewHash(subject.DigestStr())
	if err != nil {
		return nil, err
	}
	ref2, err := ParseReferrerManifest(raw, h)
	if err != nil {
		a.Err = err
		return a, nil
	}
	a.ArtifactType, a.Annotations = ref2.ArtifactType, ref2.Annotations
	a.PredicateType = ref2.Annotations[AnnotationBundlePredicateType]
	if !strings.HasPrefix(ref2.ArtifactType, "application/vnd.dev.sigstore.bundle") {
		return a, nil // an SBOM, a cosign OCI 1.1 experiment, …: listed only
	}
	a.Kind = KindAttestation
	if a.PredicateType == PredicateCosignSign {
		a.Kind = KindSignature
	}
	if want != "" && a.Kind != want {
		return a, nil // not wanted: the caller drops it
	}
	if len(ref2.Layers) != 1 || !strings.HasPrefix(string(ref2.Layers[0].MediaType), "application/vnd.dev.sigstore.bundle") {
		a.Err = errors.New("bundle referrer: want exactly one bundle layer")
		return a, nil
	}
	data, err := r.blob(ctx, subject.Context(), ref2.Layers[0])
	if errors.Is(err, errMalformed) {
		a.Err = err
		return a, nil
	} else if err != nil {
		return nil, err
	}
	if a.Bundle, err = bundle.Decode(data); err != nil {
		a.Err = fmt.Errorf("bundle referrer: %w", err)
	}
	return a, nil
}

// reader reads the manifests, referrers indexes and blobs of one listing
// through its Puller, each once per session.
type reader struct {
	p *remote.Puller
	s *Session
	// content, when set, keeps what is read by digest for later
	// listings; contentKey names the listing's credentials.
	content    *contentCache
	contentKey string
	// noRefs, when set, names the registries read through the
	// fallback tag alone.
	noRefs *noReferrers
}

// get reads the manifest ref names (go-containerregistry checks a
// digest reference's digest).
func (r *reader) get(ctx context.Context, ref name.Reference) (*remote.Descriptor, error) {
	v, err := r.s.do(ctx, "manifest "+ref.String(), func() (any, error) { return r.p.Get(ctx, ref) })
	if err != nil {
		return nil, err
	}
	return v.(*remote.Descriptor), nil
}

// referrersIndex reads the referrers of subject.
func (r *reader) referrersIndex(ctx context.Context, subject name.Digest) (*v1.IndexManifest, error) {
	if r.noRefs != nil && r.noRefs.has(subject.RegistryStr()) {
		return r.fallbackIndex(ctx, subject)
	}
	v, err := r.s.do(ctx, "referrers "+subject.String(), func() (any, error) {
		idx, err := remote.Referrers(subject, remote.WithContext(ctx), remote.Reuse(r.p))
		if err != nil {
			return nil, fmt.Errorf("list referrers of %s: %w", subject, classify(err))
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return nil, fmt.Errorf("list referrers of %s: %w", subject, err)
		}
		return im, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*v1.IndexManifest), nil
}

// fallbackIndex reads the referrers of subject from the fallback tag
// "sha256-<hex>" alone, as go-containerregistry does on a registry
// without the referrers API: a missing tag is an empty index.
func (r *reader) fallbackIndex(ctx context.Context, subject name.Digest) (*v1.IndexManifest, error) {
	tag, err := digestTag(subject, "", "")
	if err != nil {
		return nil, err
	}
	desc, err := r.get(ctx, tag)
	if isNotFound(err) {
		return &v1.IndexManifest{}, nil
	} else if err != nil {
		return nil, fmt.Errorf("list referrers of %s: read %s: %w", subject, tag, classify(err))
	}
	im, err := v1.ParseIndexManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		return nil, fmt.Errorf("list referrers of %s: %s: %w", subject, tag, err)
	}
	return im, nil
}

// manifest reads a manifest by digest.
func (r *reader) manifest(ctx context.Context, ref name.Digest) ([]byte, error) {
	key := r.contentKey + "manifest " + ref.String()
	if data, ok := r.content.get(key); ok {
		return data, nil
	}
	desc, err := r.get(ctx, ref)
	if err != nil {
		if isNotFound(err) {
			return nil, fmt.Errorf("manifest %s: %w", ref, ErrNotFound)
		}
		return nil, fmt.Errorf("fetch manifest %s: %w", ref, classify(err))
	}
	r.content.put(key, ref.DigestStr(), desc.Manifest)
	return desc.Manifest, nil
}

// errMalformed marks attachment content that is wrong rather than
// unreachable: it is reported on the attachment, not fatal to a listing.
var errMalformed = errors.New("malformed attachment")

// blob reads a blob of at most maxPayloadSize bytes and checks its digest
// and size.
func (r *reader) blob(ctx context.Context, repo name.Repository, d v1.Descriptor) ([]byte, error) {
	if d.Size > maxPayloadSize {
		return nil, fmt.Errorf("%w: blob %s: %d bytes is too large", errMalformed, d.Digest, d.Size)
	}
	ref := repo.Digest(d.Digest.String())
	key := fmt.Sprintf("blob %s %d", ref, d.Size)
	if data, ok := r.content.get(r.contentKey + key); ok {
		return data, nil
	}
	v, err := r.s.do(ctx, key, func() (any, error) {
		l, err := r.p.Layer(ctx, ref)
		if err != nil {
			return nil, fmt.Errorf("fetch blob %s: %w", d.Digest, classify(err))
		}
		rc, err := l.Compressed()
		if err != nil {
			return nil, fmt.Errorf("fetch blob %s: %w", d.Digest, classify(err))
		}
		defer rc.Close()
		// A descriptor's size is the registry's claim: read no more, into
		// a buffer of that size (no growing copies).
		data := make([]byte, d.Size+1)
		n, err := io.ReadFull(rc, data)
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("fetch blob %s: %w", d.Digest, err)
		}
		data = data[:n]
		h, _, _ := v1.SHA256(bytes.NewReader(data))
		if h != d.Digest || int64(len(data)) != d.Size {
			return nil, fmt.Errorf("%w: blob %s: content does not match its descriptor", errMalformed, d.Digest)
		}
		return data, nil
	})
	if err != nil {
		return nil, err
	}
	r.content.put(r.contentKey+key, d.Digest.String(), v.([]byte))
	return v.([]byte), nil
}
