package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBlobRoundTrip signs a file keyless against a running `signet server
// --dev` with the real binary, then verifies it with the right and wrong
// identities, issuers and artifacts.
func TestBlobRoundTrip(t *testing.T) {
	bin := buildSignet(t)
	url := startServer(t, bin)
	dir := t.TempDir()
	artifact := filepath.Join(dir, "release.tar.gz")
	if err := os.WriteFile(artifact, []byte("the release"), 0o644); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other")
	if err := os.WriteFile(other, []byte("not the release"), 0o644); err != nil {
		t.Fatal(err)
	}
	bundlePath := filepath.Join(dir, "release.sigstore.json")
	env := []string{"SIGNET_SERVER=" + url, "SIGSTORE_ID_TOKEN="}

	out, err := run(t, env, bin, "sign-blob", artifact, "--bundle", bundlePath, "--dev-identity", "alice@example.com")
	if err != nil {
		t.Fatalf("sign-blob: %v\n%s", err, out)
	}
	if !strings.Contains(out, "INSECURE dev issuer") {
		t.Errorf("sign-blob did not warn about the dev issuer:\n%s", out)
	}
	sum := sha256.Sum256([]byte("the release"))
	issuer := url + "/oidc"
	tests := []struct {
		name    string
		args    []string
		wantErr string // "" means it must verify
	}{
		{"right identity", []string{artifact, "--certificate-identity", "alice@example.com", "--certificate-oidc-issuer", issuer}, ""},
		{"digest form", []string{"sha256:" + hex.EncodeToString(sum[:]), "--certificate-identity", "alice@example.com", "--certificate-oidc-issuer", issuer}, ""},
		{"regexps", []string{artifact, "--certificate-identity-regexp", "@example\\.com$", "--certificate-oidc-issuer-regexp", "^http://127"}, ""},
		{"wrong identity", []string{artifact, "--certificate-identity", "mallory@example.com", "--certificate-oidc-issuer", issuer}, "identity"},
		{"wrong issuer", []string{artifact, "--certificate-identity", "alice@example.com", "--certificate-oidc-issuer", "https://accounts.google.com"}, "identity"},
		{"wrong artifact", []string{other, "--certificate-identity", "alice@example.com", "--certificate-oidc-issuer", issuer}, "verification failed"},
		{"no identity", []string{artifact}, "--certificate-identity"},
		{"bad digest", []string{"sha256:zz", "--certificate-identity", "a", "--certificate-oidc-issuer", "b"}, "64 hex digits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := run(t, env, bin, append([]string{"verify-blob", "--bundle", bundlePath}, tt.args...)...)
			if tt.wantErr == "" {
				if err != nil || !strings.Contains(out, "Verified OK") {
					t.Fatalf("verify-blob failed: %v\n%s", err, out)
				}
				return
			}
			if err == nil {
				t.Fatalf("verify-blob succeeded, want failure mentioning %q:\n%s", tt.wantErr, out)
			}
			if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 1 || !strings.Contains(out, tt.wantErr) {
				t.Errorf("want one line mentioning %q, got:\n%s", tt.wantErr, out)
			}
		})
	}

	// The conformance protocol, offline verification with files.
	trustDir := t.TempDir()
	if out, err := run(t, env, bin, "trust-root", "--out", trustDir); err != nil {
		t.Fatalf("trust-root: %v\n%s", err, out)
	}
	tok, err := run(t, env, bin, "dev", "token", "--github-workflow", "octo/app@main")
	if err != nil {
		t.Fatalf("dev token: %v\n%s", err, tok)
	}
	tokFile := filepath.Join(dir, "token")
	if out, err := run(t, env, bin, "dev", "token", "--email", "bob@example.com", "--out", tokFile); err != nil {
		t.Fatalf("dev token --out: %v\n%s", err, out)
	}
	if data, err := os.ReadFile(tokFile); err != nil || strings.Count(string(data), ".") != 2 || strings.HasSuffix(string(data), "\n") {
		t.Errorf("token file = %q, %v: want a bare JWT without a trailing newline", data, err)
	}
	if info, err := os.Stat(tokFile); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("token file mode: %v %v, want 0600", info.Mode(), err)
	}
	statement := filepath.Join(dir, "statement.json")
	if err := os.WriteFile(statement, []byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"release.tar.gz","digest":{"sha256":"`+hex.EncodeToString(sum[:])+`"}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	confBundle := filepath.Join(dir, "conf.sigstore.json")
	out, err = run(t, nil, bin, "conformance", "sign-bundle", "--in-toto", "--identity-token", strings.TrimSpace(tok),
		"--bundle", confBundle, "--signing-config", filepath.Join(trustDir, "signing_config.json"), statement)
	if err != nil {
		t.Fatalf("conformance sign-bundle: %v\n%s", err, out)
	}
	wfSAN := "https://github.com/octo/app/.github/workflows/release.yml@refs/heads/main"
	out, err = run(t, nil, bin, "conformance", "verify-bundle", "--bundle", confBundle, "--certificate-identity", wfSAN,
		"--certificate-oidc-issuer", issuer, "--trusted-root", filepath.Join(trustDir, "trusted_root.json"), artifact)
	if err != nil {
		t.Fatalf("conformance verify-bundle: %v\n%s", err, out)
	}
	if _, err = run(t, nil, bin, "conformance", "verify-bundle", "--bundle", confBundle, "--certificate-identity", wfSAN,
		"--certificate-oidc-issuer", issuer, "--trusted-root", filepath.Join(trustDir, "trusted_root.json"), other); err == nil {
		t.Error("conformance verify-bundle accepted a statement for another artifact")
	}
}

// TestKeyBasedBlob makes a cosign-format key pair with the binary, signs
// with it and verifies with the public key.
func TestKeyBasedBlob(t *testing.T) {
	bin := buildSignet(t)
	url := startServer(t, bin)
	dir := t.TempDir()
	env := []string{"SIGNET_SERVER=" + url, "COSIGN_PASSWORD=s3cret"}
	prefix := filepath.Join(dir, "release")
	if out, err := run(t, env, bin, "generate-key-pair", "--output-key-prefix", prefix); err != nil {
		t.Fatalf("generate-key-pair: %v\n%s", err, out)
	}
	if out, err := run(t, env, bin, "generate-key-pair", "--output-key-prefix", prefix); err == nil || !strings.Contains(out, "already exists") {
		t.Errorf("second generate-key-pair did not refuse to overwrite: %v\n%s", err, out)
	}
	key, _ := os.ReadFile(prefix + ".key")
	if !strings.Contains(string(key), "ENCRYPTED SIGSTORE PRIVATE KEY") {
		t.Errorf("private key is not in cosign's format:\n%s", key)
	}
	artifact := filepath.Join(dir, "a.txt")
	if err := os.WriteFile(artifact, []byte("artifact"), 0o644); err != nil {
		t.Fatal(err)
	}
	bundlePath := filepath.Join(dir, "a.sigstore.json")
	if out, err := run(t, env, bin, "sign-blob", artifact, "--key", prefix+".key", "--bundle", bundlePath); err != nil {
		t.Fatalf("sign-blob --key: %v\n%s", err, out)
	}
	if out, err := run(t, []string{"SIGNET_SERVER=" + url, "COSIGN_PASSWORD=wrong"}, bin, "sign-blob", artifact, "--key", prefix+".key", "--bundle", bundlePath+"2"); err == nil {
		t.Errorf("sign-blob with a wrong password succeeded:\n%s", out)
	}
	if out, err := run(t, env, bin, "verify-blob", artifact, "--bundle", bundlePath, "--key", prefix+".pub"); err != nil || !strings.Contains(out, "Verified OK") {
		t.Fatalf("verify-blob --key: %v\n%s", err, out)
	}
	otherPrefix := filepath.Join(dir, "other")
	if out, err := run(t, env, bin, "generate-key-pair", "--output-key-prefix", otherPrefix); err != nil {
		t.Fatalf("generate-key-pair: %v\n%s", err, out)
	}
	if out, err := run(t, env, bin, "verify-blob", artifact, "--bundle", bundlePath, "--key", otherPrefix+".pub"); err == nil {
		t.Errorf("verify-blob accepted another key:\n%s", out)
	}
}

// TestSignBlobCosignFlags checks cosign's everyday sign-blob flags:
// --output-signature and --output-certificate hold exactly the bundle's
// signature and certificate; --tlog-upload=false signs with a key without
// a log entry, which verify-blob accepts only with --insecure-ignore-tlog;
// keyless signing refuses it; --yes is accepted.
func TestSignBlobCosignFlags(t *testing.T) {
	bin := buildSignet(t)
	url := startServer(t, bin)
	dir := t.TempDir()
	env := []string{"SIGNET_SERVER=" + url, "SIGSTORE_ID_TOKEN=", "COSIGN_PASSWORD=pw"}
	artifact := filepath.Join(dir, "a.txt")
	if err := os.WriteFile(artifact, []byte("artifact"), 0o644); err != nil {
		t.Fatal(err)
	}
	bundlePath, sigPath, certPath := filepath.Join(dir, "a.json"), filepath.Join(dir, "a.sig"), filepath.Join(dir, "a.pem")
	if out, err := run(t, env, bin, "sign-blob", artifact, "--yes", "--bundle", bundlePath, "--output-signature", sigPath,
		"--output-certificate", certPath, "--dev-identity", "alice@example.com"); err != nil {
		t.Fatalf("sign-blob: %v\n%s", err, out)
	}
	var b struct {
		VerificationMaterial struct {
			Certificate struct{ RawBytes []byte } `json:"certificate"`
		} `json:"verificationMaterial"`
		MessageSignature struct{ Signature []byte } `json:"messageSignature"`
	}
	data, _ := os.ReadFile(bundlePath)
	if err := json.Unmarshal(data, &b); err != nil {
		t.Fatal(err)
	}
	sigB64, _ := os.ReadFile(sigPath)
	sig, err := base64.StdEncoding.DecodeString(string(sigB64))
	if err != nil || !bytes.Equal(sig, b.MessageSignature.Signature) {
		t.Errorf("--output-signature holds %q, want the bundle's signature in base64 (%v)", sigB64, err)
	}
	certPEM, _ := os.ReadFile(certPath)
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" || !bytes.Equal(block.Bytes, b.VerificationMaterial.Certificate.RawBytes) {
		t.Fatalf("--output-certificate does not hold the bundle's certificate:\n%s", certPEM)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("artifact"))
	if !ecdsa.VerifyASN1(cert.PublicKey.(*ecdsa.PublicKey), sum[:], sig) {
		t.Error("the written signature does not verify with the written certificate")
	}

	// Keys without the log.
	prefix := filepath.Join(dir, "k")
	if out, err := run(t, env, bin, "generate-key-pair", "--output-key-prefix", prefix); err != nil {
		t.Fatalf("generate-key-pair: %v\n%s", err, out)
	}
	noLog := filepath.Join(dir, "nolog.json")
	if out, err := run(t, env, bin, "sign-blob", artifact, "--key", prefix+".key", "--tlog-upload=false", "--bundle", noLog); err != nil {
		t.Fatalf("sign-blob --tlog-upload=false: %v\n%s", err, out)
	}
	if data, _ := os.ReadFile(noLog); bytes.Contains(data, []byte("tlogEntries")) {
		t.Errorf("--tlog-upload=false bundle has log entries:\n%s", data)
	}
	if out, err := run(t, env, bin, "verify-blob", artifact, "--bundle", noLog, "--key", prefix+".pub"); err == nil {
		t.Errorf("verify-blob accepted a bundle without log entries:\n%s", out)
	}
	// Offline: no server to ask for trust material.
	offline := []string{"SIGNET_SERVER=http://127.0.0.1:1", "COSIGN_PASSWORD=pw"}
	if out, err := run(t, offline, bin, "verify-blob", artifact, "--bundle", noLog, "--key", prefix+".pub", "--insecure-ignore-tlog"); err != nil || !strings.Contains(out, "Verified OK") {
		t.Errorf("verify-blob --insecure-ignore-tlog: %v\n%s", err, out)
	}
	if out, err := run(t, offline, bin, "verify-blob", filepath.Join(dir, "a.sig"), "--bundle", noLog, "--key", prefix+".pub", "--insecure-ignore-tlog"); err == nil {
		t.Errorf("verify-blob --insecure-ignore-tlog accepted another artifact:\n%s", out)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"sign-blob", artifact, "--tlog-upload=false", "--bundle", filepath.Join(dir, "x.json"), "--dev-identity", "a@example.com"}, "--tlog-upload=false needs --key"},
		{[]string{"sign-blob", artifact, "--key", prefix + ".key", "--output-certificate", certPath + "2", "--output-signature", sigPath + "2"}, "there is no certificate"},
		{[]string{"sign-blob", artifact}, "bundle output-signature"},
	} {
		if out, err := run(t, env, bin, tt.args...); err == nil || !strings.Contains(out, tt.want) {
			t.Errorf("%v: %v, want an error mentioning %q:\n%s", tt.args, err, tt.want, out)
		}
	}
}
