package policy

import (
	"bufio"
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// pcOptions are the settings of policy-controller's e2e cluster: the
// webhook's resource names, installed in cosign-system.
var pcOptions = ValidateOptions{ResourceNames: DefaultResourceNames, SystemNamespace: "cosign-system"}

// messageDivergences are invalid examples whose ERROR line comes from the
// API server's schema check rather than policy-controller's validator, so
// signet rejects them with the validator's message instead.
var messageDivergences = map[string]string{
	// The API server rejects the "identities": null the defaulting
	// webhook writes back; policy-controller's unit tests expect this:
	"missing-identity.yaml":            "missing field(s): spec.authorities[0].keyless.identities",
	"v1beta1-missing-identity.yaml":    "missing field(s): spec.authorities[0].keyless.identities",
	"empty-keyref-and-keylessref.yaml": "expected exactly one, got both: spec.authorities[0].key, spec.authorities[0].keyless, spec.authorities[0].static",
}

// templateExamples are examples with placeholders to fill in, which
// policy-controller's validator rejects as they stand, with this message.
var templateExamples = map[string]string{
	// kms: awskms:///arn:aws:kms:<< region >>:<< account id >>:key/<< key id >>
	"signed-by-aws-kms-key.yaml": "invalid value: awskms:///arn:aws:kms:<< region >>:<< account id >>:key/<< key id >>: spec.authorities[0].key.kms\nkms key should be in the format",
}

// TestPolicyControllerExamples loads every ClusterImagePolicy of
// policy-controller v0.13.1's examples and test data (copied into
// testdata/policy-controller) and checks that signet reaches the verdict
// policy-controller does; see testdata/policy-controller/README.md.
func TestPolicyControllerExamples(t *testing.T) {
	root := filepath.Join("testdata", "policy-controller")
	var files, agree int
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yaml") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		rel, _ := filepath.Rel(root, path)
		dir := filepath.Base(filepath.Dir(path))
		t.Run(rel, func(t *testing.T) {
			ok := checkExample(t, dir, filepath.Base(path), data)
			if ok {
				agree++
			}
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("policy-controller examples: %d files, %d agree", files, agree)
	// Guard against the walk silently finding nothing.
	if files < 90 {
		t.Errorf("found %d example files, want at least 90", files)
	}
}

func checkExample(t *testing.T, dir, base string, data []byte) bool {
	t.Helper()
	docs, warnings, err := Load(data, pcOptions)
	if docs != nil && len(docs.Policies)+len(docs.TrustRoots) == 0 {
		t.Errorf("no ClusterImagePolicy or TrustRoot found")
		return false
	}
	for _, w := range warnings {
		t.Logf("warning: %s", w)
	}
	if want, ok := templateExamples[base]; ok {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("template example: got error %v, want one containing %q", err, want)
			return false
		}
		return true
	}
	switch dir {
	case "invalid":
		if err == nil {
			t.Errorf("accepted; policy-controller rejects it")
			return false
		}
		want := expectedErrors(data)
		if alt, ok := messageDivergences[base]; ok {
			want = []string{alt}
		}
		if len(want) == 0 {
			t.Errorf("no ERROR: lines in the file")
			return false
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error does not contain %q:\n%v", w, err)
				return false
			}
		}
		return true
	case "empty-authorities":
		if err == nil {
			t.Errorf("accepted with fail-on-empty-authorities on; policy-controller rejects it")
			return false
		}
		opts := pcOptions
		opts.AllowEmptyAuthorities = true
		if _, _, err := Load(data, opts); err != nil {
			t.Errorf("rejected with fail-on-empty-authorities off: %v", err)
			return false
		}
		return true
	default:
		if err != nil {
			t.Errorf("rejected; policy-controller accepts it: %v", err)
			return false
		}
		return true
	}
}

// expectedErrors returns the text after "ERROR:" on the file's comment
// lines, as policy-controller's e2e_test_policy_crd.sh extracts it (cut -d
// ':' -f 2-, leading space kept).
func expectedErrors(data []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if !strings.Contains(line, "ERROR:") {
			continue
		}
		_, rest, _ := strings.Cut(line, ":")
		out = append(out, rest)
	}
	return out
}
