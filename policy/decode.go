package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// maxDocumentBytes bounds the input Decode accepts; Kubernetes objects are
// limited to about 1.5 MiB by etcd, so this is generous.
const maxDocumentBytes = 8 << 20

// Documents are the policy resources found in a YAML or JSON stream.
type Documents struct {
	Policies   []*ClusterImagePolicy
	TrustRoots []*TrustRoot
	// Skipped are documents of other kinds (ConfigMaps, Secrets…) that the
	// stream also held, in order, so callers can mention them.
	Skipped []TypeMeta
}

// DecodeAll decodes every document of a YAML stream ("---" separated) or a
// JSON object, keeping ClusterImagePolicies and TrustRoots. Fields the
// schema does not have are errors, as are documents without a kind. It
// neither defaults nor validates: see Load.
func DecodeAll(data []byte) (*Documents, error) {
	if len(data) > maxDocumentBytes {
		return nil, fmt.Errorf("decode policy documents: input is %d bytes, limit %d", len(data), maxDocumentBytes)
	}
	var docs Documents
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for i := 0; ; i++ {
		var node yaml.Node
		err := dec.Decode(&node)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("decode policy document %d: %w", i, err)
		}
		raw, err := nodeJSON(&node)
		if err != nil {
			return nil, fmt.Errorf("decode policy document %d: %w", i, err)
		}
		if raw == nil { // empty document, e.g. a leading "---"
			continue
		}
		if err := docs.add(raw); err != nil {
			return nil, fmt.Errorf("decode policy document %d: %w", i, err)
		}
	}
	return &docs, nil
}

func (d *Documents) add(raw []byte) error {
	var tm TypeMeta
	if err := json.Unmarshal(raw, &tm); err != nil {
		return fmt.Errorf("not an object: %w", err)
	}
	switch {
	case tm.Kind == "":
		return errors.New("missing kind")
	case tm.Kind == KindClusterImagePolicy && strings.HasPrefix(tm.APIVersion, Group+"/"):
		var cip ClusterImagePolicy
		if err := decodeStrict(raw, &cip); err != nil {
			return err
		}
		d.Policies = append(d.Policies, &cip)
	case tm.Kind == KindTrustRoot && strings.HasPrefix(tm.APIVersion, Group+"/"):
		var tr TrustRoot
		if err := decodeStrict(raw, &tr); err != nil {
			return err
		}
		d.TrustRoots = append(d.TrustRoots, &tr)
	default:
		d.Skipped = append(d.Skipped, tm)
	}
	return nil
}

// DecodeClusterImagePolicy decodes exactly one ClusterImagePolicy from YAML
// or JSON, strictly, without defaulting or validating it.
func DecodeClusterImagePolicy(data []byte) (*ClusterImagePolicy, error) {
	docs, err := DecodeAll(data)
	if err != nil {
		return nil, err
	}
	if len(docs.Policies) != 1 || len(docs.TrustRoots)+len(docs.Skipped) != 0 {
		return nil, fmt.Errorf("decode ClusterImagePolicy: want exactly one ClusterImagePolicy document, got %d policies, %d trust roots and %d other documents",
			len(docs.Policies), len(docs.TrustRoots), len(docs.Skipped))
	}
	if err := checkVersion(docs.Policies[0].APIVersion, V1alpha1, V1beta1); err != nil {
		return nil, fmt.Errorf("decode ClusterImagePolicy %q: %w", docs.Policies[0].Metadata.Name, err)
	}
	return docs.Policies[0], nil
}

// DecodeTrustRoot decodes exactly one TrustRoot from YAML or JSON,
// strictly, without defaulting or validating it.
func DecodeTrustRoot(data []byte) (*TrustRoot, error) {
	docs, err := DecodeAll(data)
	if err != nil {
		return nil, err
	}
	if len(docs.TrustRoots) != 1 || len(docs.Policies)+len(docs.Skipped) != 0 {
		return nil, fmt.Errorf("decode TrustRoot: want exactly one TrustRoot document, got %d trust roots, %d policies and %d other documents",
			len(docs.TrustRoots), len(docs.Policies), len(docs.Skipped))
	}
	if err := checkVersion(docs.TrustRoots[0].APIVersion, V1alpha1); err != nil {
		return nil, fmt.Errorf("decode TrustRoot %q: %w", docs.TrustRoots[0].Metadata.Name, err)
	}
	return docs.TrustRoots[0], nil
}

func checkVersion(got string, want ...string) error {
	for _, w := range want {
		if got == w {
			return nil
		}
	}
	return fmt.Errorf("unsupported apiVersion %q, want one of %q", got, want)
}

// decodeStrict decodes JSON into v, rejecting unknown fields and trailing
// data.
func decodeStrict(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after object")
	}
	return nil
}

// nodeJSON converts a YAML document to JSON, refusing what JSON cannot
// express (non-string keys, non-finite numbers). It returns nil for an
// empty document.
func nodeJSON(n *yaml.Node) ([]byte, error) {
	if n.Kind == 0 || (n.Kind == yaml.DocumentNode && len(n.Content) == 0) {
		return nil, nil
	}
	v, err := nodeValue(n, 0)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, nil
	}
	return json.Marshal(v)
}

// maxDepth bounds nesting; the CRD schemas are a few levels deep.
const maxDepth = 64

func nodeValue(n *yaml.Node, depth int) (any, error) {
	if depth > maxDepth {
		return nil, lineErrorf(n.Line, "nesting deeper than %d", maxDepth)
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) != 1 {
			return nil, lineErrorf(n.Line, "document with %d nodes", len(n.Content))
		}
		return nodeValue(n.Content[0], depth+1)
	case yaml.AliasNode:
		// Aliases are legal YAML but have no place in a CRD and are the
		// vehicle of "billion laughs" inputs.
		return nil, lineErrorf(n.Line, "YAML aliases are not supported")
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode || (k.Tag != "!!str" && k.Tag != "!!merge") {
				return nil, lineErrorf(k.Line, "mapping key must be a string")
			}
			if k.Tag == "!!merge" {
				return nil, lineErrorf(k.Line, "YAML merge keys are not supported")
			}
			if _, dup := m[k.Value]; dup {
				return nil, lineErrorf(k.Line, "duplicate key %q", k.Value)
			}
			val, err := nodeValue(v, depth+1)
			if err != nil {
				return nil, err
			}
			m[k.Value] = val
		}
		return m, nil
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			val, err := nodeValue(c, depth+1)
			if err != nil {
				return nil, err
			}
			s = append(s, val)
		}
		return s, nil
	case yaml.ScalarNode:
		return scalarValue(n)
	default:
		return nil, lineErrorf(n.Line, "unsupported YAML node kind %d", n.Kind)
	}
}

func scalarValue(n *yaml.Node) (any, error) {
	switch n.Tag {
	case "!!str", "!!binary":
		return n.Value, nil
	case "!!null":
		return nil, nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return nil, lineErrorf(n.Line, "%w", err)
		}
		return b, nil
	case "!!int":
		var i int64
		if err := n.Decode(&i); err != nil {
			return nil, lineErrorf(n.Line, "%w", err)
		}
		return json.Number(strconv.FormatInt(i, 10)), nil
	case "!!float":
		var f float64
		if err := n.Decode(&f); err != nil {
			return nil, lineErrorf(n.Line, "%w", err)
		}
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, lineErrorf(n.Line, "%q is not a JSON number", n.Value)
		}
		return f, nil
	case "!!timestamp":
		// Kept as written: no schema field is a timestamp that signet reads.
		return n.Value, nil
	default:
		return nil, lineErrorf(n.Line, "unsupported YAML tag %s", n.Tag)
	}
}

// LineError is an error at a line of a YAML document.
type LineError struct {
	Line int
	Err  error
}

// Error returns "line N: " and the error.
func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }

// Unwrap returns the error.
func (e *LineError) Unwrap() error { return e.Err }

func lineErrorf(line int, format string, args ...any) error {
	return &LineError{Line: line, Err: fmt.Errorf(format, args...)}
}
