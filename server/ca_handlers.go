package server

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/transparency-dev/tessera"

	"github.com/signetproject/signet/ca"
	"github.com/signetproject/signet/oidc"
	"github.com/signetproject/signet/tlog"
)

// maxRequestBody bounds CA request bodies: an ID token (≤ 64 KiB) plus a
// public key or CSR fit easily.
const maxRequestBody = 128 << 10

// apiError is an error answer in Fulcio's (grpc-gateway's) JSON shape.
type apiError struct {
	status  int
	code    int // gRPC status code, as Fulcio reports it
	message string
	reason  string // metric label
	cause   error  // what the server log records, when not message
}

func (e *apiError) Error() string { return e.message }

// gRPC codes used in error bodies.
const (
	grpcInvalidArgument  = 3
	grpcPermissionDenied = 7
	grpcInternal         = 13
	grpcUnavailable      = 14
	grpcUnauthenticated  = 16
)

// internalError is the answer to a failure inside component ("the
// transparency log"): the client learns which component failed, the
// server log gets the cause.
func internalError(component string, err error) *apiError {
	return &apiError{status: http.StatusInternalServerError, code: grpcInternal, reason: "internal",
		message: "internal error in " + component, cause: err}
}

func badRequest(reason, format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: grpcInvalidArgument, reason: reason, message: fmt.Sprintf(format, args...)}
}

// classify maps a domain error to the HTTP answer Fulcio would give.
func classify(err error) *apiError {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, oidc.ErrInvalidToken):
		return &apiError{status: http.StatusUnauthorized, code: grpcUnauthenticated, reason: "invalid_token", message: err.Error()}
	case errors.Is(err, oidc.ErrIdentityNotAllowed):
		return &apiError{status: http.StatusForbidden, code: grpcPermissionDenied, reason: "identity_not_allowed", message: err.Error()}
	case errors.Is(err, oidc.ErrIssuerUnavailable):
		return &apiError{status: http.StatusServiceUnavailable, code: grpcUnavailable, reason: "issuer_unavailable", message: err.Error()}
	case errors.Is(err, tessera.ErrPushback):
		return &apiError{status: http.StatusServiceUnavailable, code: grpcUnavailable, reason: "ct_log_overloaded", message: "the certificate transparency log is overloaded; retry later"}
	case errors.Is(err, tlog.ErrIntegrity):
		return integrityError("certificate transparency log", err)
	case errors.Is(err, ca.ErrBadRequest):
		return &apiError{status: http.StatusBadRequest, code: grpcInvalidArgument, reason: "bad_request", message: err.Error()}
	default:
		return internalError("the certificate authority", err)
	}
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	ae := classify(err)
	if ae.status >= 500 {
		if ae.cause != nil {
			err = ae.cause
		}
		s.logger.Error("request failed", "path", capped(r.URL.Path), "err", err)
	}
	writeJSON(w, ae.status, map[string]any{"code": ae.code, "message": cappedTo(ae.message, maxMessage), "details": []any{}})
}

// certRequest is a signing-certificate request from either API version.
type certRequest struct {
	token     string
	publicKey []byte // PEM, base64 DER or DER
	proof     []byte // signature over the token's email/subject
	csr       []byte // PEM or DER; replaces publicKey + proof
}

// issue verifies the token and the proof of possession and returns the new
// certificate followed by the CA chain.
func (s *Server) issue(ctx context.Context, req certRequest) ([]*x509.Certificate, error) {
	start := time.Now()
	label := unknownIssuer
	chain, cfg, err := s.issueFor(ctx, req)
	if cfg.URL != "" {
		label = cfg.URL
	}
	if cfg.MetaIssuer != "" { // one series per pattern, not per matching URL
		label = cfg.MetaIssuer
	}
	if err != nil {
		s.metrics.certRejected.WithLabelValues(label, classify(err).reason).Inc()
		return nil, err
	}
	s.metrics.certsIssued.WithLabelValues(label).Inc()
	s.metrics.issueDuration.WithLabelValues(label).Observe(time.Since(start).Seconds())
	return chain, nil
}

func (s *Server) issueFor(ctx context.Context, req certRequest) ([]*x509.Certificate, oidc.IssuerConfig, error) {
	if req.token == "" {
		return nil, oidc.IssuerConfig{}, &apiError{status: http.StatusUnauthorized, code: grpcUnauthenticated, reason: "no_token",
			message: "no identity token: send it as credentials.oidcIdentityToken or an Authorization: Bearer header"}
	}
	id, cfg, err := s.verifier.Verify(ctx, req.token)
	if err != nil {
		return nil, cfg, err
	}
	var pub crypto.PublicKey
	switch {
	case len(req.csr) > 0:
		csr, err := ca.ParseCSR(req.csr)
		if err != nil {
			return nil, cfg, err
		}
		pub = csr.PublicKey
	case len(req.publicKey) > 0:
		if pub, err = ca.ParsePublicKey(req.publicKey); err != nil {
			return nil, cfg, err
		}
		if err := ca.CheckKey(pub); err != nil {
			return nil, cfg, err
		}
		if err := ca.VerifyProofOfPossession(pub, req.proof, id.Challenge); err != nil {
			return nil, cfg, err
		}
	default:
		return nil, cfg, badRequest("no_key", "request has neither a public key with proof of possession nor a certificate signing request")
	}
	leaf, err := s.ca.IssueWithSCTs(ctx, id, pub, s.ct)
	if err != nil {
		return nil, cfg, err
	}
	return append([]*x509.Certificate{leaf}, s.ca.Chain()...), cfg, nil
}

// readJSON decodes a bounded JSON body strictly into v. Field names may be
// camelCase or snake_case, as protobuf JSON allows.
func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := readBody(w, r, maxRequestBody)
	if err != nil {
		return err
	}
	var generic any
	if err := json.Unmarshal(body, &generic); err != nil {
		return badRequest("malformed_json", "request body is not valid JSON: %v", err)
	}
	if _, ok := generic.(map[string]any); !ok {
		return badRequest("malformed_json", "request body must be a JSON object")
	}
	normalized, _ := json.Marshal(camelKeys(generic))
	dec := json.NewDecoder(bytes.NewReader(normalized))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("malformed_json", "request body: %v", err)
	}
	return nil
}

// readBody reads a request body of at most limit bytes; a larger body is a
// 413 apiError, an unreadable one a 400.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, &apiError{status: http.StatusRequestEntityTooLarge, code: grpcInvalidArgument, reason: "oversize",
				message: fmt.Sprintf("request body exceeds %d bytes", limit)}
		}
		return nil, badRequest("read_body", "read request body: %v", err)
	}
	return body, nil
}

// camelKeys rewrites snake_case object keys to lowerCamelCase, recursively.
func camelKeys(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, val := range t {
			out[snakeToCamel(k)] = camelKeys(val)
		}
		return out
	case []any:
		for i := range t {
			t[i] = camelKeys(t[i])
		}
		return t
	default:
		return v
	}
}

func snakeToCamel(s string) string {
	if !strings.Contains(s, "_") {
		return s
	}
	parts := strings.Split(s, "_")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	return strings.Join(parts, "")
}

// b64 is a protobuf bytes field: base64, standard or URL alphabet, padded
// or not.
type b64 []byte

func (b *b64) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return errors.New("bytes field must be a base64 string")
	}
	s = strings.TrimRight(strings.TrimSpace(s), "=")
	decoded, err := base64.RawStdEncoding.DecodeString(s)
	if err != nil {
		decoded, err = base64.RawURLEncoding.DecodeString(s)
	}
	if err != nil {
		return fmt.Errorf("invalid base64: %v", err)
	}
	*b = decoded
	return nil
}

func bearerToken(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// v2SigningCertRequest is Fulcio's CreateSigningCertificateRequest.
type v2SigningCertRequest struct {
	Credentials *struct {
		OIDCIdentityToken string `json:"oidcIdentityToken"`
	} `json:"credentials"`
	PublicKeyRequest *struct {
		PublicKey *struct {
			Algorithm json.RawMessage `json:"algorithm"` // enum; the key itself says what it is
			Content   string          `json:"content"`
		} `json:"publicKey"`
		ProofOfPossession b64 `json:"proofOfPossession"`
	} `json:"publicKeyRequest"`
	CertificateSigningRequest b64 `json:"certificateSigningRequest"`
}

func (s *Server) handleSigningCertV2(w http.ResponseWriter, r *http.Request) {
	var body v2SigningCertRequest
	if err := readJSON(w, r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	req := certRequest{token: bearerToken(r), csr: body.CertificateSigningRequest}
	if body.Credentials != nil && body.Credentials.OIDCIdentityToken != "" {
		req.token = body.Credentials.OIDCIdentityToken
	}
	if pk := body.PublicKeyRequest; pk != nil {
		if len(req.csr) > 0 {
			s.writeError(w, r, badRequest("bad_request", "send either publicKeyRequest or certificateSigningRequest, not both"))
			return
		}
		if pk.PublicKey == nil || pk.PublicKey.Content == "" {
			s.writeError(w, r, badRequest("bad_request", "publicKeyRequest.publicKey.content is required"))
			return
		}
		req.publicKey, req.proof = []byte(pk.PublicKey.Content), pk.ProofOfPossession
	}
	chain, err := s.issue(r.Context(), req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"signedCertificateEmbeddedSct": map[string]any{"chain": pemChain(chain)},
	})
}

// v1SigningCertRequest is the legacy Fulcio v1 request cosign ≤ 2.6 sends.
type v1SigningCertRequest struct {
	PublicKey *struct {
		Content   b64    `json:"content"`
		Algorithm string `json:"algorithm"`
	} `json:"publicKey"`
	SignedEmailAddress        b64 `json:"signedEmailAddress"`
	CertificateSigningRequest b64 `json:"certificateSigningRequest"`
}

func (s *Server) handleSigningCertV1(w http.ResponseWriter, r *http.Request) {
	var body v1SigningCertRequest
	if err := readJSON(w, r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	req := certRequest{token: bearerToken(r), csr: body.CertificateSigningRequest, proof: body.SignedEmailAddress}
	if body.PublicKey != nil && len(req.csr) == 0 {
		req.publicKey = body.PublicKey.Content
	}
	chain, err := s.issue(r.Context(), req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeBody(w, http.StatusCreated, mediaTypePEMChain, ca.EncodePEM(chain))
}

func pemChain(certs []*x509.Certificate) map[string]any {
	out := make([]string, len(certs))
	for i, c := range certs {
		out[i] = string(ca.EncodePEM([]*x509.Certificate{c}))
	}
	return map[string]any{"certificates": out}
}

func (s *Server) handleTrustBundle(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"chains": []any{pemChain(s.ca.Chain())}})
}

func (s *Server) handleRootCert(w http.ResponseWriter, _ *http.Request) {
	writeBody(w, http.StatusOK, mediaTypePEMChain, ca.EncodePEM(s.ca.Chain()))
}

func (s *Server) handleConfiguration(w http.ResponseWriter, _ *http.Request) {
	var issuers []map[string]any
	for _, is := range s.verifier.Issuers() {
		aud := is.ClientID
		if aud == "" {
			aud = oidc.DefaultAudience
		}
		entry := map[string]any{"issuerUrl": is.URL, "audience": aud, "challengeClaim": "sub"}
		if is.IsMeta() { // as Fulcio names a meta issuer's pattern
			delete(entry, "issuerUrl")
			entry["wildcardIssuerUrl"] = is.URL
		}
		if is.Type == oidc.TypeEmail {
			entry["challengeClaim"] = "email"
		}
		if is.SPIFFETrustDomain != "" {
			entry["spiffeTrustDomain"] = is.SPIFFETrustDomain
		}
		issuers = append(issuers, entry)
	}
	writeJSON(w, http.StatusOK, map[string]any{"issuers": issuers})
}

// devTokenRequest asks the built-in dev issuer for a token.
type devTokenRequest struct {
	Email          string `json:"email"`
	GitHubWorkflow string `json:"githubWorkflow"`
	Subject        string `json:"subject"`
	Audience       string `json:"audience"`
	TTLSeconds     int64  `json:"ttlSeconds"`
}

func (s *Server) handleDevToken(w http.ResponseWriter, r *http.Request) {
	var body devTokenRequest
	if err := readJSON(w, r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	ttl := time.Duration(body.TTLSeconds) * time.Second
	tok, err := s.dev.Mint(oidc.TokenRequest{
		Email: body.Email, GitHubWorkflow: body.GitHubWorkflow, Subject: body.Subject,
		Audience: body.Audience, TTL: ttl,
	}, time.Now())
	if err != nil {
		s.writeError(w, r, badRequest("bad_request", "%v", err))
		return
	}
	s.logger.Warn("insecure dev issuer minted a token", "email", body.Email, "githubWorkflow", body.GitHubWorkflow, "subject", body.Subject)
	writeJSON(w, http.StatusOK, map[string]any{"id_token": tok, "token_type": "Bearer"})
}
