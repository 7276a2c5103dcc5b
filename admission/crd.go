package admission

import (
	"reflect"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/signetproject/signet/policy"
)

// The CustomResourceDefinition types below are the subset of
// apiextensions.k8s.io/v1 that signet's CRDs use, so that installing them
// needs neither k8s.io/apiextensions-apiserver nor its dependencies.

// CustomResourceDefinition is an apiextensions.k8s.io/v1 CRD.
type CustomResourceDefinition struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   metav1.ObjectMeta `json:"metadata"`
	Spec       CRDSpec           `json:"spec"`
}

// CRDSpec is a CRD's spec.
type CRDSpec struct {
	Group      string         `json:"group"`
	Names      CRDNames       `json:"names"`
	Scope      string         `json:"scope"`
	Versions   []CRDVersion   `json:"versions"`
	Conversion *CRDConversion `json:"conversion,omitempty"`
}

// CRDNames are a CRD's names.
type CRDNames struct {
	Plural     string   `json:"plural"`
	Singular   string   `json:"singular"`
	Kind       string   `json:"kind"`
	ListKind   string   `json:"listKind"`
	Categories []string `json:"categories,omitempty"`
}

// CRDVersion is one served version.
type CRDVersion struct {
	Name         string           `json:"name"`
	Served       bool             `json:"served"`
	Storage      bool             `json:"storage"`
	Schema       CRDValidation    `json:"schema"`
	Subresources *CRDSubresources `json:"subresources,omitempty"`
}

// CRDValidation holds a version's schema.
type CRDValidation struct {
	OpenAPIV3Schema *JSONSchema `json:"openAPIV3Schema"`
}

// CRDSubresources enables the status subresource.
type CRDSubresources struct {
	Status *struct{} `json:"status,omitempty"`
}

// CRDConversion is a CRD's conversion strategy.
type CRDConversion struct {
	Strategy string `json:"strategy"`
}

// JSONSchema is the structural OpenAPI v3 schema subset CRDs use.
type JSONSchema struct {
	Type                   string                 `json:"type,omitempty"`
	Format                 string                 `json:"format,omitempty"`
	Properties             map[string]*JSONSchema `json:"properties,omitempty"`
	Items                  *JSONSchema            `json:"items,omitempty"`
	AdditionalProperties   *JSONSchema            `json:"additionalProperties,omitempty"`
	XPreserveUnknownFields *bool                  `json:"x-kubernetes-preserve-unknown-fields,omitempty"`
}

// CRDs returns the ClusterImagePolicy and TrustRoot CRDs, cluster scoped
// as in policy-controller. Their schemas are generated from the policy
// package's types, so the API server keeps exactly the fields signet
// reads. ClusterImagePolicy serves v1alpha1 (stored) and v1beta1 with
// conversion strategy None: the two versions' schemas are identical
// (policy.ClusterImagePolicy.ConvertTo), so the API server's rewrite of
// apiVersion is a complete conversion and no conversion webhook is
// needed.
func CRDs() []CustomResourceDefinition {
	cipSchema := objectSchema(reflect.TypeFor[policy.ClusterImagePolicySpec]())
	trSchema := objectSchema(reflect.TypeFor[policy.TrustRootSpec]())
	version := func(name string, storage bool, spec *JSONSchema) CRDVersion {
		return CRDVersion{Name: name, Served: true, Storage: storage, Subresources: &CRDSubresources{Status: &struct{}{}},
			Schema: CRDValidation{OpenAPIV3Schema: topSchema(spec)}}
	}
	crd := func(plural, kind string, versions ...CRDVersion) CustomResourceDefinition {
		return CustomResourceDefinition{
			APIVersion: "apiextensions.k8s.io/v1", Kind: "CustomResourceDefinition",
			Metadata: metav1.ObjectMeta{Name: plural + "." + policy.Group, Labels: map[string]string{"app.kubernetes.io/part-of": "signet"}},
			Spec: CRDSpec{
				Group: policy.Group, Scope: "Cluster", Versions: versions,
				Names:      CRDNames{Plural: plural, Singular: strings.ToLower(kind), Kind: kind, ListKind: kind + "List", Categories: []string{"all", "sigstore"}},
				Conversion: &CRDConversion{Strategy: "None"},
			},
		}
	}
	return []CustomResourceDefinition{
		crd("clusterimagepolicies", policy.KindClusterImagePolicy, version("v1alpha1", true, cipSchema), version("v1beta1", false, cipSchema)),
		crd("trustroots", policy.KindTrustRoot, version("v1alpha1", true, trSchema)),
	}
}

func topSchema(spec *JSONSchema) *JSONSchema {
	yes := true
	return &JSONSchema{Type: "object", Properties: map[string]*JSONSchema{
		"apiVersion": {Type: "string"},
		"kind":       {Type: "string"},
		"metadata":   {Type: "object"},
		"spec":       spec,
		"status":     {Type: "object", XPreserveUnknownFields: &yes},
	}}
}

// objectSchema is the schema of a struct type of the policy package: its
// JSON fields, inline structs flattened.
func objectSchema(t reflect.Type) *JSONSchema {
	s := &JSONSchema{Type: "object", Properties: map[string]*JSONSchema{}}
	addFields(s, t)
	return s
}

func addFields(s *JSONSchema, t reflect.Type) {
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && (name == "" || strings.Contains(opts, "inline")) {
			addFields(s, f.Type)
			continue
		}
		if name == "" {
			name = f.Name
		}
		s.Properties[name] = schemaFor(f.Type)
	}
}

func schemaFor(t reflect.Type) *JSONSchema {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return &JSONSchema{Type: "string"}
	case reflect.Bool:
		return &JSONSchema{Type: "boolean"}
	case reflect.Int, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint32, reflect.Uint64:
		return &JSONSchema{Type: "integer"}
	case reflect.Float32, reflect.Float64:
		return &JSONSchema{Type: "number"}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return &JSONSchema{Type: "string", Format: "byte"}
		}
		return &JSONSchema{Type: "array", Items: schemaFor(t.Elem())}
	case reflect.Map:
		return &JSONSchema{Type: "object", AdditionalProperties: schemaFor(t.Elem())}
	case reflect.Struct:
		return objectSchema(t)
	}
	// The policy types hold none of the other kinds; keep whatever such
	// a field would hold rather than prune it.
	yes := true
	return &JSONSchema{XPreserveUnknownFields: &yes}
}
