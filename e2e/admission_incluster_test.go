//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/signetproject/signet/admission"
	"github.com/signetproject/signet/internal/freeport"
)

// TestAdmissionInCluster runs `signet admission serve` the way a pod
// does: no --kubeconfig, the API server from KUBERNETES_SERVICE_HOST/PORT
// and the service account's token, CA and namespace at the fixed path
// client-go reads (/var/run/secrets/kubernetes.io/serviceaccount). A
// private mount namespace (unshare -m, which needs root) puts them there
// for the webhook alone. Two replicas start: the first stores its CA in
// the Secret signet-admission-ca, the second adopts it, and the webhook
// configurations' caBundle is that CA. No kubelet or cluster network
// runs, so the API server cannot reach the Service; calls through it are
// covered by TestAdmissionSelfManagedCerts in URL mode.
func TestAdmissionInCluster(t *testing.T) {
	if out, err := exec.Command("unshare", "-m", "true").CombinedOutput(); err != nil {
		t.Skipf("no private mount namespace for the service account files (unshare -m needs root): %v %s", err, out)
	}
	bin := admissionBin()
	k := admissionK8sUp(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, bin, "admission", "install", "--kubeconfig", k.kubeconfig, "--mutate").CombinedOutput(); err != nil {
		t.Fatalf("signet admission install: %v\n%s", err, out)
	}

	// The service account files a pod would have.
	ns, sa := admission.DefaultNamespace, admission.DefaultServiceName
	tok, err := k.client.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: new(int64(600))}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.LoadFromFile(k.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cluster := cfg.Clusters[cfg.Contexts[cfg.CurrentContext].Cluster]
	caData := cluster.CertificateAuthorityData
	if len(caData) == 0 {
		if caData, err = os.ReadFile(cluster.CertificateAuthority); err != nil {
			t.Fatal(err)
		}
	}
	server, err := url.Parse(cluster.Server)
	if err != nil {
		t.Fatal(err)
	}
	saDir := t.TempDir()
	for name, data := range map[string][]byte{"token": []byte(tok.Status.Token), "ca.crt": caData, "namespace": []byte(ns)} {
		if err := os.WriteFile(filepath.Join(saDir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	start := func(certDir string) *admissionWebhook {
		t.Helper()
		const mounted = "/run/secrets/kubernetes.io/serviceaccount" // /var/run links to /run
		script := fmt.Sprintf(`set -e
mount -t tmpfs signet-e2e /run
mkdir -p %[1]s
cp %[2]s/* %[1]s/
exec "$@"`, mounted, saDir)
		cmd := exec.Command("unshare", "-m", "sh", "-c", script, "sh",
			bin, "admission", "serve", "--addr", fmt.Sprintf("127.0.0.1:%d", freeport.Get(t)), "--cert-dir", certDir, "--mutate")
		cmd.Env = append(os.Environ(), "KUBECONFIG=", "POD_NAMESPACE="+ns,
			"KUBERNETES_SERVICE_HOST="+server.Hostname(), "KUBERNETES_SERVICE_PORT="+server.Port())
		return admissionStartCmd(t, cmd)
	}
	dirA, dirB := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	a := start(dirA)
	b := start(dirB)

	secret, err := k.client.CoreV1().Secrets(ns).Get(ctx, admission.DefaultCASecret, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the first replica stored no CA Secret: %v\n%s", err, a.log.String())
	}
	shared := secret.Data[admission.CACertFile]
	for name, dir := range map[string]string{"first": dirA, "second": dirB} {
		ca, err := os.ReadFile(filepath.Join(dir, admission.CACertFile))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ca, shared) {
			t.Errorf("the %s replica serves under another CA than the Secret's", name)
		}
		admissionCheckServingCert(t, dir, shared, fmt.Sprintf("%s.%s.svc", sa, ns))
	}
	if bs := admissionCABundles(ctx, t, k); !bytes.Equal(bs.validate, shared) || !bytes.Equal(bs.mutate, shared) {
		t.Errorf("caBundles are not the shared CA:\nvalidating: %s\nmutating: %s", bs.validate, bs.mutate)
	}
	for _, w := range []*admissionWebhook{a, b} {
		if err := w.stop(); err != nil {
			t.Errorf("stop webhook: %v\n%s", err, w.log.String())
		}
	}
}
