package policy

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestLoadFileErrors checks that a policy file that does not load says
// which file, line, resource and field are wrong.
func TestLoadFileErrors(t *testing.T) {
	const head = "apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\nmetadata:\n  name: p\n"
	tests := []struct {
		name, in string
		want     []string // the error's lines
	}{
		{
			name: "unknown field",
			in:   head + "spec:\n  images: [{glob: '**'}]\n  authorities:\n  - static: {action: pass}\n  - key:\n      pem: x\n",
			want: []string{`p.yaml:10: ClusterImagePolicy "p": spec.authorities[1].key.pem: unknown field`},
		},
		{
			name: "unknown metadata field",
			in:   head + "  lables: {a: b}\nspec: {images: [{glob: '**'}]}\n",
			want: []string{`p.yaml:5: ClusterImagePolicy "p": metadata.lables: unknown field`},
		},
		{
			name: "wrong type",
			in:   head + "spec:\n  images:\n    glob: '**'\n",
			want: []string{`p.yaml:7: ClusterImagePolicy "p": spec.images: want a list, got an object`},
		},
		{
			name: "number for a string",
			in:   head + "spec:\n  images: [{glob: 3}]\n",
			want: []string{`p.yaml:6: ClusterImagePolicy "p": spec.images[0].glob: want a string, got the number 3`},
		},
		{
			name: "validation: missing and invalid fields",
			in:   head + "spec:\n  images: [{glob: '**'}]\n  mode: audit\n",
			want: []string{
				`p.yaml:7: ClusterImagePolicy "p": invalid value: audit: spec.mode`,
				`unsupported mode`,
				`p.yaml:5: ClusterImagePolicy "p": missing field(s): spec.authorities`,
			},
		},
		{
			name: "validation in the second document",
			in: head + "spec:\n  images: [{glob: '**'}]\n  authorities: [{static: {action: pass}}]\n---\n" + head +
				"spec:\n  images: [{glob: '**'}]\n  authorities:\n  - keyless:\n      url: https://fulcio.example\n      identities: [{issuer: x}]\n",
			want: []string{`p.yaml:18: ClusterImagePolicy "p": missing field(s): spec.authorities[0].keyless.identities[0].subject, spec.authorities[0].keyless.identities[0].subjectRegExp`},
		},
		{
			name: "unsupported version",
			in:   "apiVersion: policy.sigstore.dev/v9\nkind: ClusterImagePolicy\nmetadata: {name: p}\nspec: {}\n",
			want: []string{`p.yaml:1: ClusterImagePolicy "p": unsupported apiVersion "policy.sigstore.dev/v9", want one of ["policy.sigstore.dev/v1alpha1" "policy.sigstore.dev/v1beta1"]`},
		},
		{
			name: "yaml syntax",
			in:   head + "spec:\n  images: [\n",
			want: []string{`p.yaml:6: yaml: line 6: did not find expected node content`},
		},
		{
			name: "duplicate key",
			in:   head + "spec: {}\nspec: {}\n",
			want: []string{`p.yaml:6: duplicate key "spec"`},
		},
		{
			name: "trust root",
			in:   "apiVersion: policy.sigstore.dev/v1alpha1\nkind: TrustRoot\nmetadata: {name: tr}\nspec:\n  sigstoreKeys:\n    certificateAuthorities:\n    - subject: {organization: o, commonName: c}\n      uri: https://ca.example\n      certChain: 7\n",
			want: []string{`p.yaml:9: TrustRoot "tr": spec.sigstoreKeys.certificateAuthorities[0].certChain: want a base64 string, got the number 7`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := LoadFile("p.yaml", []byte(tt.in), ValidateOptions{})
			if err == nil {
				t.Fatal("loaded")
			}
			if diff := cmp.Diff(tt.want, strings.Split(err.Error(), "\n")); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadFileWarningsAndSuccess(t *testing.T) {
	in := "# leading comment\napiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\nmetadata: {name: p}\nspec:\n  images: [{glob: '**'}]\n  authorities:\n  - key: {data: x}\n    attestations:\n    - name: a\n      predicateType: spdxjson\n"
	_, warnings, err := LoadFile("p.yaml", []byte(in), ValidateOptions{})
	// The key data is not a key: an error; the deprecated predicate type
	// is a warning.
	if err == nil || !strings.HasPrefix(err.Error(), `p.yaml:8: ClusterImagePolicy "p": `) {
		t.Errorf("error %v", err)
	}
	want := []string{"p.yaml:9: ClusterImagePolicy \"p\": invalid value: spdxjson: spec.authorities[0].attestations.predicateType\ndeprecated value, please use RFC 3986 conformant values"}
	if diff := cmp.Diff(want, warnings); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	docs, _, err := LoadFile("p.yaml", []byte("apiVersion: policy.sigstore.dev/v1alpha1\nkind: ClusterImagePolicy\nmetadata: {name: ok}\nspec:\n  images: [{glob: '**'}]\n  authorities: [{static: {action: pass}}]\n---\napiVersion: v1\nkind: ConfigMap\n"), ValidateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(docs.Policies) != 1 || docs.Policies[0].Spec.Authorities[0].Name != "authority-0" || len(docs.Skipped) != 1 {
		t.Errorf("docs %+v", docs)
	}
}
