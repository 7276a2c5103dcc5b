package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"

	"github.com/signetproject/signet/internal/kube"
	"github.com/signetproject/signet/server"
)

func newServerInitKeysCmd() *cobra.Command {
	var (
		dataDir, secret, namespace, kubeconfig, owner, exportDir string
		dev                                                      bool
	)
	cmd := &cobra.Command{
		Use:   "init-keys (--data-dir DIR | --secret NAME [--export-dir DIR])",
		Short: "Create the server's keys and certificates without starting it: in a data dir, or in a Kubernetes Secret",
		Long: `Create the key material "signet server" would create on its first start (CA, log,
timestamp authority; with --dev the dev issuer's key) and exit.

With --data-dir the material goes into that directory. With --secret it goes into a
new Kubernetes Secret (one entry per file, "keys/tlog.key" as "keys--tlog.key"); an
existing Secret is kept as it is. --export-dir then writes the Secret's entries as
files, for "signet server --keys-from DIR": servers sharing the Secret share one trust
root and none creates keys of its own. The Helm chart runs this as the server pods'
init container, the Secret owned by the release's ConfigMap (--owner-configmap) so
that uninstalling the release deletes the keys.`,
		Example: `  signet server init-keys --data-dir ./signet-data
  signet server init-keys --secret signet-server-keys --namespace signet-system --export-dir /run/signet/keys`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			if (dataDir == "") == (secret == "") {
				return errors.New("give --data-dir or --secret")
			}
			if dataDir != "" {
				if exportDir != "" || owner != "" {
					return errors.New("--export-dir and --owner-configmap go with --secret")
				}
				if err := server.InitMaterial(dataDir, dev); err != nil {
					return err
				}
				fmt.Fprintf(out, "key material in %s\n", dataDir)
				return nil
			}
			if namespace == "" {
				namespace = os.Getenv("POD_NAMESPACE")
			}
			if namespace == "" {
				return errors.New("--secret needs --namespace (or $POD_NAMESPACE)")
			}
			dyn, _, _, err := kubeClients(kubeconfig)
			if err != nil {
				return err
			}
			s, err := ensureKeySecret(cmd.Context(), dyn, namespace, secret, owner, dev, out)
			if err != nil {
				return err
			}
			if exportDir == "" {
				return nil
			}
			if err := os.MkdirAll(exportDir, 0o700); err != nil {
				return err
			}
			for k, v := range s.Data {
				if err := os.WriteFile(filepath.Join(exportDir, filepath.Base(k)), v, 0o600); err != nil {
					return err
				}
			}
			fmt.Fprintf(out, "wrote %d key material files to %s\n", len(s.Data), exportDir)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dataDir, "data-dir", "", "create the material in this directory")
	f.StringVar(&secret, "secret", "", "keep the material in this Kubernetes Secret (created when it does not exist)")
	f.StringVar(&namespace, "namespace", "", "the Secret's namespace (default $POD_NAMESPACE)")
	f.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig file (default $KUBECONFIG, else the in-cluster service account)")
	f.StringVar(&owner, "owner-configmap", "", "make this ConfigMap (same namespace) the owner of a Secret created now, so deleting it deletes the keys")
	f.StringVar(&exportDir, "export-dir", "", "write the Secret's entries as files in this directory (for signet server --keys-from)")
	f.BoolVar(&dev, "dev", false, "also create the key of the INSECURE dev issuer (for servers run with --dev)")
	return cmd
}

// ensureKeySecret returns the key Secret, creating it from new material
// when it does not exist. Replicas racing to create it all end up with the
// one that was created first.
func ensureKeySecret(ctx context.Context, dyn dynamic.Interface, namespace, name, owner string, dev bool, out io.Writer) (*corev1.Secret, error) {
	if s, err := kube.Get[corev1.Secret](ctx, dyn, kube.Secrets, namespace, name); err == nil {
		fmt.Fprintf(out, "Secret %s/%s exists; keeping its keys\n", namespace, name)
		return s, nil
	} else if !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("read Secret %s/%s: %w", namespace, name, err)
	}
	tmp, err := os.MkdirTemp("", "signet-keys-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	if err := server.InitMaterial(tmp, dev); err != nil {
		return nil, err
	}
	files, err := server.ReadMaterial(tmp)
	if err != nil {
		return nil, err
	}
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace,
			Labels: map[string]string{"app.kubernetes.io/part-of": "signet", "app.kubernetes.io/component": "server"}},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{},
	}
	for rel, data := range files {
		s.Data[server.SecretKey(rel)] = data
	}
	if owner != "" {
		cm, err := kube.Get[corev1.ConfigMap](ctx, dyn, kube.ConfigMaps, namespace, owner)
		if err != nil {
			return nil, fmt.Errorf("--owner-configmap %s: %w", owner, err)
		}
		s.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: cm.Name, UID: cm.UID}}
	}
	created, err := kube.Create(ctx, dyn, kube.Secrets, namespace, s, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		fmt.Fprintf(out, "Secret %s/%s was created meanwhile; keeping its keys\n", namespace, name)
		return kube.Get[corev1.Secret](ctx, dyn, kube.Secrets, namespace, name)
	}
	if err != nil {
		return nil, fmt.Errorf("create Secret %s/%s: %w", namespace, name, err)
	}
	fmt.Fprintf(out, "created Secret %s/%s with %d key material files\n", namespace, name, len(files))
	return created, nil
}
