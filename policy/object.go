package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Object is a Kubernetes object whose containers' images admission
// decides on: a Pod, or a workload with a pod template. It is what the
// admission webhook and `signet policy test --resource` both see of the
// object, so a policy decides alike in both.
type Object struct {
	// TypeMeta is the object's apiVersion and kind, what policies with
	// includeTypeMeta see.
	TypeMeta TypeMeta
	// Name and Namespace are the object's (metadata.name, .namespace).
	Name, Namespace string
	// Deleting is true when metadata.deletionTimestamp is set.
	Deleting bool
	// Resource is the object's resource and labels, for spec.match.
	Resource Resource
	// Spec and Metadata are the object's spec and metadata as written
	// (JSON), what policies with includeSpec and includeObjectMeta see;
	// nil when the object has none.
	Spec, Metadata json.RawMessage
	// PodSpecField is the field path of the pod spec: "spec" for a Pod,
	// "spec.template.spec" for a Deployment.
	PodSpecField string
	// PodSpec is the pod spec (JSON), nil when the object has none (a
	// ReplicationController without a template).
	PodSpec json.RawMessage
	// ServiceAccountName and ImagePullSecrets are the pod spec's, whose
	// registry credentials the webhook reads images with.
	ServiceAccountName string
	ImagePullSecrets   []string
	// Images are the images of containers, initContainers and
	// ephemeralContainers, in that order.
	Images []ContainerImage
}

// ContainerImage is one image reference found in an object.
type ContainerImage struct {
	// Field is the field path of the image, as in policy-controller's
	// messages: "spec.template.spec.containers[0].image".
	Field string
	// Pointer is the JSON pointer of the same field, for patches:
	// "/spec/template/spec/containers/0/image".
	Pointer string
	// Image is the reference as written.
	Image string
}

// objectKind says where objects of a kind keep their pod spec.
type objectKind struct {
	group, version, kind string
	podSpec              []string
}

// objectKinds are the kinds whose images are checked: Pods, every
// built-in controller that makes Pods from a template, and Knative
// Services.
var objectKinds = []objectKind{
	{"", "v1", "Pod", []string{"spec"}},
	{"", "v1", "ReplicationController", []string{"spec", "template", "spec"}},
	{"apps", "v1", "Deployment", []string{"spec", "template", "spec"}},
	{"apps", "v1", "ReplicaSet", []string{"spec", "template", "spec"}},
	{"apps", "v1", "StatefulSet", []string{"spec", "template", "spec"}},
	{"apps", "v1", "DaemonSet", []string{"spec", "template", "spec"}},
	{"batch", "v1", "Job", []string{"spec", "template", "spec"}},
	{"batch", "v1", "CronJob", []string{"spec", "jobTemplate", "spec", "template", "spec"}},
	{"serving.knative.dev", "v1", "Service", []string{"spec", "template", "spec"}},
}

// ObjectKind is a group, version and kind whose objects ParseObject
// decodes, with the resource (plural) that admission rules name.
type ObjectKind struct {
	Group, Version, Kind, Resource string
}

// ObjectKinds lists the kinds whose images are checked.
func ObjectKinds() []ObjectKind {
	out := make([]ObjectKind, len(objectKinds))
	for i, k := range objectKinds {
		out[i] = ObjectKind{Group: k.group, Version: k.version, Kind: k.kind, Resource: pluralise(k.kind)}
	}
	return out
}

func lookupObjectKind(group, version, kind string) (*objectKind, bool) {
	for i := range objectKinds {
		k := &objectKinds[i]
		if k.group == group && k.version == version && k.kind == kind {
			return k, true
		}
	}
	return nil, false
}

// IsObjectKind reports whether objects of this group, version and kind
// have images that policies check.
func IsObjectKind(group, version, kind string) bool {
	_, ok := lookupObjectKind(group, version, kind)
	return ok
}

func kindNames() string {
	names := make([]string, len(objectKinds))
	for i, k := range objectKinds {
		names[i] = apiVersionOf(k.group, k.version) + " " + k.kind
	}
	return strings.Join(names, ", ")
}

func apiVersionOf(group, version string) string {
	if group == "" {
		return version
	}
	return group + "/" + version
}

// ParseObject decodes one Kubernetes object from YAML or JSON (a file
// given to `signet policy test --resource`). Its apiVersion and kind must
// be one of ObjectKinds.
func ParseObject(data []byte) (*Object, error) {
	if len(data) > maxDocumentBytes {
		return nil, fmt.Errorf("parse resource: input is %d bytes, limit %d", len(data), maxDocumentBytes)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var raw []byte
	for i := 0; ; i++ {
		var node yaml.Node
		err := dec.Decode(&node)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("parse resource: %w", err)
		}
		doc, err := nodeJSON(&node)
		if err != nil {
			return nil, fmt.Errorf("parse resource: %w", err)
		}
		if doc == nil {
			continue
		}
		if raw != nil {
			return nil, errors.New("parse resource: more than one document; give one object")
		}
		raw = doc
	}
	if raw == nil {
		return nil, errors.New("parse resource: no object")
	}
	var tm TypeMeta
	if err := json.Unmarshal(raw, &tm); err != nil {
		return nil, fmt.Errorf("parse resource: not an object with apiVersion and kind: %w", err)
	}
	if tm.APIVersion == "" || tm.Kind == "" {
		return nil, errors.New("parse resource: missing apiVersion or kind")
	}
	group, version, ok := strings.Cut(tm.APIVersion, "/")
	if !ok {
		group, version = "", tm.APIVersion
	}
	return DecodeObject(group, version, tm.Kind, raw)
}

// DecodeObject decodes an object of a kind IsObjectKind accepts from JSON,
// as the admission webhook receives it: the group, version and kind are
// the request's, whatever the object says. It fails for other kinds and
// for objects whose metadata or pod spec have the wrong shape.
func DecodeObject(group, version, kind string, raw []byte) (*Object, error) {
	k, ok := lookupObjectKind(group, version, kind)
	if !ok {
		return nil, fmt.Errorf("parse resource: %s %s is not a kind with pod templates; want one of %s", apiVersionOf(group, version), kind, kindNames())
	}
	if o, ok := decodeObjectFast(k, raw); ok {
		return o, nil
	}
	return decodeObject(k, raw)
}

// decodeObject is DecodeObject with encoding/json, for every object.
func decodeObject(k *objectKind, raw []byte) (*Object, error) {
	group, version, kind := k.group, k.version, k.kind
	what := apiVersionOf(group, version) + " " + kind
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return nil, fmt.Errorf("parse %s: %w", what, err)
	}
	o := &Object{TypeMeta: TypeMeta{APIVersion: apiVersionOf(group, version), Kind: kind}, PodSpecField: strings.Join(k.podSpec, ".")}
	if m := nonNull(top["metadata"]); m != nil {
		var meta struct {
			Name              string            `json:"name"`
			Namespace         string            `json:"namespace"`
			Labels            map[string]string `json:"labels"`
			DeletionTimestamp json.RawMessage   `json:"deletionTimestamp"`
		}
		if err := json.Unmarshal(m, &meta); err != nil {
			return nil, fmt.Errorf("parse %s: metadata: %w", what, err)
		}
		o.Name, o.Namespace, o.Metadata = meta.Name, meta.Namespace, m
		o.Deleting = nonNull(meta.DeletionTimestamp) != nil
		o.Resource.Labels = meta.Labels
	}
	res, err := ResourceForKind(o.TypeMeta.APIVersion, kind, o.Resource.Labels)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", what, err)
	}
	o.Resource = res
	o.Spec = nonNull(top["spec"])

	// Walk down to the pod spec; a missing level means no pod spec.
	cur := top
	for i, field := range k.podSpec {
		v := nonNull(cur[field])
		if v == nil {
			return o, nil
		}
		if i == len(k.podSpec)-1 {
			o.PodSpec = v
			break
		}
		cur = nil
		if err := json.Unmarshal(v, &cur); err != nil {
			return nil, fmt.Errorf("parse %s: %s: %w", what, strings.Join(k.podSpec[:i+1], "."), err)
		}
	}
	if err := o.parsePodSpec(k.podSpec); err != nil {
		return nil, fmt.Errorf("parse %s: %s: %w", what, o.PodSpecField, err)
	}
	return o, nil
}

// nonNull returns v, or nil when v is absent or JSON null.
func nonNull(v json.RawMessage) json.RawMessage {
	if len(v) == 0 || string(v) == "null" {
		return nil
	}
	return v
}

// podSpecFields are the fields of a pod spec that Object holds.
type podSpecFields struct {
	Containers          []containerFields `json:"containers"`
	InitContainers      []containerFields `json:"initContainers"`
	EphemeralContainers []containerFields `json:"ephemeralContainers"`
	ServiceAccountName  string            `json:"serviceAccountName"`
	ImagePullSecrets    []struct {
		Name string `json:"name"`
	} `json:"imagePullSecrets"`
}

type containerFields struct {
	Image string `json:"image"`
}

// parsePodSpec lists the pod spec's images and credentials.
func (o *Object) parsePodSpec(path []string) error {
	var ps podSpecFields
	if err := json.Unmarshal(o.PodSpec, &ps); err != nil {
		return err
	}
	o.setPodSpec(path, &ps)
	return nil
}

// setPodSpec sets the images and credentials of the pod spec at path.
func (o *Object) setPodSpec(path []string, ps *podSpecFields) {
	o.ServiceAccountName = ps.ServiceAccountName
	for _, s := range ps.ImagePullSecrets {
		o.ImagePullSecrets = append(o.ImagePullSecrets, s.Name)
	}
	field, pointer := strings.Join(path, "."), "/"+strings.Join(path, "/")
	add := func(list string, cs []containerFields) {
		for i, c := range cs {
			idx := strconv.Itoa(i)
			o.Images = append(o.Images, ContainerImage{
				Field:   field + "." + list + "[" + idx + "].image",
				Pointer: pointer + "/" + list + "/" + idx + "/image",
				Image:   c.Image,
			})
		}
	}
	if n := len(ps.Containers) + len(ps.InitContainers) + len(ps.EphemeralContainers); n > 0 {
		o.Images = make([]ContainerImage, 0, n)
	}
	add("containers", ps.Containers)
	add("initContainers", ps.InitContainers)
	add("ephemeralContainers", ps.EphemeralContainers)
}

// Request returns the Request for one of the object's images: its
// resource for spec.match, and its spec, metadata and type for policies
// that include them.
func (o *Object) Request(image string) Request {
	r := Request{Image: image, Resource: &o.Resource, TypeMeta: o.TypeMeta}
	if o.Spec != nil {
		r.Spec = o.Spec
	}
	if o.Metadata != nil {
		r.ObjectMeta = o.Metadata
	}
	return r
}
