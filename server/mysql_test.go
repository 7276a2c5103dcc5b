package server_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sigstore/rekor/pkg/generated/models"
	rekorv1verify "github.com/sigstore/rekor/pkg/verify"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/signetproject/signet/bundle"
	"github.com/signetproject/signet/oidc"
	"github.com/signetproject/signet/server"
	"github.com/signetproject/signet/server/servertest"
	"github.com/signetproject/signet/sign"
	"github.com/signetproject/signet/tlog/rekorv1"
	"github.com/signetproject/signet/tlog/storage"
	"github.com/signetproject/signet/trustroot"
	"github.com/signetproject/signet/verify"
	"google.golang.org/protobuf/encoding/protojson"
)

// TestMySQLScaleOut runs two servers that share one MySQL/MariaDB log and
// the same keys, signs through both, and verifies every bundle against
// either server's trusted root; then it checks that they share the Rekor v1
// log too. It needs a database: set
// SIGNET_TEST_MYSQL_URL=mysql://user:pass@tcp(127.0.0.1:3306)/db for a user
// who may create databases named db_* (make e2e installs and starts MariaDB
// and sets it). The test works in a fresh database of its own.
func TestMySQLScaleOut(t *testing.T) {
	url := freshMySQLDatabase(t)
	dirA := t.TempDir()
	useMySQL := func(o *server.Options) { o.LogStorage = url }
	a := servertest.StartInDir(t, dirA, useMySQL)
	// Replica B shares the database and a copy of A's keys.
	dirB := t.TempDir()
	if out, err := exec.Command("cp", "-a", dirA+"/.", dirB).CombinedOutput(); err != nil {
		t.Fatalf("copy data dir: %v %s", err, out)
	}
	if err := os.RemoveAll(filepath.Join(dirB, "log")); err != nil {
		t.Fatal(err)
	}
	b := servertest.StartInDir(t, dirB, useMySQL)
	checkReplicas(t, a, b)
}

// checkReplicas signs through replicas a and b, which share their logs and
// keys, and verifies every bundle against either's trusted root with
// signet's verifier and sigstore-go's; then it checks that they share the
// CT log and the Rekor v1 log too.
func checkReplicas(t *testing.T, a, b *servertest.Instance) {
	t.Helper()
	if !bytes.Equal(get(t, a.URL+"/checkpoint")[:20], get(t, b.URL+"/checkpoint")[:20]) {
		t.Error("replicas serve different log origins")
	}
	for i, inst := range []*servertest.Instance{a, b, a, b} {
		sc, err := trustroot.LoadSigningConfig(get(t, inst.URL+"/signing_config.json"))
		if err != nil {
			t.Fatal(err)
		}
		svc, err := sign.ServicesFrom(sc, time.Now(), nil)
		if err != nil {
			t.Fatal(err)
		}
		tok, _ := inst.Server.DevIssuer().Mint(oidc.TokenRequest{Email: "alice@example.com"}, time.Now())
		pb, err := sign.Blob(context.Background(), strings.NewReader("artifact"), sign.Options{CA: svc.CA, IDToken: tok, Logs: svc.Logs, TSAs: svc.TSAs})
		if err != nil {
			t.Fatalf("sign through replica %d: %v", i, err)
		}
		data, _ := protojson.Marshal(pb)
		bun, err := bundle.Decode(data)
		if err != nil {
			t.Fatal(err)
		}
		for _, other := range []*servertest.Instance{a, b} {
			tr, err := trustroot.LoadTrustedRoot(get(t, other.URL+"/trusted_root.json"))
			if err != nil {
				t.Fatal(err)
			}
			v, err := verify.New(tr, verify.DefaultOptions())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := v.Verify(bun, verify.Artifact{Reader: strings.NewReader("artifact")},
				verify.Policy{Identities: []verify.Identity{{SAN: "alice@example.com", IssuerRegexp: "^http://127.0.0.1"}}}); err != nil {
				t.Errorf("bundle %d from %s does not verify against %s: %v", i, inst.URL, other.URL, err)
			}
			sgRoot, err := root.NewTrustedRootFromJSON(get(t, other.URL+"/trusted_root.json"))
			if err != nil {
				t.Fatal(err)
			}
			sgv, err := sgverify.NewVerifier(sgRoot, sgverify.WithTransparencyLog(1), sgverify.WithSignedTimestamps(1), sgverify.WithSignedCertificateTimestamps(1))
			if err != nil {
				t.Fatal(err)
			}
			id, err := sgverify.NewShortCertificateIdentity(inst.Server.DevIssuer().URL(), "", "alice@example.com", "")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := sgv.Verify(mustSigstoreGoBundle(t, data), sgverify.NewPolicy(sgverify.WithArtifact(strings.NewReader("artifact")), sgverify.WithCertificateIdentity(id))); err != nil {
				t.Errorf("sigstore-go: bundle %d from %s does not verify against %s: %v", i, inst.URL, other.URL, err)
			}
		}
	}
	// The CT log is shared too: one origin, and the issuer certificates A's
	// certificates name are served by B.
	if ca, cb := get(t, a.URL+"/ct/checkpoint"), get(t, b.URL+"/ct/checkpoint"); !bytes.Equal(bytes.SplitN(ca, []byte("\n"), 2)[0], bytes.SplitN(cb, []byte("\n"), 2)[0]) {
		t.Errorf("replicas serve different CT log origins:\n%s\n%s", ca, cb)
	}
	inter := sha256.Sum256(a.Server.CAChain()[0].Raw)
	if got := get(t, b.URL+"/ct/issuer/"+hex.EncodeToString(inter[:])); !bytes.Equal(got, a.Server.CAChain()[0].Raw) {
		t.Error("replica B does not serve the CA certificate A's CT entries name")
	}
	checkV1ScaleOut(t, a, b)
}

// checkV1ScaleOut creates a Rekor v1 entry on replica a and finds it on
// replica b by UUID, by log index and by artifact hash; b refuses a
// duplicate and serves an inclusion proof that Rekor's client accepts.
func checkV1ScaleOut(t *testing.T, a, b *servertest.Instance) {
	t.Helper()
	proposed, digest, entryID, created := postV1Entry(t, a)
	uuid := entryID[len(entryID)-64:]

	// Replica B finds it by UUID and by log index.
	for _, path := range []string{"/api/v1/log/entries/" + uuid, fmt.Sprintf("/api/v1/log/entries?logIndex=%d", *created.LogIndex)} {
		id, got := oneV1Entry(t, get(t, b.URL+path))
		if id != entryID || *got.LogIndex != *created.LogIndex || *got.IntegratedTime != *created.IntegratedTime || got.Body != created.Body {
			t.Errorf("replica B GET %s = %s at %d (time %d), want %s at %d (time %d)", path, id, *got.LogIndex, *got.IntegratedTime, entryID, *created.LogIndex, *created.IntegratedTime)
		}
	}
	// ... by artifact hash.
	resp, body := v1Request(t, http.MethodPost, b.URL+"/api/v1/index/retrieve", fmt.Appendf(nil, `{"hash":"sha256:%x"}`, digest))
	var found []string
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &found) != nil {
		t.Fatalf("search on replica B: %s: %s", resp.Status, body)
	}
	if diff := cmp.Diff([]string{entryID}, found); diff != "" {
		t.Errorf("search on replica B (-want +got):\n%s", diff)
	}
	// ... and refuses to append it again.
	resp, body = v1Request(t, http.MethodPost, b.URL+"/api/v1/log/entries", proposed)
	if resp.StatusCode != http.StatusConflict || resp.Header.Get("Location") != "/api/v1/log/entries/"+entryID {
		t.Errorf("duplicate on replica B: %s, Location %q: %s; want 409 and the entry's location", resp.Status, resp.Header.Get("Location"), body)
	}

	// Both replicas serve the same log: tree ID and key.
	var infoA, infoB models.LogInfo
	if err := json.Unmarshal(get(t, a.URL+"/api/v1/log"), &infoA); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(get(t, b.URL+"/api/v1/log"), &infoB); err != nil {
		t.Fatal(err)
	}
	if *infoA.TreeID != *infoB.TreeID {
		t.Errorf("replicas serve v1 trees %s and %s", *infoA.TreeID, *infoB.TreeID)
	}
	if !bytes.Equal(get(t, b.URL+"/api/v1/log/publicKey"), get(t, a.URL+"/api/v1/log/publicKey")) {
		t.Error("replicas serve different v1 log keys")
	}
	// B's inclusion proof, checkpoint and SET verify with Rekor's client.
	verifyV1Entry(t, b, entryID)
}

// postV1Entry creates a hashedrekord entry for a random artifact on inst
// and returns the proposed entry, the artifact's digest, the entry ID and
// the entry created.
func postV1Entry(t *testing.T, inst *servertest.Instance) (proposed []byte, digest [32]byte, entryID string, created models.LogEntryAnon) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	artifact := make([]byte, 32)
	rand.Read(artifact)
	digest = sha256.Sum256(artifact)
	sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	proposed, err = json.Marshal(map[string]any{
		"kind": "hashedrekord", "apiVersion": "0.0.1",
		"spec": map[string]any{
			"data":      map[string]any{"hash": map[string]any{"algorithm": "sha256", "value": hex.EncodeToString(digest[:])}},
			"signature": map[string]any{"content": sig, "publicKey": map[string]any{"content": pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: mustPKIX(key)})}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}

	resp, body := v1Request(t, http.MethodPost, inst.URL+"/api/v1/log/entries", proposed)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create on %s: %s: %s", inst.URL, resp.Status, body)
	}
	entryID, created = oneV1Entry(t, body)
	return proposed, digest, entryID, created
}

// verifyV1Entry gets the Rekor v1 entry from inst and verifies its
// inclusion proof, checkpoint and SET with Rekor's client.
func verifyV1Entry(t *testing.T, inst *servertest.Instance, entryID string) {
	t.Helper()
	logKey, err := cryptoutils.UnmarshalPEMToPublicKey(get(t, inst.URL+"/api/v1/log/publicKey"))
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := signature.LoadVerifier(logKey, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	_, entry := oneV1Entry(t, get(t, inst.URL+"/api/v1/log/entries/"+entryID))
	if err := rekorv1verify.VerifyLogEntry(context.Background(), &entry, verifier); err != nil {
		t.Errorf("entry from %s does not verify: %v", inst.URL, err)
	}
}

// v1Request sends body (none if nil) to url and returns the response with
// its body read.
func v1Request(t *testing.T, method, url string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, data
}

// oneV1Entry parses a Rekor v1 LogEntry response holding one entry.
func oneV1Entry(t *testing.T, body []byte) (string, models.LogEntryAnon) {
	t.Helper()
	var le models.LogEntry
	if err := json.Unmarshal(body, &le); err != nil || len(le) != 1 {
		t.Fatalf("want one Rekor v1 entry, got %s (%v)", body, err)
	}
	for id, e := range le {
		if len(id) != 80 || e.LogIndex == nil || e.IntegratedTime == nil {
			t.Fatalf("malformed entry %s: %s", id, body)
		}
		return id, e
	}
	panic("unreachable")
}

// freshMySQLDatabase creates a database next to the one of
// SIGNET_TEST_MYSQL_URL, dropped with the Rekor v1 log's database when the
// test ends, and returns its URL; it skips the test without the variable.
func freshMySQLDatabase(t testing.TB) string {
	t.Helper()
	url := os.Getenv("SIGNET_TEST_MYSQL_URL")
	if url == "" {
		t.Skip("SIGNET_TEST_MYSQL_URL not set; make e2e runs this against MariaDB (or start one with scripts/mariadb-up.sh DIR PORT)")
	}
	cfg, err := storage.ParseMySQLURL(url)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	var b [4]byte
	rand.Read(b[:])
	name := fmt.Sprintf("%s_s%x", cfg.DBName, b)
	if _, err := admin.Exec("CREATE DATABASE `" + name + "`"); err != nil {
		admin.Close()
		t.Fatalf("create test database (the user needs rights on %s_* databases): %v", cfg.DBName, err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		for _, db := range []string{name, name + rekorv1.MySQLDatabaseSuffix, name + "_ct"} {
			if _, err := admin.Exec("DROP DATABASE IF EXISTS `" + db + "`"); err != nil {
				t.Errorf("drop test database: %v", err)
			}
		}
	})
	cfg.DBName = name
	return "mysql://" + cfg.FormatDSN()
}
