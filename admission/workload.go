package admission

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/signetproject/signet/policy"
)

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

// Workload is what the webhooks need of an admitted object: its pod
// template, the images in it, and what spec.match and CIP-level policies
// see of it.
type Workload struct {
	// Resource is the object's resource and labels, for spec.match.
	Resource policy.Resource
	// PodSpec is the pod (template) spec, for imagePullSecrets and the
	// service account.
	PodSpec *corev1.PodSpec
	// Images are the images of containers, initContainers and
	// ephemeralContainers, in that order.
	Images []ContainerImage
	// Spec, ObjectMeta and TypeMeta are the object's, for policies with
	// includeSpec, includeObjectMeta and includeTypeMeta.
	Spec, ObjectMeta, TypeMeta any
}

// workloadKind says where a kind keeps its pod spec.
type workloadKind struct {
	group, version, kind string
	// podSpecPath is the field path of the pod spec.
	podSpecPath []string
	// decode decodes the object and returns its metadata, spec and pod spec.
	decode func(raw []byte) (metav1.ObjectMeta, any, *corev1.PodSpec, error)
}

// decodeAs returns a workloadKind decoder for type T.
func decodeAs[T any](meta func(*T) metav1.ObjectMeta, spec func(*T) (any, *corev1.PodSpec)) func([]byte) (metav1.ObjectMeta, any, *corev1.PodSpec, error) {
	return func(raw []byte) (metav1.ObjectMeta, any, *corev1.PodSpec, error) {
		var obj T
		if err := json.Unmarshal(raw, &obj); err != nil {
			return metav1.ObjectMeta{}, nil, nil, err
		}
		s, ps := spec(&obj)
		return meta(&obj), s, ps, nil
	}
}

// workloadKinds are the kinds the webhooks check: Pods and every built-in
// controller that makes Pods from a template.
var workloadKinds = []workloadKind{
	{"", "v1", "Pod", []string{"spec"}, decodeAs(
		func(o *corev1.Pod) metav1.ObjectMeta { return o.ObjectMeta },
		func(o *corev1.Pod) (any, *corev1.PodSpec) { return o.Spec, &o.Spec })},
	{"", "v1", "ReplicationController", []string{"spec", "template", "spec"}, decodeAs(
		func(o *corev1.ReplicationController) metav1.ObjectMeta { return o.ObjectMeta },
		func(o *corev1.ReplicationController) (any, *corev1.PodSpec) {
			if o.Spec.Template == nil {
				return o.Spec, nil
			}
			return o.Spec, &o.Spec.Template.Spec
		})},
	{"apps", "v1", "Deployment", []string{"spec", "template", "spec"}, decodeAs(
		func(o *appsv1.Deployment) metav1.ObjectMeta { return o.ObjectMeta },
		func(o *appsv1.Deployment) (any, *corev1.PodSpec) { return o.Spec, &o.Spec.Template.Spec })},
	{"apps", "v1", "ReplicaSet", []string{"spec", "template", "spec"}, decodeAs(
		func(o *appsv1.ReplicaSet) metav1.ObjectMeta { return o.ObjectMeta },
		func(o *appsv1.ReplicaSet) (any, *corev1.PodSpec) { return o.Spec, &o.Spec.Template.Spec })},
	{"apps", "v1", "StatefulSet", []string{"spec", "template", "spec"}, decodeAs(
		func(o *appsv1.StatefulSet) metav1.ObjectMeta { return o.ObjectMeta },
		func(o *appsv1.StatefulSet) (any, *corev1.PodSpec) { return o.Spec, &o.Spec.Template.Spec })},
	{"apps", "v1", "DaemonSet", []string{"spec", "template", "spec"}, decodeAs(
		func(o *appsv1.DaemonSet) metav1.ObjectMeta { return o.ObjectMeta },
		func(o *appsv1.DaemonSet) (any, *corev1.PodSpec) { return o.Spec, &o.Spec.Template.Spec })},
	{"batch", "v1", "Job", []string{"spec", "template", "spec"}, decodeAs(
		func(o *batchv1.Job) metav1.ObjectMeta { return o.ObjectMeta },
		func(o *batchv1.Job) (any, *corev1.PodSpec) { return o.Spec, &o.Spec.Template.Spec })},
	{"batch", "v1", "CronJob", []string{"spec", "jobTemplate", "spec", "template", "spec"}, decodeAs(
		func(o *batchv1.CronJob) metav1.ObjectMeta { return o.ObjectMeta },
		func(o *batchv1.CronJob) (any, *corev1.PodSpec) { return o.Spec, &o.Spec.JobTemplate.Spec.Template.Spec })},
}

// lookupKind returns the workload kind for a group, version and kind.
func lookupKind(group, version, kind string) (*workloadKind, bool) {
	for i := range workloadKinds {
		k := &workloadKinds[i]
		if k.group == group && k.version == version && k.kind == kind {
			return k, true
		}
	}
	return nil, false
}

// IsWorkloadKind reports whether objects of this group, version and kind
// have images the webhooks check.
func IsWorkloadKind(group, version, kind string) bool {
	_, ok := lookupKind(group, version, kind)
	return ok
}

// ParseWorkload decodes an object of a workload kind (see IsWorkloadKind)
// and lists its images. It fails for other kinds and for objects that do
// not decode.
func ParseWorkload(group, version, kind string, raw []byte) (*Workload, error) {
	k, ok := lookupKind(group, version, kind)
	if !ok {
		return nil, fmt.Errorf("parse workload: %s is not a kind with pod templates", gvkString(group, version, kind))
	}
	meta, spec, ps, err := k.decode(raw)
	if err != nil {
		return nil, fmt.Errorf("parse workload %s: %w", gvkString(group, version, kind), err)
	}
	apiVersion := version
	if group != "" {
		apiVersion = group + "/" + version
	}
	res, err := policy.ResourceForKind(apiVersion, kind, meta.Labels)
	if err != nil {
		return nil, fmt.Errorf("parse workload: %w", err)
	}
	w := &Workload{
		Resource:   res,
		PodSpec:    ps,
		Spec:       spec,
		ObjectMeta: meta,
		TypeMeta:   metav1.TypeMeta{APIVersion: apiVersion, Kind: kind},
	}
	if ps == nil {
		return w, nil
	}
	add := func(list string, i int, image string) {
		field := append(append([]string{}, k.podSpecPath...), list+"["+strconv.Itoa(i)+"]", "image")
		ptr := append(append([]string{}, k.podSpecPath...), list, strconv.Itoa(i), "image")
		w.Images = append(w.Images, ContainerImage{
			Field:   strings.Join(field, "."),
			Pointer: "/" + strings.Join(ptr, "/"),
			Image:   image,
		})
	}
	for i, c := range ps.Containers {
		add("containers", i, c.Image)
	}
	for i, c := range ps.InitContainers {
		add("initContainers", i, c.Image)
	}
	for i, c := range ps.EphemeralContainers {
		add("ephemeralContainers", i, c.Image)
	}
	return w, nil
}

func gvkString(group, version, kind string) string {
	if group == "" {
		return version + "/" + kind
	}
	return group + "/" + version + "/" + kind
}
