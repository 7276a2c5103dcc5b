// Command imagebuild packs signet's static Linux binaries into a
// multi-platform OCI image without a container engine, and writes the SLSA
// v1 provenance predicate that describes the build. `make image` runs it.
//
// The image is reproducible: every file time, the image's created time and
// the provenance's times come from -created (the commit time), tar headers
// carry no user names, and the layer order is fixed, so the same binaries
// give the same digest on any machine.
//
// Usage:
//
//	imagebuild -bin linux/amd64=bin/linux_amd64/signet -bin linux/arm64=… \
//	  -source URL -revision SHA -version V -created UNIX \
//	  (-push REGISTRY/REPO:TAG | -layout DIR) [-provenance FILE] [-digest-file FILE]
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// binFlags collects repeated -bin PLATFORM=PATH flags.
type binFlags []Binary

func (b *binFlags) String() string { return fmt.Sprint(*b) }

func (b *binFlags) Set(s string) error {
	plat, path, ok := strings.Cut(s, "=")
	if !ok {
		return fmt.Errorf("-bin %q: want OS/ARCH=PATH", s)
	}
	os, arch, ok := strings.Cut(plat, "/")
	if !ok || os == "" || arch == "" {
		return fmt.Errorf("-bin %q: want OS/ARCH=PATH", s)
	}
	*b = append(*b, Binary{Platform: v1.Platform{OS: os, Architecture: arch}, Path: path})
	return nil
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "imagebuild:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("imagebuild", flag.ContinueOnError)
	var (
		bins                          binFlags
		cfg                           Config
		created                       string
		push, dir, provenance, digest string
		insecure                      bool
	)
	fs.Var(&bins, "bin", "OS/ARCH=PATH of a static signet binary (repeat per platform)")
	fs.StringVar(&cfg.Source, "source", "", "source repository URL (org.opencontainers.image.source)")
	fs.StringVar(&cfg.Revision, "revision", "", "source commit (org.opencontainers.image.revision)")
	fs.StringVar(&cfg.Version, "version", "", "signet version (org.opencontainers.image.version)")
	fs.StringVar(&cfg.BuilderID, "builder-id", "", "SLSA builder.id of who runs the build (default: a local make image)")
	fs.StringVar(&cfg.InvocationID, "invocation-id", "", "SLSA runDetails.metadata.invocationId (a CI run URL)")
	fs.StringVar(&cfg.GoVersion, "go-version", "", "Go toolchain that built the binaries (go1.26.x)")
	fs.StringVar(&created, "created", "", "build time as Unix seconds, e.g. the commit time (SOURCE_DATE_EPOCH)")
	fs.StringVar(&push, "push", "", "push the image index to this reference")
	fs.StringVar(&dir, "layout", "", "write the image index to this OCI layout directory instead")
	fs.BoolVar(&insecure, "insecure", false, "plain HTTP to the registry (local test registries)")
	fs.StringVar(&provenance, "provenance", "", "write the SLSA v1 provenance predicate for the index to this file")
	fs.StringVar(&digest, "digest-file", "", "write the pushed reference REPO@sha256:… to this file")
	started := time.Now()
	if err := fs.Parse(args); err != nil {
		return err
	}
	if (push == "") == (dir == "") {
		return fmt.Errorf("give exactly one of -push and -layout")
	}
	secs, err := strconv.ParseInt(created, 10, 64)
	if err != nil || secs <= 0 {
		return fmt.Errorf("-created %q: want Unix seconds (e.g. git log -1 --format=%%ct)", created)
	}
	cfg.Created = time.Unix(secs, 0).UTC()
	cfg.Binaries = bins
	idx, err := Build(cfg)
	if err != nil {
		return err
	}
	d, err := idx.Digest()
	if err != nil {
		return err
	}
	var out string // where the index is: LAYOUT@DIGEST or REPOSITORY@DIGEST
	if dir != "" {
		p, err := layout.Write(dir, empty.Index)
		if err != nil {
			return fmt.Errorf("write layout %s: %w", dir, err)
		}
		if err := p.AppendIndex(idx); err != nil {
			return fmt.Errorf("write layout %s: %w", dir, err)
		}
		out = dir + "@" + d.String()
	} else {
		var opts []name.Option
		if insecure {
			opts = append(opts, name.Insecure)
		}
		ref, err := name.ParseReference(push, opts...)
		if err != nil {
			return fmt.Errorf("-push %q: %w", push, err)
		}
		if err := remote.WriteIndex(ref, idx, remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
			return fmt.Errorf("push %s: %w", ref, err)
		}
		out = ref.Context().Digest(d.String()).String()
	}
	if provenance != "" {
		pred, err := Provenance(cfg, idx, started, time.Now())
		if err != nil {
			return err
		}
		if err := os.WriteFile(provenance, pred, 0o644); err != nil {
			return err
		}
	}
	if digest != "" {
		if err := os.WriteFile(digest, []byte(out+"\n"), 0o644); err != nil {
			return err
		}
	}
	fmt.Println(out)
	return nil
}
