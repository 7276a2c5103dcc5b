package server_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signetproject/signet/bundle"
	"github.com/signetproject/signet/oidc"
	"github.com/signetproject/signet/server"
	"github.com/signetproject/signet/server/servertest"
	"github.com/signetproject/signet/sign"
	"github.com/signetproject/signet/trustroot"
	"github.com/signetproject/signet/verify"
	"google.golang.org/protobuf/encoding/protojson"
)

// TestMySQLScaleOut runs two servers that share one MySQL/MariaDB log and
// the same keys, signs through both, and verifies every bundle against
// either server's trusted root. It needs a database: set
// SIGNET_TEST_MYSQL_URL=mysql://user:pass@tcp(127.0.0.1:3306)/db (make e2e
// installs and starts MariaDB and sets it).
func TestMySQLScaleOut(t *testing.T) {
	url := os.Getenv("SIGNET_TEST_MYSQL_URL")
	if url == "" {
		t.Skip("SIGNET_TEST_MYSQL_URL not set; make e2e runs this against MariaDB")
	}
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
		}
	}
}
