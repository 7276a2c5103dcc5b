package server

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"
)

// probeTimeout bounds the checks behind /healthz and /readyz.
const probeTimeout = 5 * time.Second

// readyCacheTime is how long a /readyz answer is reused: it signs with
// every key and may contact issuers, which an unauthenticated caller must
// not be able to make the server do at will.
const readyCacheTime = time.Second

// readiness caches the last /readyz answer.
type readiness struct {
	mu     sync.Mutex
	at     time.Time
	status int
	body   map[string]any
}

// handleHealth is the liveness probe: 503 when a transparency log (the
// Rekor v2 or v1 log, or the CT log) found its stored state disagreeing
// with a checkpoint it signed, or its published checkpoint does not
// verify — states only an operator can repair, in which the logs refuse
// to append.
func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), probeTimeout)
	defer cancel()
	failed := map[string]string{}
	for name, err := range map[string]error{"log": s.log.Health(ctx), "rekorV1Log": s.v1log.Health(ctx), "ctLog": s.ct.Health(ctx)} {
		if err != nil {
			failed[name] = err.Error()
		}
	}
	body := map[string]any{"status": "ok"}
	status := http.StatusOK
	if len(failed) > 0 {
		body["status"], body["errors"] = "unhealthy", failed
		status = http.StatusServiceUnavailable
	}
	s.addDevNotes(body)
	writeJSON(w, status, body)
}

// handleReady is the readiness probe: 503 unless each log can append, each
// signing key (CA, TSA, CT log, and the TUF online key when serving TUF)
// can sign, and at least one OIDC issuer can verify tokens.
// Every component's state is in the body; an issuer that cannot be
// reached is listed there without making the server unready, since the
// others (and the logs and timestamp authority) still serve.
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	s.ready.mu.Lock()
	defer s.ready.mu.Unlock()
	if time.Since(s.ready.at) > readyCacheTime {
		ctx, cancel := context.WithTimeout(r.Context(), probeTimeout)
		s.ready.status, s.ready.body = s.checkReady(ctx)
		cancel()
		s.ready.at = time.Now()
	}
	writeJSON(w, s.ready.status, s.ready.body)
}

func (s *Server) checkReady(ctx context.Context) (int, map[string]any) {
	components := map[string]string{}
	failed := false
	report := func(name string, err error) {
		if err != nil {
			failed = true
			components[name] = err.Error()
			return
		}
		components[name] = "ok"
	}
	report("log", s.log.Ready(ctx))
	report("rekorV1Log", s.v1log.Ready(ctx))
	report("ctLog", s.ct.Ready(ctx))
	for name, key := range s.probeKeys {
		report(name+"Key", probeSign(key))
	}
	issuers := map[string]string{}
	reachable := 0
	for url, err := range s.verifier.CheckIssuers(ctx) {
		if err != nil {
			issuers[url] = err.Error()
			continue
		}
		issuers[url] = "ok"
		reachable++
	}
	if reachable == 0 {
		failed = true
	}
	body := map[string]any{"status": "ready", "components": components, "issuers": issuers}
	if failed {
		body["status"] = "not ready"
		if reachable == 0 {
			body["error"] = "no OIDC issuer can verify tokens"
		}
		return http.StatusServiceUnavailable, body
	}
	return http.StatusOK, body
}

// probeSign makes a throwaway signature with key, which a remote (KMS)
// signer may fail to make.
func probeSign(key crypto.Signer) error {
	d := sha256.Sum256([]byte("signet readiness probe"))
	if _, err := key.Sign(rand.Reader, d[:], crypto.SHA256); err != nil {
		return fmt.Errorf("cannot sign: %w", err)
	}
	return nil
}

// addDevNotes adds what a client must know about the dev issuer: that it
// is on, or that this data directory ran it before.
func (s *Server) addDevNotes(body map[string]any) {
	if s.dev != nil {
		body["insecureDevIssuer"] = s.dev.URL()
		body["warning"] = "INSECURE: the built-in dev OIDC issuer signs tokens for any identity; never trust this server's certificates outside local development"
	}
	if len(s.retiredDevKeys) > 0 {
		keys := append([]string(nil), s.retiredDevKeys...)
		sort.Strings(keys)
		body["retiredDevIssuerKeys"] = keys
		body["devHistory"] = devHistoryNote
	}
}

// devHistoryNote is what a server says about a data directory that once
// ran the insecure dev issuer.
const devHistoryNote = "this data directory once ran the INSECURE dev OIDC issuer: its key is retired, but certificates it vouched for were issued by this CA and logged"
