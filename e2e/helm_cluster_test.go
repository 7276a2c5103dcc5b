//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/signetproject/signet/admission"
	"github.com/signetproject/signet/internal/freeport"
)

// TestHelmChartInCluster runs signet the way an operator does: signet's
// own image, built by `make image` and pushed to a registry, installed
// with the Helm chart into a cluster whose node really runs pods (kubelet
// + containerd from $SIGNET_SHARED/e2e, plus kube-controller-manager and
// kube-scheduler so that Deployments get pods). The server and webhook run
// as those pods; the image is signed and attested with the in-cluster
// server and verified by signet and cosign; a signed pod is admitted and
// an unsigned one denied by the in-cluster webhook; `helm uninstall`
// leaves nothing behind, the generated keys and webhook CA included.
//
// The pods use the host network: the test's registry and API server
// listen on the host's loopback only, and this cluster has no kube-proxy.
func TestHelmChartInCluster(t *testing.T) {
	helm := helmBin(t)
	for _, script := range []string{filepath.Join("..", "scripts", "k8s-controllers-build.sh")} {
		cmd := exec.Command("bash", script)
		cmd.Env = append(os.Environ(), "SIGNET_SHARED="+filepath.Dir(env.scripts))
		cmd.Stderr = os.Stderr
		if out, err := cmd.Output(); err != nil {
			t.Fatalf("%s: %v\n%s", script, err, out)
		}
	}
	// Webhook Services resolve to their endpoints (no kube-proxy here).
	k := admissionK8sUpWith(t, "--enable-aggregator-routing=true")
	runScript(t, filepath.Join("..", "scripts", "k8s-controllers-up.sh"), k.dir)
	t.Cleanup(func() { runScript(t, filepath.Join("..", "scripts", "k8s-controllers-down.sh"), k.dir) })
	regHost := startDockerRegistry(t)
	_, regPort, _ := strings.Cut(regHost, ":")
	nodeUp(t, k, regPort)

	// signet's image, as `make image REGISTRY=…` builds and pushes it
	// (two static binaries and an SBOM tool built: minutes on a cold
	// cache, so before the cluster's clock starts).
	image := makeImage(t, regHost)
	t.Logf("signet image %s", image)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	work := t.TempDir()

	serverPort, webhookPort := freeport.Get(t), freeport.Get(t)
	serverURL := fmt.Sprintf("http://127.0.0.1:%d", serverPort)
	apiserver := strings.TrimPrefix(readEnvFile(t, filepath.Join(k.dir, "env"))["APISERVER_URL"], "https://127.0.0.1:")
	apiEnv := []map[string]string{{"name": "KUBERNETES_SERVICE_HOST", "value": "127.0.0.1"}, {"name": "KUBERNETES_SERVICE_PORT", "value": apiserver}}
	repo, digest, _ := strings.Cut(image, "@")
	values := map[string]any{
		"image":  map[string]any{"repository": repo, "digest": digest},
		"server": map[string]any{"dev": true, "issuers": nil, "hostNetwork": true, "port": serverPort, "publicURL": serverURL, "extraEnv": apiEnv},
		"admission": map[string]any{"replicas": 1, "hostNetwork": true, "port": webhookPort, "extraEnv": apiEnv,
			"trustedRoot": map[string]any{"serverURL": serverURL}},
	}
	valuesFile := filepath.Join(work, "values.yaml")
	raw, err := yaml.Marshal(values)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(valuesFile, raw, 0o644); err != nil {
		t.Fatal(err)
	}

	// The embedded log's volume: a host directory the server's user may write.
	dataDir := filepath.Join(work, "pv")
	if err := os.MkdirAll(dataDir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dataDir, 0o777); err != nil {
		t.Fatal(err)
	}
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "e2e-signet-data"},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("10Gi")},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: dataDir}},
		},
	}
	if _, err := k.client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	const release, namespace = "e2e", "signet-system"
	base := []string{"--kubeconfig", k.kubeconfig, "--namespace", namespace}
	helmRun(t, helm, append([]string{"install", release, chartDir, "--create-namespace", "-f", valuesFile}, base...)...)
	waitDeploymentsAvailable(ctx, t, k, namespace, release+"-signet-server", admission.DefaultServiceName)

	signet := func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, env.signetBin, args...)
		cmd.Env = append(os.Environ(), "SIGNET_SERVER="+serverURL, "SIGSTORE_ID_TOKEN=", "HOME="+work)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("signet %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}

	t.Run("signet's image is signed and attested by signet, verified by signet and cosign", func(t *testing.T) {
		cmd := exec.CommandContext(ctx, "bash", filepath.Join("..", "scripts", "image-sign.sh"), image, filepath.Join("..", "bin", "image"))
		cmd.Env = append(os.Environ(), "SIGNET="+env.signetBin, "SIGNET_SERVER="+serverURL, "SIGNET_DEV_IDENTITY=release@signet.example", "HOME="+work)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("image-sign.sh: %v\n%s", err, out)
		}
		id := []string{"--certificate-identity", "release@signet.example", "--certificate-oidc-issuer", serverURL + "/oidc"}
		signet(append([]string{"verify", image}, id...)...)
		for _, typ := range []string{"slsaprovenance1", "cyclonedx"} {
			signet(append([]string{"verify-attestation", image, "--type", typ}, id...)...)
		}
		trust := filepath.Join(work, "trust")
		signet("trust-root", "--out", trust)
		out, err := exec.CommandContext(ctx, env.cosignV3, append([]string{"verify", "--trusted-root", filepath.Join(trust, "trusted_root.json"),
			"--allow-http-registry", image}, id...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("cosign verify signet's image: %v\n%s", err, out)
		}
	})

	t.Run("the in-cluster webhook admits signed pods and denies unsigned ones", func(t *testing.T) {
		signed := pushRandomImage(t, regHost+"/apps/signed")
		unsigned := pushRandomImage(t, regHost+"/apps/unsigned")
		signet("sign", signed.String(), "--dev-identity", "alice@example.com")
		cip := &unstructured.Unstructured{}
		if err := cip.UnmarshalJSON(fmt.Appendf(nil, `{"apiVersion":"policy.sigstore.dev/v1beta1","kind":"ClusterImagePolicy",
			"metadata":{"name":"alice"},"spec":{"images":[{"glob":%q}],"authorities":[{"keyless":{"url":%q,
			"identities":[{"issuer":%q,"subject":"alice@example.com"}]}}]}}`, regHost+"/apps/**", serverURL, serverURL+"/oidc")); err != nil {
			t.Fatal(err)
		}
		if _, err := k.dyn.Resource(admission.ClusterImagePolicyResource).Create(ctx, cip, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := k.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "apps",
			Labels: map[string]string{admission.IncludeLabel: "true"}}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		pod := func(name, image string) *corev1.Pod {
			return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{
				Containers: []corev1.Container{{Name: "app", Image: image}}, AutomountServiceAccountToken: new(false)}}
		}
		// The webhook sees the policy within its informer's delay.
		var err error
		for start := time.Now(); time.Since(start) < time.Minute; time.Sleep(time.Second) {
			if _, err = k.client.CoreV1().Pods("apps").Create(ctx, pod("signed", signed.String()), metav1.CreateOptions{}); err == nil {
				break
			}
		}
		if err != nil {
			t.Fatalf("signed pod denied: %v", err)
		}
		_, err = k.client.CoreV1().Pods("apps").Create(ctx, pod("unsigned", unsigned.String()), metav1.CreateOptions{})
		if err == nil || !strings.Contains(err.Error(), `admission webhook "`+admission.ValidatingWebhookName+`" denied the request`) ||
			!strings.Contains(err.Error(), unsigned.DigestStr()) {
			t.Fatalf("unsigned pod: %v", err)
		}
	})

	t.Run("helm uninstall leaves nothing behind", func(t *testing.T) {
		helmRun(t, helm, append([]string{"uninstall", release, "--wait"}, base...)...)
		// The generated keys and the webhook CA go with their owners,
		// through the garbage collector.
		var left []string
		for start := time.Now(); time.Since(start) < 2*time.Minute; time.Sleep(time.Second) {
			left = releaseObjects(ctx, t, k, release)
			if len(left) == 0 {
				break
			}
		}
		if len(left) > 0 {
			t.Errorf("left after uninstall: %q", left)
		}
		for _, s := range []string{release + "-signet-server-keys", admission.DefaultCASecret} {
			if _, err := k.client.CoreV1().Secrets(namespace).Get(ctx, s, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("Secret %s after uninstall: %v", s, err)
			}
		}
	})
}

// makeImage runs `make image REGISTRY=reg` and returns the pushed
// REPO@sha256:… reference.
func makeImage(t *testing.T, reg string) string {
	t.Helper()
	cmd := exec.Command("make", "-C", "..", "image", "REGISTRY="+reg)
	cmd.Stderr = os.Stderr
	if out, err := cmd.Output(); err != nil {
		t.Fatalf("make image: %v\n%s", err, out)
	}
	data, err := os.ReadFile(filepath.Join("..", "bin", "image", "digest"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(data))
}

func runScript(t *testing.T, script string, args ...string) {
	t.Helper()
	cmd := exec.Command("bash", append([]string{script}, args...)...)
	cmd.Env = append(os.Environ(), "SIGNET_SHARED="+filepath.Dir(env.scripts))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", filepath.Base(script), err, out)
	}
}

// waitDeploymentsAvailable waits until each Deployment has all its
// replicas available; on time-out it reports the pods' states and logs.
func waitDeploymentsAvailable(ctx context.Context, t *testing.T, k *admissionCluster, namespace string, names ...string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	for _, n := range names {
		for {
			d, err := k.client.AppsV1().Deployments(namespace).Get(ctx, n, metav1.GetOptions{})
			if err == nil && d.Spec.Replicas != nil && d.Status.AvailableReplicas == *d.Spec.Replicas && d.Status.ObservedGeneration == d.Generation {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("Deployment %s/%s not available: %v\n%s", namespace, n, err, podReport(ctx, k, namespace))
			}
			time.Sleep(time.Second)
		}
	}
}

// podReport describes every pod of namespace with its containers' states
// and the last lines of their logs, for failure messages.
func podReport(ctx context.Context, k *admissionCluster, namespace string) string {
	pods, err := k.client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	for _, p := range pods.Items {
		fmt.Fprintf(&b, "pod %s: %s %s\n", p.Name, p.Status.Phase, p.Status.Message)
		for _, c := range p.Status.Conditions {
			fmt.Fprintf(&b, "  condition %s=%s %s\n", c.Type, c.Status, c.Message)
		}
		for _, cs := range append(p.Status.InitContainerStatuses, p.Status.ContainerStatuses...) {
			fmt.Fprintf(&b, "  container %s: ready=%v restarts=%d state=%+v last=%+v\n", cs.Name, cs.Ready, cs.RestartCount, cs.State, cs.LastTerminationState)
			tail := int64(30)
			logs, err := k.client.CoreV1().Pods(namespace).GetLogs(p.Name, &corev1.PodLogOptions{Container: cs.Name, TailLines: &tail}).DoRaw(ctx)
			if err == nil {
				fmt.Fprintf(&b, "  logs:\n%s\n", logs)
			}
		}
	}
	events, err := k.client.CoreV1().Events(namespace).List(ctx, metav1.ListOptions{})
	if err == nil {
		for _, e := range events.Items {
			fmt.Fprintf(&b, "event %s %s: %s %s\n", e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Reason, e.Message)
		}
	}
	return b.String()
}
