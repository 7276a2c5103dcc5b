package server

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	ct "github.com/google/certificate-transparency-go"
	"github.com/google/certificate-transparency-go/tls"
	"github.com/transparency-dev/tessera"

	"github.com/signetproject/signet/ctlog"
	"github.com/signetproject/signet/tlog"
)

// The CT log's static-ct-api monitoring API lives under /ct: /ct/checkpoint,
// /ct/tile/<L>/<N>[.p/<W>], /ct/tile/data/<N>[.p/<W>] and
// /ct/issuer/<hex SHA-256>. Its RFC 6962 §4 submission API, which
// static-ct-api keeps, lives under its submission prefix <url>/ct (the
// checkpoint origin "<host>/ct" must name it, and trusted_root.json lists
// it as the log's URL), so at /ct/ct/v1/: add-pre-chain (how another CA,
// e.g. a Fulcio with --ct-log-url=<url>/ct, logs its precertificates here;
// signet's own CA calls the log in-process), add-chain and get-roots.

func (s *Server) handleCTCheckpoint(w http.ResponseWriter, r *http.Request) {
	cp, err := s.ct.ReadCheckpoint(r.Context())
	s.writeTile(w, r, cp, err, "no-cache")
}

func (s *Server) handleCTTile(w http.ResponseWriter, r *http.Request) {
	s.serveTile(w, r, s.ct, strings.TrimPrefix(r.URL.Path, "/ct/tile/"), "data/", "data tile")
}

func (s *Server) handleCTIssuer(w http.ResponseWriter, r *http.Request) {
	var fp [32]byte
	name := r.PathValue("fingerprint")
	if b, err := hex.DecodeString(name); err != nil || len(b) != len(fp) || strings.ToLower(name) != name {
		s.writeError(w, r, badRequest("bad_path", "issuer %q is not a lower-case hex SHA-256 fingerprint", capped(name)))
		return
	} else {
		copy(fp[:], b)
	}
	der, err := s.ct.Issuer(r.Context(), fp)
	s.writeTile(w, r, der, err, "max-age=31536000, immutable")
}

// Bounds of a submission: its body, and the certificates in its chain
// (each one's signature is checked).
const (
	maxCTSubmission = 256 << 10
	maxCTChain      = 10
)

func (s *Server) handleCTAddPreChain(w http.ResponseWriter, r *http.Request) {
	s.handleCTAdd(w, r, true)
}

func (s *Server) handleCTAddChain(w http.ResponseWriter, r *http.Request) { s.handleCTAdd(w, r, false) }

// handleCTAdd serves RFC 6962 §4.1 add-chain and §4.2 add-pre-chain: the
// request is {"chain": [base64 DER, ...]}, the answer the SCT's fields
// (certificate-transparency-go's ct.AddChainResponse), once the entry is
// durably sequenced.
//
// Submissions are for other CAs: without --ct-roots the log takes none, and
// it never takes a chain through the server's own CA, whose certificates
// are logged in-process as they are issued. Anyone may hold the public
// certificates it takes and submit them again: a recent entry's
// resubmission gets the SCT of the entry the log has, not a new entry
// (ctlog.Log.Add); an expired certificate, or one outside the NotAfter
// window (--ct-not-after-start, --ct-not-after-limit), is refused. With
// --ct-submission-rate, submissions beyond that rate (all clients together,
// counted before the body is read) are answered 429 with Retry-After.
func (s *Server) handleCTAdd(w http.ResponseWriter, r *http.Request, precert bool) {
	if s.opts.CTRootsFile == "" {
		http.Error(w, "this CT log takes submissions only from the CAs whose roots the server was started with (--ct-roots); its own CA logs in-process", http.StatusForbidden)
		return
	}
	if s.ctSubmissions != nil {
		if res := s.ctSubmissions.Reserve(); res.Delay() > 0 {
			wait := res.Delay()
			res.Cancel()
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
			http.Error(w, fmt.Sprintf("this CT log takes at most %g submissions a second (--ct-submission-rate); retry later", s.opts.CTSubmissionRate), http.StatusTooManyRequests)
			return
		}
	}
	chain, err := readCTChain(w, r)
	if err != nil {
		s.writeCTError(w, r, err)
		return
	}
	for i, c := range chain {
		if slices.ContainsFunc(s.ownCAKeys, func(k []byte) bool { return bytes.Equal(k, c.RawSubjectPublicKeyInfo) }) {
			http.Error(w, fmt.Sprintf("chain[%d] is this server's own CA: its certificates are logged in-process as they are issued, not submitted", i), http.StatusBadRequest)
			return
		}
	}
	sct, err := s.ct.Add(r.Context(), chain, precert)
	if err != nil {
		s.writeCTError(w, r, err)
		return
	}
	sig, err := tls.Marshal(sct.Signature)
	if err != nil {
		s.writeCTError(w, r, fmt.Errorf("encode SCT signature: %w", err))
		return
	}
	writeJSON(w, http.StatusOK, ct.AddChainResponse{
		SCTVersion: sct.SCTVersion,
		ID:         sct.LogID.KeyID[:],
		Timestamp:  sct.Timestamp,
		Extensions: base64.StdEncoding.EncodeToString(sct.Extensions),
		Signature:  sig,
	})
}

// readCTChain reads a bounded add-[pre-]chain body and parses its chain.
func readCTChain(w http.ResponseWriter, r *http.Request) ([]*x509.Certificate, error) {
	body, err := readBody(w, r, maxCTSubmission)
	if err != nil {
		return nil, err
	}
	var req struct {
		Chain []string `json:"chain"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return nil, badRequest("malformed_json", "request body is not a JSON object {\"chain\": [base64 DER certificates]}: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, badRequest("malformed_json", "request body has data after its JSON object")
	}
	switch {
	case len(req.Chain) == 0:
		return nil, badRequest("bad_chain", "chain is missing or empty")
	case len(req.Chain) > maxCTChain:
		return nil, badRequest("bad_chain", "chain has %d certificates, at most %d are accepted", len(req.Chain), maxCTChain)
	}
	chain := make([]*x509.Certificate, len(req.Chain))
	for i, b64 := range req.Chain {
		der, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return nil, badRequest("bad_chain", "chain[%d] is not standard base64: %v", i, err)
		}
		if chain[i], err = x509.ParseCertificate(der); err != nil {
			return nil, badRequest("bad_chain", "chain[%d] is not a DER X.509 certificate: %v", i, err)
		}
	}
	return chain, nil
}

func (s *Server) handleCTGetRoots(w http.ResponseWriter, _ *http.Request) {
	roots := s.ct.Roots()
	out := make([][]byte, len(roots))
	for i, c := range roots {
		out[i] = c.Raw
	}
	writeJSON(w, http.StatusOK, map[string]any{"certificates": out})
}

// writeCTError answers a failed submission in plain text, as RFC 6962
// logs do: 400 for a request or chain the log refuses, 413 for an
// oversized body, 429 with Retry-After when Tessera pushes back, 503 after
// an integrity failure, 500 otherwise (the cause goes to the server log).
func (s *Server) writeCTError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
	case errors.Is(err, ctlog.ErrInvalidChain):
		ae = badRequest("bad_chain", "%v", err)
	case errors.Is(err, tessera.ErrPushback):
		w.Header().Set("Retry-After", "1")
		ae = &apiError{status: http.StatusTooManyRequests, message: "the certificate transparency log is overloaded; retry later"}
	case errors.Is(err, tlog.ErrIntegrity):
		ae = integrityError("certificate transparency log", err)
	default:
		ae = internalError("the certificate transparency log", err)
	}
	if ae.status >= 500 {
		cause := err
		if ae.cause != nil {
			cause = ae.cause
		}
		s.logger.Error("request failed", "path", capped(r.URL.Path), "err", cause)
	}
	http.Error(w, cappedTo(ae.message, maxMessage), ae.status)
}
