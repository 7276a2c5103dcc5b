package policy

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const keylessYAML = `
apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata:
  name: signed-by-ci
  generation: 3
  labels: {team: platform}
  creationTimestamp: "2024-01-01T00:00:00Z"
  managedFields: [{manager: kubectl}]
spec:
  mode: warn
  images:
  - glob: "ghcr.io/org/**"
  authorities:
  - keyless:
      identities:
      - issuer: https://token.actions.githubusercontent.com
        subjectRegExp: ^https://github.com/org/.*$
    ctlog:
      url: https://rekor.sigstore.dev
    source:
    - oci: ghcr.io/org/signatures
      tagPrefix: ""
  match:
  - resource: pods
    version: v1
    selector:
      matchExpressions:
      - {key: tier, operator: In, values: [prod]}
`

func TestDecodeClusterImagePolicy(t *testing.T) {
	got, err := DecodeClusterImagePolicy([]byte(keylessYAML))
	if err != nil {
		t.Fatal(err)
	}
	empty := ""
	want := &ClusterImagePolicy{
		TypeMeta: TypeMeta{APIVersion: V1beta1, Kind: KindClusterImagePolicy},
		Metadata: ObjectMeta{Name: "signed-by-ci", Generation: 3, Labels: map[string]string{"team": "platform"}},
		Spec: ClusterImagePolicySpec{
			Mode:   "warn",
			Images: []ImagePattern{{Glob: "ghcr.io/org/**"}},
			Authorities: []Authority{{
				Keyless: &KeylessRef{Identities: []Identity{{
					Issuer: "https://token.actions.githubusercontent.com", SubjectRegExp: "^https://github.com/org/.*$",
				}}},
				CTLog:   &TLog{URL: "https://rekor.sigstore.dev"},
				Sources: []Source{{OCI: "ghcr.io/org/signatures", TagPrefix: &empty}},
			}},
			Match: []MatchResource{{Resource: "pods", Version: "v1", Selector: &LabelSelector{
				MatchExpressions: []LabelSelectorRequirement{{Key: "tier", Operator: OpIn, Values: []string{"prod"}}},
			}}},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decode (-want +got):\n%s", diff)
	}

	// JSON decodes to the same policy.
	raw, err := jsonOf(got)
	if err != nil {
		t.Fatal(err)
	}
	again, err := DecodeClusterImagePolicy(raw)
	if err != nil {
		t.Fatalf("decode JSON %s: %v", raw, err)
	}
	if diff := cmp.Diff(got, again); diff != "" {
		t.Errorf("JSON round trip (-first +second):\n%s", diff)
	}
}

func TestDecodeErrors(t *testing.T) {
	const head = "apiVersion: policy.sigstore.dev/v1alpha1\nkind: ClusterImagePolicy\n"
	tests := []struct {
		name, in, wantErr string
	}{
		{name: "unknown spec field", in: head + "spec:\n  images: [{glob: '*'}]\n  authoritys: []\n", wantErr: `unknown field "authoritys"`},
		{name: "unknown nested field", in: head + "spec:\n  authorities:\n  - key: {pem: x}\n", wantErr: `unknown field "pem"`},
		{name: "unknown metadata field", in: head + "metadata: {name: a, lables: {}}\n", wantErr: `unknown field "metadata.lables"`},
		{name: "wrong type", in: head + "spec:\n  images: {glob: '*'}\n", wantErr: "cannot unmarshal object"},
		{name: "duplicate key", in: head + "spec: {}\nspec: {}\n", wantErr: `duplicate key "spec"`},
		{name: "missing kind", in: "apiVersion: v1\nmetadata: {name: x}\n", wantErr: "missing kind"},
		{name: "not a mapping", in: "- a\n- b\n", wantErr: "not an object"},
		{name: "alias", in: head + "metadata: &m {name: a}\nspec:\n  x: *m\n", wantErr: "aliases are not supported"},
		{name: "bad yaml", in: head + "spec: [\n", wantErr: "yaml"},
		{name: "wrong version", in: "apiVersion: policy.sigstore.dev/v2\nkind: ClusterImagePolicy\nspec: {images: []}\n", wantErr: `unsupported apiVersion "policy.sigstore.dev/v2"`},
		{name: "two policies", in: head + "metadata: {name: a}\n---\n" + head + "metadata: {name: b}\n", wantErr: "want exactly one ClusterImagePolicy document, got 2 policies"},
		{name: "trailing JSON", in: `{"apiVersion": "policy.sigstore.dev/v1beta1", "kind": "ClusterImagePolicy"} {}`, wantErr: "decode policy document"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeClusterImagePolicy([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("DecodeClusterImagePolicy error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestDecodeAll(t *testing.T) {
	in := `---
# leading empty document
---
apiVersion: v1
kind: ConfigMap
metadata: {name: policies}
data: {a: b}
---
apiVersion: policy.sigstore.dev/v1alpha1
kind: TrustRoot
metadata: {name: root}
spec:
  remote:
    mirror: https://tuf-repo-cdn.sigstore.dev
    root: eyJzaWduYXR1cmVzIjogW119
---
{"apiVersion": "policy.sigstore.dev/v1alpha1", "kind": "ClusterImagePolicy", "metadata": {"name": "json"},
 "spec": {"images": [{"glob": "**"}], "authorities": [{"static": {"action": "pass"}}]}}
`
	docs, err := DecodeAll([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]TypeMeta{{APIVersion: "v1", Kind: "ConfigMap"}}, docs.Skipped); diff != "" {
		t.Errorf("Skipped (-want +got):\n%s", diff)
	}
	if len(docs.TrustRoots) != 1 || string(docs.TrustRoots[0].Spec.Remote.Root) != `{"signatures": []}` {
		t.Errorf("TrustRoots = %+v, want root with decoded base64 root.json", docs.TrustRoots)
	}
	if len(docs.Policies) != 1 || docs.Policies[0].Metadata.Name != "json" {
		t.Errorf("Policies = %+v, want the JSON policy", docs.Policies)
	}
}

func TestLoad(t *testing.T) {
	in := `apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata: {name: good}
spec:
  images: [{glob: "**"}]
  authorities:
  - keyless:
      identities: [{issuer: i, subject: s}]
    attestations:
    - {name: sbom, predicateType: spdxjson}
---
apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata: {name: bad}
spec:
  images: [{glob: "**"}]
  mode: audit
`
	docs, warnings, err := Load([]byte(in), ValidateOptions{})
	wantErr := "ClusterImagePolicy \"bad\": validation failed: invalid value: audit: spec.mode\nunsupported mode\nmissing field(s): spec.authorities"
	if err == nil || err.Error() != wantErr {
		t.Errorf("Load error = %v, want %q", err, wantErr)
	}
	wantWarnings := []string{"ClusterImagePolicy \"good\": invalid value: spdxjson: spec.authorities[0].attestations.predicateType\ndeprecated value, please use RFC 3986 conformant values"}
	if diff := cmp.Diff(wantWarnings, warnings); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	// Defaults were applied.
	good := docs.Policies[0]
	if good.Spec.Mode != ModeEnforce || good.Spec.Authorities[0].Name != "authority-0" || good.Spec.Authorities[0].Keyless.URL != DefaultFulcioURL {
		t.Errorf("defaults not applied: %+v", good.Spec)
	}
}

func TestConvertTo(t *testing.T) {
	orig, err := DecodeClusterImagePolicy([]byte(keylessYAML))
	if err != nil {
		t.Fatal(err)
	}
	// Fields policy-controller's conversion drops must survive.
	orig.Spec.Authorities[0].CTLog = &TLog{TrustRootRef: "mine"}
	orig.Spec.Authorities[0].RFC3161Timestamp = &RFC3161Timestamp{}
	alpha, err := orig.ConvertTo(V1alpha1)
	if err != nil {
		t.Fatal(err)
	}
	if alpha.APIVersion != V1alpha1 {
		t.Errorf("APIVersion = %q, want %q", alpha.APIVersion, V1alpha1)
	}
	beta, err := alpha.ConvertTo(V1beta1)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(orig, beta, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	alpha.Spec.Authorities[0].CTLog.TrustRootRef = "changed"
	if orig.Spec.Authorities[0].CTLog.TrustRootRef != "mine" {
		t.Error("ConvertTo shares memory with its receiver")
	}
	if _, err := orig.ConvertTo("policy.sigstore.dev/v1"); err == nil {
		t.Error("ConvertTo(v1) succeeded, want an error")
	}
}

func jsonOf(v any) ([]byte, error) { return json.Marshal(v) }
