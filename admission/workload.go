package admission

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/signetproject/signet/policy"
)

// ContainerImage is one image reference found in an object.
type ContainerImage = policy.ContainerImage

// Workload is what the webhooks need of an admitted object: the object as
// policies see it (policy.Object, which `signet policy test --resource`
// decodes alike) and its typed pod spec, for imagePullSecrets and the
// service account.
type Workload struct {
	*policy.Object
	// PodSpec holds what the webhooks read of the pod (template) spec:
	// its service account and imagePullSecrets; nil when the object has
	// no pod spec.
	PodSpec *corev1.PodSpec
}

// IsWorkloadKind reports whether objects of this group, version and kind
// have images the webhooks check.
func IsWorkloadKind(group, version, kind string) bool {
	return policy.IsObjectKind(group, version, kind)
}

// ParseWorkload decodes an object of a workload kind (see IsWorkloadKind)
// and lists its images. It fails for other kinds and for objects that do
// not decode.
func ParseWorkload(group, version, kind string, raw []byte) (*Workload, error) {
	obj, err := policy.DecodeObject(group, version, kind, raw)
	if err != nil {
		return nil, err
	}
	w := &Workload{Object: obj}
	if obj.PodSpec != nil {
		// DecodeObject read the two fields; decoding the whole typed
		// PodSpec again cost a fifth of a warm admission.
		ps := &corev1.PodSpec{ServiceAccountName: obj.ServiceAccountName}
		for _, n := range obj.ImagePullSecrets {
			ps.ImagePullSecrets = append(ps.ImagePullSecrets, corev1.LocalObjectReference{Name: n})
		}
		w.PodSpec = ps
	}
	return w, nil
}
