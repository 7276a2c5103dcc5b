package admission

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/signetproject/signet/internal/registrytest"
	"github.com/signetproject/signet/oci"
	"github.com/signetproject/signet/policy"
	"github.com/signetproject/signet/sign"
	"github.com/signetproject/signet/trustroot"
)

// TestValidatePrivateRegistry admits key-signed images of a registry that
// wants credentials with the real registry checker: signatures are read
// with the pod's pull secrets (its own or its service account's), and
// with the signaturePullSecrets of a policy source from the pod's
// namespace, never with another pod's.
func TestValidatePrivateRegistry(t *testing.T) {
	ctx := context.Background()
	open, authed := registrytest.BasicAuth(t, "puller", "secret")
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	img, err := random.Image(128, 1)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := img.Digest()
	// The image is team/app:v1, signed next to it; its signature is also
	// in private-sigs, the source of the policy for public/**.
	setup := oci.New(oci.Options{})
	for _, repo := range []string{"team/app", "private-sigs"} {
		tag, err := name.NewTag(open + "/" + repo + ":v1")
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(tag, img); err != nil {
			t.Fatal(err)
		}
		if _, err := setup.SignImage(ctx, tag.Context().Digest(h.String()), oci.LayoutLegacy, nil, sign.Options{Key: key, UnsafeNoTlog: true}); err != nil {
			t.Fatal(err)
		}
	}
	der, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := strings.ReplaceAll(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), "\n", `\n`)
	docs, _, err := policy.Load([]byte(fmt.Sprintf(`
apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata: {name: team}
spec:
  images: [{glob: "%[1]s/team/**"}]
  authorities: [{name: release-key, key: {data: "%[2]s"}}]
---
apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata: {name: public}
spec:
  images: [{glob: "%[1]s/public/**"}]
  authorities:
  - name: release-key
    key: {data: "%[2]s"}
    source: [{oci: "%[1]s/private-sigs", signaturePullSecrets: [{name: sig-creds}]}]
`, authed, keyPEM)), policy.ValidateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The webhook's own keychain has no credentials for the registry.
	checker := policy.NewRegistryChecker(oci.New(oci.Options{Keychain: authn.NewMultiKeychain()}), &trustroot.TrustedRoot{}, policy.CheckerOptions{})
	eng, err := policy.NewEngine(docs.Policies, checker, policy.Options{NoMatch: policy.NoMatchAllow})
	if err != nil {
		t.Fatal(err)
	}

	creds := map[string]string{authed: "puller:secret"}
	secrets := fakeSecrets{
		secrets: map[string]*corev1.Secret{
			"apps/regcred":    dockerSecret(t, "regcred", creds),
			"apps/sig-creds":  dockerSecret(t, "sig-creds", creds),
			"apps/stale":      dockerSecret(t, "stale", map[string]string{authed: "puller:old"}),
			"other/sig-creds": dockerSecret(t, "sig-creds", map[string]string{authed: "puller:old"}),
		},
		sas: map[string]*corev1.ServiceAccount{
			"apps/builder": {ImagePullSecrets: []corev1.LocalObjectReference{{Name: "regcred"}}},
		},
	}
	// One webhook, so that a decision reached with one pod's credentials
	// would be reused for another if the cache did not tell them apart.
	wh, err := NewWebhook(staticSnapshot{&Snapshot{Engine: eng, Generation: 1, Cacheable: true}},
		fakeNamespaces{"apps": {IncludeLabel: "true"}, "other": {IncludeLabel: "true"}}, secrets, &RemoteResolver{},
		WebhookOptions{Logger: slog.New(slog.DiscardHandler), Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}

	digest := "@" + h.String()
	denied := "registry authentication failed"
	for _, tt := range []struct {
		name           string
		namespace      string
		image          string
		pullSecrets    []string
		serviceAccount string
		wantDenial     []string // nil: admitted
	}{
		{name: "no pull secrets", namespace: "apps", image: authed + "/team/app" + digest,
			wantDenial: []string{"failed policy: team", "signature validation failed for authority release-key", denied}},
		{name: "pod pull secret", namespace: "apps", image: authed + "/team/app" + digest, pullSecrets: []string{"regcred"}},
		{name: "stale pull secret", namespace: "apps", image: authed + "/team/app" + digest, pullSecrets: []string{"stale"},
			wantDenial: []string{"failed policy: team", denied}},
		{name: "service account pull secret", namespace: "apps", image: authed + "/team/app" + digest, serviceAccount: "builder"},
		{name: "pull secret of another namespace", namespace: "other", image: authed + "/team/app" + digest, pullSecrets: []string{"regcred"},
			wantDenial: []string{"failed policy: team", denied}},
		{name: "tag resolved and signatures read with the pull secret", namespace: "apps", image: authed + "/team/app:v1", pullSecrets: []string{"regcred"}},
		{name: "signaturePullSecrets of the pod's namespace", namespace: "apps", image: authed + "/public/app" + digest},
		{name: "signaturePullSecrets of another namespace", namespace: "other", image: authed + "/public/app" + digest,
			wantDenial: []string{"failed policy: public", denied}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ps := podSpec(tt.image)
			ps.ServiceAccountName = tt.serviceAccount
			for _, n := range tt.pullSecrets {
				ps.ImagePullSecrets = append(ps.ImagePullSecrets, corev1.LocalObjectReference{Name: n})
			}
			pod := &corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
				ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: tt.namespace}, Spec: ps}
			resp := wh.Validate(ctx, request(t, admissionv1.Create, "", "Pod", tt.namespace, pod))
			if tt.wantDenial == nil {
				if !resp.Allowed {
					t.Fatalf("denied: %s", resp.Result.Message)
				}
				return
			}
			if resp.Allowed {
				t.Fatal("admitted")
			}
			for _, want := range tt.wantDenial {
				if !strings.Contains(resp.Result.Message, want) {
					t.Errorf("denial %q lacks %q", resp.Result.Message, want)
				}
			}
		})
	}
}
