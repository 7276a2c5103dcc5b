//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	commonv1 "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	rekorv1 "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	rekorpb "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/signetproject/signet/internal/benchutil"
	"github.com/signetproject/signet/internal/freeport"
)

// rekorTilesFlags set the Tessera options of the rekor-tiles peer to those
// of signet's log (tlog.DefaultOptions); the pushback limit is both
// programs' default, and both keep their deduplication cache in memory only
// (rekor-tiles' --persistent-antispam is off by default).
var rekorTilesFlags = []string{
	"--batch-max-size=4096",
	"--batch-max-age=100ms",
	"--checkpoint-interval=100ms",
	"--pushback-max-outstanding=4096",
}

// BenchmarkLogAppendPeer measures Rekor v2 appends over HTTP, from POST
// /api/v2/log/entries to the 201 answer carrying an inclusion proof, on
// signet and on the real Rekor v2 server, sigstore/rekor-tiles (the version
// in go.mod, POSIX backend, built by scripts/rekor-tiles-build.sh), with 1
// to 2048 concurrent clients. It reports appends/s and p50/p99 latency,
// and server-cpu-µs/op: the CPU time the server process used per append,
// as the servers and the clients share the machine's CPUs.
//
// Each server is a separate process on 127.0.0.1 with fresh storage, run
// in turn in the same test run and stopped before the next starts; both
// store the log with Tessera v1.0.4's POSIX driver and sign checkpoints with
// Ed25519. The load, from this process, is the same for both: closed-loop
// clients posting hashedrekord v0.0.2 requests as JSON, each for a distinct
// artifact (no deduplication), with an ECDSA P-256 signature made before
// the clock starts and a self-signed certificate as verifier, as keyless
// clients send a Fulcio one. Every answer must be a 201 with an inclusion
// proof; one per server is checked in full (the proof verifies against the
// checkpoint's root hash, for the entry sent), and at the end the log's
// checkpoint on disk must cover every acknowledged append.
//
// Tessera is set the same on both (rekorTilesFlags): batches of up to 4096
// entries or 100 ms, a checkpoint at most every 100 ms, pushback above 4096
// outstanding entries. Two settings of rekor-tiles v2.3.0 have no flag and
// differ: it polls for the checkpoint that covers a new entry once a
// second (signet: every 5 ms), which adds up to a second to each of its
// appends, and its in-memory deduplication cache holds 256 entries (signet:
// 65536), which does not matter here since no entry repeats. rekor-tiles
// serves HTTP through grpc-gateway in front of its gRPC server, and both
// run at their default log level (signet logs a line per request, rekor-tiles
// at info level does not).
//
// All clients share b.N appends, so b.N must be many times the number of
// clients: give -benchtime as a duration, which runs about that long per
// sub-benchmark at every client count, not as a count:
//
//	SIGNET_SHARED=$PWD/../shared go test -tags e2e -run '^$' -bench LogAppendPeer -benchtime 5s ./e2e/
func BenchmarkLogAppendPeer(b *testing.B) {
	signer := newEntrySigner(b)
	for _, peer := range []struct {
		name  string
		start func(b *testing.B) *logServer
	}{
		{"signet", startSignetLog},
		{"rekor-tiles", startRekorTiles},
	} {
		b.Run(peer.name, func(b *testing.B) {
			srv := peer.start(b)
			srv.checkEntry(b, signer)
			for _, clients := range []int{1, 16, 256, 2048} {
				b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
					client := &http.Client{
						Timeout:   time.Minute,
						Transport: &http.Transport{MaxIdleConnsPerHost: clients},
					}
					b.Cleanup(client.CloseIdleConnections)
					bodies := make([][]byte, b.N)
					for i := range bodies {
						bodies[i], _ = signer.request(b)
					}
					cpu0 := srv.cpu(b)
					benchutil.RunClients(b, clients, "appends", func(i int) error {
						_, err := srv.append(b.Context(), client, bodies[i])
						return err
					})
					b.ReportMetric(float64((srv.cpu(b)-cpu0).Microseconds())/float64(b.N), "server-cpu-µs/op")
				})
			}
			if !b.Failed() {
				srv.checkCheckpoint(b)
			}
		})
	}
}

// logServer is a Rekor v2 log under test.
type logServer struct {
	*server
	checkpoint string        // the file the log publishes its checkpoint to
	appended   atomic.Uint64 // appends answered with an inclusion proof
}

// startSignetLog starts `signet server` with its embedded log on fresh
// storage; the benchmark's cleanup stops it.
func startSignetLog(b *testing.B) *logServer {
	dir := b.TempDir()
	srv, err := startServer(dir)
	if err != nil {
		b.Fatal(err)
	}
	return newLogServer(b, srv, filepath.Join(dir, "log", "checkpoint"))
}

// startRekorTiles starts the rekor-tiles POSIX server with a new Ed25519
// checkpoint key, fresh storage and rekorTilesFlags, and waits until it
// answers /healthz; the benchmark's cleanup stops it.
func startRekorTiles(b *testing.B) *logServer {
	script, err := filepath.Abs(filepath.Join("..", "scripts", "rekor-tiles-build.sh"))
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	paths, err := runBuildScript(script, "REKOR_TILES_POSIX")
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("rekor-tiles ready in %s", time.Since(start).Round(time.Millisecond))

	dir := b.TempDir()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		b.Fatal(err)
	}
	keyFile := writeFile(b, dir, "signer.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	// rekor-tiles refuses port 0 for HTTP and gRPC (not for metrics).
	httpPort, grpcPort := freeport.Get(b), freeport.Get(b)
	storage := filepath.Join(dir, "log")
	args := append([]string{"serve",
		"--hostname=rekor-tiles.bench.test",
		"--http-address=127.0.0.1", "--http-port=" + strconv.Itoa(httpPort),
		"--grpc-address=127.0.0.1", "--grpc-port=" + strconv.Itoa(grpcPort),
		"--http-metrics-port=0",
		"--storage-dir=" + storage,
		"--signer-filepath=" + keyFile,
	}, rekorTilesFlags...)
	b.Logf("rekor-tiles %s", strings.Join(args, " "))

	cmd := exec.Command(paths["REKOR_TILES_POSIX"], args...)
	s := &server{
		name: "rekor-tiles", url: fmt.Sprintf("http://127.0.0.1:%d", httpPort),
		cmd: cmd, done: make(chan error, 1), log: &lockedBuffer{},
	}
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		b.Fatalf("start rekor-tiles: %v", err)
	}
	go func() { s.done <- cmd.Wait() }()
	srv := newLogServer(b, s, filepath.Join(storage, "checkpoint"))

	ctx, cancel := context.WithTimeout(b.Context(), 30*time.Second)
	defer cancel()
	if err := pollOK(ctx, s.url+"/healthz"); err != nil {
		b.Fatal(err)
	}
	return srv
}

// newLogServer wraps a started server and stops it, with its log shown on
// failure, in b's cleanup.
func newLogServer(b *testing.B, s *server, checkpoint string) *logServer {
	b.Cleanup(func() {
		if err := s.stop(); err != nil {
			b.Error(err)
		}
		if b.Failed() {
			log := s.log.String()
			b.Logf("%s log (last 8 KiB):\n%s", s.name, log[max(0, len(log)-8<<10):])
		}
	})
	return &logServer{server: s, checkpoint: checkpoint}
}

// append posts one create-entry request and returns the answer, which must
// be a 201 whose JSON has an inclusionProof object. It only looks for that
// member: parsing every answer in full would take the CPU the servers share
// with this process (see checkEntry).
func (s *logServer) append(ctx context.Context, client *http.Client, body []byte) ([]byte, error) {
	url := s.url + "/api/v2/log/entries"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("POST %s: read answer: %w", url, err)
	}
	if resp.StatusCode != http.StatusCreated {
		return nil, fmt.Errorf("POST %s: %s: %s", url, resp.Status, out)
	}
	if !hasObjectMember(out, "inclusionProof") {
		return nil, fmt.Errorf("POST %s: 201 without an inclusion proof: %s", url, out)
	}
	s.appended.Add(1)
	return out, nil
}

// hasObjectMember reports whether the JSON object js has a member named
// name whose value is an object. protojson's spacing varies, so it skips
// white space. Good enough for the answers of a log under test, whose
// other members hold no such quoted name.
func hasObjectMember(js []byte, name string) bool {
	_, rest, ok := bytes.Cut(js, []byte(strconv.Quote(name)))
	if !ok {
		return false
	}
	rest, ok = bytes.CutPrefix(bytes.TrimLeft(rest, " \t\r\n"), []byte(":"))
	return ok && bytes.HasPrefix(bytes.TrimLeft(rest, " \t\r\n"), []byte("{"))
}

// checkEntry appends one entry and checks that the answer is a
// TransparencyLogEntry for it whose inclusion proof verifies against the
// root hash of the checkpoint it carries, so that the benchmark fails for a
// server that answers without logging.
func (s *logServer) checkEntry(b *testing.B, signer *entrySigner) {
	body, digest := signer.request(b)
	out, err := s.append(b.Context(), http.DefaultClient, body)
	if err != nil {
		b.Fatal(err)
	}
	tle := &rekorv1.TransparencyLogEntry{}
	if err := protojson.Unmarshal(out, tle); err != nil {
		b.Fatalf("%s: answer is no TransparencyLogEntry: %v\n%s", s.name, err, out)
	}
	if kv := tle.GetKindVersion(); kv.GetKind() != "hashedrekord" || kv.GetVersion() != "0.0.2" {
		b.Fatalf("%s: entry kind %q version %q, want hashedrekord 0.0.2", s.name, kv.GetKind(), kv.GetVersion())
	}
	entry := &rekorpb.Entry{}
	if err := protojson.Unmarshal(tle.GetCanonicalizedBody(), entry); err != nil {
		b.Fatalf("%s: canonicalized body: %v", s.name, err)
	}
	if got := entry.GetSpec().GetHashedRekordV002().GetData().GetDigest(); !bytes.Equal(got, digest) {
		b.Fatalf("%s: logged digest %x, sent %x", s.name, got, digest)
	}
	p := tle.GetInclusionProof()
	if p == nil {
		b.Fatalf("%s: entry without inclusion proof: %s", s.name, out)
	}
	if p.GetLogIndex() != tle.GetLogIndex() || p.GetLogIndex() < 0 || p.GetTreeSize() <= p.GetLogIndex() {
		b.Fatalf("%s: inclusion proof of index %d in tree of %d, entry index %d", s.name, p.GetLogIndex(), p.GetTreeSize(), tle.GetLogIndex())
	}
	leaf := rfc6962.DefaultHasher.HashLeaf(tle.GetCanonicalizedBody())
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(p.GetLogIndex()), uint64(p.GetTreeSize()), leaf, p.GetHashes(), p.GetRootHash()); err != nil {
		b.Fatalf("%s: inclusion proof: %v", s.name, err)
	}
	// A checkpoint is a signed note: origin, tree size, root hash, ….
	lines := strings.SplitN(p.GetCheckpoint().GetEnvelope(), "\n", 4)
	if len(lines) < 4 || lines[1] != strconv.FormatInt(p.GetTreeSize(), 10) || lines[2] != base64.StdEncoding.EncodeToString(p.GetRootHash()) {
		b.Fatalf("%s: checkpoint does not commit to the proof's tree:\n%s", s.name, p.GetCheckpoint().GetEnvelope())
	}
}

// checkCheckpoint checks that the checkpoint the log published on disk
// covers every append it acknowledged.
func (s *logServer) checkCheckpoint(b *testing.B) {
	cp, err := os.ReadFile(s.checkpoint)
	if err != nil {
		b.Fatalf("%s: %v", s.name, err)
	}
	_, rest, _ := strings.Cut(string(cp), "\n") // after the origin line
	sizeLine, _, _ := strings.Cut(rest, "\n")
	size, err := strconv.ParseUint(sizeLine, 10, 64)
	if err != nil {
		b.Fatalf("%s: checkpoint %s: tree size: %v", s.name, s.checkpoint, err)
	}
	if n := s.appended.Load(); size < n {
		b.Fatalf("%s: checkpoint on disk has %d entries, %d appends acknowledged", s.name, size, n)
	}
	b.Logf("%s: %d appends acknowledged, checkpoint on disk at tree size %d", s.name, s.appended.Load(), size)
}

// cpu returns the CPU time (user and system, all threads) the server
// process has used so far, from /proc/PID/stat, which counts it in ticks
// of 1/100 s (USER_HZ).
func (s *server) cpu(b *testing.B) time.Duration {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		b.Fatalf("%s CPU time: %v", s.name, err)
	}
	// pid (comm) state ppid … utime stime: utime and stime are the 14th
	// and 15th fields, the 12th and 13th after comm, which may hold spaces.
	i := bytes.LastIndexByte(stat, ')')
	f := strings.Fields(string(stat[i+1:]))
	if i < 0 || len(f) < 13 {
		b.Fatalf("%s CPU time: malformed /proc stat %q", s.name, stat)
	}
	var ticks int64
	for _, v := range f[11:13] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			b.Fatalf("%s CPU time: %v", s.name, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / 100
}

// entrySigner makes hashedrekord v0.0.2 requests signed with an ECDSA P-256
// key, with its self-signed certificate as verifier.
type entrySigner struct {
	key      *ecdsa.PrivateKey
	verifier *rekorpb.Verifier
}

func newEntrySigner(b *testing.B) *entrySigner {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:   big.NewInt(1),
		Subject:        pkix.Name{CommonName: "signet log benchmark"},
		NotBefore:      time.Now().Add(-time.Hour),
		NotAfter:       time.Now().Add(24 * time.Hour),
		KeyUsage:       x509.KeyUsageDigitalSignature,
		ExtKeyUsage:    []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		EmailAddresses: []string{"bench@signet.test"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		b.Fatal(err)
	}
	return &entrySigner{key: key, verifier: &rekorpb.Verifier{
		Verifier:   &rekorpb.Verifier_X509Certificate{X509Certificate: &commonv1.X509Certificate{RawBytes: der}},
		KeyDetails: commonv1.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256,
	}}
}

// request returns the JSON of a request for a random artifact's SHA-256
// digest, and the digest.
func (s *entrySigner) request(b *testing.B) (body, digest []byte) {
	digest = make([]byte, 32)
	_, _ = rand.Read(digest)
	sig, err := ecdsa.SignASN1(rand.Reader, s.key, digest)
	if err != nil {
		b.Fatal(err)
	}
	body, err = protojson.Marshal(&rekorpb.CreateEntryRequest{Spec: &rekorpb.CreateEntryRequest_HashedRekordRequestV002{
		HashedRekordRequestV002: &rekorpb.HashedRekordRequestV002{
			Digest:    digest,
			Signature: &rekorpb.Signature{Content: sig, Verifier: s.verifier},
		},
	}})
	if err != nil {
		b.Fatal(err)
	}
	return body, digest
}
