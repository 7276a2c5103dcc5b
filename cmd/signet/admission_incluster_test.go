package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAdmissionClusterConfigErrors checks how `signet admission` finds
// its cluster: serve without --kubeconfig takes the in-cluster service
// account (client-go's rest.InClusterConfig: $KUBERNETES_SERVICE_HOST,
// $KUBERNETES_SERVICE_PORT and the token under
// /var/run/secrets/kubernetes.io/serviceaccount), and outside a cluster
// it fails with a message that says so, before it listens or writes its
// certificate directory. install never guesses: it needs --kubeconfig.
func TestAdmissionClusterConfigErrors(t *testing.T) {
	const tokenFile = "/var/run/secrets/kubernetes.io/serviceaccount/token"
	bin := buildSignet(t)
	dir := t.TempDir()
	certDir := filepath.Join(dir, "certs")
	notInCluster := []string{"KUBERNETES_SERVICE_HOST=", "KUBERNETES_SERVICE_PORT=", "KUBECONFIG="}
	serve := []string{"admission", "serve", "--addr", "127.0.0.1:0", "--cert-dir", certDir}
	tests := []struct {
		name string
		env  []string
		args []string
		want []string
		// needsNoToken: the case assumes this machine is no pod.
		needsNoToken bool
	}{
		{
			name: "serve outside a cluster",
			env:  notInCluster,
			args: serve,
			want: []string{"no --kubeconfig and not in a cluster", "KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined"},
		},
		{
			name:         "serve with the service variables but no service account token",
			env:          []string{"KUBERNETES_SERVICE_HOST=127.0.0.1", "KUBERNETES_SERVICE_PORT=1", "KUBECONFIG="},
			args:         serve,
			want:         []string{"no --kubeconfig and not in a cluster", tokenFile},
			needsNoToken: true,
		},
		{
			name: "serve with a missing kubeconfig",
			env:  notInCluster,
			args: append(serve[:len(serve):len(serve)], "--kubeconfig", filepath.Join(dir, "nope.yaml")),
			want: []string{"--kubeconfig " + filepath.Join(dir, "nope.yaml"), "no such file"},
		},
		{
			name: "serve with a missing $KUBECONFIG",
			env:  []string{"KUBECONFIG=" + filepath.Join(dir, "env.yaml")},
			args: serve,
			want: []string{"--kubeconfig " + filepath.Join(dir, "env.yaml"), "no such file"},
		},
		{
			name: "install without kubeconfig",
			env:  []string{"KUBERNETES_SERVICE_HOST=127.0.0.1", "KUBERNETES_SERVICE_PORT=1", "KUBECONFIG="},
			args: []string{"admission", "install"},
			want: []string{"--kubeconfig (or $KUBECONFIG) is required"},
		},
		{
			name: "install in URL mode without a CA",
			args: []string{"admission", "install", "--kubeconfig", filepath.Join(dir, "nope.yaml"), "--webhook-url", "https://127.0.0.1:8443/validate"},
			want: []string{"--webhook-url needs --ca-bundle-from"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := os.Stat(tokenFile); tt.needsNoToken && err == nil {
				t.Skipf("%s exists: this runs in a pod", tokenFile)
			}
			out, err := run(t, tt.env, bin, tt.args...)
			if err == nil {
				t.Fatalf("succeeded, want failure; output:\n%s", out)
			}
			for _, want := range tt.want {
				if !strings.Contains(out, want) {
					t.Errorf("output %q does not mention %q", out, want)
				}
			}
			if _, err := os.Stat(certDir); err == nil {
				t.Errorf("failed serve created its certificate directory %s", certDir)
			}
		})
	}
}
