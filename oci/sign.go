package oci

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/signetproject/signet/bundle"
	"github.com/signetproject/signet/sign"
)

// SignImage signs the image and attaches the signature in the given
// layout, as `cosign sign` does:
//
//   - LayoutReferrers: a DSSE bundle over SignStatement (predicate type
//     https://sigstore.dev/cosign/sign/v1) attached as a referrer;
//   - LayoutLegacy: a message signature over the simple-signing payload
//     (docker-reference = the repository, optional = annotations) appended
//     to the .sig image.
//
// It returns the bundle that was made.
func (c *Client) SignImage(ctx context.Context, image name.Digest, layout Layout, annotations map[string]string, opts sign.Options) (*bundle.Bundle, error) {
	switch layout {
	case LayoutReferrers:
		st, err := SignStatement(image, annotations)
		if err != nil {
			return nil, err
		}
		b, err := c.signStatement(ctx, st, opts)
		if err != nil {
			return nil, err
		}
		if _, err := c.AttachBundle(ctx, image, b, PredicateCosignSign, time.Now()); err != nil {
			return nil, err
		}
		return b, nil
	case LayoutLegacy:
		ss := &SimpleSigning{DockerReference: image.Context().Name(), ManifestDigest: image.DigestStr()}
		if annotations != nil {
			ss.Optional = map[string]any{}
			for k, v := range annotations {
				ss.Optional[k] = v
			}
		}
		payload, err := ss.Marshal()
		if err != nil {
			return nil, err
		}
		pb, err := sign.Blob(ctx, bytes.NewReader(payload), opts)
		if err != nil {
			return nil, fmt.Errorf("sign %s: %w", image, err)
		}
		b, err := bundle.FromProto(pb)
		if err != nil {
			return nil, fmt.Errorf("sign %s: %w", image, err)
		}
		l, err := SignatureLayer(payload, b)
		if err != nil {
			return nil, err
		}
		if err := c.AppendSignature(ctx, image, l); err != nil {
			return nil, err
		}
		return b, nil
	}
	return nil, fmt.Errorf("sign %s: unknown layout %q", image, layout)
}

// AttestImage signs an in-toto statement about the image (see
// NewStatement) as a DSSE bundle and attaches it: as a referrer annotated
// with the predicate type, or as a layer of the .att image.
func (c *Client) AttestImage(ctx context.Context, image name.Digest, layout Layout, st *Statement, opts sign.Options) (*bundle.Bundle, error) {
	if !st.HasSubjectDigest(image.DigestStr()) {
		return nil, fmt.Errorf("attest %s: the statement does not name the image", image)
	}
	b, err := c.signStatement(ctx, st, opts)
	if err != nil {
		return nil, err
	}
	switch layout {
	case LayoutReferrers:
		if _, err := c.AttachBundle(ctx, image, b, st.PredicateType, time.Now()); err != nil {
			return nil, err
		}
	case LayoutLegacy:
		l, err := AttestationLayer(b, st.PredicateType)
		if err != nil {
			return nil, err
		}
		if err := c.AppendAttestation(ctx, image, l); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("attest %s: unknown layout %q", image, layout)
	}
	return b, nil
}

func (c *Client) signStatement(ctx context.Context, st *Statement, opts sign.Options) (*bundle.Bundle, error) {
	payload, err := st.Marshal()
	if err != nil {
		return nil, err
	}
	pb, err := sign.DSSE(ctx, MediaTypeInToto, payload, opts)
	if err != nil {
		return nil, fmt.Errorf("sign statement: %w", err)
	}
	b, err := bundle.FromProto(pb)
	if err != nil {
		return nil, fmt.Errorf("sign statement: %w", err)
	}
	return b, nil
}
