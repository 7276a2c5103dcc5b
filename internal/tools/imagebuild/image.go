package main

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Binary is one platform's static signet binary.
type Binary struct {
	Platform v1.Platform
	Path     string
}

// Config describes the image to build.
type Config struct {
	Binaries []Binary
	// Source, Revision and Version become OCI labels and annotations.
	Source, Revision, Version string
	// Created is the build time recorded everywhere a time is (the commit
	// time, for reproducible builds).
	Created time.Time
	// BuilderID, InvocationID and GoVersion go into the provenance.
	BuilderID, InvocationID, GoVersion string
}

// User and group the image runs as: distroless's "nonroot".
const (
	nonrootUID = 65532
	entrypoint = "/usr/bin/signet"
	workingDir = "/home/nonroot"
)

// Validate checks that there is something to build and that it is
// described.
func (c Config) Validate() error {
	if len(c.Binaries) == 0 {
		return fmt.Errorf("no binaries: give -bin OS/ARCH=PATH")
	}
	seen := map[string]bool{}
	for _, b := range c.Binaries {
		p := b.Platform.String()
		if seen[p] {
			return fmt.Errorf("platform %s given twice", p)
		}
		seen[p] = true
	}
	if c.Source == "" || c.Revision == "" || c.Version == "" {
		return fmt.Errorf("source, revision and version are required (they label the image)")
	}
	if c.Created.IsZero() {
		return fmt.Errorf("created time is required")
	}
	return nil
}

// labels are the OCI annotation keys of
// https://github.com/opencontainers/image-spec/blob/main/annotations.md,
// used both as config labels and as manifest/index annotations.
func (c Config) labels() map[string]string {
	return map[string]string{
		"org.opencontainers.image.title":       "signet",
		"org.opencontainers.image.description": "Sigstore-compatible signing, transparency log and admission for Kubernetes in one binary",
		"org.opencontainers.image.source":      c.Source,
		"org.opencontainers.image.revision":    c.Revision,
		"org.opencontainers.image.version":     c.Version,
		"org.opencontainers.image.created":     c.Created.Format(time.RFC3339),
		"org.opencontainers.image.licenses":    "Apache-2.0",
	}
}

// Build returns the OCI image index with one image per binary, in the
// order given.
func Build(c Config) (v1.ImageIndex, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	var idx v1.ImageIndex = empty.Index
	idx = mutate.IndexMediaType(idx, types.OCIImageIndex)
	for _, b := range c.Binaries {
		img, err := platformImage(c, b)
		if err != nil {
			return nil, fmt.Errorf("image for %s: %w", b.Platform.String(), err)
		}
		plat := b.Platform
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &plat},
		})
	}
	idx = mutate.Annotations(idx, c.labels()).(v1.ImageIndex)
	return idx, nil
}

func platformImage(c Config, b Binary) (v1.Image, error) {
	bin, err := os.ReadFile(b.Path)
	if err != nil {
		return nil, err
	}
	layerTar, err := rootFS(bin, c.Created)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{
		Layer: layer,
		History: v1.History{
			Created:   v1.Time{Time: c.Created},
			CreatedBy: "imagebuild: " + entrypoint + " from " + c.Source + "@" + c.Revision,
		},
	})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = b.Platform.OS, b.Platform.Architecture, b.Platform.Variant
	cf.Created = v1.Time{Time: c.Created}
	cf.Config = v1.Config{
		Entrypoint: []string{entrypoint},
		User:       fmt.Sprintf("%d:%d", nonrootUID, nonrootUID),
		WorkingDir: workingDir,
		Env:        []string{"PATH=/usr/bin"},
		Labels:     c.labels(),
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, err
	}
	return mutate.Annotations(img, c.labels()).(v1.Image), nil
}

// rootFS is the image's only layer: the binary, a passwd and group file
// naming the nonroot user, its home and /tmp. No shell, no package
// manager. Every header carries the same time and numeric owners only.
func rootFS(bin []byte, mtime time.Time) ([]byte, error) {
	passwd := fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:%s:/sbin/nologin\n", nonrootUID, nonrootUID, workingDir)
	group := fmt.Sprintf("root:x:0:\nnonroot:x:%d:\n", nonrootUID)
	type file struct {
		name     string
		mode     int64
		uid      int
		data     []byte
		typeflag byte
	}
	files := []file{
		{name: "etc/", mode: 0o755, typeflag: tar.TypeDir},
		{name: "etc/group", mode: 0o644, data: []byte(group), typeflag: tar.TypeReg},
		{name: "etc/passwd", mode: 0o644, data: []byte(passwd), typeflag: tar.TypeReg},
		{name: "home/", mode: 0o755, typeflag: tar.TypeDir},
		{name: "home/nonroot/", mode: 0o700, uid: nonrootUID, typeflag: tar.TypeDir},
		{name: "tmp/", mode: 0o1777, typeflag: tar.TypeDir},
		{name: "usr/", mode: 0o755, typeflag: tar.TypeDir},
		{name: "usr/bin/", mode: 0o755, typeflag: tar.TypeDir},
		{name: "usr/bin/signet", mode: 0o755, data: bin, typeflag: tar.TypeReg},
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		hdr := &tar.Header{
			Typeflag: f.typeflag,
			Name:     f.name,
			Mode:     f.mode,
			Uid:      f.uid,
			Gid:      f.uid,
			Size:     int64(len(f.data)),
			ModTime:  mtime,
			Format:   tar.FormatPAX,
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
