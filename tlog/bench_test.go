package tlog

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/signetproject/signet/internal/benchutil"
	"github.com/signetproject/signet/tlog/storage"

	rekorpb "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"
	"github.com/transparency-dev/tessera"
)

// BenchmarkAppend measures appends with 1 to 2048 concurrent clients, from
// the call to the returned inclusion proof, and reports appends/s and
// p50/p99 latency: on the POSIX driver and, when SIGNET_TEST_MYSQL_URL is
// set, on MySQL (a fresh database per run), and with SIGNET_TEST_S3_URL
// too, on Tessera's AWS driver (that database and a fresh prefix of that
// object store).
//
// The peer, measured in the same run, is bare Tessera with the same driver
// and options: entries of the same size appended with tessera.AddFn and
// awaited with its PublicationAwaiter, without the signature verification,
// canonicalization and inclusion proofs signet adds. signet's appends/s over
// the peer's is the fraction of the storage engine's throughput signet
// keeps.
func BenchmarkAppend(b *testing.B) {
	// The yardstick of signet's CPU per append over Tessera's: one ECDSA
	// P-256 verification, the client signature check every append makes.
	b.Run("ecdsa-p256-verify", func(b *testing.B) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		digest := sha256.Sum256([]byte("bench"))
		sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if !ecdsa.VerifyASN1(&key.PublicKey, digest[:], sig) {
				b.Fatal("signature does not verify")
			}
		}
	})
	for _, backend := range benchStorages() {
		for _, clients := range []int{1, 16, 256, 2048} {
			b.Run(fmt.Sprintf("%s/signet/clients=%d", backend, clients), func(b *testing.B) {
				benchutil.RunClients(b, clients, "appends", benchSignetAppend(b, backend))
			})
			b.Run(fmt.Sprintf("%s/tessera/clients=%d", backend, clients), func(b *testing.B) {
				add, await := openBareTessera(b, backend)
				benchutil.RunClients(b, clients, "appends", func(int) error {
					return bareTesseraAppend(add, await)
				})
			})
		}
	}
}

// benchSignetAppend opens a signet log on fresh storage, signs b.N
// distinct hashedrekord requests and returns a function that appends the
// i-th of them.
func benchSignetAppend(b *testing.B, backend string) func(i int) error {
	driver, opts := benchDriver(b, backend)
	l, err := New(context.Background(), driver, testOrigin, newLogKey(b), opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = l.Close(context.Background()) })
	s := newTestSigner(b)
	reqs := make([]*rekorpb.CreateEntryRequest, b.N)
	for i := range reqs {
		reqs[i] = s.HashedRekord(b, fmt.Appendf(nil, "bench %d", i), s.CertVerifier())
	}
	return func(i int) error {
		_, err := l.Append(context.Background(), reqs[i])
		return err
	}
}

// benchDriver returns a Tessera driver on fresh storage and the options
// signet's server uses with it.
func benchDriver(b *testing.B, backend string) (tessera.Driver, Options) {
	opts := DefaultOptions()
	if backend == "aws" {
		opts.CheckpointInterval = storage.AWSMinCheckpointInterval
		opts.PollInterval = 50 * time.Millisecond // as the server's
		d, db, err := storage.NewAWS(context.Background(), mysqlTestURL(b), s3TestURL(b))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		return d, opts
	}
	if backend == "mysql" {
		opts.CheckpointInterval = storage.MySQLMinCheckpointInterval
		d, db, err := storage.NewMySQL(context.Background(), mysqlTestURL(b))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		return d, opts
	}
	d, err := storage.NewPOSIX(context.Background(), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	return d, opts
}

// openBareTessera opens a Tessera log with the driver and options [New]
// would use.
func openBareTessera(b *testing.B, backend string) (tessera.AddFn, *tessera.PublicationAwaiter) {
	ctx, cancel := context.WithCancel(context.Background())
	driver, opts := benchDriver(b, backend)
	signer, _, err := newNoteSigner(testOrigin, newLogKey(b))
	if err != nil {
		b.Fatal(err)
	}
	ao := tessera.NewAppendOptions().
		WithCheckpointSigner(signer).
		WithBatching(opts.BatchMaxSize, opts.BatchMaxAge).
		WithCheckpointInterval(opts.CheckpointInterval).
		WithPushback(opts.PushbackMaxOutstanding).
		WithAntispam(opts.DedupCacheSize, nil)
	appender, shutdown, reader, err := tessera.NewAppender(ctx, driver, ao)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = shutdown(context.Background())
		cancel()
	})
	return appender.Add, tessera.NewPublicationAwaiter(ctx, reader.ReadCheckpoint, opts.PollInterval)
}

// BenchmarkAppendOpenLoop measures append latency under open-loop load:
// appends start at a fixed rate whether or not earlier ones have returned,
// as independent clients send them, instead of each client waiting for
// its last append (BenchmarkAppend). Closed-loop clients all wait for the
// same checkpoint, so they integrate in lock-step; this shows the latency
// a steady stream of signers sees, and the rate the log sustains. The peer
// is bare Tessera, as in BenchmarkAppend.
func BenchmarkAppendOpenLoop(b *testing.B) {
	storages := []string{"posix"}
	if os.Getenv("SIGNET_TEST_MYSQL_URL") != "" {
		storages = append(storages, "mysql")
	}
	for _, backend := range storages {
		for _, rate := range []int{100, 1000, 5000, 10000, 20000} {
			b.Run(fmt.Sprintf("%s/signet/rate=%d", backend, rate), func(b *testing.B) {
				benchutil.RunOpenLoop(b, rate, "appends", benchSignetAppend(b, backend))
			})
			b.Run(fmt.Sprintf("%s/tessera/rate=%d", backend, rate), func(b *testing.B) {
				add, await := openBareTessera(b, backend)
				benchutil.RunOpenLoop(b, rate, "appends", func(int) error {
					return bareTesseraAppend(add, await)
				})
			})
		}
	}
}

// bareTesseraAppend appends an entry of about a hashedrekord's size to bare
// Tessera and awaits its checkpoint.
func bareTesseraAppend(add tessera.AddFn, await *tessera.PublicationAwaiter) error {
	body := make([]byte, 700)
	_, _ = rand.Read(body)
	_, _, err := await.Await(context.Background(), add(context.Background(), tessera.NewEntry(body)))
	return err
}

// benchStorages names the storage drivers the environment offers.
func benchStorages() []string {
	storages := []string{"posix"}
	if os.Getenv("SIGNET_TEST_MYSQL_URL") != "" {
		storages = append(storages, "mysql")
		if os.Getenv("SIGNET_TEST_S3_URL") != "" {
			storages = append(storages, "aws")
		}
	}
	return storages
}

// s3TestURL returns a fresh prefix of the object store SIGNET_TEST_S3_URL
// names (s3://BUCKET?endpoint=…; credentials in AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY; scripts/versitygw-up.sh starts one).
func s3TestURL(t testing.TB) string {
	t.Helper()
	loc, err := storage.ParseS3URL(os.Getenv("SIGNET_TEST_S3_URL"))
	if err != nil {
		t.Fatal(err)
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return loc.Sub(fmt.Sprintf("bench-%x", b)).String()
}
