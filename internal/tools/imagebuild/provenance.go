package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	slsa1 "github.com/in-toto/attestation/go/predicates/provenance/v1"
	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// BuildType names what imagebuild does, for verifiers of the provenance:
// `go build` of ./cmd/signet per platform (static, -trimpath), packed by
// imagebuild into one OCI image index.
const BuildType = "https://github.com/signetproject/signet/image-build/v1"

// localBuilder is builder.id when no CI names itself: a developer's
// `make image`. Provenance from it is only as trustworthy as that
// developer's signature over it.
const localBuilder = "https://github.com/signetproject/signet/make-image@v1"

// Provenance returns the SLSA v1 provenance predicate (JSON) for the built
// index: the source commit as external parameter and resolved dependency,
// each platform binary as a byproduct with its digest.
// started and finished are when this build ran (not part of the image,
// which records only Created).
func Provenance(c Config, idx v1.ImageIndex, started, finished time.Time) ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	platforms := make([]any, 0, len(c.Binaries))
	var byproducts []*intoto.ResourceDescriptor
	for _, b := range c.Binaries {
		platforms = append(platforms, b.Platform.String())
		data, err := os.ReadFile(b.Path)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(data)
		byproducts = append(byproducts, &intoto.ResourceDescriptor{
			Name:   "signet_" + strings.ReplaceAll(b.Platform.String(), "/", "_"),
			Digest: map[string]string{"sha256": hex.EncodeToString(sum[:])},
		})
	}
	ext, err := structpb.NewStruct(map[string]any{
		"source":    c.Source,
		"revision":  c.Revision,
		"version":   c.Version,
		"platforms": platforms,
		"package":   "./cmd/signet",
	})
	if err != nil {
		return nil, err
	}
	internal, err := structpb.NewStruct(map[string]any{
		"goVersion": c.GoVersion,
		"cgo":       false,
		"flags":     "-trimpath -ldflags=-s -w -buildid=",
	})
	if err != nil {
		return nil, err
	}
	d, err := idx.Digest()
	if err != nil {
		return nil, err
	}
	builder := c.BuilderID
	if builder == "" {
		builder = localBuilder
	}
	invocation := c.InvocationID
	if invocation == "" {
		invocation = fmt.Sprintf("make-image:%s:%s", c.Revision, d.Hex[:12])
	}
	p := &slsa1.Provenance{
		BuildDefinition: &slsa1.BuildDefinition{
			BuildType:          BuildType,
			ExternalParameters: ext,
			InternalParameters: internal,
			ResolvedDependencies: []*intoto.ResourceDescriptor{{
				Uri:    "git+" + c.Source + "@" + c.Revision,
				Digest: map[string]string{"gitCommit": c.Revision},
			}},
		},
		RunDetails: &slsa1.RunDetails{
			Builder: &slsa1.Builder{Id: builder},
			Metadata: &slsa1.BuildMetadata{
				InvocationId: invocation,
				StartedOn:    timestamppb.New(started),
				FinishedOn:   timestamppb.New(finished),
			},
			Byproducts: byproducts,
		},
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("provenance: %w", err)
	}
	return protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(p)
}
