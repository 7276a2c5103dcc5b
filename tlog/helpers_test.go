package tlog

//lint:file-ignore SA1019 Rekor v2 dsse v0.0.2 entries are deprecated upstream but signet still accepts them (issue 4)

import (
	"context"
	"crypto"
	"errors"
	"testing"
	"time"

	"github.com/signetproject/signet/tlog/internal/tlogtest"
	"github.com/signetproject/signet/tlog/storage"
)

// The shared test helpers, under this package's names.
const testOrigin = tlogtest.Origin

type testSigner = tlogtest.Signer

var (
	newTestSigner      = tlogtest.NewSigner
	newLargeCertSigner = tlogtest.NewLargeCertSigner
	dsseRequest        = tlogtest.DSSERequest
	newLogKey          = tlogtest.NewLogKey
	readFile           = tlogtest.ReadFile
	writeFile          = tlogtest.WriteFile
)

// mysqlTestURL returns the URL of a fresh database on the test server
// (SIGNET_TEST_MYSQL_URL), or skips the test.
func mysqlTestURL(t testing.TB) string { return tlogtest.MySQLURL(t) }

// openTestLog opens a POSIX-backed log in dir and closes it at the end of the test.
func openTestLog(t testing.TB, dir string, key crypto.Signer, opts Options) *Log {
	t.Helper()
	ctx := context.Background()
	d, err := storage.NewPOSIX(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	l, err := New(ctx, d, testOrigin, key, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := l.Close(ctx); err != nil && !errors.Is(err, ErrIntegrity) {
			t.Errorf("Close: %v", err)
		}
	})
	return l
}
