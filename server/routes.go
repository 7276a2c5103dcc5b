package server

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Media types served.
const (
	mediaTypeTrustedRoot   = "application/vnd.dev.sigstore.trustedroot+json;version=0.1"
	mediaTypeSigningConfig = "application/vnd.dev.sigstore.signingconfig.v0.2+json"
	mediaTypePEMChain      = "application/pem-certificate-chain"
)

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.handleHealth)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /trusted_root.json", s.serveBytes(mediaTypeTrustedRoot, s.trustedRoot))
	mux.HandleFunc("GET /signing_config.json", s.serveBytes(mediaTypeSigningConfig, s.signingConfig))

	mux.HandleFunc("POST /api/v2/signingCert", s.handleSigningCertV2)
	mux.HandleFunc("GET /api/v2/trustBundle", s.handleTrustBundle)
	mux.HandleFunc("GET /api/v2/configuration", s.handleConfiguration)
	mux.HandleFunc("POST /api/v1/signingCert", s.handleSigningCertV1)
	mux.HandleFunc("GET /api/v1/rootCert", s.handleRootCert)

	mux.HandleFunc("POST /api/v2/log/entries", s.handleCreateEntry)
	mux.HandleFunc("GET /checkpoint", s.handleCheckpoint)
	mux.HandleFunc("GET /tile/", s.handleTile)
	s.registerRekorV1(mux)
	s.registerSearch(mux)

	mux.HandleFunc("GET /ct/checkpoint", s.handleCTCheckpoint)
	mux.HandleFunc("GET /ct/tile/", s.handleCTTile)
	mux.HandleFunc("GET /ct/issuer/{fingerprint}", s.handleCTIssuer)

	mux.HandleFunc("GET /tuf/online-key.pem", s.handleTUFOnlineKey)
	mux.HandleFunc("GET /tuf/{file...}", s.handleTUF)

	mux.HandleFunc("POST /api/v1/timestamp", s.handleTimestamp)
	mux.HandleFunc("GET /api/v1/timestamp/certchain", s.handleTimestampChain)

	if s.dev != nil {
		mux.HandleFunc("GET /oidc/.well-known/openid-configuration", s.serveBytes("application/json", s.dev.Discovery()))
		mux.HandleFunc("GET /oidc/jwks", s.serveBytes("application/json", s.dev.JWKS()))
		mux.HandleFunc("POST /oidc/token", s.handleDevToken)
	}
	return s.logRequests(mux)
}

func (s *Server) handleHealth(w http.ResponseWriter, _ *http.Request) {
	body := map[string]any{"status": "ok"}
	if s.dev != nil {
		body["insecureDevIssuer"] = s.dev.URL()
		body["warning"] = "INSECURE: the built-in dev OIDC issuer signs tokens for any identity; never trust this server's certificates outside local development"
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) serveBytes(contentType string, body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", contentType)
		_, _ = w.Write(body)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// logRequests logs one line per request: method, path (never the query or
// headers, which may carry tokens), status and duration, and records the
// request metrics.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		d := time.Since(start)
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		s.metrics.observeRequest(route, rec.status, d)
		s.logger.Info("request", "method", r.Method, "path", r.URL.Path, "status", rec.status,
			"duration_ms", float64(d.Microseconds())/1000, "remote", r.RemoteAddr)
	})
}
