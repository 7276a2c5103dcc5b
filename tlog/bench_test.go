package tlog

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"

	"github.com/signetproject/signet/internal/benchutil"

	rekorpb "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"
	"github.com/transparency-dev/tessera"
)

// BenchmarkAppend measures appends on the POSIX driver with 1 to 2048
// concurrent clients, from the call to the returned inclusion proof, and
// reports appends/s and p50/p99 latency.
//
// The peer, measured in the same run, is bare Tessera with the same
// options: entries of the same size appended with tessera.AddFn and awaited
// with its PublicationAwaiter, without the signature verification,
// canonicalization and inclusion proofs signet adds. signet's appends/s over
// the peer's is the fraction of the storage engine's throughput signet
// keeps.
func BenchmarkAppend(b *testing.B) {
	for _, clients := range []int{1, 16, 256, 2048} {
		b.Run(fmt.Sprintf("signet/clients=%d", clients), func(b *testing.B) {
			l := openTestLog(b, b.TempDir(), newLogKey(b), DefaultOptions())
			s := newTestSigner(b)
			reqs := make([]*rekorpb.CreateEntryRequest, b.N)
			for i := range reqs {
				reqs[i] = s.hashedRekord(b, fmt.Appendf(nil, "bench %d", i), s.certVerifier())
			}
			benchutil.RunClients(b, clients, "appends", func(i int) error {
				_, err := l.Append(context.Background(), reqs[i])
				return err
			})
		})
		b.Run(fmt.Sprintf("tessera/clients=%d", clients), func(b *testing.B) {
			add, await := openBareTessera(b)
			benchutil.RunClients(b, clients, "appends", func(int) error {
				body := make([]byte, 700) // about a hashedrekord entry with a certificate
				_, _ = rand.Read(body)
				_, _, err := await.Await(context.Background(), add(context.Background(), tessera.NewEntry(body)))
				return err
			})
		})
	}
}

// openBareTessera opens a Tessera POSIX log with the options [New] uses.
func openBareTessera(b *testing.B) (tessera.AddFn, *tessera.PublicationAwaiter) {
	ctx, cancel := context.WithCancel(context.Background())
	driver, err := NewPOSIXDriver(ctx, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	opts := DefaultOptions()
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
