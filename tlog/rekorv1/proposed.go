package rekorv1

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/cyberphone/json-canonicalization/go/src/webpki.org/jsoncanonicalizer"
	"github.com/signetproject/signet/tlog"
)

// A Rekor v1 proposed entry is {"kind","apiVersion","spec"}. Rekor decodes
// it with encoding/json (so "kind" and "apiVersion" match in any case, and
// only the first JSON value of the request counts) and then reads the spec
// as a generic JSON value: fields are looked up by their exact name, and a
// field of the wrong JSON type counts as absent. signet reads it the same
// way, so that it accepts and rejects what Rekor does.

// proposedEntry is a decoded proposed entry of an accepted kind and version.
type proposedEntry struct {
	kind, version string
	spec          any
}

// decodeProposedEntry decodes a proposed entry and checks its size, kind
// and version.
func decodeProposedEntry(proposed []byte) (*proposedEntry, error) {
	if len(proposed) > tlog.MaxRequestSize {
		return nil, fmt.Errorf("request of %d bytes exceeds %d: %w", len(proposed), tlog.MaxRequestSize, tlog.ErrEntryTooLarge)
	}
	var head struct {
		Kind string `json:"kind"`
	}
	if err := decodeFirstJSON(proposed, &head); err != nil {
		return nil, fmt.Errorf("decode proposed entry: %v: %w", err, tlog.ErrMalformedRequest)
	}
	if head.Kind == "" {
		return nil, fmt.Errorf("decode proposed entry: kind is missing: %w", tlog.ErrMalformedRequest)
	}
	want, ok := v1Versions[head.Kind]
	if !ok {
		return nil, fmt.Errorf("entry kind %q: %w", head.Kind, tlog.ErrUnsupportedEntry)
	}
	var body struct {
		APIVersion *string `json:"apiVersion"`
		Spec       any     `json:"spec"`
	}
	if err := decodeFirstJSON(proposed, &body); err != nil {
		return nil, fmt.Errorf("decode proposed entry: %v: %w", err, tlog.ErrMalformedRequest)
	}
	if body.APIVersion == nil {
		return nil, fmt.Errorf("%s entry has no apiVersion: %w", head.Kind, tlog.ErrMalformedRequest)
	}
	if *body.APIVersion != want {
		return nil, fmt.Errorf("%s entry version %q, want %q: %w", head.Kind, *body.APIVersion, want, tlog.ErrUnsupportedEntry)
	}
	return &proposedEntry{kind: head.Kind, version: want, spec: body.Spec}, nil
}

// decodeFirstJSON decodes the first JSON value of data into v, numbers as
// json.Number.
func decodeFirstJSON(data []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	return d.Decode(v)
}

// jsonObject is a decoded JSON object.
type jsonObject map[string]any

// object returns the field key if it is an object.
func (o jsonObject) object(key string) (jsonObject, bool) {
	m, ok := o[key].(map[string]any)
	return m, ok
}

// string returns the field key if it is a string.
func (o jsonObject) string(key string) (*string, bool) {
	s, ok := o[key].(string)
	if !ok {
		return nil, false
	}
	return &s, true
}

// array returns the field key if it is an array.
func (o jsonObject) array(key string) ([]any, bool) {
	a, ok := o[key].([]any)
	return a, ok
}

// bytes returns the base64-decoded field key: nil when it is absent, not a
// string or empty.
func (o jsonObject) bytes(key string) ([]byte, error) {
	s, ok := o[key].(string)
	if !ok || s == "" {
		return nil, nil
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%s is not base64: %w", key, err)
	}
	return b, nil
}

// rekorHash is a {"algorithm","value"} digest of a Rekor v1 entry.
type rekorHash struct {
	Algorithm string `json:"algorithm"`
	Value     string `json:"value"`
}

// hashField reads the digest object at key: present reports whether the
// field is an object, and alg and value are nil when missing.
func hashField(o jsonObject, key string) (alg, value *string, present bool) {
	h, ok := o.object(key)
	if !ok {
		return nil, nil, false
	}
	alg, _ = h.string("algorithm")
	value, _ = h.string("value")
	return alg, value, true
}

// checkHash checks the required algorithm (one of algs) and value of the
// digest at path.
func checkHash(path string, alg, value *string, algs ...string) error {
	if alg == nil {
		return fmt.Errorf("%s.algorithm is missing", path)
	}
	if !slices.Contains(algs, *alg) {
		return fmt.Errorf("%s.algorithm %q is not one of %q", path, *alg, algs)
	}
	if value == nil {
		return fmt.Errorf("%s.value is missing", path)
	}
	return nil
}

// canonicalBody returns the RFC 8785 canonical JSON of an entry of kind
// and version with spec.
func canonicalBody(kind, version string, spec any) ([]byte, error) {
	b, err := json.Marshal(struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Spec       any    `json:"spec"`
	}{version, kind, spec})
	if err != nil {
		return nil, err
	}
	return jsoncanonicalizer.Transform(b)
}
