//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/signetproject/signet/internal/freeport"
	"github.com/signetproject/signet/internal/registrytest"
)

// TestAdmissionHostileRegistry runs `signet admission serve` (with tag
// pinning, the default of install) behind a real kube-apiserver and
// creates pods whose images live on registries that attack
// (registrytest.Hostile): 99 MiB manifests by digest and by tag, a .sig
// tag of sixty 16 MiB layers, a redirect loop, a listener that never
// answers. Four pods of each at once: every one is denied, by the
// webhook and within its --timeout, the webhook's peak RSS stays
// bounded, each admission costs a bounded number of registry requests,
// and the webhook still decides promptly afterwards.
func TestAdmissionHostileRegistry(t *testing.T) {
	bin := admissionBin()
	k := admissionK8sUp(t)
	work := t.TempDir()
	certDir := filepath.Join(work, "webhook-certs")
	addr := fmt.Sprintf("127.0.0.1:%d", freeport.Get(t))
	if out, err := exec.Command(bin, "admission", "install", "--kubeconfig", k.kubeconfig,
		"--webhook-url", "https://"+addr+"/validate", "--ca-bundle-from", certDir).CombinedOutput(); err != nil {
		t.Fatalf("signet admission install: %v\n%s", err, out)
	}

	attacks := []struct {
		name   string
		cfg    registrytest.HostileConfig
		byTag  bool
		maxReq int64 // registry requests per admission
	}{
		{"huge-manifests", registrytest.HostileConfig{Attack: registrytest.HugeManifests}, false, 8},
		{"huge-manifest-tags", registrytest.HostileConfig{Attack: registrytest.HugeManifests, Chunked: true}, true, 8},
		{"many-layers", registrytest.HostileConfig{Attack: registrytest.ManyLayers}, false, 80},
		{"redirect-loop", registrytest.HostileConfig{Attack: registrytest.RedirectLoop}, false, 30},
		{"silent", registrytest.HostileConfig{Attack: registrytest.Silent}, false, 8},
	}
	regs := make([]*registrytest.Hostile, len(attacks))
	var globs []string
	for i, a := range attacks {
		regs[i] = registrytest.StartHostile(t, a.cfg)
		globs = append(globs, fmt.Sprintf(`{"glob":%q}`, regs[i].Host+"/**"))
	}
	keyPEM := func() string {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		der, err := x509.MarshalPKIXPublicKey(key.Public())
		if err != nil {
			t.Fatal(err)
		}
		return strconv.Quote(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON([]byte(`{"apiVersion":"policy.sigstore.dev/v1beta1","kind":"ClusterImagePolicy","metadata":{"name":"hostile"},
		"spec":{"images":[` + strings.Join(globs, ",") + `],"authorities":[{"name":"a","key":{"data":` + keyPEM() + `}},{"name":"b","key":{"data":` + keyPEM() + `}}]}}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := k.dyn.Resource(schema.GroupVersionResource{Group: "policy.sigstore.dev", Version: "v1beta1", Resource: "clusterimagepolicies"}).Create(ctx, u, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	const ns = "hostile"
	if _, err := k.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"policy.sigstore.dev/include": "true"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	const timeout = 5 * time.Second
	wh := admissionStartWebhook(t, bin, k.kubeconfig, addr, certDir, "--timeout", timeout.String())
	createPod := func(name, image string) error {
		_, err := k.client.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: image}}}}, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return err
	}
	// Registration and the first policy load are asynchronous.
	probe := regs[0].Host + "/probe@sha256:" + strings.Repeat("0", 64)
	for start := time.Now(); ; time.Sleep(200 * time.Millisecond) {
		err := createPod("probe", probe)
		if err != nil && strings.Contains(err.Error(), "failed policy: hostile") {
			break
		}
		if time.Since(start) > 30*time.Second {
			t.Fatalf("webhook never denied the probe; last: %v\nwebhook log:\n%s", err, wh.log.String())
		}
	}

	base := processKiB(t, wh.cmd.Process.Pid, "VmRSS:")
	for i, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			reg := regs[i]
			before := reg.Requests()
			const pods = 4
			var wg sync.WaitGroup
			errs := make([]error, pods)
			took := make([]time.Duration, pods)
			for p := range pods {
				image := fmt.Sprintf("%s/team/app-%d@sha256:%064x", reg.Host, p, p+1)
				if a.byTag {
					image = fmt.Sprintf("%s/team/app-%d:v1", reg.Host, p)
				}
				wg.Go(func() {
					start := time.Now()
					errs[p] = createPod(fmt.Sprintf("%s-%d", a.name, p), image)
					took[p] = time.Since(start)
				})
			}
			wg.Wait()
			for p, err := range errs {
				if err == nil {
					t.Errorf("pod %d admitted", p)
					continue
				}
				// Denied by one of signet's webhooks, not by the API server
				// giving up on them.
				if !strings.Contains(err.Error(), "denied the request") {
					t.Errorf("pod %d: %v", p, err)
				}
				if took[p] > timeout+3*time.Second {
					t.Errorf("pod %d answered after %s with --timeout %s", p, took[p], timeout)
				}
			}
			perAdmission := (reg.Requests() - before) / pods
			t.Logf("%s: %d registry requests and %.1f MiB served per admission; slowest answer %s; denial: %.300v",
				a.name, perAdmission, float64(reg.BytesServed())/pods/(1<<20), slices.Max(took), errs[0])
			if perAdmission > a.maxReq {
				t.Errorf("%d registry requests per admission, want at most %d", perAdmission, a.maxReq)
			}
		})
	}
	peak := processKiB(t, wh.cmd.Process.Pid, "VmHWM:")
	t.Logf("webhook RSS before the attacks %d MiB, peak %d MiB", base>>10, peak>>10)
	// Four concurrent decisions of at most 64 MiB of registry data each,
	// on top of the webhook's own few tens of MiB.
	if peak > 768<<10 {
		t.Errorf("webhook peak RSS %d MiB", peak>>10)
	}
	// Still deciding promptly.
	start := time.Now()
	if err := createPod("after", regs[0].Host+"/after@sha256:"+strings.Repeat("9", 64)); err == nil || !strings.Contains(err.Error(), "failed policy: hostile") {
		t.Errorf("after the attacks: %v", err)
	}
	if d := time.Since(start); d > timeout {
		t.Errorf("after the attacks: answered in %s", d)
	}
	if t.Failed() {
		t.Logf("webhook log:\n%s", wh.log.String())
	}
}

// processKiB reads a field of /proc/PID/status, in KiB.
func processKiB(t *testing.T, pid int, field string) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}
