package main

import (
	"archive/tar"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func testConfig(t *testing.T) Config {
	t.Helper()
	dir := t.TempDir()
	var bins []Binary
	for _, arch := range []string{"amd64", "arm64"} {
		p := filepath.Join(dir, arch)
		if err := os.WriteFile(p, []byte("\x7fELF fake signet for "+arch), 0o755); err != nil {
			t.Fatal(err)
		}
		bins = append(bins, Binary{Platform: v1.Platform{OS: "linux", Architecture: arch}, Path: p})
	}
	return Config{
		Binaries: bins, Source: "https://github.com/signetproject/signet", Revision: "0123456789abcdef0123456789abcdef01234567",
		Version: "v0.1.0", Created: time.Unix(1764000000, 0).UTC(),
	}
}

func indexDigest(t *testing.T, c Config) v1.Hash {
	t.Helper()
	idx, err := Build(c)
	if err != nil {
		t.Fatal(err)
	}
	d, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// The same binaries and inputs give the same digest, whatever the files'
// times on disk or the clock; a changed input changes it.
func TestBuildReproducible(t *testing.T) {
	c := testConfig(t)
	first := indexDigest(t, c)
	for _, b := range c.Binaries {
		if err := os.Chtimes(b.Path, time.Now(), time.Now().Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(1100 * time.Millisecond) // a second later, as a second build would be
	if again := indexDigest(t, c); again != first {
		t.Fatalf("second build digest %s, first %s", again, first)
	}
	c2 := c
	c2.Revision = "fedcba9876543210fedcba9876543210fedcba98"
	if indexDigest(t, c2) == first {
		t.Fatal("a different revision gave the same digest")
	}
	if err := os.WriteFile(c.Binaries[1].Path, []byte("other"), 0o755); err != nil {
		t.Fatal(err)
	}
	if indexDigest(t, c) == first {
		t.Fatal("a different binary gave the same digest")
	}
}

func TestBuildContents(t *testing.T) {
	c := testConfig(t)
	idx, err := Build(c)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if im.MediaType != "application/vnd.oci.image.index.v1+json" {
		t.Errorf("index media type %s", im.MediaType)
	}
	if im.Annotations["org.opencontainers.image.revision"] != c.Revision || im.Annotations["org.opencontainers.image.source"] != c.Source {
		t.Errorf("index annotations %v", im.Annotations)
	}
	var plats []string
	for _, desc := range im.Manifests {
		plats = append(plats, desc.Platform.String())
		img, err := idx.Image(desc.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cf.Config.User != "65532:65532" {
			t.Errorf("%s runs as %q, want the nonroot user", desc.Platform, cf.Config.User)
		}
		if diff := cmp.Diff([]string{"/usr/bin/signet"}, cf.Config.Entrypoint); diff != "" {
			t.Errorf("entrypoint (-want +got):\n%s", diff)
		}
		if cf.Architecture != desc.Platform.Architecture || cf.OS != "linux" {
			t.Errorf("config platform %s/%s in the %s entry", cf.OS, cf.Architecture, desc.Platform)
		}
		for _, k := range []string{"org.opencontainers.image.source", "org.opencontainers.image.revision", "org.opencontainers.image.version"} {
			if cf.Config.Labels[k] == "" {
				t.Errorf("%s: label %s missing", desc.Platform, k)
			}
		}
		if !cf.Created.Time.Equal(c.Created) {
			t.Errorf("created %v, want %v", cf.Created, c.Created)
		}
		files := layerFiles(t, img)
		want := map[string]string{
			"etc/group": "0644 0", "etc/passwd": "0644 0", "etc/": "0755 0", "home/": "0755 0",
			"home/nonroot/": "0700 65532", "tmp/": "1777 0", "usr/": "0755 0", "usr/bin/": "0755 0",
			"usr/bin/signet": "0755 0",
		}
		if diff := cmp.Diff(want, files); diff != "" {
			t.Errorf("%s layer (-want +got):\n%s", desc.Platform, diff)
		}
	}
	sort.Strings(plats)
	if diff := cmp.Diff([]string{"linux/amd64", "linux/arm64"}, plats); diff != "" {
		t.Errorf("platforms (-want +got):\n%s", diff)
	}
}

// layerFiles lists the single layer's entries as "mode uid", checking
// every header carries the build time and no owner names.
func layerFiles(t *testing.T, img v1.Image) map[string]string {
	t.Helper()
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers: %d, %v", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	out := map[string]string{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Uname != "" || h.Gname != "" || !h.ModTime.Equal(time.Unix(1764000000, 0)) {
			t.Errorf("%s: uname %q gname %q mtime %v", h.Name, h.Uname, h.Gname, h.ModTime)
		}
		out[h.Name] = fmt.Sprintf("%04o %d", h.Mode&0o7777, h.Uid)
	}
	return out
}

func TestConfigValidate(t *testing.T) {
	good := testConfig(t)
	tests := []struct {
		name   string
		mutate func(*Config)
	}{
		{"no binaries", func(c *Config) { c.Binaries = nil }},
		{"platform twice", func(c *Config) { c.Binaries = append(c.Binaries, c.Binaries[0]) }},
		{"no source", func(c *Config) { c.Source = "" }},
		{"no revision", func(c *Config) { c.Revision = "" }},
		{"no version", func(c *Config) { c.Version = "" }},
		{"no time", func(c *Config) { c.Created = time.Time{} }},
	}
	if err := good.Validate(); err != nil {
		t.Fatalf("good config: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			c.Binaries = append([]Binary(nil), good.Binaries...)
			tt.mutate(&c)
			if err := c.Validate(); err == nil {
				t.Fatal("accepted")
			}
			if _, err := Build(c); err == nil {
				t.Fatal("Build accepted")
			}
		})
	}
}

func TestProvenance(t *testing.T) {
	c := testConfig(t)
	idx, err := Build(c)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	raw, err := Provenance(c, idx, start, start.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		BuildDefinition struct {
			BuildType            string         `json:"buildType"`
			ExternalParameters   map[string]any `json:"externalParameters"`
			ResolvedDependencies []struct {
				URI    string            `json:"uri"`
				Digest map[string]string `json:"digest"`
			} `json:"resolvedDependencies"`
		} `json:"buildDefinition"`
		RunDetails struct {
			Builder struct {
				ID string `json:"id"`
			} `json:"builder"`
			Metadata struct {
				StartedOn string `json:"startedOn"`
			} `json:"metadata"`
			Byproducts []struct {
				Name   string            `json:"name"`
				Digest map[string]string `json:"digest"`
			} `json:"byproducts"`
		} `json:"runDetails"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	if p.BuildDefinition.BuildType != BuildType || p.RunDetails.Builder.ID != localBuilder {
		t.Errorf("buildType %q builder %q", p.BuildDefinition.BuildType, p.RunDetails.Builder.ID)
	}
	if len(p.BuildDefinition.ResolvedDependencies) != 1 ||
		p.BuildDefinition.ResolvedDependencies[0].Digest["gitCommit"] != c.Revision ||
		p.BuildDefinition.ResolvedDependencies[0].URI != "git+"+c.Source+"@"+c.Revision {
		t.Errorf("resolvedDependencies %+v", p.BuildDefinition.ResolvedDependencies)
	}
	if p.BuildDefinition.ExternalParameters["source"] != c.Source {
		t.Errorf("externalParameters %v", p.BuildDefinition.ExternalParameters)
	}
	if len(p.RunDetails.Byproducts) != 2 || len(p.RunDetails.Byproducts[0].Digest["sha256"]) != 64 {
		t.Errorf("byproducts %+v", p.RunDetails.Byproducts)
	}
	if p.RunDetails.Metadata.StartedOn != "2026-12-01T10:00:00Z" {
		t.Errorf("startedOn %q", p.RunDetails.Metadata.StartedOn)
	}
}
