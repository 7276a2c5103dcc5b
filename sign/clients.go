package sign

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/digitorus/timestamp"
	"github.com/signetproject/signet/bundle"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	rekorpb "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"
	"google.golang.org/protobuf/encoding/protojson"
)

// maxResponse bounds what clients read from a service.
const maxResponse = 4 << 20

var defaultClient = &http.Client{Timeout: 30 * time.Second}

func post(ctx context.Context, client *http.Client, url, contentType string, body []byte, header map[string]string) ([]byte, int, error) {
	if client == nil {
		client = defaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Content-Type", contentType)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, resp.StatusCode, fmt.Errorf("read response from %s: %w", url, err)
	}
	return data, resp.StatusCode, nil
}

// serviceError turns an error response into an error naming the service.
func serviceError(service string, status int, body []byte) error {
	var e struct {
		Message string `json:"message"`
	}
	msg := strings.TrimSpace(string(body))
	if json.Unmarshal(body, &e) == nil && e.Message != "" {
		msg = e.Message
	}
	if len(msg) > 500 {
		msg = msg[:500] + "…"
	}
	return fmt.Errorf("%s answered %d: %s", service, status, msg)
}

// Fulcio is a client for a Fulcio-compatible CA's v2 API.
type Fulcio struct {
	BaseURL string
	Client  *http.Client
}

// Certificate requests a certificate for key, proving possession by
// signing the token's subject (its email for email tokens).
func (f *Fulcio) Certificate(ctx context.Context, key crypto.Signer, idToken string) ([][]byte, error) {
	subject, err := tokenSubject(idToken)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(subject))
	pop, err := key.Sign(rand.Reader, sum[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("proof of possession: %w", err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return nil, err
	}
	body, _ := json.Marshal(map[string]any{
		"credentials": map[string]any{"oidcIdentityToken": idToken},
		"publicKeyRequest": map[string]any{
			"publicKey":         map[string]any{"content": string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}))},
			"proofOfPossession": pop,
		},
	})
	url := strings.TrimRight(f.BaseURL, "/") + "/api/v2/signingCert"
	data, status, err := post(ctx, f.Client, url, "application/json", body, nil)
	if err != nil {
		return nil, fmt.Errorf("CA %s: %w", f.BaseURL, err)
	}
	if status != http.StatusOK {
		return nil, serviceError("CA "+f.BaseURL, status, data)
	}
	var resp struct {
		Embedded struct {
			Chain struct{ Certificates []string } `json:"chain"`
		} `json:"signedCertificateEmbeddedSct"`
		Detached struct {
			Chain struct{ Certificates []string } `json:"chain"`
		} `json:"signedCertificateDetachedSct"`
	}
	if err := json.Unmarshal(data, &resp); err != nil {
		return nil, fmt.Errorf("CA %s: bad response: %w", f.BaseURL, err)
	}
	pems := resp.Embedded.Chain.Certificates
	if len(pems) == 0 {
		pems = resp.Detached.Chain.Certificates
	}
	var chain [][]byte
	for _, p := range pems {
		block, _ := pem.Decode([]byte(p))
		if block == nil || block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("CA %s: response holds a non-certificate", f.BaseURL)
		}
		chain = append(chain, block.Bytes)
	}
	if len(chain) == 0 {
		return nil, fmt.Errorf("CA %s returned no certificates", f.BaseURL)
	}
	leaf, err := x509.ParseCertificate(chain[0])
	if err != nil {
		return nil, fmt.Errorf("CA %s: bad certificate: %w", f.BaseURL, err)
	}
	if !publicKeysEqual(leaf.PublicKey, key.Public()) {
		return nil, fmt.Errorf("CA %s certified another key", f.BaseURL)
	}
	return chain, nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	ka, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && ka.Equal(b)
}

// tokenSubject returns the email (when the token has one) or subject of an
// unverified JWT: the string the CA expects the proof of possession over.
func tokenSubject(token string) (string, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", errors.New("identity token is not a JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return "", fmt.Errorf("identity token payload: %w", err)
	}
	var c struct {
		Sub   string `json:"sub"`
		Email string `json:"email"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return "", fmt.Errorf("identity token payload: %w", err)
	}
	if c.Email != "" {
		return c.Email, nil
	}
	if c.Sub == "" {
		return "", errors.New("identity token has no subject")
	}
	return c.Sub, nil
}

// RekorV2 is a client for a Rekor v2 (rekor-tiles) log's write API.
type RekorV2 struct {
	BaseURL string
	Client  *http.Client
}

// Log records e as a hashedrekord v0.0.2 entry.
func (r *RekorV2) Log(ctx context.Context, e Entry) (*protorekor.TransparencyLogEntry, error) {
	v := &rekorpb.Verifier{KeyDetails: e.KeyDetails}
	if e.Certificate != nil {
		v.Verifier = &rekorpb.Verifier_X509Certificate{X509Certificate: &protocommon.X509Certificate{RawBytes: e.Certificate}}
	} else {
		v.Verifier = &rekorpb.Verifier_PublicKey{PublicKey: &rekorpb.PublicKey{RawBytes: e.PublicKey}}
	}
	req := &rekorpb.CreateEntryRequest{Spec: &rekorpb.CreateEntryRequest_HashedRekordRequestV002{
		HashedRekordRequestV002: &rekorpb.HashedRekordRequestV002{
			Digest:    e.Digest,
			Signature: &rekorpb.Signature{Content: e.Signature, Verifier: v},
		},
	}}
	body, err := protojson.Marshal(req)
	if err != nil {
		return nil, err
	}
	url := strings.TrimRight(r.BaseURL, "/") + "/api/v2/log/entries"
	data, status, err := post(ctx, r.Client, url, "application/json", body, nil)
	if err != nil {
		return nil, fmt.Errorf("log %s: %w", r.BaseURL, err)
	}
	if status != http.StatusCreated {
		return nil, serviceError("log "+r.BaseURL, status, data)
	}
	tle, err := bundle.DecodeTlogEntry(data)
	if err != nil {
		return nil, fmt.Errorf("log %s: bad response: %w", r.BaseURL, err)
	}
	return tle, nil
}

// TSA is a client for an RFC 3161 timestamp authority over HTTP.
type TSA struct {
	URL    string
	Client *http.Client
}

// Timestamp requests a timestamp over the SHA-256 of signature.
func (t *TSA) Timestamp(ctx context.Context, signature []byte) ([]byte, error) {
	sum := sha256.Sum256(signature)
	reqDER, err := (&timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: sum[:]}).Marshal()
	if err != nil {
		return nil, err
	}
	data, status, err := post(ctx, t.Client, t.URL, "application/timestamp-query", reqDER, nil)
	if err != nil {
		return nil, fmt.Errorf("TSA %s: %w", t.URL, err)
	}
	if status != http.StatusOK && status != http.StatusCreated {
		return nil, serviceError("TSA "+t.URL, status, data)
	}
	ts, err := timestamp.ParseResponse(data)
	if err != nil {
		return nil, fmt.Errorf("TSA %s: bad response: %w", t.URL, err)
	}
	if !bytes.Equal(ts.HashedMessage, sum[:]) {
		return nil, fmt.Errorf("TSA %s timestamped another message", t.URL)
	}
	return data, nil
}
