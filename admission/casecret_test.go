package admission

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"

	"github.com/signetproject/signet/internal/kube"
	"github.com/signetproject/signet/internal/kube/kubetest"
)

// TestSyncCASecret checks replicas end up with one CA: the first stores
// its own, later ones adopt it and issue serving certificates from it.
func TestSyncCASecret(t *testing.T) {
	ctx := context.Background()
	client := kubetest.NewDynamic(nil)
	a, b := t.TempDir(), t.TempDir()
	ownB, err := EnsureCA(b) // b had a CA of its own before
	if err != nil {
		t.Fatal(err)
	}
	if _, caB, err := EnsureServingCert(b, []string{"svc.ns.svc"}); err != nil || !bytes.Equal(caB, ownB) {
		t.Fatal(err)
	}

	if err := SyncCASecret(ctx, client, "ns", DefaultCASecret, a); err != nil {
		t.Fatal(err)
	}
	caA := readFile(t, filepath.Join(a, CACertFile))
	s, err := kube.Get[corev1.Secret](ctx, client, kube.Secrets, "ns", DefaultCASecret)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(s.Data[CACertFile], caA) {
		t.Fatal("the first replica did not store its CA")
	}

	if err := SyncCASecret(ctx, client, "ns", DefaultCASecret, b); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(b, CACertFile)); !bytes.Equal(got, caA) {
		t.Fatal("the second replica kept its own CA")
	}
	pair, caPEM, err := EnsureServingCert(b, []string{"svc.ns.svc"})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(caPEM, caA) {
		t.Fatal("serving CA is not the shared one")
	}
	leaf, ca := parseCert(t, pair.Certificate[0]), parsePEMCert(t, caA)
	if err := leaf.CheckSignatureFrom(ca); err != nil {
		t.Errorf("serving certificate not reissued from the shared CA: %v", err)
	}
	// Syncing again changes nothing.
	if err := SyncCASecret(ctx, client, "ns", DefaultCASecret, a); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(a, CACertFile)); !bytes.Equal(got, caA) {
		t.Fatal("CA changed on a second sync")
	}
}

// TestSyncCASecretRace checks a replica that loses the race to create the
// Secret adopts the winner's CA.
func TestSyncCASecretRace(t *testing.T) {
	ctx := context.Background()
	winner := t.TempDir()
	winnerCA, err := EnsureCA(winner)
	if err != nil {
		t.Fatal(err)
	}
	winnerKey := readFile(t, filepath.Join(winner, caKeyFile))
	client := kubetest.NewDynamic(nil)
	client.PrependReactor("create", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
		// The winner stored its CA between our Get and our Create.
		won := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: DefaultCASecret, Namespace: "ns"},
			Data: map[string][]byte{CACertFile: winnerCA, caKeyFile: winnerKey}}
		if err := client.Tracker().Create(kube.Secrets.GroupVersionResource, kubetest.Unstructured(won), "ns"); err != nil {
			t.Fatal(err)
		}
		return true, nil, apierrors.NewAlreadyExists(schema.GroupResource{Resource: "secrets"}, DefaultCASecret)
	})
	dir := t.TempDir()
	if err := SyncCASecret(ctx, client, "ns", DefaultCASecret, dir); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(dir, CACertFile)); !bytes.Equal(got, winnerCA) {
		t.Fatal("the loser did not adopt the winner's CA")
	}
}

// TestSyncCASecretBroken checks a Secret without a matching CA pair is an
// error that leaves the cert dir alone.
func TestSyncCASecretBroken(t *testing.T) {
	ctx := context.Background()
	other := t.TempDir()
	otherCA, err := EnsureCA(other)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	own, err := EnsureCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	wrongKey := readFile(t, filepath.Join(dir, caKeyFile)) // not otherCA's key
	for name, data := range map[string]map[string][]byte{
		"empty":     {},
		"wrong key": {CACertFile: otherCA, caKeyFile: wrongKey},
		"garbage":   {CACertFile: []byte("nope"), caKeyFile: []byte("nope")},
	} {
		client := kubetest.NewDynamic(nil, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: DefaultCASecret, Namespace: "ns"}, Data: data})
		err := SyncCASecret(ctx, client, "ns", DefaultCASecret, dir)
		if err == nil || !strings.Contains(err.Error(), "Secret ns/"+DefaultCASecret) {
			t.Errorf("%s: err = %v, want an error naming the Secret", name, err)
		}
		if got := readFile(t, filepath.Join(dir, CACertFile)); !bytes.Equal(got, own) {
			t.Errorf("%s: cert dir changed", name)
		}
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func parseCert(t *testing.T, der []byte) *x509.Certificate {
	t.Helper()
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func parsePEMCert(t *testing.T, p []byte) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode(p)
	if b == nil {
		t.Fatal("no PEM certificate")
	}
	return parseCert(t, b.Bytes)
}

// The CA Secret is owned by the validating webhook configuration, so the
// garbage collector removes it with the webhook (helm uninstall).
func TestSyncCASecretOwner(t *testing.T) {
	ctx := context.Background()
	vwc, _, err := WebhookConfigurations(InstallConfig{})
	if err != nil {
		t.Fatal(err)
	}
	vwc.UID = "vwc-uid"
	client := kubetest.NewDynamic(nil, vwc)
	if err := SyncCASecret(ctx, client, "ns", DefaultCASecret, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	s, err := kube.Get[corev1.Secret](ctx, client, kube.Secrets, "ns", DefaultCASecret)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.OwnerReferences) != 1 || s.OwnerReferences[0].UID != "vwc-uid" || s.OwnerReferences[0].Kind != "ValidatingWebhookConfiguration" {
		t.Errorf("owner references %+v", s.OwnerReferences)
	}
}

// TestPatchCABundle checks the CA lands in every webhook of both
// configurations, and that a missing mutating one is skipped while a
// missing validating one is an error.
func TestPatchCABundle(t *testing.T) {
	ctx := context.Background()
	vwc, mwc, err := WebhookConfigurations(InstallConfig{})
	if err != nil {
		t.Fatal(err)
	}
	caPEM := []byte("-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n")
	dyn := kubetest.NewDynamic(nil, vwc, mwc)
	if err := PatchCABundle(ctx, dyn, caPEM); err != nil {
		t.Fatal(err)
	}
	v, err := kube.Get[admissionregistrationv1.ValidatingWebhookConfiguration](ctx, dyn, kube.ValidatingWebhookConfigurations, "", WebhookConfigurationName)
	if err != nil {
		t.Fatal(err)
	}
	m, err := kube.Get[admissionregistrationv1.MutatingWebhookConfiguration](ctx, dyn, kube.MutatingWebhookConfigurations, "", WebhookConfigurationName)
	if err != nil {
		t.Fatal(err)
	}
	var bundles [][]byte
	for _, w := range v.Webhooks {
		bundles = append(bundles, w.ClientConfig.CABundle)
	}
	for _, w := range m.Webhooks {
		bundles = append(bundles, w.ClientConfig.CABundle)
	}
	if len(bundles) < 2 {
		t.Fatalf("%d webhooks, want some in each configuration", len(bundles))
	}
	for i, b := range bundles {
		if !bytes.Equal(b, caPEM) {
			t.Errorf("webhook %d has caBundle %q, want the CA", i, b)
		}
	}

	if err := PatchCABundle(ctx, kubetest.NewDynamic(nil, vwc), caPEM); err != nil {
		t.Errorf("without a mutating configuration: %v", err)
	}
	if err := PatchCABundle(ctx, kubetest.NewDynamic(nil, mwc), caPEM); err == nil {
		t.Error("patched without a validating configuration")
	}
}
