package server_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	rekorpb "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/signetproject/signet/internal/benchutil"
	"github.com/signetproject/signet/server/servertest"
)

// searchBenchEntries is the size of the log BenchmarkSearchUI searches;
// SIGNET_BENCH_SEARCH_ENTRIES overrides it (for a quick run).
const searchBenchEntries = 100_000

// searchBenchIdentities sign the entries in turn, so each identity has
// searchBenchEntries/searchBenchIdentities of them.
const searchBenchIdentities = 100

// searchBenchServer starts a server on a data directory holding n
// benchmark entries. Logging 100,000 entries takes minutes, so the
// directory is kept in the user's cache (or $SIGNET_BENCH_CACHE) and
// reused by later runs; a fill that did not finish is started again.
func searchBenchServer(b *testing.B, n int) *servertest.Instance {
	cache := os.Getenv("SIGNET_BENCH_CACHE")
	if cache == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			b.Fatal(err)
		}
		cache = filepath.Join(dir, "signet")
	}
	dir := filepath.Join(cache, fmt.Sprintf("bench-search-%d", n))
	done := filepath.Join(dir, "filled")
	if _, err := os.Stat(done); err == nil {
		return servertest.StartInDir(b, dir)
	}
	if err := os.RemoveAll(dir); err != nil {
		b.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	inst := servertest.StartInDir(b, dir)
	if err := fillSearchBenchLog(inst, n); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(done, nil, 0o644); err != nil {
		b.Fatal(err)
	}
	return inst
}

type benchSigner struct {
	key  *ecdsa.PrivateKey
	cert []byte
}

func fillSearchBenchLog(inst *servertest.Instance, n int) error {
	signers := make([]benchSigner, searchBenchIdentities)
	for i := range signers {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(int64(i + 1)), Subject: pkix.Name{CommonName: "bench"},
			NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
			EmailAddresses: []string{fmt.Sprintf("user-%d@example.com", i)},
			ExtraExtensions: []pkix.Extension{fulcioExtBench(8, "https://issuer.example.com"),
				fulcioExtBench(12, fmt.Sprintf("https://github.com/org/repo-%d", i))},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
		if err != nil {
			return err
		}
		signers[i] = benchSigner{key, der}
	}
	start := time.Now()
	var wg sync.WaitGroup
	errc := make(chan error, 512)
	next := make(chan int)
	for range 512 {
		wg.Go(func() {
			for i := range next {
				if err := postBenchEntry(inst.URL, signers[i%len(signers)], i); err != nil {
					select {
					case errc <- err:
					default:
					}
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
	}
	if err := inst.Server.Search().Follow(context.Background()); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "search bench: %d entries logged and indexed in %s\n", n, time.Since(start).Round(time.Second))
	return nil
}

func fulcioExtBench(n int, v string) pkix.Extension {
	der, _ := asn1MarshalUTF8(v)
	return pkix.Extension{Id: []int{1, 3, 6, 1, 4, 1, 57264, 1, n}, Value: der}
}

func asn1MarshalUTF8(s string) ([]byte, error) {
	return append([]byte{12, byte(len(s))}, s...), nil
}

func postBenchEntry(base string, s benchSigner, i int) error {
	var art [8]byte
	binary.BigEndian.PutUint64(art[:], uint64(i))
	digest := sha256.Sum256(art[:])
	sig, err := s.key.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		return err
	}
	body, err := protojson.Marshal(&rekorpb.CreateEntryRequest{Spec: &rekorpb.CreateEntryRequest_HashedRekordRequestV002{
		HashedRekordRequestV002: &rekorpb.HashedRekordRequestV002{Digest: digest[:], Signature: &rekorpb.Signature{Content: sig,
			Verifier: &rekorpb.Verifier{
				Verifier:   &rekorpb.Verifier_X509Certificate{X509Certificate: &protocommon.X509Certificate{RawBytes: s.cert}},
				KeyDetails: protocommon.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256,
			}}},
	}})
	if err != nil {
		return err
	}
	for {
		resp, err := http.Post(base+"/api/v2/log/entries", "application/json", bytes.NewReader(body))
		if err != nil {
			return err
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusCreated:
			return nil
		case http.StatusServiceUnavailable: // pushback
			time.Sleep(50 * time.Millisecond)
			continue
		}
		return fmt.Errorf("append %d: %s: %s", i, resp.Status, data)
	}
}

// BenchmarkSearchUI measures the web UI over a Rekor v2 log of 100,000
// entries in the embedded store: the latency (p50, p99) of a results page
// (an identity with 1,000 entries, 20 a page, at a random page), of an
// entry page (certificate decoding and an inclusion proof checked against
// the latest checkpoint), and of the same search through the JSON API, and
// each page's weight in bytes. Requests go straight to the handler, so no
// network is measured. Goal: p50 ≤ 10 ms, pages under 100 KB.
func BenchmarkSearchUI(b *testing.B) {
	// The top-level function runs once; its sub-benchmarks share the log.
	n := searchBenchEntries
	if s := os.Getenv("SIGNET_BENCH_SEARCH_ENTRIES"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	inst := searchBenchServer(b, n)
	h := inst.Server.Handler()
	get := func(target string) (int, error) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		if rec.Code != http.StatusOK {
			return 0, fmt.Errorf("GET %s: %d %s", target, rec.Code, rec.Body.Bytes())
		}
		return rec.Body.Len(), nil
	}
	pages := n / searchBenchIdentities / 20
	for _, bm := range []struct {
		name   string
		target func(i int) string
	}{
		{"results", func(i int) string {
			return "/?" + url.Values{"q": {fmt.Sprintf("user-%d@example.com", i%searchBenchIdentities)}, "page": {strconv.Itoa(1 + i%max(pages, 1))}}.Encode()
		}},
		{"results-json", func(i int) string {
			return "/api/search?" + url.Values{"q": {fmt.Sprintf("user-%d@example.com", i%searchBenchIdentities)}}.Encode()
		}},
		{"entry", func(i int) string { return "/entries/v2/" + strconv.Itoa((i*7919)%n) }},
	} {
		b.Run(bm.name, func(b *testing.B) {
			var bytesMax, bytesSum int
			benchutil.RunClients(b, 1, "pages", func(i int) error {
				size, err := get(bm.target(i))
				bytesSum += size
				bytesMax = max(bytesMax, size)
				return err
			})
			b.ReportMetric(float64(bytesSum)/float64(b.N), "bytes/page")
			b.ReportMetric(float64(bytesMax), "max-bytes/page")
		})
	}
}
