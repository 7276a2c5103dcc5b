package admission

import (
	"encoding/json"
	"fmt"

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
	// PodSpec is the pod (template) spec; nil when the object has none.
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
		var ps corev1.PodSpec
		if err := json.Unmarshal(obj.PodSpec, &ps); err != nil {
			return nil, fmt.Errorf("parse %s %s: %s: %w", obj.TypeMeta.APIVersion, kind, obj.PodSpecField, err)
		}
		w.PodSpec = &ps
	}
	return w, nil
}
