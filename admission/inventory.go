package admission

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"

	"github.com/signetproject/signet/internal/kube"
	"github.com/signetproject/signet/policy"
	"github.com/signetproject/signet/report"
)

// ImageResolver pins an image reference written in a pod spec to a
// digest, for containers whose status has no imageID yet.
type ImageResolver func(ctx context.Context, namespace, image string) (name.Digest, error)

// PodTargets turns pods into report targets, one per container (init,
// regular and ephemeral): the image digest is the container status's
// imageID, which the kubelet reports for what it pulled; containers
// without one (not started yet) have their spec reference resolved with
// resolve, once per namespace and reference. Pods that have terminated
// (Succeeded, Failed) run nothing and are skipped. Each target's Context
// is its pod. Errors name the pod and container that could not be pinned.
func PodTargets(ctx context.Context, pods []*corev1.Pod, owners *Owners, resolve ImageResolver) ([]report.Target, []error) {
	var out []report.Target
	var errs []error
	resolved := map[string]name.Digest{}
	for _, pod := range pods {
		if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
			continue
		}
		owner := ""
		if owners != nil {
			owner = owners.Top(ctx, pod.Namespace, metav1.GetControllerOf(pod))
		}
		ids := map[string]string{}
		for _, list := range [][]corev1.ContainerStatus{pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses, pod.Status.EphemeralContainerStatuses} {
			for _, s := range list {
				ids[s.Name] = s.ImageID
			}
		}
		var containers []corev1.Container
		containers = append(containers, pod.Spec.InitContainers...)
		containers = append(containers, pod.Spec.Containers...)
		for _, e := range pod.Spec.EphemeralContainers {
			containers = append(containers, corev1.Container(e.EphemeralContainerCommon))
		}
		for _, c := range containers {
			d, ok := ImageIDDigest(ids[c.Name])
			if !ok {
				key := pod.Namespace + "\x00" + c.Image
				if d, ok = resolved[key]; !ok {
					var err error
					if d, err = resolve(ctx, pod.Namespace, c.Image); err != nil {
						errs = append(errs, fmt.Errorf("pod %s/%s container %s: image %s: %w", pod.Namespace, pod.Name, c.Name, c.Image, err))
						continue
					}
					resolved[key] = d
				}
			}
			out = append(out, report.Target{Image: d, Reference: c.Image, Context: pod,
				Pod: &report.Pod{Namespace: pod.Namespace, Name: pod.Name, Container: c.Name, Owner: owner}})
		}
	}
	return out, errs
}

// ImageIDDigest reads a container status's imageID as a digest reference:
// containerd reports "registry/repo@sha256:…", Docker-based runtimes
// "docker-pullable://registry/repo@sha256:…". A bare "sha256:…" (an image
// ID, not a registry digest) is not one.
func ImageIDDigest(imageID string) (name.Digest, bool) {
	id := strings.TrimPrefix(strings.TrimPrefix(imageID, "docker-pullable://"), "docker://")
	if !strings.Contains(id, "@sha256:") {
		return name.Digest{}, false
	}
	d, err := name.NewDigest(id)
	if err != nil {
		return name.Digest{}, false
	}
	return d, true
}

// PodResource is what spec.match sees of a pod.
func PodResource(pod *corev1.Pod) policy.Resource {
	return policy.Resource{Version: "v1", Resource: "pods", Labels: pod.Labels}
}

// Owners finds the workload that owns a pod: the Deployment of its
// ReplicaSet, the CronJob of its Job, else its controller, asking the
// API server once per ReplicaSet or Job. It is safe for concurrent use.
type Owners struct {
	dyn dynamic.Interface

	mu    sync.Mutex
	cache map[string]string
}

// NewOwners returns an owner finder that reads through dyn.
func NewOwners(dyn dynamic.Interface) *Owners {
	return &Owners{dyn: dyn, cache: map[string]string{}}
}

// Top returns "Kind/name" of the workload at the top of ref's owner
// chain (at most two levels), or "" when ref is nil.
func (o *Owners) Top(ctx context.Context, namespace string, ref *metav1.OwnerReference) string {
	if ref == nil {
		return ""
	}
	self := ref.Kind + "/" + ref.Name
	if ref.Kind != "ReplicaSet" && ref.Kind != "Job" {
		return self
	}
	key := namespace + "/" + self
	o.mu.Lock()
	top, ok := o.cache[key]
	o.mu.Unlock()
	if ok {
		return top
	}
	var meta *metav1.ObjectMeta
	switch ref.Kind {
	case "ReplicaSet":
		if rs, err := kube.Get[appsv1.ReplicaSet](ctx, o.dyn, kube.ReplicaSets, namespace, ref.Name); err == nil {
			meta = &rs.ObjectMeta
		}
	case "Job":
		if j, err := kube.Get[batchv1.Job](ctx, o.dyn, kube.Jobs, namespace, ref.Name); err == nil {
			meta = &j.ObjectMeta
		}
	}
	top = self
	if meta != nil {
		if up := metav1.GetControllerOf(meta); up != nil {
			top = up.Kind + "/" + up.Name
		}
	}
	o.mu.Lock()
	o.cache[key] = top
	o.mu.Unlock()
	return top
}

// apiRefs reads the Secrets and ConfigMaps policies reference from the
// API server (RefReader), for one-off engine builds such as `signet
// report`; the webhook reads them from its informers.
type apiRefs struct{ dyn dynamic.Interface }

func (r apiRefs) Secret(ctx context.Context, namespace, name string) (*corev1.Secret, error) {
	return kube.Get[corev1.Secret](ctx, r.dyn, kube.Secrets, namespace, name)
}

func (r apiRefs) ConfigMap(ctx context.Context, namespace, name string) (*corev1.ConfigMap, error) {
	return kube.Get[corev1.ConfigMap](ctx, r.dyn, kube.ConfigMaps, namespace, name)
}

// ClusterEngine builds, once, the policy engine the webhook would build
// from the cluster's ClusterImagePolicies and TrustRoots now, with the
// Secrets and ConfigMaps they reference read from systemNamespace.
func ClusterEngine(ctx context.Context, dyn dynamic.Interface, systemNamespace string, checkers CheckerFactory, opts policy.Options) (*policy.Engine, error) {
	list := func(gvr fmt.Stringer, items func() ([][]byte, error)) ([][]byte, error) {
		raws, err := items()
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", gvr, err)
		}
		return raws, nil
	}
	read := func(res dynamic.NamespaceableResourceInterface) func() ([][]byte, error) {
		return func() ([][]byte, error) {
			l, err := res.List(ctx, metav1.ListOptions{})
			if err != nil {
				return nil, err
			}
			var out [][]byte
			for _, u := range l.Items {
				raw, err := json.Marshal(u.Object)
				if err != nil {
					return nil, err
				}
				out = append(out, raw)
			}
			return out, nil
		}
	}
	cips, err := list(ClusterImagePolicyResource, read(dyn.Resource(ClusterImagePolicyResource)))
	if err != nil {
		return nil, err
	}
	trs, err := list(TrustRootResource, read(dyn.Resource(TrustRootResource)))
	if err != nil {
		return nil, err
	}
	if systemNamespace == "" {
		systemNamespace = DefaultNamespace
	}
	built, err := BuildEngine(ctx, apiRefs{dyn}, EngineSpec{Policies: cips, TrustRoots: trs, SystemNamespace: systemNamespace,
		Checkers: checkers, Options: opts})
	if err != nil {
		return nil, err
	}
	return built.Engine, nil
}
