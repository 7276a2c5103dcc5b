package policy

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseObject(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		want     []ContainerImage
		resource Resource
		sa       string
		secrets  []string
		deleting bool
	}{
		{
			name: "pod",
			in: `apiVersion: v1
kind: Pod
metadata: {name: p, namespace: ns, labels: {app: web}}
spec:
  serviceAccountName: builder
  imagePullSecrets: [{name: regcred}]
  containers: [{name: a, image: "registry.example/a:1"}, {name: b, image: b}]
  initContainers: [{name: i, image: init}]
  ephemeralContainers: [{name: e, image: debug}]
`,
			want: []ContainerImage{
				{Field: "spec.containers[0].image", Pointer: "/spec/containers/0/image", Image: "registry.example/a:1"},
				{Field: "spec.containers[1].image", Pointer: "/spec/containers/1/image", Image: "b"},
				{Field: "spec.initContainers[0].image", Pointer: "/spec/initContainers/0/image", Image: "init"},
				{Field: "spec.ephemeralContainers[0].image", Pointer: "/spec/ephemeralContainers/0/image", Image: "debug"},
			},
			resource: Resource{Version: "v1", Resource: "pods", Labels: map[string]string{"app": "web"}},
			sa:       "builder", secrets: []string{"regcred"},
		},
		{
			name:     "deployment",
			in:       `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},"spec":{"replicas":2,"template":{"spec":{"containers":[{"image":"x"}]}}}}`,
			want:     []ContainerImage{{Field: "spec.template.spec.containers[0].image", Pointer: "/spec/template/spec/containers/0/image", Image: "x"}},
			resource: Resource{Group: "apps", Version: "v1", Resource: "deployments"},
		},
		{
			name: "replicaset", in: "apiVersion: apps/v1\nkind: ReplicaSet\nspec: {template: {spec: {containers: [{image: x}]}}}\n",
			want:     []ContainerImage{{Field: "spec.template.spec.containers[0].image", Pointer: "/spec/template/spec/containers/0/image", Image: "x"}},
			resource: Resource{Group: "apps", Version: "v1", Resource: "replicasets"},
		},
		{
			name: "statefulset", in: "apiVersion: apps/v1\nkind: StatefulSet\nspec: {template: {spec: {containers: [{image: x}]}}}\n",
			want:     []ContainerImage{{Field: "spec.template.spec.containers[0].image", Pointer: "/spec/template/spec/containers/0/image", Image: "x"}},
			resource: Resource{Group: "apps", Version: "v1", Resource: "statefulsets"},
		},
		{
			name: "daemonset", in: "apiVersion: apps/v1\nkind: DaemonSet\nspec: {template: {spec: {containers: [{image: x}]}}}\n",
			want:     []ContainerImage{{Field: "spec.template.spec.containers[0].image", Pointer: "/spec/template/spec/containers/0/image", Image: "x"}},
			resource: Resource{Group: "apps", Version: "v1", Resource: "daemonsets"},
		},
		{
			name: "job", in: "apiVersion: batch/v1\nkind: Job\nspec: {template: {spec: {containers: [{image: x}]}}}\n",
			want:     []ContainerImage{{Field: "spec.template.spec.containers[0].image", Pointer: "/spec/template/spec/containers/0/image", Image: "x"}},
			resource: Resource{Group: "batch", Version: "v1", Resource: "jobs"},
		},
		{
			name: "cronjob",
			in:   "apiVersion: batch/v1\nkind: CronJob\nspec:\n  schedule: '* * * * *'\n  jobTemplate: {spec: {template: {spec: {containers: [{image: x}]}}}}\n",
			want: []ContainerImage{{Field: "spec.jobTemplate.spec.template.spec.containers[0].image",
				Pointer: "/spec/jobTemplate/spec/template/spec/containers/0/image", Image: "x"}},
			resource: Resource{Group: "batch", Version: "v1", Resource: "cronjobs"},
		},
		{
			name: "replicationcontroller", in: "apiVersion: v1\nkind: ReplicationController\nspec: {template: {spec: {containers: [{image: x}]}}}\n",
			want:     []ContainerImage{{Field: "spec.template.spec.containers[0].image", Pointer: "/spec/template/spec/containers/0/image", Image: "x"}},
			resource: Resource{Version: "v1", Resource: "replicationcontrollers"},
		},
		{
			name:     "replicationcontroller without template",
			in:       "apiVersion: v1\nkind: ReplicationController\nspec: {replicas: 1}\n",
			resource: Resource{Version: "v1", Resource: "replicationcontrollers"},
		},
		{
			name:     "knative service",
			in:       "apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: {name: hello}\nspec:\n  template:\n    spec:\n      containerConcurrency: 10\n      containers: [{image: ghcr.io/knative/helloworld-go}]\n",
			want:     []ContainerImage{{Field: "spec.template.spec.containers[0].image", Pointer: "/spec/template/spec/containers/0/image", Image: "ghcr.io/knative/helloworld-go"}},
			resource: Resource{Group: "serving.knative.dev", Version: "v1", Resource: "services"},
		},
		{
			name:     "being deleted",
			in:       "apiVersion: v1\nkind: Pod\nmetadata: {deletionTimestamp: '2024-01-01T00:00:00Z'}\nspec: {containers: [{image: x}]}\n",
			want:     []ContainerImage{{Field: "spec.containers[0].image", Pointer: "/spec/containers/0/image", Image: "x"}},
			resource: Resource{Version: "v1", Resource: "pods"},
			deleting: true,
		},
		{
			name:     "leading separator and comments",
			in:       "# a pod\n---\napiVersion: v1\nkind: Pod\nspec: {containers: [{image: x}]}\n",
			want:     []ContainerImage{{Field: "spec.containers[0].image", Pointer: "/spec/containers/0/image", Image: "x"}},
			resource: Resource{Version: "v1", Resource: "pods"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := ParseObject([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, o.Images); diff != "" {
				t.Errorf("images (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.resource, o.Resource); diff != "" {
				t.Errorf("resource (-want +got):\n%s", diff)
			}
			if o.ServiceAccountName != tt.sa || !cmp.Equal(o.ImagePullSecrets, tt.secrets) {
				t.Errorf("credentials %q %q, want %q %q", o.ServiceAccountName, o.ImagePullSecrets, tt.sa, tt.secrets)
			}
			if o.Deleting != tt.deleting {
				t.Errorf("deleting %v", o.Deleting)
			}
		})
	}
}

// TestObjectRequest checks what policies with includeSpec,
// includeObjectMeta and includeTypeMeta see: the object's spec and
// metadata as written, and its apiVersion and kind.
func TestObjectRequest(t *testing.T) {
	o, err := ParseObject([]byte("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  annotations: {team: blue}\nspec:\n  replicas: 3\n  template:\n    spec:\n      hostNetwork: true\n      containers: [{image: x}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	req := o.Request("x")
	in, err := json.Marshal(PolicyInput{Spec: req.Spec, ObjectMeta: req.ObjectMeta, TypeMeta: req.TypeMeta})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"spec":{"replicas":3,"template":{"spec":{"containers":[{"image":"x"}],"hostNetwork":true}}},"metadata":{"annotations":{"team":"blue"},"name":"web"},"typemeta":{"apiVersion":"apps/v1","kind":"Deployment"}}`
	if string(in) != want {
		t.Errorf("policy input\n got %s\nwant %s", in, want)
	}
	if req.Resource == nil || req.Resource.Resource != "deployments" {
		t.Errorf("resource %+v", req.Resource)
	}
	// Without spec and metadata, the input has neither.
	o, err = ParseObject([]byte("apiVersion: v1\nkind: ReplicationController\n"))
	if err != nil {
		t.Fatal(err)
	}
	req = o.Request("x")
	if req.Spec != nil || req.ObjectMeta != nil {
		t.Errorf("spec %v metadata %v, want nil", req.Spec, req.ObjectMeta)
	}
}

func TestParseObjectErrors(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"empty", "", "no object"},
		{"two documents", "apiVersion: v1\nkind: Pod\n---\napiVersion: v1\nkind: Pod\n", "more than one document"},
		{"not an object", "- a\n", "not an object"},
		{"no kind", "apiVersion: v1\n", "missing apiVersion or kind"},
		{"unknown kind", "apiVersion: v1\nkind: Service\n", "v1 Service is not a kind with pod templates; want one of v1 Pod, v1 ReplicationController, apps/v1 Deployment"},
		{"wrong version", "apiVersion: apps/v1beta1\nkind: Deployment\n", "apps/v1beta1 Deployment is not a kind"},
		{"bad metadata", "apiVersion: v1\nkind: Pod\nmetadata: {labels: {a: [1]}}\n", "metadata: json: cannot unmarshal"},
		{"bad template", "apiVersion: apps/v1\nkind: Deployment\nspec: {template: [1]}\n", "spec.template: json: cannot unmarshal"},
		{"bad containers", "apiVersion: v1\nkind: Pod\nspec: {containers: {image: x}}\n", "parse v1 Pod: spec: json: cannot unmarshal object"},
		{"image not a string", "apiVersion: v1\nkind: Pod\nspec: {containers: [{image: 3}]}\n", "cannot unmarshal number"},
		{"alias", "apiVersion: v1\nkind: Pod\nmetadata: &m {name: a}\nspec: {x: *m}\n", "aliases are not supported"},
		{"duplicate key", "apiVersion: v1\nkind: Pod\nkind: Pod\n", `duplicate key "kind"`},
		{"bad yaml", "apiVersion: v1\nkind: [\n", "parse resource: yaml"},
		{"too big", strings.Repeat(" ", maxDocumentBytes+1), "limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseObject([]byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// FuzzParseObject feeds arbitrary resource files to the decoder: it must
// never panic, and what it decodes must decode again, from its JSON, to the
// same images, resource and credentials (and the spec and metadata
// policies see must be JSON).
func FuzzParseObject(f *testing.F) {
	f.Add([]byte("apiVersion: v1\nkind: Pod\nmetadata: {name: p, labels: {a: b}}\nspec: {containers: [{image: x}], initContainers: [{image: y}]}\n"))
	f.Add([]byte(`{"apiVersion":"batch/v1","kind":"CronJob","spec":{"jobTemplate":{"spec":{"template":{"spec":{"containers":[{"image":"x"}],"imagePullSecrets":[{"name":"s"}]}}}}}}`))
	f.Add([]byte("apiVersion: serving.knative.dev/v1\nkind: Service\nspec: {template: {spec: {containers: [{image: x}]}}}\n"))
	f.Add([]byte("apiVersion: v1\nkind: ReplicationController\nspec: {template: null}\n"))
	f.Add([]byte("apiVersion: apps/v1\nkind: Deployment\nmetadata: {deletionTimestamp: 2024-01-01}\nspec: {template: {spec: {ephemeralContainers: [{image: 1.5}]}}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		o, err := ParseObject(data)
		if err != nil {
			return
		}
		for _, raw := range []json.RawMessage{o.Spec, o.Metadata, o.PodSpec} {
			if raw != nil && !json.Valid(raw) {
				t.Fatalf("invalid JSON %q", raw)
			}
		}
		// Rebuild the object as JSON and decode it again.
		top := map[string]json.RawMessage{}
		if o.Metadata != nil {
			top["metadata"] = o.Metadata
		}
		if o.Spec != nil {
			top["spec"] = o.Spec
		}
		raw, err := json.Marshal(top)
		if err != nil {
			t.Fatal(err)
		}
		group, version, ok := strings.Cut(o.TypeMeta.APIVersion, "/")
		if !ok {
			group, version = "", o.TypeMeta.APIVersion
		}
		o2, err := DecodeObject(group, version, o.TypeMeta.Kind, raw)
		if err != nil {
			t.Fatalf("re-decode of %s: %v", raw, err)
		}
		if diff := cmp.Diff(o, o2); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
		for _, c := range o.Images {
			if !strings.HasPrefix(c.Field, o.PodSpecField+".") || !strings.HasPrefix(c.Pointer, "/"+strings.ReplaceAll(o.PodSpecField, ".", "/")+"/") {
				t.Fatalf("image field %q / %q outside the pod spec %q", c.Field, c.Pointer, o.PodSpecField)
			}
		}
	})
}

func TestEngineNeedsRegistry(t *testing.T) {
	docs, _, err := Load([]byte(`apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata: {name: static}
spec:
  images: [{glob: "**"}]
  authorities: [{static: {action: pass}}]
---
apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata: {name: keyed}
spec:
  images: [{glob: "registry.example/signed/**"}]
  authorities:
  - static: {action: pass}
  - key: {kms: "gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k"}
---
apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata: {name: config}
spec:
  images: [{glob: "registry.example/config/**"}]
  authorities: [{static: {action: pass}}]
  policy: {type: cue, data: "config: _", fetchConfigFile: true}
---
apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata: {name: jobs-only}
spec:
  images: [{glob: "registry.example/jobs/**"}]
  authorities: [{key: {kms: "gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k"}}]
  match: [{group: batch, version: v1, resource: jobs}]
`), ValidateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewEngine(docs.Policies, nopChecker{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	pod := &Resource{Version: "v1", Resource: "pods"}
	job := &Resource{Group: "batch", Version: "v1", Resource: "jobs"}
	for _, tt := range []struct {
		req  Request
		want bool
	}{
		{Request{Image: "registry.example/app:1"}, false},
		{Request{Image: "registry.example/signed/app:1"}, true},
		{Request{Image: "registry.example/config/app:1"}, true},
		{Request{Image: "registry.example/jobs/app:1", Resource: pod}, false},
		{Request{Image: "registry.example/jobs/app:1", Resource: job}, true},
	} {
		if got := e.NeedsRegistry(tt.req); got != tt.want {
			t.Errorf("NeedsRegistry(%s, %v) = %v, want %v", tt.req.Image, tt.req.Resource, got, tt.want)
		}
	}
}

type nopChecker struct{}

func (nopChecker) VerifySignatures(context.Context, string, *Authority, RegistryCredentials) ([]Signature, error) {
	return nil, errors.New("no registry")
}

func (nopChecker) VerifyAttestations(context.Context, string, *Authority, RegistryCredentials) ([]VerifiedAttestation, error) {
	return nil, errors.New("no registry")
}
