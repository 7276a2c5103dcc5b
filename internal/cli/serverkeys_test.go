package cli

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"

	"github.com/signetproject/signet/internal/kube/kubetest"
	"github.com/signetproject/signet/server"
)

func TestEnsureKeySecret(t *testing.T) {
	ctx := context.Background()
	owner := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "rel-signet-server", Namespace: "ns", UID: "uid-1"}}
	client := kubetest.NewDynamic(nil, owner)

	s, err := ensureKeySecret(ctx, client, "ns", "keys", owner.Name, false, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.OwnerReferences) != 1 || s.OwnerReferences[0].UID != "uid-1" || s.OwnerReferences[0].Kind != "ConfigMap" {
		t.Errorf("owner references %+v", s.OwnerReferences)
	}
	if _, ok := s.Data[server.SecretKey("keys/tlog.key")]; !ok {
		t.Errorf("Secret lacks the log key: %v", keysOf(s.Data))
	}
	if _, ok := s.Data[server.SecretKey("keys/oidc-dev.key")]; ok {
		t.Error("dev issuer key created without --dev")
	}

	// A second run keeps the Secret as it is.
	again, err := ensureKeySecret(ctx, client, "ns", "keys", owner.Name, false, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if string(again.Data["keys--tlog.key"]) != string(s.Data["keys--tlog.key"]) {
		t.Error("existing Secret replaced")
	}

	// What it holds starts a server: the export is what --keys-from reads.
	dir := t.TempDir()
	for k, v := range s.Data {
		if err := os.WriteFile(filepath.Join(dir, k), v, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := server.ReadMaterialSecretDir(dir); err != nil {
		t.Fatal(err)
	}
}

// Another replica creates the Secret between our read and our create: we
// use the one it created, not ours.
func TestEnsureKeySecretRace(t *testing.T) {
	ctx := context.Background()
	theirs := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "keys", Namespace: "ns"}, Data: map[string][]byte{"keys--tlog.key": []byte("theirs")}}
	client := kubetest.NewDynamic(nil)
	client.PrependReactor("create", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
		if err := client.Tracker().Add(kubetest.Unstructured(theirs)); err != nil {
			t.Fatal(err)
		}
		return true, nil, apierrors.NewAlreadyExists(schema.GroupResource{Resource: "secrets"}, "keys")
	})
	s, err := ensureKeySecret(ctx, client, "ns", "keys", "", false, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if string(s.Data["keys--tlog.key"]) != "theirs" {
		t.Errorf("got our own material after losing the race: %v", keysOf(s.Data))
	}
}

func TestEnsureKeySecretMissingOwner(t *testing.T) {
	if _, err := ensureKeySecret(context.Background(), kubetest.NewDynamic(nil), "ns", "keys", "absent", false, io.Discard); err == nil {
		t.Fatal("created a Secret whose owner does not exist")
	}
}

func keysOf(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
