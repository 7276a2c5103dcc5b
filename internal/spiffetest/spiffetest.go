// Package spiffetest runs a SPIFFE Workload API for tests, built on
// go-spiffe's generated Workload API protocol: it hands out JWT-SVIDs for
// one SPIFFE ID, signed with a key it publishes the way SPIRE's OIDC
// discovery provider does (an OpenID discovery document and a JWKS), so a
// CA can verify the SVIDs as tokens of an OIDC issuer.
package spiffetest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/spiffe/go-spiffe/v2/proto/spiffe/workload"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// WorkloadAPI is a running Workload API and its issuer endpoints.
type WorkloadAPI struct {
	// Endpoint is the SPIFFE_ENDPOINT_SOCKET value: unix:///…/agent.sock.
	Endpoint string
	// Issuer is the iss of the JWT-SVIDs; discovery and JWKS are served
	// there.
	Issuer string
	// ID is the SPIFFE ID every SVID names.
	ID string
	// Requests counts FetchJWTSVID calls.
	Requests atomic.Int64

	key *ecdsa.PrivateKey
}

// Start serves a Workload API on a unix socket in a temporary directory,
// handing out JWT-SVIDs for spiffeID, until the test ends.
func Start(t testing.TB, spiffeID string) *WorkloadAPI {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	w := &WorkloadAPI{ID: spiffeID, key: key}

	mux := http.NewServeMux()
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	w.Issuer = hs.URL
	mux.HandleFunc("/.well-known/openid-configuration", func(rw http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(rw).Encode(map[string]any{
			"issuer": w.Issuer, "jwks_uri": w.Issuer + "/keys", "authorization_endpoint": "",
			"response_types_supported": []string{"id_token"}, "subject_types_supported": []string{"public"},
			"id_token_signing_alg_values_supported": []string{"ES256"},
		})
	})
	mux.HandleFunc("/keys", func(rw http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(rw).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key.Public(), KeyID: "svid", Algorithm: "ES256", Use: "sig"}}})
	})

	sock := filepath.Join(t.TempDir(), "agent.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	w.Endpoint = "unix://" + sock
	srv := grpc.NewServer()
	workload.RegisterSpiffeWorkloadAPIServer(srv, &handler{w: w})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		srv.Stop()
		<-done
	})
	return w
}

type handler struct {
	workload.UnimplementedSpiffeWorkloadAPIServer
	w *WorkloadAPI
}

// FetchJWTSVID answers as a SPIRE agent does: only requests carrying the
// workload.spiffe.io security header, one SVID for the requested audience.
func (h *handler) FetchJWTSVID(ctx context.Context, req *workload.JWTSVIDRequest) (*workload.JWTSVIDResponse, error) {
	h.w.Requests.Add(1)
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get("workload.spiffe.io"); len(v) != 1 || v[0] != "true" {
		return nil, status.Error(codes.InvalidArgument, "security header missing from request")
	}
	if len(req.Audience) == 0 {
		return nil, status.Error(codes.InvalidArgument, "audience must be specified")
	}
	if req.SpiffeId != "" && req.SpiffeId != h.w.ID {
		return nil, status.Errorf(codes.PermissionDenied, "no identity issued for %s", req.SpiffeId)
	}
	tok, err := h.w.Mint(req.Audience, time.Now().Add(5*time.Minute))
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &workload.JWTSVIDResponse{Svids: []*workload.JWTSVID{{SpiffeId: h.w.ID, Svid: tok}}}, nil
}

// Mint signs a JWT-SVID for the audience, expiring at exp.
func (w *WorkloadAPI) Mint(audience []string, exp time.Time) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: w.key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "svid"))
	if err != nil {
		return "", err
	}
	now := time.Now()
	return jwt.Signed(signer).Claims(map[string]any{
		"iss": w.Issuer, "sub": w.ID, "aud": audience, "iat": now.Unix(), "exp": exp.Unix(),
	}).Serialize()
}
