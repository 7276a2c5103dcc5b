// Package servertest starts a whole signet server on 127.0.0.1 for tests,
// with the built-in development OIDC issuer, in one call.
package servertest

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/signetproject/signet/server"
)

// Instance is a running test server.
type Instance struct {
	URL    string
	Server *server.Server
}

// Start runs a signet server with the dev issuer on a random loopback port
// and a fresh data directory; it stops when the test ends. Options may
// adjust the server options (BaseURL and DataDir are preset).
func Start(t testing.TB, adjust ...func(*server.Options)) *Instance {
	t.Helper()
	return StartInDir(t, t.TempDir(), adjust...)
}

// StartInDir is Start with a given data directory, to test restarts.
func StartInDir(t testing.TB, dataDir string, adjust ...func(*server.Options)) *Instance {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	base := "http://" + ts.Listener.Addr().String()
	opts := server.Options{DataDir: dataDir, BaseURL: base, InsecureDevIssuer: true}
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
	t.Cleanup(func() {
		ts.Close()
		if err := srv.Close(context.Background()); err != nil {
			t.Errorf("close signet server: %v", err)
		}
	})
	return &Instance{URL: base, Server: srv}
}
