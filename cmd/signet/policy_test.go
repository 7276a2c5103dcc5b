package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// policyTestReport is the part of `signet policy test --output json` the
// tests read.
type policyTestReport struct {
	Allowed  bool `json:"allowed"`
	Resource *struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Name       string `json:"name"`
		Namespace  string `json:"namespace"`
	} `json:"resource"`
	Images []struct {
		Image    string   `json:"image"`
		Field    string   `json:"field"`
		Digest   string   `json:"digest"`
		Allowed  bool     `json:"allowed"`
		NoMatch  bool     `json:"noMatch"`
		Errors   []string `json:"errors"`
		Warnings []string `json:"warnings"`
		Policies []struct {
			Name   string `json:"name"`
			Mode   string `json:"mode"`
			Passed bool   `json:"passed"`
		} `json:"policies"`
	} `json:"images"`
}

// TestPolicyTestResource decides a Deployment's images as the webhook
// would, with policies that see its spec, metadata and type and one whose
// match clause is for Pods only. Every matching authority is static, so
// nothing is looked up: the registries and the server do not exist.
func TestPolicyTestResource(t *testing.T) {
	bin := buildSignet(t)
	args := []string{"policy", "test", "--policy", "testdata/resource-policies.yaml", "--resource", "testdata/deployment.yaml", "--server", "http://127.0.0.1:1"}
	out, err := runStdout(t, bin, append(args, "--output", "json")...)
	if err == nil {
		t.Fatalf("succeeded, want a denial:\n%s", out)
	}
	var rep policyTestReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("output is not one JSON document: %v\n%s", err, out)
	}
	const (
		rego = "failed evaluating rego policy for type ClusterImagePolicy: policy is not compliant for query 'isCompliant = data.sigstore.isCompliant' with errors: hostNetwork is not allowed"
		cue  = "failed evaluating cue policy for ClusterImagePolicy: failed to evaluate the policy with error: spec.replicas: invalid value 3 (out of bound <=2)"
	)
	if rep.Allowed || rep.Resource == nil || rep.Resource.Kind != "Deployment" || rep.Resource.Name != "web" || rep.Resource.Namespace != "shop" {
		t.Errorf("report %+v", rep)
	}
	type verdict struct {
		Image, Field     string
		Allowed          bool
		Errors, Warnings []string
		Policies         []string
	}
	var got []verdict
	for _, i := range rep.Images {
		v := verdict{Image: i.Image, Field: i.Field, Allowed: i.Allowed, Errors: i.Errors, Warnings: i.Warnings}
		for _, p := range i.Policies {
			v.Policies = append(v.Policies, p.Name+"/"+p.Mode)
		}
		if i.Digest != "" {
			t.Errorf("%s was looked up (%s); static authorities need no registry", i.Image, i.Digest)
		}
		got = append(got, v)
	}
	app, sidecar := "registry.invalid/app:1", "other.invalid/sidecar:2"
	want := []verdict{
		{app, "spec.template.spec.containers[0].image", false,
			[]string{"failed policy: max-replicas: " + app + " " + cue},
			[]string{"failed policy: no-host-network: " + app + " " + rego},
			[]string{"max-replicas/enforce", "no-host-network/warn"}},
		{sidecar, "spec.template.spec.containers[1].image", true,
			[]string{},
			[]string{"failed policy: no-host-network: " + sidecar + " " + rego},
			[]string{"no-host-network/warn"}},
		{app, "spec.template.spec.initContainers[0].image", false,
			[]string{"failed policy: max-replicas: " + app + " " + cue},
			[]string{"failed policy: no-host-network: " + app + " " + rego},
			[]string{"max-replicas/enforce", "no-host-network/warn"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("images (-want +got):\n%s", diff)
	}

	// The same in text, with the fields.
	out, err = runStdout(t, bin, args...)
	if err == nil {
		t.Fatal("text mode succeeded")
	}
	for _, w := range []string{"DENIED registry.invalid/app:1 (spec.template.spec.containers[0].image)", "ALLOWED other.invalid/sidecar:2 (spec.template.spec.containers[1].image)",
		"  warning: failed policy: no-host-network: other.invalid/sidecar:2 " + rego} {
		if !strings.Contains(out, w) {
			t.Errorf("text output lacks %q:\n%s", w, out)
		}
	}

	// A compliant object is allowed; as a Pod, the pods-only policy applies.
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 2\n  template: {spec: {containers: [{image: registry.invalid/app:1}]}}\n")
	if out, err := runStdout(t, bin, "policy", "test", "--policy", "testdata/resource-policies.yaml", "--resource", good, "--server", "http://127.0.0.1:1"); err != nil {
		t.Errorf("compliant deployment: %v\n%s", err, out)
	}
	pod := write("pod.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{image: other.invalid/x:1}]}\n")
	out, err = runStdout(t, bin, "policy", "test", "--policy", "testdata/resource-policies.yaml", "--resource", pod, "--server", "http://127.0.0.1:1", "--output", "json")
	if err == nil {
		t.Fatalf("pod allowed:\n%s", out)
	}
	rep = policyTestReport{}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Images) != 1 || !cmp.Equal(rep.Images[0].Errors, []string{"failed policy: pods-only: other.invalid/x:1 disallowed by static policy: no pods"}) {
		t.Errorf("pod report %+v", rep.Images)
	}

	// A key authority needs the registry: the tag is looked up, and an
	// unknown registry is an error for that image, not a crash.
	keyed := write("keyed.yaml", "apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\nmetadata: {name: keyed}\nspec:\n  images: [{glob: '**'}]\n  authorities: [{key: {kms: 'gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k'}}]\n")
	out, err = runStdout(t, bin, "policy", "test", "--policy", keyed, "--resource", pod, "--server", "http://127.0.0.1:1", "--output", "json")
	if err == nil || !strings.Contains(out, `"resolve other.invalid/x:1: `) {
		t.Errorf("keyed policy: %v\n%s", err, out)
	}
}

// TestPolicyTestErrors checks the command's refusals: each names what is
// wrong, and a policy file that does not load names the file, line and
// field.
func TestPolicyTestErrors(t *testing.T) {
	bin := buildSignet(t)
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bad := write("bad.yaml", "apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\nmetadata: {name: bad}\nspec:\n  images: [{glob: '**'}]\n  authorities:\n  - key: {data: not-a-key}\n")
	unknown := write("unknown.yaml", "apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\nmetadata: {name: u}\nspec:\n  images: [{glob: '**'}]\n  authorities:\n  - statik: {action: pass}\n")
	svc := write("svc.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n")
	good := "testdata/resource-policies.yaml"
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"invalid field", []string{"--policy", bad, "x"}, bad + `:7: ClusterImagePolicy "bad": invalid value: not-a-key: spec.authorities[0].key.data`},
		{"unknown field", []string{"--policy", unknown, "x"}, unknown + `:7: ClusterImagePolicy "u": spec.authorities[0].statik: unknown field`},
		{"no policy", []string{"x"}, "give at least one --policy FILE"},
		{"no images", []string{"--policy", good}, "give IMAGE arguments or --resource FILE"},
		{"images and resource", []string{"--policy", good, "--resource", svc, "x"}, "not both"},
		{"unsupported kind", []string{"--policy", good, "--resource", svc}, svc + ": parse resource: v1 Service is not a kind with pod templates"},
		{"bad output", []string{"--policy", good, "--output", "yaml", "x"}, `--output "yaml": want text or json`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, err := run(t, nil, bin, append([]string{"policy", "test"}, tt.args...)...)
			if err == nil || !strings.Contains(out, tt.want) {
				t.Errorf("error %v, output %q, want it to contain %q", err, out, tt.want)
			}
		})
	}
}

// runStdout runs the binary and returns its standard output alone.
func runStdout(t *testing.T, bin string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil && stderr.Len() > 0 {
		t.Logf("stderr: %s", stderr.String())
	}
	return stdout.String(), err
}

// TestPolicyCatalog lists, shows and gets catalog policies with the real
// binary, and tests what `get` writes against a Deployment: the workflow
// the README describes.
func TestPolicyCatalog(t *testing.T) {
	bin := buildSignet(t)
	dir := t.TempDir()
	out, err := runStdout(t, bin, "policy", "catalog", "list")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"NAME  ", "pss-privileged  ", "workloads", "github-actions-keyless", "max-image-age", "vuln-scan", "sbom-log4shell", "kubernetes-release"} {
		if !strings.Contains(out, want) {
			t.Errorf("list lacks %q:\n%s", want, out)
		}
	}
	if out, err = runStdout(t, bin, "policy", "catalog", "list", "--group", "images"); err != nil || strings.Contains(out, "pss-") || !strings.Contains(out, "deprecated-registries") {
		t.Errorf("list --group images: %v\n%s", err, out)
	}
	out, err = runStdout(t, bin, "policy", "catalog", "show", "key-signed")
	if err != nil || !strings.Contains(out, "key     (required)         the PEM public key") || !strings.Contains(out, "(give --set key=… to see the YAML)") {
		t.Errorf("show key-signed: %v\n%s", err, out)
	}

	policies := filepath.Join(dir, "pss.yaml")
	if out, err := run(t, nil, bin, "policy", "catalog", "get", "pss-privileged", "pss-host-namespaces", "--set", "mode=enforce", "--out", policies); err != nil {
		t.Fatalf("get: %v\n%s", err, out)
	}
	deploy := filepath.Join(dir, "deploy.yaml")
	if err := os.WriteFile(deploy, []byte("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n      hostNetwork: true\n      containers: [{name: web, image: registry.invalid/web:1, securityContext: {privileged: true}}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = runStdout(t, bin, "policy", "test", "--policy", policies, "--resource", deploy, "--server", "http://127.0.0.1:1", "--output", "json")
	if err == nil {
		t.Fatalf("privileged deployment allowed:\n%s", out)
	}
	var rep policyTestReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"failed policy: pss-host-namespaces: registry.invalid/web:1 failed evaluating cue policy for ClusterImagePolicy: failed to evaluate the policy with error: spec.template.spec.hostNetwork: conflicting values true and false",
		"failed policy: pss-privileged: registry.invalid/web:1 failed evaluating cue policy for ClusterImagePolicy: failed to evaluate the policy with error: spec.template.spec.containers.0.securityContext.privileged: conflicting values false and true",
	}
	if len(rep.Images) != 1 || !cmp.Equal(rep.Images[0].Errors, want) {
		t.Errorf("report %+v, want errors %q", rep.Images, want)
	}

	key := filepath.Join(dir, "cosign.pub")
	if out, err := run(t, []string{"COSIGN_PASSWORD="}, bin, "generate-key-pair", "--output-key-prefix", filepath.Join(dir, "cosign")); err != nil {
		t.Fatalf("generate-key-pair: %v\n%s", err, out)
	}
	out, err = runStdout(t, bin, "policy", "catalog", "get", "key-signed", "--set", "key=@"+key, "--set", "images=ghcr.io/my-org/**")
	if err != nil || !strings.Contains(out, "-----BEGIN PUBLIC KEY-----") || !strings.Contains(out, `- glob: "ghcr.io/my-org/**"`) {
		t.Errorf("get key-signed: %v\n%s", err, out)
	}

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"get", "nope"}, `no catalog policy "nope"`},
		{[]string{"get", "key-signed"}, "catalog policy key-signed needs --set key=…"},
		{[]string{"get", "pss-privileged", "--set", "colour=blue"}, `--set colour: none of pss-privileged has a parameter "colour"`},
		{[]string{"get", "pss-privileged", "--set", "mode"}, `--set "mode": want NAME=VALUE`},
		{[]string{"get", "key-signed", "--set", "key=@" + filepath.Join(dir, "missing.pub")}, "no such file"},
		{[]string{"get", "max-image-age", "--set", "days=-1"}, `want a non-negative whole number, got "-1"`},
		{[]string{"list", "--group", "misc"}, `--group "misc": want one of signatures, attestations, workloads, images`},
	} {
		out, err := run(t, nil, bin, append([]string{"policy", "catalog"}, tt.args...)...)
		if err == nil || !strings.Contains(out, tt.want) {
			t.Errorf("%v: %v, output %q, want %q", tt.args, err, out, tt.want)
		}
	}
}
