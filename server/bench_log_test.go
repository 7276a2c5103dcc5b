package server_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"net/http"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/signetproject/signet/server"
	"github.com/signetproject/signet/server/servertest"
	"github.com/signetproject/signet/sign"
)

// BenchmarkLogAppend measures Rekor v2 appends over HTTP, from POST to the
// returned inclusion proof, with 1, 16 and 256 concurrent clients, on the
// embedded (file) log and, when SIGNET_TEST_MYSQL_URL is set, on MySQL.
// It reports appends/s and p50/p99 latency.
func BenchmarkLogAppend(b *testing.B) {
	storages := map[string]string{"embedded": ""}
	if u := os.Getenv("SIGNET_TEST_MYSQL_URL"); u != "" {
		storages["mysql"] = u
	}
	for _, name := range []string{"embedded", "mysql"} {
		storage, ok := storages[name]
		if !ok {
			continue
		}
		inst := servertest.Start(b, func(o *server.Options) { o.LogStorage = storage })
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 512}}
		log := &sign.RekorV2{BaseURL: inst.URL, Client: client}
		for _, clients := range []int{1, 16, 256} {
			b.Run(fmt.Sprintf("%s/clients=%d", name, clients), func(b *testing.B) {
				benchAppends(b, log, key, clients)
			})
		}
	}
}

func benchAppends(b *testing.B, log *sign.RekorV2, key *ecdsa.PrivateKey, clients int) {
	var (
		mu        sync.Mutex
		latencies []time.Duration
		wg        sync.WaitGroup
		next      = make(chan struct{})
		failed    error
	)
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range next {
				pb, err := sign.Digest(context.Background(), randomDigest(), sign.Options{Key: key, UnsafeNoTlog: true})
				if err != nil {
					mu.Lock()
					failed = err
					mu.Unlock()
					continue
				}
				entry := sign.Entry{
					Signature: pb.GetMessageSignature().GetSignature(), Digest: pb.GetMessageSignature().GetMessageDigest().GetDigest(),
					PublicKey: mustPKIX(key), KeyDetails: 5, // PKIX_ECDSA_P256_SHA_256
				}
				t0 := time.Now()
				_, err = log.Log(context.Background(), entry)
				d := time.Since(t0)
				mu.Lock()
				if err != nil {
					failed = err
				}
				latencies = append(latencies, d)
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < b.N; i++ {
		next <- struct{}{}
	}
	close(next)
	wg.Wait()
	elapsed := time.Since(start)
	if failed != nil {
		b.Fatal(failed)
	}
	slices.Sort(latencies)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "appends/s")
	b.ReportMetric(float64(latencies[len(latencies)/2].Milliseconds()), "p50-ms")
	b.ReportMetric(float64(latencies[len(latencies)*99/100].Milliseconds()), "p99-ms")
}

func randomDigest() []byte {
	d := make([]byte, 32)
	_, _ = rand.Read(d)
	return d
}
