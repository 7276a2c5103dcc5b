package admission

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"

	"github.com/signetproject/signet/internal/kube"
)

// DefaultCASecret is the Secret, in the system namespace, through which
// the webhook's replicas in a cluster share their CA.
const DefaultCASecret = "signet-admission-ca"

// SyncCASecret makes every replica of a webhook serve under one CA, so
// that the caBundle any of them patches into the webhook configurations
// is trusted for all of them (with a CA each, the last replica to start
// would win and the API server's calls to the others would fail). The CA
// lives in the Secret namespace/name under the keys ca.crt and ca.key.
// The first replica to start stores its cert dir's CA there (EnsureCA
// makes one if needed); every other replica copies the Secret's CA into
// its cert dir, replacing its own, so that EnsureServingCert issues its
// serving certificate from the shared CA. A Secret that does not hold a
// matching certificate and key is an error and changes nothing on disk.
func SyncCASecret(ctx context.Context, dyn dynamic.Interface, namespace, name, dir string) error {
	s, err := kube.Get[corev1.Secret](ctx, dyn, kube.Secrets, namespace, name)
	if apierrors.IsNotFound(err) {
		var caPEM, keyPEM []byte
		if caPEM, err = EnsureCA(dir); err != nil {
			return err
		}
		if keyPEM, err = os.ReadFile(filepath.Join(dir, caKeyFile)); err != nil {
			return fmt.Errorf("webhook CA: %w", err)
		}
		s = &corev1.Secret{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: partOf},
			Type:       corev1.SecretTypeOpaque,
			Data:       map[string][]byte{CACertFile: caPEM, caKeyFile: keyPEM},
		}
		// Owned by the webhook configuration it serves, so that removing
		// the webhook (helm uninstall) garbage-collects its CA too.
		if vwc, err := kube.Get[admissionregistrationv1.ValidatingWebhookConfiguration](ctx, dyn, kube.ValidatingWebhookConfigurations, "", WebhookConfigurationName); err == nil {
			s.OwnerReferences = []metav1.OwnerReference{{
				APIVersion: "admissionregistration.k8s.io/v1", Kind: "ValidatingWebhookConfiguration", Name: vwc.Name, UID: vwc.UID,
			}}
		}
		_, err = kube.Create(ctx, dyn, kube.Secrets, namespace, s, metav1.CreateOptions{FieldManager: "signet"})
		if err == nil {
			return nil
		}
		if !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("store webhook CA in Secret %s/%s: %w", namespace, name, err)
		}
		// Another replica stored its CA first: use that one.
		s, err = kube.Get[corev1.Secret](ctx, dyn, kube.Secrets, namespace, name)
	}
	if err != nil {
		return fmt.Errorf("read webhook CA from Secret %s/%s: %w", namespace, name, err)
	}
	caPEM, keyPEM := s.Data[CACertFile], s.Data[caKeyFile]
	if _, _, err := parsePair(caPEM, keyPEM, "key "+caKeyFile); err != nil {
		return fmt.Errorf("webhook CA in Secret %s/%s: %w", namespace, name, err)
	}
	if current, err := os.ReadFile(filepath.Join(dir, CACertFile)); err == nil && bytes.Equal(current, caPEM) {
		return nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("webhook certificates: %w", err)
	}
	// Key first, as ensureCA writes them; the serving certificate, signed
	// by the CA replaced here, is reissued by EnsureServingCert.
	if err := writeFileAtomic(filepath.Join(dir, caKeyFile), keyPEM, 0o600); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, CACertFile), caPEM, 0o644)
}
