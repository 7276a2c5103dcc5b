//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/signetproject/signet/admission"
)

// helmBin builds (or finds cached) helm v3 with scripts/helm-build.sh.
func helmBin(t *testing.T) string {
	t.Helper()
	paths, err := runBuildScript(filepath.Join("..", "scripts", "helm-build.sh"), "HELM")
	if err != nil {
		t.Fatal(err)
	}
	return paths["HELM"]
}

// helmRun runs helm and returns its standard output; a failure ends the
// test with helm's output.
func helmRun(t *testing.T, helm string, args ...string) string {
	t.Helper()
	out, err := helmTry(helm, args...)
	if err != nil {
		t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func helmTry(helm string, args ...string) (string, error) {
	cmd := exec.Command(helm, args...)
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+filepath.Join(env.workDir, "helm", "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(env.workDir, "helm", "config"), "HELM_DATA_HOME="+filepath.Join(env.workDir, "helm", "data"))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out) + stderr.String(), err
	}
	return string(out), nil
}

const chartDir = "../charts/signet"

// helmVariants are the chart's documented configurations, as --set
// arguments; each must lint, render and pass the API server's strict
// validation.
var helmVariants = map[string][]string{
	"default":        nil,
	"admission only": {"--set", "server.enabled=false", "--set-json", `admission.trustedRoot.json="{}"`},
	"server only, dev issuer": {"--set", "admission.enabled=false", "--set", "server.dev=true", "--set", "server.issuers=null",
		"--set", "server.publicURL=https://signet.example.com"},
	"scale-out on MySQL": {"--set", "server.storage.type=mysql", "--set", "server.replicas=3",
		"--set", "server.storage.mysqlURLSecret.name=signet-mysql", "--set", "server.keys.existingSecret=signet-keys"},
	"scale-out on MySQL and an object store": {"--set", "server.storage.type=mysql", "--set", "server.replicas=3",
		"--set", "server.storage.mysqlURLSecret.name=signet-mysql", "--set", "server.keys.existingSecret=signet-keys",
		"--set-string", "server.storage.objects.url=s3://signet-logs/prod?endpoint=http://minio.storage:9000&region=us-east-1",
		"--set", "server.storage.objects.credentialsSecret=signet-s3"},
	"no mutating webhook, warn": {"--set", "admission.mutate=false", "--set", "admission.noMatch=warn", "--set", "admission.replicas=1",
		"--set", "image.digest=sha256:" + strings.Repeat("ab", 32)},
}

// TestHelmChart checks charts/signet against helm and a real API server
// (no kubelet: objects are validated and stored, nothing runs): lint,
// every variant server-side applied as a dry run with strict field
// validation, bad values refused, deploy/ generated from the chart, and
// install, upgrade and uninstall leaving nothing behind.
func TestHelmChart(t *testing.T) {
	helm := helmBin(t)
	k := admissionK8sUp(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	t.Run("lint", func(t *testing.T) {
		for name, args := range helmVariants {
			out := helmRun(t, helm, append([]string{"lint", "--strict", chartDir}, args...)...)
			if !strings.Contains(out, "0 chart(s) failed") {
				t.Errorf("%s: helm lint:\n%s", name, out)
			}
		}
	})

	t.Run("variants pass strict server-side validation", func(t *testing.T) {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: helmNamespace}}
		if _, err := k.client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
		for name, args := range helmVariants {
			t.Run(name, func(t *testing.T) {
				rendered := helmRun(t, helm, append([]string{"template", "rel", chartDir, "--namespace", helmNamespace}, args...)...)
				objs := decodeYAMLObjects(t, rendered)
				if len(objs) == 0 {
					t.Fatal("rendered nothing")
				}
				// CRDs for real (later objects need them), the rest as a
				// dry run: the API server validates and defaults them as
				// for a real apply, strictly, and stores nothing.
				for _, u := range objs {
					applyObject(ctx, t, k, u, u.GetKind() != "CustomResourceDefinition")
				}
				checkRenderedPods(t, name, objs)
				if args := strings.Join(args, " "); strings.Contains(args, "objects.url=") &&
					(!strings.Contains(rendered, `"--log-objects=s3://signet-logs/prod?endpoint=http://minio.storage:9000&region=us-east-1"`) ||
						!strings.Contains(rendered, "secretRef:\n                name: signet-s3")) {
					t.Errorf("the server is not given the object store and its credentials:\n%s", rendered)
				}
				if out, ok := pssCatalogTest(t, objs); !ok {
					t.Errorf("a pod template breaks the catalog's Pod Security policies:\n%s", out)
				}
			})
		}
		// The same policies deny what the chart renders for in-cluster
		// tests with host networking (so they can fail).
		hostNet := helmRun(t, helm, "template", "rel", chartDir, "--namespace", helmNamespace, "--set", "admission.hostNetwork=true")
		if out, ok := pssCatalogTest(t, decodeYAMLObjects(t, hostNet)); ok || !strings.Contains(out, "pss-host-namespaces") {
			t.Errorf("admission.hostNetwork=true passed the catalog's Pod Security policies:\n%s", out)
		}
		// The CRDs go again, so that the install below owns them.
		crds := k.dyn.Resource(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"})
		for _, n := range []string{"clusterimagepolicies.policy.sigstore.dev", "trustroots.policy.sigstore.dev"} {
			if err := crds.Delete(ctx, n, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				t.Fatal(err)
			}
			for {
				if _, err := crds.Get(ctx, n, metav1.GetOptions{}); apierrors.IsNotFound(err) {
					break
				} else if ctx.Err() != nil {
					t.Fatalf("CRD %s not deleted: %v", n, err)
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
	})

	t.Run("bad values are refused", func(t *testing.T) {
		for _, tt := range []struct {
			args []string
			want string
		}{
			{[]string{"--set", "admission.noMatch=maybe"}, "noMatch"},
			{[]string{"--set", "server.replicas=2"}, "server.replicas > 1 needs server.storage.type=mysql"},
			{[]string{"--set", "server.storage.type=mysql"}, "needs server.storage.mysqlURLSecret.name"},
			{[]string{"--set", "server.issuers=null"}, "server.issuers is empty"},
			{[]string{"--set-string", "server.storage.objects.url=s3://b"}, "server.storage.objects.url needs server.storage.type=mysql"},
			{[]string{"--set", "server.storage.type=mysql", "--set", "server.storage.mysqlURLSecret.name=m",
				"--set-string", "server.storage.objects.url=https://s3.example.com/b"}, "/server/storage/objects/url"},
			{[]string{"--set", "server.storage.objects.credentialsSecret=s"}, "server.storage.objects.url is empty"},
			{[]string{"--set", "admission.timeoutSeconds=31"}, "timeoutSeconds"},
			{[]string{"--set", "image.digest=latest"}, "digest"},
			{[]string{"--set", "admission.bogus=1"}, "bogus"},
		} {
			out, err := helmTry(helm, append([]string{"template", "rel", chartDir}, tt.args...)...)
			if err == nil || !strings.Contains(out, tt.want) {
				t.Errorf("helm template %v: err %v, output lacks %q:\n%s", tt.args, err, tt.want, out)
			}
		}
	})

	t.Run("ServiceMonitor only with the Prometheus Operator", func(t *testing.T) {
		without := helmRun(t, helm, "template", "rel", chartDir)
		with := helmRun(t, helm, "template", "rel", chartDir, "--api-versions", "monitoring.coreos.com/v1/ServiceMonitor")
		if strings.Contains(without, "kind: ServiceMonitor") || !strings.Contains(with, "kind: ServiceMonitor") {
			t.Errorf("ServiceMonitor rendered without the CRD (%v) or missing with it (%v)",
				strings.Contains(without, "kind: ServiceMonitor"), strings.Contains(with, "kind: ServiceMonitor"))
		}
	})

	t.Run("deploy/ is the chart's output", func(t *testing.T) {
		cmd := exec.Command("bash", filepath.Join("..", "scripts", "deploy-render.sh"), "--check")
		cmd.Env = append(os.Environ(), "HELM="+helm)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("deploy-render.sh --check: %v\n%s", err, out)
		}
	})

	t.Run("install, upgrade, uninstall", func(t *testing.T) {
		const release = "e2e"
		base := []string{"--kubeconfig", k.kubeconfig, "--namespace", "signet-helm"}
		helmRun(t, helm, append([]string{"install", release, chartDir, "--create-namespace"}, base...)...)
		want := []string{
			"ConfigMap e2e-signet-server", "Deployment e2e-signet-server", "Deployment signet-admission",
			"MutatingWebhookConfiguration signet-admission", "PersistentVolumeClaim e2e-signet-server-data",
			"PodDisruptionBudget signet-admission", "Role e2e-signet-server-keys", "Role signet-admission-ca",
			"RoleBinding e2e-signet-server-keys", "RoleBinding signet-admission-ca", "Service e2e-signet-server",
			"Service signet-admission", "ServiceAccount e2e-signet-server", "ServiceAccount signet-admission",
			"ValidatingWebhookConfiguration signet-admission",
			"ClusterRole signet-admission", "ClusterRoleBinding signet-admission",
			"CustomResourceDefinition clusterimagepolicies.policy.sigstore.dev", "CustomResourceDefinition trustroots.policy.sigstore.dev",
		}
		slices.Sort(want)
		if got := releaseObjects(ctx, t, k, release); !slices.Equal(got, want) {
			t.Errorf("installed objects:\n%q\nwant\n%q", got, want)
		}
		admissionCheckServiceMode(ctx, t, k, "signet-helm", admission.DefaultServiceName, true)

		helmRun(t, helm, append([]string{"upgrade", release, chartDir, "--set", "admission.mutate=false", "--set", "admission.noMatch=warn"}, base...)...)
		got := releaseObjects(ctx, t, k, release)
		if slices.Contains(got, "MutatingWebhookConfiguration signet-admission") {
			t.Error("upgrade with admission.mutate=false kept the mutating webhook")
		}
		d, err := k.client.AppsV1().Deployments("signet-helm").Get(ctx, "signet-admission", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if args := strings.Join(d.Spec.Template.Spec.Containers[0].Args, " "); !strings.Contains(args, "--no-match=warn") || !strings.Contains(args, "--mutate=false") {
			t.Errorf("upgraded webhook args: %s", args)
		}

		// No --wait: without a controller manager here, the PVC keeps its
		// kubernetes.io/pvc-protection finalizer (TestHelmChartInCluster
		// waits, with controllers running).
		helmRun(t, helm, append([]string{"uninstall", release}, base...)...)
		if left := releaseObjects(ctx, t, k, release); len(left) > 0 {
			t.Errorf("helm uninstall left %q", left)
		}
	})
}

const helmNamespace = "signet-system"

// decodeYAMLObjects splits a multi-document YAML stream into objects.
func decodeYAMLObjects(t *testing.T, s string) []*unstructured.Unstructured {
	t.Helper()
	dec := k8syaml.NewYAMLOrJSONDecoder(strings.NewReader(s), 4096)
	var out []*unstructured.Unstructured
	for {
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			if err == io.EOF {
				return out
			}
			t.Fatalf("rendered YAML: %v", err)
		}
		if obj != nil {
			out = append(out, &unstructured.Unstructured{Object: obj})
		}
	}
}

// checkRenderedPods checks what the restricted Pod Security Standard asks
// of every pod template the chart renders.
func checkRenderedPods(t *testing.T, variant string, objs []*unstructured.Unstructured) {
	t.Helper()
	for _, u := range objs {
		if u.GetKind() != "Deployment" {
			continue
		}
		spec, _, _ := unstructured.NestedMap(u.Object, "spec", "template", "spec")
		if nonRoot, _, _ := unstructured.NestedBool(spec, "securityContext", "runAsNonRoot"); !nonRoot {
			t.Errorf("%s: %s: pod may run as root", variant, u.GetName())
		}
		if p, _, _ := unstructured.NestedString(spec, "securityContext", "seccompProfile", "type"); p != "RuntimeDefault" {
			t.Errorf("%s: %s: seccomp %q", variant, u.GetName(), p)
		}
		for _, field := range []string{"containers", "initContainers"} {
			cs, _, _ := unstructured.NestedSlice(spec, field)
			for _, c := range cs {
				m := c.(map[string]any)
				if esc, found, _ := unstructured.NestedBool(m, "securityContext", "allowPrivilegeEscalation"); !found || esc {
					t.Errorf("%s: %s/%s allows privilege escalation", variant, u.GetName(), m["name"])
				}
				if drop, _, _ := unstructured.NestedStringSlice(m, "securityContext", "capabilities", "drop"); !slices.Equal(drop, []string{"ALL"}) {
					t.Errorf("%s: %s/%s drops %v, want ALL", variant, u.GetName(), m["name"], drop)
				}
				if ro, _, _ := unstructured.NestedBool(m, "securityContext", "readOnlyRootFilesystem"); !ro {
					t.Errorf("%s: %s/%s has a writable root filesystem", variant, u.GetName(), m["name"])
				}
			}
		}
	}
}

// pssCatalogTest decides each rendered Deployment with every Pod Security
// Standards policy of signet's own catalog (group workloads, mode
// enforce) as the admission webhook would (`signet policy test
// --resource`), and says whether all passed, with the output.
func pssCatalogTest(t *testing.T, objs []*unstructured.Unstructured) (string, bool) {
	t.Helper()
	dir := t.TempDir()
	list, err := exec.Command(env.signetBin, "policy", "catalog", "list").Output()
	if err != nil {
		t.Fatalf("signet policy catalog list: %v", err)
	}
	var names []string
	for line := range strings.Lines(string(list)) {
		if f := strings.Fields(line); len(f) > 1 && f[1] == "workloads" {
			names = append(names, f[0])
		}
	}
	if len(names) < 10 {
		t.Fatalf("catalog lists %d workload policies:\n%s", len(names), list)
	}
	pss := filepath.Join(dir, "pss.yaml")
	if out, err := exec.Command(env.signetBin, append([]string{"policy", "catalog", "get", "--set", "mode=enforce", "--out", pss}, names...)...).CombinedOutput(); err != nil {
		t.Fatalf("signet policy catalog get: %v\n%s", err, out)
	}
	var all strings.Builder
	ok, n := true, 0
	for _, u := range objs {
		if u.GetKind() != "Deployment" {
			continue
		}
		n++
		raw, err := u.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		res := writeFile(t, dir, u.GetName()+".json", raw)
		out, err := exec.Command(env.signetBin, "policy", "test", "--policy", pss, "--resource", res).CombinedOutput()
		fmt.Fprintf(&all, "%s:\n%s", u.GetName(), out)
		if err != nil {
			ok = false
		}
	}
	if n == 0 {
		t.Fatal("no Deployment rendered")
	}
	return all.String(), ok
}

// releaseObjects lists "Kind name" of every object labelled as part of
// the release (or, for the fixed-name webhook objects, of signet) and not
// being deleted, sorted.
func releaseObjects(ctx context.Context, t *testing.T, k *admissionCluster, release string) []string {
	t.Helper()
	resources := []schema.GroupVersionResource{
		{Version: "v1", Resource: "configmaps"}, {Version: "v1", Resource: "secrets"}, {Version: "v1", Resource: "services"},
		{Version: "v1", Resource: "serviceaccounts"}, {Version: "v1", Resource: "persistentvolumeclaims"},
		{Group: "apps", Version: "v1", Resource: "deployments"}, {Group: "batch", Version: "v1", Resource: "jobs"},
		{Group: "policy", Version: "v1", Resource: "poddisruptionbudgets"},
		{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "roles"}, {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "rolebindings"},
		{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"}, {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterrolebindings"},
		{Group: "admissionregistration.k8s.io", Version: "v1", Resource: "validatingwebhookconfigurations"},
		{Group: "admissionregistration.k8s.io", Version: "v1", Resource: "mutatingwebhookconfigurations"},
		{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"},
	}
	var out []string
	for _, gvr := range resources {
		for _, sel := range []string{"app.kubernetes.io/instance=" + release, "app.kubernetes.io/part-of=signet"} {
			list, err := k.dyn.Resource(gvr).List(ctx, metav1.ListOptions{LabelSelector: sel})
			if err != nil {
				t.Fatalf("list %s: %v", gvr.Resource, err)
			}
			for _, u := range list.Items {
				if u.GetDeletionTimestamp() != nil {
					continue // deleted, waiting for its finalizers
				}
				s := u.GetKind() + " " + u.GetName()
				if s == "" || slices.Contains(out, s) {
					continue
				}
				out = append(out, s)
			}
		}
	}
	slices.Sort(out)
	return out
}

// applyObject server-side applies u with strict field validation, as a
// dry run when dryRun is set; CRDs are waited for until established.
func applyObject(ctx context.Context, t *testing.T, k *admissionCluster, u *unstructured.Unstructured, dryRun bool) {
	t.Helper()
	if err := applyUnstructured(ctx, k, u, dryRun); err != nil {
		t.Fatal(err)
	}
	if u.GetKind() == "CustomResourceDefinition" && !dryRun {
		admissionWaitEstablished(ctx, t, k, u.GetName())
	}
}
