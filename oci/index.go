package oci

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Bounds on what Manifests walks: a registry could serve an index of
// millions of entries or (through digests it does not check) a deep chain.
const (
	maxIndexManifests = 1000
	maxIndexDepth     = 8
)

// Manifests returns image followed, when image is an image index (a
// multi-platform image), by every manifest it references, depth first,
// nested indexes included: what `cosign sign --recursive` signs. A plain
// image returns just itself.
func (c *Client) Manifests(ctx context.Context, image name.Digest) ([]name.Digest, error) {
	p, err := c.puller(ctx, c.keychain, nil)
	if err != nil {
		return nil, err
	}
	return manifests(ctx, p, image)
}

func manifests(ctx context.Context, p *remote.Puller, image name.Digest) ([]name.Digest, error) {
	out := []name.Digest{image}
	if err := walkIndex(ctx, p, image, 0, &out); err != nil {
		return nil, err
	}
	return out, nil
}

func walkIndex(ctx context.Context, p *remote.Puller, image name.Digest, depth int, out *[]name.Digest) error {
	desc, err := p.Get(ctx, image)
	if err != nil {
		return fmt.Errorf("read %s: %w", image, classify(err))
	}
	if !desc.MediaType.IsIndex() {
		return nil
	}
	if depth >= maxIndexDepth {
		return fmt.Errorf("read %s: image indexes nested deeper than %d", image, maxIndexDepth)
	}
	idx, err := desc.ImageIndex()
	if err != nil {
		return fmt.Errorf("read %s: %w", image, err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return fmt.Errorf("read %s: %w", image, err)
	}
	for _, d := range m.Manifests {
		if len(*out) >= maxIndexManifests {
			return fmt.Errorf("read %s: more than %d manifests", image, maxIndexManifests)
		}
		if err := checkDescriptor(d); err != nil {
			return fmt.Errorf("read %s: manifest %s: %w", image, d.Digest, err)
		}
		child := image.Context().Digest(d.Digest.String())
		*out = append(*out, child)
		if d.MediaType.IsIndex() {
			if err := walkIndex(ctx, p, child, depth+1, out); err != nil {
				return err
			}
		}
	}
	return nil
}
