package server_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"net/http"
	"os"
	"testing"

	"github.com/signetproject/signet/internal/benchutil"
	"github.com/signetproject/signet/server"
	"github.com/signetproject/signet/server/servertest"
	"github.com/signetproject/signet/sign"
)

// BenchmarkLogAppend measures Rekor v2 appends over HTTP, from POST to the
// returned inclusion proof, with 1 to 2048 concurrent clients, on the
// embedded (file) log and, when SIGNET_TEST_MYSQL_URL is set, on MySQL.
// It reports appends/s and p50/p99 latency. Clients sign their entries
// before the clock starts: signing is not the log's work.
func BenchmarkLogAppend(b *testing.B) {
	storages := map[string]string{"embedded": ""}
	if os.Getenv("SIGNET_TEST_MYSQL_URL") != "" {
		storages["mysql"] = freshMySQLDatabase(b)
	}
	for _, name := range []string{"embedded", "mysql"} {
		storage, ok := storages[name]
		if !ok {
			continue
		}
		inst := servertest.Start(b, func(o *server.Options) { o.LogStorage = storage })
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		for _, clients := range []int{1, 16, 256, 2048} {
			b.Run(fmt.Sprintf("%s/clients=%d", name, clients), func(b *testing.B) {
				client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
				b.Cleanup(client.CloseIdleConnections)
				log := &sign.RekorV2{BaseURL: inst.URL, Client: client}
				entries := make([]sign.Entry, b.N)
				for i := range entries {
					entries[i] = signedEntry(b, key)
				}
				benchutil.RunClients(b, clients, "appends", func(i int) error {
					_, err := log.Log(context.Background(), entries[i])
					return err
				})
			})
		}
	}
}

// signedEntry signs a random digest with key.
func signedEntry(b *testing.B, key *ecdsa.PrivateKey) sign.Entry {
	digest := make([]byte, 32)
	_, _ = rand.Read(digest)
	pb, err := sign.Digest(context.Background(), digest, sign.Options{Key: key, UnsafeNoTlog: true})
	if err != nil {
		b.Fatal(err)
	}
	return sign.Entry{
		Signature: pb.GetMessageSignature().GetSignature(), Digest: digest,
		PublicKey: mustPKIX(key), KeyDetails: 5, // PKIX_ECDSA_P256_SHA_256
	}
}
