//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/signetproject/signet/internal/freeport"
	"github.com/signetproject/signet/internal/kube"
	"github.com/signetproject/signet/internal/registrytest"
)

// admissionBinariesBuilt reports whether kube-apiserver and etcd are in
// the e2e cache (paths as ../shared/e2e/lib.sh sets them).
func admissionBinariesBuilt() bool {
	cache := os.Getenv("SIGNET_E2E_CACHE")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache", "signet-e2e")
	}
	for _, p := range []string{
		filepath.Join(cache, "kubernetes-"+envOr("SIGNET_E2E_K8S_VERSION", "v1.37.2"), "kube-apiserver"),
		filepath.Join(cache, "etcd-"+envOr("SIGNET_E2E_ETCD_VERSION", "v3.7.3"), "etcd"),
	} {
		if info, err := os.Stat(p); err != nil || info.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// TestAdmissionWebhook runs `signet admission install` and `signet
// admission serve` against a real kube-apiserver + etcd
// ($SIGNET_SHARED/e2e/k8s-up.sh) and checks what the API server admits:
// static policies first, then images signed and attested by the signet
// binary (see admissionSigned.run), on the same cluster and webhook.
// Set SIGNET_E2E_ADMISSION_BIN to test a prebuilt signet binary instead of
// the one TestMain builds.
func TestAdmissionWebhook(t *testing.T) {
	bin := env.signetBin
	if b := os.Getenv("SIGNET_E2E_ADMISSION_BIN"); b != "" {
		bin = b
	}
	if out, err := exec.Command(bin, "admission", "--help").CombinedOutput(); err != nil {
		t.Fatalf("signet has no admission command (register newAdmissionCmd in internal/cli/root.go): %v\n%s", err, out)
	}
	k := admissionK8sUp(t)
	work := t.TempDir()
	certDir := filepath.Join(work, "webhook-certs")
	port := freeport.Get(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)

	// A registry on 127.0.0.1 for the one image referenced by tag.
	tagged, digestRef := registrytest.PushRandom(t, registrytest.Start(t), "good/app")
	_, imgDigest, _ := strings.Cut(digestRef, "@")

	// Install first (the CA is created in certDir), then serve. Without
	// tag pinning first, so that tags reach the validating webhook; the
	// signed-image checks install pinning, the default, later.
	out, err := exec.Command(bin, "admission", "install", "--kubeconfig", k.kubeconfig, "--mutate=false",
		"--webhook-url", "https://"+addr+"/validate", "--ca-bundle-from", certDir).CombinedOutput()
	if err != nil {
		t.Fatalf("signet admission install: %v\n%s", err, out)
	}
	for _, want := range []string{"applied CustomResourceDefinition clusterimagepolicies.policy.sigstore.dev",
		"applied CustomResourceDefinition trustroots.policy.sigstore.dev", "applied ValidatingWebhookConfiguration signet-admission"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("install output lacks %q:\n%s", want, out)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cips := k.dyn.Resource(schema.GroupVersionResource{Group: "policy.sigstore.dev", Version: "v1alpha1", Resource: "clusterimagepolicies"})
	applyCIP := func(t *testing.T, version, name, spec string) {
		t.Helper()
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON([]byte(`{"apiVersion":"policy.sigstore.dev/` + version + `","kind":"ClusterImagePolicy","metadata":{"name":"` + name + `"},"spec":` + spec + `}`)); err != nil {
			t.Fatal(err)
		}
		res := k.dyn.Resource(schema.GroupVersionResource{Group: "policy.sigstore.dev", Version: version, Resource: "clusterimagepolicies"})
		if _, err := res.Create(ctx, u, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create ClusterImagePolicy %s: %v", name, err)
		}
	}
	applyCIP(t, "v1alpha1", "deny-evil", `{"images":[{"glob":"**evil**"}],"authorities":[{"name":"no-evil","static":{"action":"fail","message":"evil images are banned"}}]}`)
	applyCIP(t, "v1beta1", "allow-all", `{"images":[{"glob":"**"}],"authorities":[{"static":{"action":"pass"}}]}`)
	applyCIP(t, "v1beta1", "warn-shady", `{"mode":"warn","images":[{"glob":"**shady**"}],"authorities":[{"static":{"action":"fail","message":"shady"}}]}`)

	// Conversion strategy None: a policy created as v1alpha1 reads back as
	// v1beta1 with the same spec, and vice versa.
	beta, err := k.dyn.Resource(schema.GroupVersionResource{Group: "policy.sigstore.dev", Version: "v1beta1", Resource: "clusterimagepolicies"}).Get(ctx, "deny-evil", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	auths, _, _ := unstructured.NestedSlice(beta.Object, "spec", "authorities")
	if beta.GetAPIVersion() != "policy.sigstore.dev/v1beta1" || len(auths) != 1 || fmt.Sprint(auths[0]) != fmt.Sprint(map[string]any{"name": "no-evil", "static": map[string]any{"action": "fail", "message": "evil images are banned"}}) {
		t.Errorf("v1alpha1 policy read as v1beta1: %s %v", beta.GetAPIVersion(), auths)
	}
	if _, err := cips.Get(ctx, "allow-all", metav1.GetOptions{}); err != nil {
		t.Errorf("v1beta1 policy read as v1alpha1: %v", err)
	}

	for _, ns := range []struct {
		name   string
		labels map[string]string
	}{{"adm-checked", map[string]string{"policy.sigstore.dev/include": "true"}}, {"adm-unchecked", nil}} {
		if _, err := k.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns.name, Labels: ns.labels}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	// --server: keyless authorities trust the running signet server's
	// trusted root. --mutate serves /mutate, which the API server calls
	// only once the signed-image checks install its configuration.
	wh := admissionStartWebhook(t, bin, k.kubeconfig, addr, certDir, "--server", env.serverURL, "--mutate")

	digest := "@sha256:" + strings.Repeat("1", 64)
	evil := "registry.example/evil/app" + digest
	good := "registry.example/good/app" + digest
	pod := func(name, image string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: image}}}}
	}
	createPod := func(ns string, p *corev1.Pod, dryRun bool) error {
		opts := metav1.CreateOptions{}
		if dryRun {
			opts.DryRun = []string{metav1.DryRunAll}
		}
		_, err := k.client.CoreV1().Pods(ns).Create(ctx, p, opts)
		return err
	}

	// Webhook registration and the first policy load are asynchronous:
	// poll with a dry run until the evil image is denied.
	start := time.Now()
	for {
		err := createPod("adm-checked", pod("probe", evil), true)
		if err != nil && strings.Contains(err.Error(), "failed policy: deny-evil") {
			break
		}
		if time.Since(start) > 30*time.Second {
			t.Fatalf("webhook never denied the probe; last: %v\nwebhook log:\n%s", err, wh.log.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("webhook active after %s", time.Since(start).Round(time.Millisecond))

	t.Run("evil pod denied", func(t *testing.T) {
		err := createPod("adm-checked", pod("evil", evil), false)
		if err == nil {
			t.Fatal("admitted")
		}
		t.Logf("denial: %v", err)
		for _, want := range []string{
			`admission webhook "validate.policy.signet.dev" denied the request`,
			`spec.containers[0].image: image "` + evil + `"`,
			"failed policy: deny-evil",
			"disallowed by static policy: evil images are banned",
		} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("denial lacks %q:\n%v", want, err)
			}
		}
		if _, err := k.client.CoreV1().Pods("adm-checked").Get(ctx, "evil", metav1.GetOptions{}); err == nil {
			t.Error("denied pod was stored")
		}
	})
	t.Run("good pod admitted", func(t *testing.T) {
		if err := createPod("adm-checked", pod("good", good), false); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("tag resolved in registry, admitted with warning", func(t *testing.T) {
		k.warnings.reset()
		if err := createPod("adm-checked", pod("tagged", tagged), false); err != nil {
			t.Fatal(err)
		}
		if w := k.warnings.all(); !strings.Contains(w, "is not pinned to a digest") || !strings.Contains(w, "the kubelet pulls whatever the tag names") || !strings.Contains(w, imgDigest) {
			t.Errorf("warnings %q do not say the tag is unpinned, what was checked (%s) and what the kubelet pulls", w, imgDigest)
		}
	})
	t.Run("unlabelled namespace not checked", func(t *testing.T) {
		if err := createPod("adm-unchecked", pod("evil", evil), false); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("deployment checked like a pod", func(t *testing.T) {
		dep := func(name, image string) *appsv1.Deployment {
			l := map[string]string{"app": name}
			return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: appsv1.DeploymentSpec{
				Selector: &metav1.LabelSelector{MatchLabels: l},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: l}, Spec: pod("", image).Spec},
			}}
		}
		_, err := k.client.AppsV1().Deployments("adm-checked").Create(ctx, dep("evil", evil), metav1.CreateOptions{})
		if err == nil || !strings.Contains(err.Error(), `spec.template.spec.containers[0].image: image "`+evil+`"`) || !strings.Contains(err.Error(), "failed policy: deny-evil") {
			t.Errorf("evil deployment: %v", err)
		}
		if _, err := k.client.AppsV1().Deployments("adm-checked").Create(ctx, dep("good", good), metav1.CreateOptions{}); err != nil {
			t.Errorf("good deployment: %v", err)
		}
	})
	t.Run("warn mode admits with a warning", func(t *testing.T) {
		k.warnings.reset()
		shady := "registry.example/shady/app" + digest
		if err := createPod("adm-checked", pod("shady", shady), false); err != nil {
			t.Fatal(err)
		}
		if w := k.warnings.all(); !strings.Contains(w, "failed policy: warn-shady") || !strings.Contains(w, shady) {
			t.Errorf("warnings %q", w)
		}
	})
	t.Run("new policy takes effect", func(t *testing.T) {
		late := "registry.example/late/app" + digest
		if err := createPod("adm-checked", pod("late-before", late), false); err != nil {
			t.Fatal(err)
		}
		applyCIP(t, "v1beta1", "deny-late", `{"images":[{"glob":"**/late/**"}],"authorities":[{"static":{"action":"fail"}}]}`)
		deadline := time.Now().Add(20 * time.Second)
		for {
			err := createPod("adm-checked", pod("late-after", late), true)
			if err != nil && strings.Contains(err.Error(), "failed policy: deny-late") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("policy created after start never enforced; last: %v", err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	})
	t.Run("metrics", func(t *testing.T) {
		// The webhook counts its decisions; read them over its TLS port.
		out, err := exec.Command("curl", "-s", "--noproxy", "*", "--cacert", filepath.Join(certDir, "ca.crt"), "https://"+addr+"/metrics").Output()
		if err != nil {
			t.Fatalf("curl /metrics: %v", err)
		}
		for _, want := range []string{`signet_admission_requests_total{outcome="denied",webhook="validate"}`, "signet_admission_policy_generation",
			`signet_admission_review_decodes_total{decoder="fast"}`} {
			if !strings.Contains(string(out), want) {
				t.Errorf("metrics lack %s", want)
			}
		}
		// Every review the real API server sent so far took the fast
		// decoder: none fell back to encoding/json.
		if strings.Contains(string(out), `signet_admission_review_decodes_total{decoder="general"}`) {
			t.Errorf("the API server's reviews fell back to the general decoder:\n%s", out)
		}
	})
	t.Run("signed images", func(t *testing.T) {
		s := &admissionSigned{bin: bin, addr: addr, certDir: certDir, k: k, wh: wh, applyCIP: applyCIP, namespace: "adm-checked"}
		s.run(ctx, t)
	})
	t.Run("webhook down denies", func(t *testing.T) {
		if err := wh.stop(); err != nil {
			t.Errorf("stop webhook: %v\n%s", err, wh.log.String())
		}
		err := createPod("adm-checked", pod("while-down", good), false)
		if err == nil || !strings.Contains(err.Error(), "failed calling webhook") {
			t.Errorf("with the webhook down: %v", err)
		}
		if err := createPod("adm-unchecked", pod("while-down", good), false); err != nil {
			t.Errorf("unlabelled namespace with the webhook down: %v", err)
		}
	})
	if t.Failed() {
		t.Logf("webhook log:\n%s", wh.log.String())
	}
}

// admissionCluster is a running control plane and clients for it.
type admissionCluster struct {
	kubeconfig string
	dir        string // the k8s-up.sh directory, for node-up.sh
	client     kubernetes.Interface
	dyn        dynamic.Interface
	disc       *kube.Discovery
	warnings   *admissionWarnings
}

// admissionK8sUp builds (or finds cached) kube-apiserver and etcd, starts
// them in a temp dir and stops them when the test ends.
func admissionK8sUp(t *testing.T) *admissionCluster {
	t.Helper()
	return admissionK8sUpWith(t, "")
}

// admissionK8sUpWith is admissionK8sUp with extra kube-apiserver flags
// (space-separated).
func admissionK8sUpWith(t *testing.T, apiserverFlags string) *admissionCluster {
	t.Helper()
	shared := os.Getenv("SIGNET_SHARED")
	if shared == "" {
		shared = filepath.Join("..", "..", "shared")
	}
	scripts, err := filepath.Abs(filepath.Join(shared, "e2e"))
	if err != nil {
		t.Fatal(err)
	}
	build := exec.Command("bash", filepath.Join(scripts, "k8s-build.sh"))
	build.Stderr = os.Stderr
	if out, err := build.Output(); err != nil {
		// k8s-build.sh ends with `etcd --version | head -1` under pipefail,
		// which dies of SIGPIPE (141) now and then after everything is
		// built; only the binaries matter.
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 141 || !admissionBinariesBuilt() {
			t.Fatalf("k8s-build.sh: %v\n%s", err, out)
		}
		t.Logf("k8s-build.sh exited with SIGPIPE after building; binaries are in place")
	}
	dir := filepath.Join(t.TempDir(), "k8s")
	up := exec.Command("bash", filepath.Join(scripts, "k8s-up.sh"), dir)
	up.Env = append(os.Environ(),
		fmt.Sprintf("SIGNET_E2E_ETCD_PORT=%d", freeport.Get(t)),
		fmt.Sprintf("SIGNET_E2E_ETCD_PEER_PORT=%d", freeport.Get(t)),
		fmt.Sprintf("SIGNET_E2E_APISERVER_PORT=%d", freeport.Get(t)),
		"SIGNET_E2E_APISERVER_FLAGS="+apiserverFlags)
	if out, err := up.CombinedOutput(); err != nil {
		t.Fatalf("k8s-up.sh: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("bash", filepath.Join(scripts, "k8s-down.sh"), dir).CombinedOutput(); err != nil {
			t.Errorf("k8s-down.sh: %v\n%s", err, out)
		}
	})
	kubeconfig := filepath.Join(dir, "kubeconfig")
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	w := &admissionWarnings{}
	cfg.WarningHandler = w
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	disc, err := kube.NewDiscovery(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &admissionCluster{kubeconfig: kubeconfig, dir: dir, client: client, dyn: dyn, disc: disc, warnings: w}
}

// admissionWarnings collects the API server's warning headers.
type admissionWarnings struct {
	mu   sync.Mutex
	list []string
}

var _ rest.WarningHandler = (*admissionWarnings)(nil)

func (w *admissionWarnings) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.list = append(w.list, text)
}

func (w *admissionWarnings) reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.list = nil
}

func (w *admissionWarnings) all() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(w.list, "\n")
}

// admissionWebhook is a running `signet admission serve`.
type admissionWebhook struct {
	cmd  *exec.Cmd
	done chan error
	log  *lockedBuffer
	once sync.Once
	err  error
}

// admissionStartWebhook starts `signet admission serve` with the extra
// flags and waits for its "ready" line; the test's cleanup stops it.
func admissionStartWebhook(t *testing.T, bin, kubeconfig, addr, certDir string, flags ...string) *admissionWebhook {
	t.Helper()
	args := append([]string{"admission", "serve", "--kubeconfig", kubeconfig, "--addr", addr, "--cert-dir", certDir, "--no-match", "deny"}, flags...)
	return admissionStartCmd(t, exec.Command(bin, args...))
}

// admissionStartCmd starts cmd, a `signet admission serve` (possibly
// behind a wrapper that execs it), and waits for its "ready" line; the
// test's cleanup stops it.
func admissionStartCmd(t *testing.T, cmd *exec.Cmd) *admissionWebhook {
	t.Helper()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	w := &admissionWebhook{cmd: cmd, done: make(chan error, 1), log: &lockedBuffer{}}
	cmd.Stderr = w.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := w.stop(); err != nil {
			t.Errorf("stop webhook: %v", err)
		}
	})
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		closed := false
		for sc.Scan() {
			if sc.Text() == "signet admission webhook ready" && !closed {
				close(ready)
				closed = true
			}
		}
		w.done <- cmd.Wait()
	}()
	select {
	case <-ready:
	case <-time.After(60 * time.Second):
		t.Fatalf("webhook not ready in 60s; log:\n%s", w.log.String())
	}
	return w
}

// stop interrupts the webhook and waits for it to exit cleanly (once).
func (w *admissionWebhook) stop() error {
	w.once.Do(func() {
		if err := w.cmd.Process.Signal(syscall.SIGINT); err != nil && !errors.Is(err, os.ErrProcessDone) {
			w.err = err
			return
		}
		select {
		case err := <-w.done:
			w.err = err
		case <-time.After(15 * time.Second):
			_ = w.cmd.Process.Kill()
			<-w.done
			w.err = errors.New("webhook ignored SIGINT for 15s; killed")
		}
	})
	return w.err
}
