package policy

import (
	"strings"
	"testing"
)

func TestResourceForKind(t *testing.T) {
	tests := []struct {
		apiVersion, kind string
		want             Resource
		wantErr          bool
	}{
		{apiVersion: "v1", kind: "Pod", want: Resource{Version: "v1", Resource: "pods"}},
		{apiVersion: "apps/v1", kind: "Deployment", want: Resource{Group: "apps", Version: "v1", Resource: "deployments"}},
		{apiVersion: "apps/v1", kind: "ReplicaSet", want: Resource{Group: "apps", Version: "v1", Resource: "replicasets"}},
		{apiVersion: "batch/v1", kind: "CronJob", want: Resource{Group: "batch", Version: "v1", Resource: "cronjobs"}},
		{apiVersion: "v1", kind: "Endpoints", want: Resource{Version: "v1", Resource: "endpoints"}},
		{apiVersion: "v1", kind: "Ingress", want: Resource{Version: "v1", Resource: "ingresses"}},
		{apiVersion: "x/v1", kind: "Policy", want: Resource{Group: "x", Version: "v1", Resource: "policies"}},
		{apiVersion: "a/b/c", kind: "Pod", wantErr: true},
		{apiVersion: "/v1", kind: "Pod", want: Resource{Version: "v1", Resource: "pods"}},
	}
	for _, tc := range tests {
		got, err := ResourceForKind(tc.apiVersion, tc.kind, nil)
		if (err != nil) != tc.wantErr {
			t.Errorf("ResourceForKind(%q, %q) error = %v, want error %t", tc.apiVersion, tc.kind, err, tc.wantErr)
			continue
		}
		if got.Group != tc.want.Group || got.Version != tc.want.Version || got.Resource != tc.want.Resource {
			t.Errorf("ResourceForKind(%q, %q) = %+v, want %+v", tc.apiVersion, tc.kind, got, tc.want)
		}
	}
}

func TestMatchesResource(t *testing.T) {
	pods := MatchResource{Resource: "pods", Version: "v1"}
	anyVersionDeploys := MatchResource{Group: "apps", Version: "*", Resource: "deployments"}
	labelled := MatchResource{Resource: "pods", Version: "v1", Selector: &LabelSelector{MatchLabels: map[string]string{"match": "match"}}}
	expr := func(op string, values ...string) MatchResource {
		return MatchResource{Resource: "pods", Version: "v1", Selector: &LabelSelector{
			MatchExpressions: []LabelSelectorRequirement{{Key: "tier", Operator: op, Values: values}},
		}}
	}
	pod := func(labels map[string]string) Resource {
		return Resource{Version: "v1", Resource: "pods", Labels: labels}
	}
	tests := []struct {
		name    string
		match   []MatchResource
		res     Resource
		want    bool
		wantErr string
	}{
		{name: "no match clause", res: pod(nil), want: true},
		{name: "pods", match: []MatchResource{pods}, res: pod(nil), want: true},
		{name: "pods v2", match: []MatchResource{pods}, res: Resource{Version: "v2", Resource: "pods"}},
		{name: "deployment not pods", match: []MatchResource{pods}, res: Resource{Group: "apps", Version: "v1", Resource: "deployments"}},
		{name: "any version", match: []MatchResource{pods, anyVersionDeploys}, res: Resource{Group: "apps", Version: "v1beta2", Resource: "deployments"}, want: true},
		{name: "group differs", match: []MatchResource{anyVersionDeploys}, res: Resource{Group: "extensions", Version: "v1", Resource: "deployments"}},
		{name: "labels match", match: []MatchResource{labelled}, res: pod(map[string]string{"match": "match", "x": "y"}), want: true},
		{name: "labels differ", match: []MatchResource{labelled}, res: pod(map[string]string{"match": "no"})},
		{name: "labels absent", match: []MatchResource{labelled}, res: pod(nil)},
		{name: "In", match: []MatchResource{expr(OpIn, "prod", "stage")}, res: pod(map[string]string{"tier": "stage"}), want: true},
		{name: "In absent", match: []MatchResource{expr(OpIn, "prod")}, res: pod(nil)},
		{name: "NotIn absent", match: []MatchResource{expr(OpNotIn, "prod")}, res: pod(nil), want: true},
		{name: "NotIn present", match: []MatchResource{expr(OpNotIn, "prod")}, res: pod(map[string]string{"tier": "prod"})},
		{name: "Exists", match: []MatchResource{expr(OpExists)}, res: pod(map[string]string{"tier": ""}), want: true},
		{name: "DoesNotExist", match: []MatchResource{expr(OpDoesNotExist)}, res: pod(map[string]string{"tier": ""})},
		{name: "empty selector", match: []MatchResource{{Resource: "pods", Version: "v1", Selector: &LabelSelector{}}}, res: pod(nil), want: true},
		{name: "bad operator", match: []MatchResource{expr("Near", "x")}, res: pod(nil), wantErr: `"Near" is not a valid label selector operator`},
		{name: "In without values", match: []MatchResource{expr(OpIn)}, res: pod(nil), wantErr: "values set can't be empty"},
		{name: "Exists with values", match: []MatchResource{expr(OpExists, "x")}, res: pod(nil), wantErr: "values set must be empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := ClusterImagePolicy{Metadata: ObjectMeta{Name: "p"}, Spec: ClusterImagePolicySpec{Match: tc.match}}
			got, err := c.MatchesResource(tc.res)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("MatchesResource error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("MatchesResource = %t, %v; want %t", got, err, tc.want)
			}
		})
	}
}

func TestMatchesImage(t *testing.T) {
	c := ClusterImagePolicy{Spec: ClusterImagePolicySpec{Images: []ImagePattern{{Glob: "ghcr.io/a/*"}, {Glob: "index.docker.io/library/**"}}}}
	for image, want := range map[string]bool{
		"ghcr.io/a/b:v1":   true,
		"ghcr.io/a/b/c:v1": false,
		"busybox":          true,
		"quay.io/x/y":      false,
	} {
		got, err := c.MatchesImage(image)
		if err != nil || got != want {
			t.Errorf("MatchesImage(%q) = %t, %v; want %t", image, got, err, want)
		}
	}
	if _, err := c.MatchesImage("UPPER/case"); err == nil {
		t.Error("MatchesImage of an invalid reference: no error")
	}
}
