package oci

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// ConfigFiles returns the OCI config file of image, or of every image an
// image index lists, keyed by platform ("linux/amd64", "linux/arm/v7"),
// as policy-controller gives them to policies with fetchConfigFile: each
// config decoded and re-encoded as go-containerregistry's v1.ConfigFile.
// image is a digest reference or a tag (read as it is now). Every read
// draws on s, the decision's registry budget (nil: a session of its own
// with the default limits), as signature listings do: a registry serving
// huge indexes or config blobs is cut off there.
func (c *Client) ConfigFiles(ctx context.Context, image string, s *Session) (map[string]json.RawMessage, error) {
	if s == nil {
		s = defaultSession()
	}
	ref, err := c.ParseReference(image)
	if err != nil {
		return nil, err
	}
	p, err := c.puller(ctx, c.keychain, s)
	if err != nil {
		return nil, err
	}
	desc, err := p.Head(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", ref, classify(err))
	}
	d, ok := ref.(name.Digest)
	switch {
	case !ok:
		d = ref.Context().Digest(desc.Digest.String())
	case desc.Digest.String() != d.DigestStr():
		return nil, fmt.Errorf("resolve %s: registry returned digest %s", ref, desc.Digest)
	}
	digests, err := manifests(ctx, p, d)
	if err != nil {
		return nil, err
	}
	out := map[string]json.RawMessage{}
	for _, d := range digests {
		desc, err := p.Get(ctx, d)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", d, classify(err))
		}
		if desc.MediaType.IsIndex() {
			continue
		}
		if !desc.MediaType.IsImage() {
			return nil, fmt.Errorf("read %s: unknown media type %s", d, desc.MediaType)
		}
		img, err := desc.Image()
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", d, err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			return nil, fmt.Errorf("read config file of %s: %w", d, classify(err))
		}
		raw, err := json.Marshal(cf)
		if err != nil {
			return nil, fmt.Errorf("encode config file of %s: %w", d, err)
		}
		out[platformKey(cf)] = raw
	}
	return out, nil
}

// platformKey is policy-controller's key for a config file:
// {OS}/{Architecture}[/{Variant}] (and the OS version, when set).
func platformKey(cf *v1.ConfigFile) string {
	return v1.Platform{Architecture: cf.Architecture, OS: cf.OS, OSVersion: cf.OSVersion, Variant: cf.Variant}.String()
}
