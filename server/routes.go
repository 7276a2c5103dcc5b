package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

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
	mux.HandleFunc("GET /readyz", s.handleReady)
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
	mux.HandleFunc("POST /ct/ct/v1/add-pre-chain", s.handleCTAddPreChain)
	mux.HandleFunc("POST /ct/ct/v1/add-chain", s.handleCTAddChain)
	mux.HandleFunc("GET /ct/ct/v1/get-roots", s.handleCTGetRoots)

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

func (s *Server) serveBytes(contentType string, body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		writeBody(w, http.StatusOK, contentType, body)
	}
}

// writeBody answers with status and body, of contentType, and says the
// body's length: net/http would send a body larger than its 2 KB buffer
// (an entry with its proof, a certificate chain, a tile) chunked.
func writeBody(w http.ResponseWriter, status int, contentType string, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeJSON answers with v as indented JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, "encode response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	writeBody(w, status, "application/json", append(body, '\n'))
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
		s.logger.Info("request", "method", r.Method, "path", capped(r.URL.Path), "status", rec.status,
			"duration_ms", float64(d.Microseconds())/1000, "remote", r.RemoteAddr)
	})
}

// maxEchoed bounds the part of a client-chosen string (a request path) an
// error body or log line repeats; maxMessage bounds a whole error message
// sent to a client, whatever it quotes.
const (
	maxEchoed  = 256
	maxMessage = 1024
)

// capped returns s, or its first maxEchoed bytes and how long it was.
func capped(s string) string { return cappedTo(s, maxEchoed) }

// cappedTo returns s, or its first n bytes (whole UTF-8 characters) and
// how long it was.
func cappedTo(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s…(%d bytes)", s[:cut], len(s))
}
