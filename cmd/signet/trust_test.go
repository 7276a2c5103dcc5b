package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestVerifyRequiresSCT: signet verify-blob wants an SCT from a CT log of
// the trusted root for keyless certificates, as cosign does, even when the
// trusted root lists no CT log; --insecure-ignore-sct (never in the README)
// turns that off. The same bundle verifies with trust fetched through the
// server's TUF repository (--tuf-mirror/--tuf-root), and not with another
// repository's root.
func TestVerifyRequiresSCT(t *testing.T) {
	bin := buildSignet(t)
	dir := t.TempDir()
	tufDir, otherTUF := filepath.Join(dir, "tuf"), filepath.Join(dir, "other-tuf")
	url := startServer(t, bin, "--tuf-repo", filepath.Join(tufDir, "repo"))
	env := []string{"SIGNET_SERVER=" + url, "SIGSTORE_ID_TOKEN=", "SIGNET_TUF_CACHE=" + filepath.Join(dir, "cache")}
	artifact := filepath.Join(dir, "a.txt")
	if err := os.WriteFile(artifact, []byte("needs an SCT"), 0o644); err != nil {
		t.Fatal(err)
	}
	bundlePath := filepath.Join(dir, "a.sigstore.json")
	if out, err := run(t, env, bin, "sign-blob", artifact, "--bundle", bundlePath, "--dev-identity", "alice@example.com"); err != nil {
		t.Fatalf("sign-blob: %v\n%s", err, out)
	}
	for _, d := range []string{tufDir, otherTUF} {
		if out, err := run(t, env, bin, "tuf", "init", "--dir", d); err != nil {
			t.Fatalf("tuf init: %v\n%s", err, out)
		}
	}
	// The server's trusted root without its CT log.
	resp, err := http.Get(url + "/trusted_root.json")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	delete(doc, "ctlogs")
	noCT, _ := json.Marshal(doc)
	noCTPath := filepath.Join(dir, "no-ct.json")
	if err := os.WriteFile(noCTPath, noCT, 0o644); err != nil {
		t.Fatal(err)
	}
	id := []string{"--certificate-identity", "alice@example.com", "--certificate-oidc-issuer", url + "/oidc"}
	for _, tt := range []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"server's trusted root", nil, ""},
		{"trusted root without CT logs", []string{"--trusted-root", noCTPath}, "sct: 0 verified SCTs, need 1"},
		{"trusted root without CT logs, --insecure-ignore-sct", []string{"--trusted-root", noCTPath, "--insecure-ignore-sct"}, ""},
		{"through TUF", []string{"--tuf-mirror", url + "/tuf", "--tuf-root", filepath.Join(tufDir, "repo", "1.root.json")}, ""},
		{"through TUF, another repository's root", []string{"--tuf-mirror", url + "/tuf", "--tuf-root", filepath.Join(otherTUF, "repo", "1.root.json")}, "tuf: update"},
		{"--tuf-mirror without --tuf-root", []string{"--tuf-mirror", url + "/tuf"}, "go together"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, err := run(t, env, bin, append(append([]string{"verify-blob", artifact, "--bundle", bundlePath}, id...), tt.args...)...)
			switch {
			case tt.wantErr == "" && (err != nil || !strings.Contains(out, "Verified OK")):
				t.Fatalf("verify-blob failed: %v\n%s", err, out)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("verify-blob succeeded, want %q:\n%s", tt.wantErr, out)
			case tt.wantErr != "" && !strings.Contains(out, tt.wantErr):
				t.Fatalf("verify-blob failed without %q:\n%s", tt.wantErr, out)
			}
		})
	}
}
