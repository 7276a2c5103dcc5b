package oci_test

import (
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/signetproject/signet/oci"
)

// TestManifests walks a multi-platform index that nests another index, as
// sign --recursive does, and a plain image.
func TestManifests(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	repo, err := name.NewRepository(strings.TrimPrefix(srv.URL, "http://") + "/multi")
	if err != nil {
		t.Fatal(err)
	}
	inner, err := random.Index(64, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	base, err := random.Index(64, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	outer := mutate.AppendManifests(base, mutate.IndexAddendum{Add: inner, Descriptor: v1.Descriptor{MediaType: types.OCIImageIndex}})
	if err := remote.WriteIndex(repo.Tag("v1"), outer); err != nil {
		t.Fatal(err)
	}
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(repo.Tag("single"), img); err != nil {
		t.Fatal(err)
	}

	digestOf := func(d interface{ Digest() (v1.Hash, error) }) name.Digest {
		h, err := d.Digest()
		if err != nil {
			t.Fatal(err)
		}
		return repo.Digest(h.String())
	}
	children := func(idx v1.ImageIndex) []name.Digest {
		m, err := idx.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		var out []name.Digest
		for _, d := range m.Manifests {
			out = append(out, repo.Digest(d.Digest.String()))
		}
		return out
	}
	outerChildren, innerChildren := children(outer), children(inner)
	if len(outerChildren) != 2 || outerChildren[1] != digestOf(inner) {
		t.Fatalf("test index not as built: %v", outerChildren)
	}

	c := oci.New(oci.Options{InsecureHTTP: true, Keychain: authn.NewMultiKeychain()})
	for _, tt := range []struct {
		name  string
		image name.Digest
		want  []name.Digest
	}{
		{"nested index", digestOf(outer), []name.Digest{digestOf(outer), outerChildren[0], digestOf(inner), innerChildren[0], innerChildren[1]}},
		{"inner index", digestOf(inner), []name.Digest{digestOf(inner), innerChildren[0], innerChildren[1]}},
		{"image", digestOf(img), []name.Digest{digestOf(img)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.Manifests(t.Context(), tt.image)
			if err != nil {
				t.Fatal(err)
			}
			str := func(ds []name.Digest) []string {
				var out []string
				for _, d := range ds {
					out = append(out, d.String())
				}
				return out
			}
			if diff := cmp.Diff(str(tt.want), str(got)); diff != "" {
				t.Errorf("Manifests (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := c.Manifests(t.Context(), repo.Digest("sha256:"+strings.Repeat("0", 64))); err == nil {
		t.Error("Manifests of a missing image succeeded")
	}
}
