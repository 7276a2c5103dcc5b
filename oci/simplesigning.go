package oci

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
)

// SimpleSigningType is the critical.type of cosign's image signature
// payloads.
const SimpleSigningType = "cosign container image signature"

// MediaTypeSimpleSigning is the layer media type of legacy signatures.
const MediaTypeSimpleSigning = "application/vnd.dev.cosign.simplesigning.v1+json"

// maxPayloadSize bounds simple-signing payloads, statements and bundles
// read from registries.
const maxPayloadSize = 16 << 20

var sha256Digest = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// SimpleSigning is the payload of a legacy (cosign v2) image signature, the
// "atomic container signature" JSON of containers/image with cosign's type:
//
//	{"critical":{"identity":{"docker-reference":"reg/repo"},
//	  "image":{"docker-manifest-digest":"sha256:…"},
//	  "type":"cosign container image signature"},
//	 "optional":{…annotations}}
type SimpleSigning struct {
	// DockerReference is the claimed identity of the image: cosign writes
	// the repository ("registry/repo") unless told otherwise.
	DockerReference string
	// ManifestDigest is the signed manifest digest, "sha256:<hex>".
	ManifestDigest string
	// Optional holds the signer's annotations; nil when the payload has
	// "optional": null.
	Optional map[string]any
}

type simpleSigningJSON struct {
	Critical *struct {
		Identity *struct {
			DockerReference *string `json:"docker-reference"`
		} `json:"identity"`
		Image *struct {
			DockerManifestDigest *string `json:"docker-manifest-digest"`
		} `json:"image"`
		Type *string `json:"type"`
	} `json:"critical"`
	Optional map[string]any `json:"optional"`
}

// Marshal encodes the payload as cosign does (encoding/json of
// sigstore's payload.SimpleContainerImage).
func (s *SimpleSigning) Marshal() ([]byte, error) {
	if !sha256Digest.MatchString(s.ManifestDigest) {
		return nil, fmt.Errorf("simple signing: manifest digest %q is not sha256:<64 hex>", s.ManifestDigest)
	}
	type identity struct {
		DockerReference string `json:"docker-reference"`
	}
	type image struct {
		DockerManifestDigest string `json:"docker-manifest-digest"`
	}
	type critical struct {
		Identity identity `json:"identity"`
		Image    image    `json:"image"`
		Type     string   `json:"type"`
	}
	v := struct {
		Critical critical       `json:"critical"`
		Optional map[string]any `json:"optional"`
	}{
		Critical: critical{identity{s.DockerReference}, image{s.ManifestDigest}, SimpleSigningType},
		Optional: s.Optional,
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("simple signing: %w", err)
	}
	return b, nil
}

// ParseSimpleSigning parses a legacy signature payload strictly: exactly
// the fields above, cosign's type, a sha256 manifest digest, no unknown
// fields outside "optional" and nothing after the JSON value.
func ParseSimpleSigning(data []byte) (*SimpleSigning, error) {
	if len(data) > maxPayloadSize {
		return nil, fmt.Errorf("simple signing payload: %d bytes is too large", len(data))
	}
	var v simpleSigningJSON
	if err := decodeStrict(data, &v); err != nil {
		return nil, fmt.Errorf("simple signing payload: %w", err)
	}
	c := v.Critical
	switch {
	case c == nil:
		return nil, errors.New("simple signing payload: missing critical")
	case c.Type == nil:
		return nil, errors.New("simple signing payload: missing critical.type")
	case *c.Type != SimpleSigningType:
		return nil, fmt.Errorf("simple signing payload: critical.type is %q, want %q", *c.Type, SimpleSigningType)
	case c.Image == nil || c.Image.DockerManifestDigest == nil:
		return nil, errors.New("simple signing payload: missing critical.image.docker-manifest-digest")
	case !sha256Digest.MatchString(*c.Image.DockerManifestDigest):
		return nil, fmt.Errorf("simple signing payload: docker-manifest-digest %q is not sha256:<64 hex>", *c.Image.DockerManifestDigest)
	case c.Identity == nil || c.Identity.DockerReference == nil:
		return nil, errors.New("simple signing payload: missing critical.identity.docker-reference")
	}
	return &SimpleSigning{
		DockerReference: *c.Identity.DockerReference,
		ManifestDigest:  *c.Image.DockerManifestDigest,
		Optional:        v.Optional,
	}, nil
}

// decodeStrict decodes one JSON object into v, rejecting unknown fields,
// duplicate keys, deep nesting and trailing data.
func decodeStrict(data []byte, v any) error {
	if err := checkJSONObject(data); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("trailing data after JSON value")
	}
	return nil
}

// maxJSONDepth bounds nesting in untrusted JSON.
const maxJSONDepth = 64

// checkJSONObject reports data that is not a single JSON object, nests
// deeper than maxJSONDepth or repeats a key in an object: encoding/json
// silently keeps the last duplicate, other parsers the first, so a
// duplicate could make two verifiers see different claims.
func checkJSONObject(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok != json.Delim('{') {
		return errors.New("not a JSON object")
	}
	if err := checkJSONValue(dec, tok, 1); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("trailing data after JSON value")
	}
	return nil
}

func checkJSONValue(dec *json.Decoder, tok json.Token, depth int) error {
	if depth > maxJSONDepth {
		return fmt.Errorf("JSON nested deeper than %d levels", maxJSONDepth)
	}
	switch tok {
	case json.Delim('{'):
		seen := map[string]bool{}
		for {
			t, err := dec.Token()
			if err != nil {
				return err
			}
			if t == json.Delim('}') {
				return nil
			}
			k, ok := t.(string)
			if !ok {
				return errors.New("malformed JSON object")
			}
			if seen[k] {
				return fmt.Errorf("duplicate JSON key %q", k)
			}
			seen[k] = true
			v, err := dec.Token()
			if err != nil {
				return err
			}
			if err := checkJSONValue(dec, v, depth+1); err != nil {
				return err
			}
		}
	case json.Delim('['):
		for {
			t, err := dec.Token()
			if err != nil {
				return err
			}
			if t == json.Delim(']') {
				return nil
			}
			if err := checkJSONValue(dec, t, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}
