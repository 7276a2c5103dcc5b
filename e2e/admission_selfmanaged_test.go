//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/signetproject/signet/admission"
	"github.com/signetproject/signet/internal/freeport"
	"github.com/signetproject/signet/internal/registrytest"
)

// admissionBin is the signet binary the admission tests run:
// $SIGNET_E2E_ADMISSION_BIN when set, else the one TestMain builds.
func admissionBin() string {
	if b := os.Getenv("SIGNET_E2E_ADMISSION_BIN"); b != "" {
		return b
	}
	return env.signetBin
}

// TestAdmissionSelfManagedCerts installs the webhook configurations in URL
// mode without a caBundle and lets `signet admission serve
// --patch-ca-bundle` create its serving certificate and patch its CA in:
// the real API server must then call the webhook over TLS, also after a
// restart on the same certificate directory and after one on an empty
// directory (a new CA).
func TestAdmissionSelfManagedCerts(t *testing.T) {
	bin := admissionBin()
	k := admissionK8sUp(t)
	work := t.TempDir()
	certDir := filepath.Join(work, "webhook-certs")
	addr := fmt.Sprintf("127.0.0.1:%d", freeport.Get(t))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	t.Run("patch without configurations fails", func(t *testing.T) {
		cmd := exec.CommandContext(ctx, bin, "admission", "serve", "--kubeconfig", k.kubeconfig, "--addr", "127.0.0.1:0",
			"--cert-dir", filepath.Join(work, "unused-certs"), "--patch-ca-bundle")
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Fatalf("serve --patch-ca-bundle with no webhook configuration succeeded:\n%s", out)
		}
		for _, want := range []string{"patch caBundle", `"signet-admission" not found`} {
			if !strings.Contains(string(out), want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	})

	// `signet admission install --webhook-url` insists on --ca-bundle-from,
	// so the configurations without a caBundle come from the library.
	if err := admission.Install(ctx, k.disc, k.dyn, admission.InstallConfig{URL: "https://" + addr + admission.ValidatePath}, nil); err != nil {
		t.Fatal(err)
	}
	if b := admissionCABundles(ctx, t, k); len(b.validate) != 0 || len(b.mutate) != 0 {
		t.Fatalf("installed with caBundles %q, %q; want none", b.validate, b.mutate)
	}

	cips := k.dyn.Resource(schema.GroupVersionResource{Group: "policy.sigstore.dev", Version: "v1beta1", Resource: "clusterimagepolicies"})
	for name, spec := range map[string]string{
		"deny-evil": `{"images":[{"glob":"**evil**"}],"authorities":[{"static":{"action":"fail","message":"evil images are banned"}}]}`,
		"allow-all": `{"images":[{"glob":"**"}],"authorities":[{"static":{"action":"pass"}}]}`,
	} {
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON([]byte(`{"apiVersion":"policy.sigstore.dev/v1beta1","kind":"ClusterImagePolicy","metadata":{"name":"` + name + `"},"spec":` + spec + `}`)); err != nil {
			t.Fatal(err)
		}
		if _, err := cips.Create(ctx, u, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create ClusterImagePolicy %s: %v", name, err)
		}
	}
	const ns = "selfmanaged"
	if _, err := k.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{admission.IncludeLabel: "true"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	// A tagged image in a registry on 127.0.0.1: the mutating webhook pins
	// it, which shows the API server called /mutate over TLS too.
	tagged, digestRef := registrytest.PushRandom(t, registrytest.Start(t), "good/app")
	_, imgDigest, _ := strings.Cut(digestRef, "@")

	digest := "@sha256:" + strings.Repeat("1", 64)
	evil, good := "registry.example/evil/app"+digest, "registry.example/good/app"+digest
	pod := func(name, image string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: image}}}}
	}
	// checked proves the API server calls the webhook: the evil pod is
	// denied by the static policy, the good one admitted and the tagged
	// one admitted with its tag pinned to the digest.
	checked := func(t *testing.T, wh *admissionWebhook, round string) {
		t.Helper()
		// The API server sees a changed caBundle asynchronously: poll with
		// a dry run until the policy's denial comes back over TLS.
		var last error
		for start, n := time.Now(), 1; ; n++ {
			_, last = k.client.CoreV1().Pods(ns).Create(ctx, pod("probe", evil), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			if last != nil && strings.Contains(last.Error(), "failed policy: deny-evil") {
				t.Logf("%s: the webhook's denial came back on probe %d", round, n)
				break
			}
			if time.Since(start) > 30*time.Second {
				t.Fatalf("the API server never got the webhook's denial; last: %v\nwebhook log:\n%s", last, wh.log.String())
			}
			time.Sleep(200 * time.Millisecond)
		}
		_, err := k.client.CoreV1().Pods(ns).Create(ctx, pod("evil-"+round, evil), metav1.CreateOptions{})
		if err == nil || !strings.Contains(err.Error(), `admission webhook "validate.policy.signet.dev" denied the request`) ||
			!strings.Contains(err.Error(), "evil images are banned") {
			t.Errorf("evil pod: %v", err)
		}
		if _, err := k.client.CoreV1().Pods(ns).Create(ctx, pod("good-"+round, good), metav1.CreateOptions{}); err != nil {
			t.Errorf("good pod: %v", err)
		}
		p, err := k.client.CoreV1().Pods(ns).Create(ctx, pod("tagged-"+round, tagged), metav1.CreateOptions{})
		if err != nil {
			t.Errorf("tagged pod: %v", err)
		} else if got, want := p.Spec.Containers[0].Image, tagged+"@"+imgDigest; got != want {
			t.Errorf("tagged pod stored with image %q, want %q (mutating webhook not called?)", got, want)
		}
	}
	// caOf reads the CA the webhook wrote into its certificate directory
	// and checks that the configurations carry exactly it.
	caOf := func(t *testing.T) ([]byte, admissionBundles) {
		t.Helper()
		ca, err := os.ReadFile(filepath.Join(certDir, admission.CACertFile))
		if err != nil {
			t.Fatal(err)
		}
		b := admissionCABundles(ctx, t, k)
		if !bytes.Equal(b.validate, ca) || !bytes.Equal(b.mutate, ca) {
			t.Errorf("caBundles differ from %s:\nvalidating: %s\nmutating: %s\nca.crt: %s", admission.CACertFile, b.validate, b.mutate, ca)
		}
		admissionCheckServingCert(t, certDir, ca, "127.0.0.1")
		return ca, b
	}
	serve := func(t *testing.T) *admissionWebhook {
		t.Helper()
		return admissionStartWebhook(t, bin, k.kubeconfig, addr, certDir, "--patch-ca-bundle", "--mutate")
	}

	wh := serve(t)
	ca1, b1 := caOf(t)
	checked(t, wh, "first")
	if err := wh.stop(); err != nil {
		t.Fatalf("stop webhook: %v\n%s", err, wh.log.String())
	}
	servingCert, err := os.ReadFile(filepath.Join(certDir, admission.TLSCertFile))
	if err != nil {
		t.Fatal(err)
	}

	t.Run("restart on the same certificate directory", func(t *testing.T) {
		wh := serve(t)
		ca, b := caOf(t)
		if !bytes.Equal(ca, ca1) {
			t.Errorf("restart made a new CA")
		}
		if c, err := os.ReadFile(filepath.Join(certDir, admission.TLSCertFile)); err != nil || !bytes.Equal(c, servingCert) {
			t.Errorf("restart replaced the serving certificate (%v)", err)
		}
		// Nothing changed in the configurations (the API server does not
		// bump the resourceVersion of a no-op update).
		if b.validateRV != b1.validateRV || b.mutateRV != b1.mutateRV {
			t.Errorf("webhook configurations changed: resourceVersions %s/%s, were %s/%s", b.validateRV, b.mutateRV, b1.validateRV, b1.mutateRV)
		}
		checked(t, wh, "same")
		if err := wh.stop(); err != nil {
			t.Errorf("stop webhook: %v\n%s", err, wh.log.String())
		}
	})

	t.Run("restart on an empty certificate directory", func(t *testing.T) {
		if err := os.RemoveAll(certDir); err != nil {
			t.Fatal(err)
		}
		wh := serve(t)
		ca, b := caOf(t)
		if bytes.Equal(ca, ca1) {
			t.Fatal("a new certificate directory kept the old CA")
		}
		if b.validateRV == b1.validateRV || b.mutateRV == b1.mutateRV {
			t.Errorf("new CA not written: resourceVersions %s/%s unchanged", b.validateRV, b.mutateRV)
		}
		checked(t, wh, "new")
		if err := wh.stop(); err != nil {
			t.Errorf("stop webhook: %v\n%s", err, wh.log.String())
		}
	})
}

// admissionBundles are the caBundles and resourceVersions of the
// Validating- and MutatingWebhookConfiguration signet-admission.
type admissionBundles struct {
	validate, mutate     []byte
	validateRV, mutateRV string
}

func admissionCABundles(ctx context.Context, t *testing.T, k *admissionCluster) admissionBundles {
	t.Helper()
	v, err := k.client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, admission.WebhookConfigurationName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := k.client.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, admission.WebhookConfigurationName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Webhooks) != 1 || len(m.Webhooks) != 1 {
		t.Fatalf("webhooks: %d validating, %d mutating; want 1 each", len(v.Webhooks), len(m.Webhooks))
	}
	return admissionBundles{
		validate: v.Webhooks[0].ClientConfig.CABundle, mutate: m.Webhooks[0].ClientConfig.CABundle,
		validateRV: v.ResourceVersion, mutateRV: m.ResourceVersion,
	}
}

// admissionCheckServingCert checks that the serving certificate in
// certDir chains to caPEM and names dnsName, the host the API server
// dials.
func admissionCheckServingCert(t *testing.T, certDir string, caPEM []byte, dnsName string) {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatalf("%s holds no certificate", admission.CACertFile)
	}
	raw, err := os.ReadFile(filepath.Join(certDir, admission.TLSCertFile))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(raw)
	if block == nil {
		t.Fatalf("%s holds no PEM block", admission.TLSCertFile)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, DNSName: dnsName, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		t.Errorf("serving certificate in %s: %v", certDir, err)
	}
}

// TestAdmissionServiceMode applies the shipped deploy/ manifests to the
// real API server (no kubelet: the objects are checked, nothing runs),
// then `signet admission install` in service mode, and runs `signet
// admission serve` as the installed service account to show its RBAC is
// enough to load the policies and patch the caBundle.
func TestAdmissionServiceMode(t *testing.T) {
	bin := admissionBin()
	k := admissionK8sUp(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// deploy/ is the Helm chart's output (scripts/deploy-render.sh).
	admissionObjects := []string{
		"Namespace signet-system",
		"CustomResourceDefinition clusterimagepolicies.policy.sigstore.dev", "CustomResourceDefinition trustroots.policy.sigstore.dev",
		"ServiceAccount signet-admission", "ClusterRole signet-admission", "ClusterRoleBinding signet-admission",
		"Role signet-admission-ca", "RoleBinding signet-admission-ca", "Service signet-admission", "Deployment signet-admission",
		"PodDisruptionBudget signet-admission", "ValidatingWebhookConfiguration signet-admission", "MutatingWebhookConfiguration signet-admission",
	}
	for file, want := range map[string][]string{
		"admission.yaml": admissionObjects,
		"signet.yaml": append(slices.Clone(admissionObjects), "ConfigMap signet-server", "ServiceAccount signet-server",
			"Role signet-server-keys", "RoleBinding signet-server-keys", "PersistentVolumeClaim signet-server-data",
			"Service signet-server", "Deployment signet-server"),
	} {
		t.Run("apply deploy/"+file, func(t *testing.T) {
			applied := admissionApplyFile(ctx, t, k, filepath.Join("..", "deploy", file))
			slices.Sort(applied)
			slices.Sort(want)
			if !slices.Equal(applied, want) {
				t.Errorf("applied %q\nwant %q", applied, want)
			}
			admissionCheckServiceMode(ctx, t, k, admission.DefaultNamespace, admission.DefaultServiceName, true)
		})
	}

	t.Run("CRDs serve policies", func(t *testing.T) {
		for _, gvr := range []schema.GroupVersionResource{
			{Group: "policy.sigstore.dev", Version: "v1alpha1", Resource: "clusterimagepolicies"},
			{Group: "policy.sigstore.dev", Version: "v1beta1", Resource: "clusterimagepolicies"},
		} {
			u := &unstructured.Unstructured{}
			if err := u.UnmarshalJSON([]byte(`{"apiVersion":"` + gvr.GroupVersion().String() + `","kind":"ClusterImagePolicy","metadata":{"name":"p-` + gvr.Version + `"},"spec":{"images":[{"glob":"**"}],"authorities":[{"static":{"action":"pass"}}]}}`)); err != nil {
				t.Fatal(err)
			}
			if _, err := k.dyn.Resource(gvr).Create(ctx, u, metav1.CreateOptions{}); err != nil {
				t.Errorf("create %s ClusterImagePolicy: %v", gvr.Version, err)
			}
		}
		tr := &unstructured.Unstructured{}
		if err := tr.UnmarshalJSON([]byte(`{"apiVersion":"policy.sigstore.dev/v1alpha1","kind":"TrustRoot","metadata":{"name":"tr"},"spec":{"remote":{"mirror":"https://tuf.example","root":"e30="}}}`)); err != nil {
			t.Fatal(err)
		}
		if _, err := k.dyn.Resource(admission.TrustRootResource).Create(ctx, tr, metav1.CreateOptions{}); err != nil {
			t.Errorf("create TrustRoot: %v", err)
		}
	})

	t.Run("service account may do what serve needs", func(t *testing.T) {
		user := "system:serviceaccount:" + admission.DefaultNamespace + ":" + admission.DefaultServiceName
		for _, tt := range []struct {
			attrs authorizationv1.ResourceAttributes
			want  bool
		}{
			{authorizationv1.ResourceAttributes{Group: "policy.sigstore.dev", Resource: "clusterimagepolicies", Verb: "watch"}, true},
			{authorizationv1.ResourceAttributes{Group: "policy.sigstore.dev", Resource: "trustroots", Verb: "list"}, true},
			{authorizationv1.ResourceAttributes{Resource: "secrets", Namespace: "team-a", Verb: "get"}, true},
			{authorizationv1.ResourceAttributes{Resource: "namespaces", Verb: "watch"}, true},
			{authorizationv1.ResourceAttributes{Group: "admissionregistration.k8s.io", Resource: "validatingwebhookconfigurations", Name: admission.WebhookConfigurationName, Verb: "update"}, true},
			{authorizationv1.ResourceAttributes{Group: "admissionregistration.k8s.io", Resource: "mutatingwebhookconfigurations", Name: admission.WebhookConfigurationName, Verb: "update"}, true},
			{authorizationv1.ResourceAttributes{Group: "admissionregistration.k8s.io", Resource: "validatingwebhookconfigurations", Name: "someone-else", Verb: "update"}, false},
			{authorizationv1.ResourceAttributes{Resource: "secrets", Namespace: "team-a", Verb: "create"}, false},
			// The first replica stores the shared webhook CA.
			{authorizationv1.ResourceAttributes{Resource: "secrets", Namespace: admission.DefaultNamespace, Verb: "create"}, true},
			{authorizationv1.ResourceAttributes{Resource: "pods", Namespace: "team-a", Verb: "delete"}, false},
		} {
			sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{User: user, ResourceAttributes: &tt.attrs}}
			got, err := k.client.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got.Status.Allowed != tt.want {
				t.Errorf("%s %+v: allowed %v, want %v (%s)", user, tt.attrs, got.Status.Allowed, tt.want, got.Status.Reason)
			}
		}
	})

	// Service mode with the CLI, under other names: the configurations
	// are re-pointed at the new Service.
	const namespace, service = "signet-e2e", "webhook-e2e"
	t.Run("install in service mode", func(t *testing.T) {
		out, err := exec.CommandContext(ctx, bin, "admission", "install", "--kubeconfig", k.kubeconfig, "--mutate",
			"--namespace", namespace, "--service", service, "--timeout-seconds", "3").CombinedOutput()
		if err != nil {
			t.Fatalf("signet admission install: %v\n%s", err, out)
		}
		for _, want := range []string{"applied Namespace " + namespace, "applied ServiceAccount " + service, "applied ClusterRoleBinding signet-admission",
			"applied Service " + service, "applied ValidatingWebhookConfiguration signet-admission", "applied MutatingWebhookConfiguration signet-admission"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("install output lacks %q:\n%s", want, out)
			}
		}
		admissionCheckServiceMode(ctx, t, k, namespace, service, true)

		// The API server now calls the Service for pods in labelled
		// namespaces (nothing answers there, and it fails closed).
		if _, err := k.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "svc-checked", Labels: map[string]string{admission.IncludeLabel: "true"}}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		want := `failed calling webhook "mutate.policy.signet.dev": failed to call webhook: Post "https://` + service + "." + namespace + `.svc:443/mutate`
		var last error
		for start := time.Now(); ; time.Sleep(200 * time.Millisecond) {
			p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "registry.example/app@sha256:" + strings.Repeat("1", 64)}}}}
			_, last = k.client.CoreV1().Pods("svc-checked").Create(ctx, p, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			if last != nil && strings.Contains(last.Error(), want) {
				break
			}
			if time.Since(start) > 30*time.Second {
				t.Fatalf("the API server never called the Service; last: %v\nwant %q", last, want)
			}
		}
	})

	t.Run("serve as the service account patches the caBundle", func(t *testing.T) {
		tok, err := k.client.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, service,
			&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: new(int64(600))}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		kubeconfig := admissionTokenKubeconfig(t, k.kubeconfig, tok.Status.Token)
		certDir := filepath.Join(t.TempDir(), "certs")
		addr := fmt.Sprintf("127.0.0.1:%d", freeport.Get(t))
		wh := admissionStartWebhook(t, bin, kubeconfig, addr, certDir, "--patch-ca-bundle", "--mutate", "--namespace", namespace)
		ca, err := os.ReadFile(filepath.Join(certDir, admission.CACertFile))
		if err != nil {
			t.Fatal(err)
		}
		if b := admissionCABundles(ctx, t, k); !bytes.Equal(b.validate, ca) || !bytes.Equal(b.mutate, ca) {
			t.Errorf("caBundles not patched to %s:\nvalidating: %s\nmutating: %s", admission.CACertFile, b.validate, b.mutate)
		}
		if err := wh.stop(); err != nil {
			t.Errorf("stop webhook: %v\n%s", err, wh.log.String())
		}
		if strings.Contains(wh.log.String(), "forbidden") {
			t.Errorf("webhook log shows RBAC denials:\n%s", wh.log.String())
		}

		// Installing again (an upgrade) and re-applying deploy/ keep the
		// caBundle the running webhook patched in.
		if out, err := exec.CommandContext(ctx, bin, "admission", "install", "--kubeconfig", k.kubeconfig, "--mutate",
			"--namespace", namespace, "--service", service).CombinedOutput(); err != nil {
			t.Fatalf("signet admission install again: %v\n%s", err, out)
		}
		admissionApplyFile(ctx, t, k, filepath.Join("..", "deploy", "admission.yaml"))
		if b := admissionCABundles(ctx, t, k); !bytes.Equal(b.validate, ca) || !bytes.Equal(b.mutate, ca) {
			t.Errorf("caBundles lost on re-install:\nvalidating: %s\nmutating: %s", b.validate, b.mutate)
		}
	})
}

// admissionApplyFile server-side applies every object of a multi-document
// YAML file, validating fields strictly as `kubectl apply --server-side`
// does, waits for CRDs to be established and returns "Kind name" of each
// object in file order.
func admissionApplyFile(ctx context.Context, t *testing.T, k *admissionCluster, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var applied []string
	dec := k8syaml.NewYAMLOrJSONDecoder(f, 4096)
	for {
		var obj map[string]any
		if err := dec.Decode(&obj); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if obj == nil {
			continue // the comment-only header
		}
		u := &unstructured.Unstructured{Object: obj}
		if err := applyUnstructured(ctx, k, u, false); err != nil {
			t.Fatal(err)
		}
		applied = append(applied, u.GetKind()+" "+u.GetName())
		if u.GetKind() == "CustomResourceDefinition" {
			admissionWaitEstablished(ctx, t, k, u.GetName())
		}
	}
	return applied
}

// applyUnstructured server-side applies u (as a dry run when dryRun is
// set), validating fields strictly as `kubectl apply --server-side` does.
func applyUnstructured(ctx context.Context, k *admissionCluster, u *unstructured.Unstructured, dryRun bool) error {
	// Discovery each time: CRDs applied before add resources.
	groups, err := restmapper.GetAPIGroupResources(k.client.Discovery())
	if err != nil {
		return err
	}
	gvk := u.GroupVersionKind()
	mapping, err := restmapper.NewDiscoveryRESTMapper(groups).RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return fmt.Errorf("%s %s: %w", u.GetKind(), u.GetName(), err)
	}
	ri := k.dyn.Resource(mapping.Resource)
	body, err := u.MarshalJSON()
	if err != nil {
		return err
	}
	force := true
	opts := metav1.PatchOptions{FieldManager: "e2e-deploy", Force: &force, FieldValidation: metav1.FieldValidationStrict}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	if mapping.Scope.Name() == "namespace" {
		_, err = ri.Namespace(u.GetNamespace()).Patch(ctx, u.GetName(), types.ApplyPatchType, body, opts)
	} else {
		_, err = ri.Patch(ctx, u.GetName(), types.ApplyPatchType, body, opts)
	}
	if err != nil {
		return fmt.Errorf("apply %s %s: %w", u.GetKind(), u.GetName(), err)
	}
	return nil
}

// admissionWaitEstablished polls a CRD until the API server reports it
// Established with its names accepted.
func admissionWaitEstablished(ctx context.Context, t *testing.T, k *admissionCluster, name string) {
	t.Helper()
	crds := k.dyn.Resource(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"})
	var conds []any
	for start := time.Now(); ; time.Sleep(100 * time.Millisecond) {
		u, err := crds.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		conds, _, _ = unstructured.NestedSlice(u.Object, "status", "conditions")
		status := map[string]any{}
		for _, c := range conds {
			if m, ok := c.(map[string]any); ok {
				status[fmt.Sprint(m["type"])] = m["status"]
			}
		}
		if status["Established"] == "True" && status["NamesAccepted"] == "True" {
			return
		}
		if time.Since(start) > 30*time.Second {
			t.Fatalf("CRD %s not established: %v", name, conds)
		}
	}
}

// admissionCheckServiceMode checks the objects of service mode as the API
// server stored them: webhook configurations calling the Service
// namespace/service without a caBundle yet, and the Namespace, service
// account, RBAC and Service the webhook's pods need.
func admissionCheckServiceMode(ctx context.Context, t *testing.T, k *admissionCluster, namespace, service string, mutate bool) {
	t.Helper()
	v, err := k.client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, admission.WebhookConfigurationName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	type ref struct {
		Namespace, Name, Path string
		Port                  int32
		URL                   bool
		CABundle              int
	}
	toRef := func(cc admissionregistrationv1.WebhookClientConfig) ref {
		r := ref{URL: cc.URL != nil, CABundle: len(cc.CABundle)}
		if s := cc.Service; s != nil {
			r.Namespace, r.Name = s.Namespace, s.Name
			if s.Path != nil {
				r.Path = *s.Path
			}
			if s.Port != nil {
				r.Port = *s.Port
			}
		}
		return r
	}
	want := []ref{{namespace, service, admission.ValidatePath, 443, false, 0}}
	var got []ref
	for _, w := range v.Webhooks {
		got = append(got, toRef(w.ClientConfig))
		if w.Name != admission.ValidatingWebhookName || w.FailurePolicy == nil || *w.FailurePolicy != "Fail" {
			t.Errorf("validating webhook %s: failurePolicy %v", w.Name, w.FailurePolicy)
		}
	}
	if mutate {
		m, err := k.client.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, admission.WebhookConfigurationName, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, ref{namespace, service, admission.MutatePath, 443, false, 0})
		for _, w := range m.Webhooks {
			got = append(got, toRef(w.ClientConfig))
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("webhook client configs %+v\nwant %+v", got, want)
	}

	if _, err := k.client.CoreV1().Namespaces().Get(ctx, namespace, metav1.GetOptions{}); err != nil {
		t.Errorf("namespace: %v", err)
	}
	if _, err := k.client.CoreV1().ServiceAccounts(namespace).Get(ctx, service, metav1.GetOptions{}); err != nil {
		t.Errorf("service account: %v", err)
	}
	svc, err := k.client.CoreV1().Services(namespace).Get(ctx, service, metav1.GetOptions{})
	if err != nil {
		t.Errorf("service: %v", err)
	} else if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 443 || (svc.Spec.Ports[0].TargetPort.IntValue() != 8443 && svc.Spec.Ports[0].TargetPort.String() != "https") || net.ParseIP(svc.Spec.ClusterIP) == nil {
		t.Errorf("service %s/%s: ports %+v, clusterIP %q", namespace, service, svc.Spec.Ports, svc.Spec.ClusterIP)
	}
	role, err := k.client.RbacV1().ClusterRoles().Get(ctx, "signet-admission", metav1.GetOptions{})
	if err != nil {
		t.Errorf("cluster role: %v", err)
	} else if len(role.Rules) == 0 {
		t.Error("cluster role has no rules")
	}
	binding, err := k.client.RbacV1().ClusterRoleBindings().Get(ctx, "signet-admission", metav1.GetOptions{})
	if err != nil {
		t.Errorf("cluster role binding: %v", err)
	} else if len(binding.Subjects) != 1 || binding.Subjects[0].Kind != "ServiceAccount" || binding.Subjects[0].Namespace != namespace ||
		binding.Subjects[0].Name != service || binding.RoleRef.Name != "signet-admission" {
		t.Errorf("cluster role binding: subjects %+v, role %+v", binding.Subjects, binding.RoleRef)
	}
}

// admissionTokenKubeconfig writes a kubeconfig for the cluster of base
// that authenticates with a bearer token.
func admissionTokenKubeconfig(t *testing.T, base, token string) string {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(base)
	if err != nil {
		t.Fatal(err)
	}
	cluster := cfg.Clusters[cfg.Contexts[cfg.CurrentContext].Cluster]
	out := clientcmdapi.NewConfig()
	out.Clusters["c"] = cluster
	out.AuthInfos["sa"] = &clientcmdapi.AuthInfo{Token: token}
	out.Contexts["sa"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "sa"}
	out.CurrentContext = "sa"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*out, path); err != nil {
		t.Fatal(err)
	}
	return path
}
