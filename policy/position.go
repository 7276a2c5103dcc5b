package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// PositionError is a problem with a policy file, where it is: the file,
// the line, the resource and the field. Its text is
// "FILE:LINE: KIND "NAME": MESSAGE", where MESSAGE names the field as
// policy-controller does ("missing field(s): spec.authorities").
type PositionError struct {
	File string
	Line int // 0 when unknown
	// Kind and Name identify the resource, when known.
	Kind, Name string
	// Field is the field path ("spec.authorities[0].key"), when known.
	Field string
	Err   error
}

// Error formats the error.
func (e *PositionError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Kind != "" {
		fmt.Fprintf(&b, "%s %q: ", e.Kind, e.Name)
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the error.
func (e *PositionError) Unwrap() error { return e.Err }

// LoadFile is Load for the contents of a named file: every error and
// warning is a PositionError naming the file, the line, the resource and
// the field (policy-controller's field paths), and the document of a
// decoding error is located too (an unknown field, a value of the wrong
// type). Warnings are returned as strings in the same form.
func LoadFile(file string, data []byte, opts ValidateOptions) (*Documents, []string, error) {
	at := func(line int, err error) error { return &PositionError{File: file, Line: line, Err: err} }
	if len(data) > maxDocumentBytes {
		return nil, nil, at(0, fmt.Errorf("input is %d bytes, limit %d", len(data), maxDocumentBytes))
	}
	var docs Documents
	var warnings []string
	var errs []error
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var node yaml.Node
		err := dec.Decode(&node)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, at(yamlErrorLine(err), err)
		}
		raw, err := nodeJSON(&node)
		if err != nil {
			var le *LineError
			if errors.As(err, &le) {
				return nil, nil, at(le.Line, le.Err)
			}
			return nil, nil, at(node.Line, err)
		}
		if raw == nil {
			continue
		}
		root := documentRoot(&node)
		nPolicies, nRoots := len(docs.Policies), len(docs.TrustRoots)
		if err := docs.add(raw); err != nil {
			errs = append(errs, locateDecodeError(file, root, raw, err))
			continue
		}
		report := func(kind, name string, fe FieldErrors) {
			for _, e := range fe.merged() {
				pe := &PositionError{File: file, Kind: kind, Name: name, Err: FieldErrors{e}}
				if len(e.Paths) > 0 {
					pe.Field = e.Paths[0]
					pe.Line = lineOf(root, e.Paths[0])
				}
				if e.Level == LevelWarning {
					warnings = append(warnings, pe.Error())
				} else {
					errs = append(errs, pe)
				}
			}
		}
		switch {
		case len(docs.Policies) > nPolicies:
			c := docs.Policies[len(docs.Policies)-1]
			if err := checkVersion(c.APIVersion, V1alpha1, V1beta1); err != nil {
				errs = append(errs, &PositionError{File: file, Line: lineOf(root, "apiVersion"), Kind: KindClusterImagePolicy, Name: c.Metadata.Name, Field: "apiVersion", Err: err})
				continue
			}
			c.SetDefaults()
			report(KindClusterImagePolicy, c.Metadata.Name, c.Validate(opts))
		case len(docs.TrustRoots) > nRoots:
			t := docs.TrustRoots[len(docs.TrustRoots)-1]
			if err := checkVersion(t.APIVersion, V1alpha1); err != nil {
				errs = append(errs, &PositionError{File: file, Line: lineOf(root, "apiVersion"), Kind: KindTrustRoot, Name: t.Metadata.Name, Field: "apiVersion", Err: err})
				continue
			}
			t.SetDefaults()
			report(KindTrustRoot, t.Metadata.Name, t.Validate())
		}
	}
	return &docs, warnings, errors.Join(errs...)
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+):`)

// yamlErrorLine returns the line a YAML syntax error names, or 0.
func yamlErrorLine(err error) int {
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

func documentRoot(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		return n.Content[0]
	}
	return n
}

// locateDecodeError turns an error of Documents.add into a PositionError:
// it walks the document against the resource's Go type to find the first
// field the schema does not have or whose value has the wrong type.
func locateDecodeError(file string, root *yaml.Node, raw []byte, err error) error {
	pe := &PositionError{File: file, Line: root.Line, Err: err}
	var head struct {
		TypeMeta
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	_ = json.Unmarshal(raw, &head) // best effort: names the resource
	var t reflect.Type
	switch head.Kind {
	case KindClusterImagePolicy:
		t = reflect.TypeFor[ClusterImagePolicy]()
	case KindTrustRoot:
		t = reflect.TypeFor[TrustRoot]()
	}
	if t == nil {
		return pe
	}
	pe.Kind, pe.Name = head.Kind, head.Metadata.Name
	if f, ok := schemaMismatch(root, t, ""); ok {
		pe.Line, pe.Field, pe.Err = f.line, f.field, fmt.Errorf("%s: %s", f.field, f.msg)
	}
	return pe
}

type mismatch struct {
	line       int
	field, msg string
}

var (
	rawMessageType = reflect.TypeFor[json.RawMessage]()
	objectMetaType = reflect.TypeFor[ObjectMeta]()
	bytesType      = reflect.TypeFor[[]byte]()
)

// schemaMismatch returns the first node, in document order, that encoding/json
// would reject when decoding into t strictly: an unknown field, or a value
// of the wrong type.
func schemaMismatch(n *yaml.Node, t reflect.Type, path string) (mismatch, bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return mismatch{}, false
	}
	wrong := func(want string) (mismatch, bool) {
		return mismatch{line: n.Line, field: path, msg: fmt.Sprintf("want %s, got %s", want, nodeDescription(n))}, true
	}
	switch {
	case t == rawMessageType || t.Kind() == reflect.Interface:
		return mismatch{}, false
	case t == bytesType:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
			return wrong("a base64 string")
		}
		return mismatch{}, false
	case t == objectMetaType:
		if n.Kind != yaml.MappingNode {
			return wrong("an object")
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if !objectMetaFields[k.Value] {
				return mismatch{line: k.Line, field: join(path, k.Value), msg: "unknown field"}, true
			}
		}
		return structMismatch(n, t, path, true)
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return wrong("an object")
		}
		return structMismatch(n, t, path, false)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return wrong("an object")
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if m, ok := schemaMismatch(n.Content[i+1], t.Elem(), join(path, n.Content[i].Value)); ok {
				return m, true
			}
		}
	case reflect.Slice, reflect.Array:
		if n.Kind != yaml.SequenceNode {
			return wrong("a list")
		}
		for i, c := range n.Content {
			if m, ok := schemaMismatch(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); ok {
				return m, true
			}
		}
	case reflect.String:
		if n.Kind != yaml.ScalarNode || (n.Tag != "!!str" && n.Tag != "!!timestamp") {
			return wrong("a string")
		}
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
			return wrong("true or false")
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
			return wrong("an integer")
		}
	case reflect.Float32, reflect.Float64:
		if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") {
			return wrong("a number")
		}
	}
	return mismatch{}, false
}

// structMismatch checks a mapping against a struct's JSON fields.
func structMismatch(n *yaml.Node, t reflect.Type, path string, lenient bool) (mismatch, bool) {
	fields := map[string]reflect.Type{}
	collectFields(t, fields)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		ft, ok := fields[k.Value]
		if !ok {
			if lenient {
				continue
			}
			return mismatch{line: k.Line, field: join(path, k.Value), msg: "unknown field"}, true
		}
		if m, ok := schemaMismatch(v, ft, join(path, k.Value)); ok {
			return m, true
		}
	}
	return mismatch{}, false
}

// collectFields maps a struct's JSON names to field types, with embedded
// structs inlined as encoding/json does.
func collectFields(t reflect.Type, out map[string]reflect.Type) {
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			collectFields(f.Type, out)
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func nodeDescription(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "an object"
	case yaml.SequenceNode:
		return "a list"
	}
	switch n.Tag {
	case "!!str":
		return fmt.Sprintf("the string %q", n.Value)
	case "!!int", "!!float":
		return "the number " + n.Value
	case "!!bool":
		return n.Value
	}
	return n.Value
}

var (
	pathSegment = regexp.MustCompile(`^([^\[\]]*)((?:\[\d+\])*)$`)
	pathIndex   = regexp.MustCompile(`\d+`)
)

// lineOf returns the line of the deepest node of a field path
// ("spec.authorities[0].keyless.url") that the document has: a missing
// field is reported at its parent.
func lineOf(root *yaml.Node, path string) int {
	n, line := root, root.Line
	for _, seg := range strings.Split(path, ".") {
		m := pathSegment.FindStringSubmatch(seg)
		if m == nil {
			return line
		}
		if m[1] != "" {
			next := mappingValue(n, m[1])
			if next == nil {
				return line
			}
			line, n = next.key.Line, next.value
		}
		for _, idx := range pathIndex.FindAllString(m[2], -1) {
			i, _ := strconv.Atoi(idx)
			if n.Kind != yaml.SequenceNode || i >= len(n.Content) {
				return line
			}
			n = n.Content[i]
			line = n.Line
		}
	}
	return line
}

type keyValue struct{ key, value *yaml.Node }

func mappingValue(n *yaml.Node, key string) *keyValue {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return &keyValue{n.Content[i], n.Content[i+1]}
		}
	}
	return nil
}
