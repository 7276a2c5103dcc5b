package server_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera/client"

	"github.com/signetproject/signet/keys"
	"github.com/signetproject/signet/oidc"
	"github.com/signetproject/signet/server"
	"github.com/signetproject/signet/server/servertest"
	"github.com/signetproject/signet/sign"
	"github.com/signetproject/signet/tlog"
	"github.com/signetproject/signet/tlog/rekorv1"
	"github.com/signetproject/signet/tlog/storage"
	"github.com/signetproject/signet/trustroot"
)

// TestAWSScaleOut runs two servers that share their logs on Tessera's AWS
// driver (MariaDB for sequencing, an S3-compatible object store for the
// logs' objects) and the same keys: as for MySQL, bundles signed through
// either verify against either's trusted root with signet and sigstore-go,
// and the CT and Rekor v1 logs are shared. Once both stopped, the logs
// check out from scratch (`signet log verify`). It needs
// SIGNET_TEST_MYSQL_URL and SIGNET_TEST_S3_URL (s3://BUCKET?endpoint=…,
// credentials in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY); make e2e starts
// MariaDB and versitygw and sets them.
func TestAWSScaleOut(t *testing.T) {
	dbURL, objects := freshMySQLDatabase(t), freshObjects(t)
	useAWS := func(o *server.Options) { o.LogStorage, o.LogObjects = dbURL, objects }
	dirA := t.TempDir()
	a := startStoppable(t, dirA, useAWS)
	dirB := t.TempDir()
	if out, err := exec.Command("cp", "-a", dirA+"/.", dirB).CombinedOutput(); err != nil {
		t.Fatalf("copy data dir: %v %s", err, out)
	}
	b := startStoppable(t, dirB, useAWS)
	checkReplicas(t, a.Instance, b.Instance)
	a.stop(t)
	b.stop(t)
	checkAWSLogs(t, dirA, dbURL, objects)
}

// TestAWSMigrate runs a server on MySQL alone, moves its logs onto the
// object store (`signet log migrate`), restarts it there and appends: the
// entries logged before the move are still in the log, with inclusion
// proofs in the new checkpoints. A server that would open the unmigrated
// logs on the object store is refused, as are a second migration and a
// server on MySQL alone after the move.
func TestAWSMigrate(t *testing.T) {
	dbURL, objects := freshMySQLDatabase(t), freshObjects(t)
	dir := t.TempDir()
	old := startStoppable(t, dir, func(o *server.Options) { o.LogStorage = dbURL })
	before := signThrough(t, old.Instance)
	_, _, v1Entry, _ := postV1Entry(t, old.Instance)
	old.stop(t)

	useAWS := func(o *server.Options) { o.LogStorage, o.LogObjects = dbURL, objects }
	if err := startFails(t, dir, useAWS); !errors.Is(err, storage.ErrNotMigrated) {
		t.Fatalf("server on the object store before migrating: %v, want ErrNotMigrated", err)
	}
	ctx := context.Background()
	done, err := server.MigrateLogsToAWS(ctx, dbURL, objects)
	if err != nil {
		t.Fatalf("migrate: %v", err)
	}
	if len(done) != 3 || done[0].Size == 0 || done[1].Size == 0 || done[2].Size == 0 {
		t.Fatalf("migrate copied %+v, want three logs with entries", done)
	}
	checkAWSLogs(t, dir, dbURL, objects)
	if _, err := server.MigrateLogsToAWS(ctx, dbURL, objects); !errors.Is(err, storage.ErrTargetNotEmpty) {
		t.Errorf("second migration: %v, want ErrTargetNotEmpty", err)
	}

	if err := startFails(t, dir, func(o *server.Options) { o.LogStorage = dbURL }); !errors.Is(err, storage.ErrMovedToObjects) {
		t.Errorf("server on MySQL alone after migrating: %v, want ErrMovedToObjects", err)
	}
	moved := startStoppable(t, dir, useAWS)
	after := signThrough(t, moved.Instance)
	// The entries logged before the move are in the grown tree.
	cp, fetcher := v2Checkpoint(t, moved.Instance, dir)
	if cp.Size <= before.index || cp.Size <= after.index {
		t.Fatalf("checkpoint of size %d after appends at %d and %d", cp.Size, before.index, after.index)
	}
	pb, err := client.NewProofBuilder(ctx, cp.Size, fetcher.ReadTile)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []logged{before, after} {
		p, err := pb.InclusionProof(ctx, e.index)
		if err != nil {
			t.Fatalf("inclusion proof of entry %d: %v", e.index, err)
		}
		if err := proof.VerifyInclusion(rfc6962.DefaultHasher, e.index, cp.Size, e.leafHash, p, cp.Hash); err != nil {
			t.Errorf("entry %d is not in the tree of size %d: %v", e.index, cp.Size, err)
		}
	}
	// The Rekor v1 entry too: found, with an inclusion proof Rekor's client
	// accepts.
	verifyV1Entry(t, moved.Instance, v1Entry)
	moved.stop(t)
	checkAWSLogs(t, dir, dbURL, objects)
}

// TestAWSRolledBackObjects rolls the object store back behind the
// database: the tiles and bundles of entries the log signed are gone. The
// log refuses to open rather than sign over it, and `signet log verify`
// reports it.
func TestAWSRolledBackObjects(t *testing.T) {
	dbURL, objects := freshMySQLDatabase(t), freshObjects(t)
	useAWS := func(o *server.Options) { o.LogStorage, o.LogObjects = dbURL, objects }
	dir := t.TempDir()
	s := startStoppable(t, dir, useAWS)
	signThrough(t, s.Instance)
	snapshot := snapshotObjects(t, objects)
	signThrough(t, s.Instance)
	s.stop(t)

	restoreObjects(t, objects, snapshot)
	if err := startFails(t, dir, useAWS); !errors.Is(err, tlog.ErrIntegrity) {
		t.Fatalf("server on a rolled-back object store: %v, want ErrIntegrity", err)
	}
	pub, _ := logPublicKeys(t, dir)
	rep, err := tlog.CheckLogAWS(context.Background(), dbURL, objects, pub)
	if !errors.Is(err, tlog.ErrCheckFailed) {
		t.Errorf("CheckLogAWS of a rolled-back object store = %v (%+v), want ErrCheckFailed", err, rep)
	}
}

// freshObjects returns a --log-objects URL for a fresh prefix in the bucket
// of SIGNET_TEST_S3_URL; it skips the test without it.
func freshObjects(t *testing.T) string {
	t.Helper()
	raw := os.Getenv("SIGNET_TEST_S3_URL")
	if raw == "" {
		t.Skip("SIGNET_TEST_S3_URL not set; make e2e runs this against versitygw (or start one with scripts/versitygw-up.sh DIR PORT)")
	}
	loc, err := storage.ParseS3URL(raw)
	if err != nil {
		t.Fatal(err)
	}
	var b [4]byte
	rand.Read(b[:])
	return loc.Sub(fmt.Sprintf("test-%x", b)).String()
}

// stoppable is a test server that can be stopped before the test ends, to
// restart on its data directory.
type stoppable struct {
	*servertest.Instance
	ts      *httptest.Server
	stopped bool
}

// startFails returns why a server on dataDir fails to start; the test
// fails if it starts.
func startFails(t *testing.T, dataDir string, adjust ...func(*server.Options)) error {
	t.Helper()
	opts := server.Options{DataDir: dataDir, BaseURL: "http://127.0.0.1:1", InsecureDevIssuer: true}
	for _, a := range adjust {
		a(&opts)
	}
	srv, err := server.New(opts)
	if err == nil {
		srv.Close(context.Background())
		t.Fatal("the server started")
	}
	return err
}

func startStoppable(t *testing.T, dataDir string, adjust ...func(*server.Options)) *stoppable {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	base := "http://" + ts.Listener.Addr().String()
	opts := server.Options{DataDir: dataDir, BaseURL: base, InsecureDevIssuer: true, Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))}
	for _, a := range adjust {
		a(&opts)
	}
	srv, err := server.New(opts)
	if err != nil {
		ts.Close()
		t.Fatalf("start signet server: %v", err)
	}
	ts.Config.Handler = srv.Handler()
	ts.Start()
	s := &stoppable{Instance: &servertest.Instance{URL: base, Server: srv}, ts: ts}
	t.Cleanup(func() { s.stop(t) })
	// Tessera's AWS driver publishes a new log's first checkpoint in the
	// background.
	for _, path := range []string{"/checkpoint", "/ct/checkpoint"} {
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			resp, err := http.Get(base + path)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("no %s after 30 s: %v", path, err)
			}
		}
	}
	return s
}

func (s *stoppable) stop(t *testing.T) {
	t.Helper()
	if s.stopped {
		return
	}
	s.stopped = true
	s.ts.Close()
	if err := s.Server.Close(context.Background()); err != nil {
		t.Errorf("close signet server: %v", err)
	}
}

// logged is an entry of the Rekor v2 log.
type logged struct {
	index    uint64
	leafHash []byte
}

// signThrough signs a blob through inst and returns its Rekor v2 entry.
func signThrough(t *testing.T, inst *servertest.Instance) logged {
	t.Helper()
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
		t.Fatalf("sign through %s: %v", inst.URL, err)
	}
	for _, e := range pb.GetVerificationMaterial().GetTlogEntries() {
		if e.GetKindVersion().GetVersion() == "0.0.2" {
			return logged{index: uint64(e.GetLogIndex()), leafHash: rfc6962.DefaultHasher.HashLeaf(e.GetCanonicalizedBody())}
		}
	}
	t.Fatalf("bundle from %s has no Rekor v2 entry", inst.URL)
	return logged{}
}

// v2Checkpoint returns the Rekor v2 log's checkpoint as inst serves it,
// verified with the log key in dataDir, and a fetcher of its tiles.
func v2Checkpoint(t *testing.T, inst *servertest.Instance, dataDir string) (*log.Checkpoint, *client.HTTPFetcher) {
	t.Helper()
	u, err := url.Parse(inst.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	f, err := client.NewHTTPFetcher(u, nil)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := logPublicKeys(t, dataDir)
	v, err := tlog.CheckpointVerifier(u.Hostname(), pub)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := f.ReadCheckpoint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cp, _, _, err := log.ParseCheckpoint(raw, u.Hostname(), v)
	if err != nil {
		t.Fatalf("checkpoint %q: %v", raw, err)
	}
	return cp, f
}

// logPublicKeys returns the Rekor v2 and v1 log keys of a data directory.
func logPublicKeys(t *testing.T, dataDir string) (ed25519.PublicKey, *ecdsa.PublicKey) {
	t.Helper()
	k, err := keys.Load(filepath.Join(dataDir, "keys", "tlog.key"))
	if err != nil {
		t.Fatal(err)
	}
	k1, err := keys.Load(filepath.Join(dataDir, "keys", "tlog-v1.key"))
	if err != nil {
		t.Fatal(err)
	}
	return k.Public().(ed25519.PublicKey), k1.Public().(*ecdsa.PublicKey)
}

// checkAWSLogs checks both transparency logs on the object store from
// scratch, as `signet log verify --log-storage … --log-objects …` does.
func checkAWSLogs(t *testing.T, dataDir, dbURL, objects string) {
	t.Helper()
	pub, v1Pub := logPublicKeys(t, dataDir)
	ctx := context.Background()
	if rep, err := tlog.CheckLogAWS(ctx, dbURL, objects, pub); err != nil {
		t.Errorf("Rekor v2 log on the object store: %v %v", err, rep)
	} else if rep.Size == 0 {
		t.Error("Rekor v2 log on the object store is empty")
	}
	if rep, err := rekorv1.CheckAWS(ctx, dbURL, objects, v1Pub); err != nil {
		t.Errorf("Rekor v1 log on the object store: %v %v", err, rep)
	}
}

// s3For returns an S3 client and the bucket and prefix of objects.
func s3For(t *testing.T, objects string) (*s3.Client, *storage.S3Location) {
	t.Helper()
	loc, err := storage.ParseS3URL(objects)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion("us-east-1"))
	if err != nil {
		t.Fatal(err)
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(loc.Endpoint)
		o.UsePathStyle = true
	}), loc
}

// snapshotObjects reads every object under objects' prefix.
func snapshotObjects(t *testing.T, objects string) map[string][]byte {
	t.Helper()
	c, loc := s3For(t, objects)
	ctx := context.Background()
	snap := map[string][]byte{}
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(loc.Bucket), Prefix: aws.String(loc.Prefix + "/")})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(loc.Bucket), Key: o.Key})
			if err != nil {
				t.Fatal(err)
			}
			data, err := io.ReadAll(out.Body)
			out.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			snap[*o.Key] = data
		}
	}
	if len(snap) == 0 {
		t.Fatalf("no objects under %s", objects)
	}
	return snap
}

// restoreObjects makes the objects under objects' prefix those of snap.
func restoreObjects(t *testing.T, objects string, snap map[string][]byte) {
	t.Helper()
	c, loc := s3For(t, objects)
	ctx := context.Background()
	for key := range snapshotObjects(t, objects) {
		if _, ok := snap[key]; !ok {
			if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(loc.Bucket), Key: aws.String(key)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for key, data := range snap {
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(loc.Bucket), Key: aws.String(key), Body: bytes.NewReader(data)}); err != nil {
			t.Fatal(err)
		}
	}
}
