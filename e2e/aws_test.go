//go:build e2e

package e2e

import (
	"bytes"
	"crypto/rand"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
)

// TestAWSLogMigrateCosign runs the scale-out move as an operator would,
// with the signet binary and cosign v3: a server on MySQL alone logs a
// blob signature; it stops; `signet log migrate` moves its logs onto the
// object store; it restarts there with a replica sharing its keys, and
// both log more signatures. cosign verifies every bundle, the one logged
// before the move included, against either server's trusted root, and
// `signet log verify` finds the moved logs sound. It needs
// SIGNET_TEST_MYSQL_URL and SIGNET_TEST_S3_URL with AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY (make e2e starts MariaDB and versitygw and sets
// them).
func TestAWSLogMigrateCosign(t *testing.T) {
	dbURL, objects := e2eDatabase(t), e2eObjects(t)
	work := t.TempDir()
	dirA, dirB := filepath.Join(work, "a"), filepath.Join(work, "b")
	artifact := writeFile(t, work, "artifact.txt", []byte("scale-out artifact\n"))

	old, err := startServer(dirA, "--log-storage", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	before := cosignSignBlob(t, old.url, work, artifact, "before")
	if err := old.stop(); err != nil {
		t.Fatal(err)
	}

	out := mustSignet(t, "log", "migrate", "--data-dir", dirA, "--log-storage", dbURL, "--log-objects", objects)
	for _, want := range []string{"Rekor v2 log: copied tree size 1", "Rekor v1 log: copied", "CT log: copied", "Rekor v2 log: ok", "migrated"} {
		if !strings.Contains(out, want) {
			t.Errorf("signet log migrate printed no %q:\n%s", want, out)
		}
	}

	a, err := startServer(dirA, "--log-storage", dbURL, "--log-objects", objects)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dirB, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", "-a", dirA+"/keys", dirA+"/ca", dirA+"/tsa", dirB).CombinedOutput(); err != nil {
		t.Fatalf("copy keys: %v %s", err, out)
	}
	b, err := startServer(dirB, "--log-storage", dbURL, "--log-objects", objects)
	if err != nil {
		a.stop()
		t.Fatal(err)
	}
	afterA := cosignSignBlob(t, a.url, work, artifact, "after-a")
	afterB := cosignSignBlob(t, b.url, work, artifact, "after-b")
	for _, srv := range []*server{a, b} {
		root := writeFile(t, t.TempDir(), "trusted_root.json", getFrom(t, srv.url, "/trusted_root.json"))
		for _, s := range []signedBlob{before, afterA, afterB} {
			res := runCosign(t, env.cosignV3, cosignEnv(), "verify-blob", "--bundle", s.bundle, "--trusted-root", root,
				"--certificate-identity", "alice@example.com", "--certificate-oidc-issuer", s.issuer, artifact)
			if res.err != nil {
				t.Errorf("cosign verify-blob of the bundle signed %s against %s: %v\n%s", s.name, srv.url, res.err, res.out)
			}
		}
	}
	if !bytes.Equal(getFrom(t, a.url, "/checkpoint"), getFrom(t, b.url, "/checkpoint")) {
		t.Error("the replicas serve different checkpoints")
	}
	if err := a.stop(); err != nil {
		t.Error(err)
	}
	if err := b.stop(); err != nil {
		t.Error(err)
	}
	out = mustSignet(t, "log", "verify", "--data-dir", dirA, "--log-storage", dbURL, "--log-objects", objects)
	for _, want := range []string{"Rekor v2 log: ok: 3 entries", "Rekor v1 log: ok"} {
		if !strings.Contains(out, want) {
			t.Errorf("signet log verify printed no %q:\n%s", want, out)
		}
	}
}

// signedBlob is a bundle cosign made and the issuer of its certificate.
type signedBlob struct{ name, bundle, issuer string }

// cosignSignBlob signs artifact with cosign v3 through the server at base
// (its CA, Rekor v2 log and TSA, with a token from its dev issuer).
func cosignSignBlob(t *testing.T, base, dir, artifact, name string) signedBlob {
	t.Helper()
	token, err := exec.CommandContext(t.Context(), env.signetBin, "dev", "token", "--server", base, "--email", "alice@example.com").Output()
	if err != nil {
		t.Fatalf("signet dev token: %v", err)
	}
	s := signedBlob{name: name, bundle: filepath.Join(dir, name+".sigstore.json"), issuer: base + "/oidc"}
	res := runCosign(t, env.cosignV3, cosignEnv(), "sign-blob", "--bundle", s.bundle,
		"--signing-config", writeFile(t, dir, name+"-signing-config.json", getFrom(t, base, "/signing_config.json")),
		"--trusted-root", writeFile(t, dir, name+"-trusted-root.json", getFrom(t, base, "/trusted_root.json")),
		"--identity-token", writeFile(t, dir, name+"-token", bytes.TrimSpace(token)), artifact)
	if res.err != nil {
		t.Fatalf("cosign sign-blob through %s: %v\n%s", base, res.err, res.out)
	}
	return s
}

// mustSignet runs the signet binary (runSignet) and returns what it
// printed; the test fails if it fails.
func mustSignet(t *testing.T, args ...string) string {
	t.Helper()
	res := runSignet(t, args...)
	if res.err != nil {
		t.Fatalf("%v\n%s", res.err, res.out)
	}
	return res.printed()
}

// getFrom GETs path from the server at base.
func getFrom(t *testing.T, base, path string) []byte {
	t.Helper()
	resp, err := http.Get(base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s%s: %s %v\n%s", base, path, resp.Status, err, body)
	}
	return body
}

// e2eDatabase creates a database (and, when the test ends, drops it with
// the Rekor v1 and CT logs' databases beside it) next to the one of
// SIGNET_TEST_MYSQL_URL and returns its URL; it skips the test without the
// variable.
func e2eDatabase(t *testing.T) string {
	t.Helper()
	raw := os.Getenv("SIGNET_TEST_MYSQL_URL")
	if raw == "" {
		t.Skip("SIGNET_TEST_MYSQL_URL not set; make e2e starts MariaDB and sets it")
	}
	cfg, err := mysql.ParseDSN(strings.TrimPrefix(raw, "mysql://"))
	if err != nil {
		t.Fatal(err)
	}
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	var b [4]byte
	rand.Read(b[:])
	name := fmt.Sprintf("%s_e%x", cfg.DBName, b)
	if _, err := admin.Exec("CREATE DATABASE `" + name + "`"); err != nil {
		admin.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		for _, db := range []string{name, name + "_rekor_v1", name + "_ct"} {
			if _, err := admin.Exec("DROP DATABASE IF EXISTS `" + db + "`"); err != nil {
				t.Errorf("drop test database: %v", err)
			}
		}
	})
	cfg.DBName = name
	return "mysql://" + cfg.FormatDSN()
}

// e2eObjects returns a --log-objects URL for a fresh prefix in the bucket of
// SIGNET_TEST_S3_URL; it skips the test without it.
func e2eObjects(t *testing.T) string {
	t.Helper()
	raw := os.Getenv("SIGNET_TEST_S3_URL")
	if raw == "" {
		t.Skip("SIGNET_TEST_S3_URL not set; make e2e starts versitygw and sets it")
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	var b [4]byte
	rand.Read(b[:])
	u.Path = strings.TrimSuffix(u.Path, "/") + fmt.Sprintf("/e2e-%x", b)
	return u.String()
}
