// Command zitadel-op runs zitadel/oidc's example OpenID provider — the
// certified op package with the example's login pages and in-memory
// storage — for signet's end-to-end tests of people logging in. It is its
// own module so that signet does not depend on zitadel/oidc; build it with
// scripts/oidc-provider-build.sh.
//
// What it adds to the example's main: the issuer URL and listen address
// are flags; one public client "sigstore" (and "other-client", for tests of
// a token made for another audience) allowed to use the authorization code
// flow with PKCE on any loopback port and the device authorization grant,
// asserting the email claims in the ID token as Sigstore needs; the users
// come from a JSON file (the example's format).
//
//	zitadel-op -issuer http://127.0.0.1:5556 -addr 127.0.0.1:5556 -users users.json
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

func main() {
	issuer := flag.String("issuer", "", "issuer URL (required), e.g. http://127.0.0.1:5556")
	addr := flag.String("addr", "", "listen address (required), e.g. 127.0.0.1:5556")
	users := flag.String("users", "", "JSON file of users, as the example's USERS_FILE (required)")
	flag.Parse()
	if *issuer == "" || *addr == "" || *users == "" {
		flag.Usage()
		os.Exit(2)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	userStore, err := storage.StoreFromFile(*users)
	if err != nil {
		logger.Error("users", "error", err)
		os.Exit(1)
	}
	// A native client registered with a port-less loopback redirect may
	// use any port (RFC 8252 section 7.3), as the signet and cosign CLIs do.
	storage.RegisterClients(
		storage.NativeClient("sigstore", "http://localhost/auth/callback"),
		storage.NativeClient("other-client", "http://localhost/auth/callback"),
	)
	router := exampleop.SetupServer(*issuer, &signetStorage{Storage: storage.NewStorage(userStore)}, logger, false)

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		logger.Error("listen", "error", err)
		os.Exit(1)
	}
	srv := &http.Server{Handler: router, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	fmt.Printf("zitadel-op listening on %s, issuer %s\n", ln.Addr(), *issuer)
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		logger.Error("serve", "error", err)
		os.Exit(1)
	}
}

// signetStorage is the example's storage with signet's client settings.
type signetStorage struct {
	*storage.Storage
}

// GetClientByClientID implements op.Storage.
func (s *signetStorage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.Storage.GetClientByClientID(ctx, id)
	if err != nil {
		return nil, err
	}
	return signetClient{c}, nil
}

// signetClient is a public native client that may also use the device
// grant and gets its email claims in the ID token.
type signetClient struct {
	op.Client
}

func (signetClient) GrantTypes() []oidc.GrantType {
	return []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeDeviceCode}
}

func (signetClient) IDTokenUserinfoClaimsAssertion() bool { return true }
