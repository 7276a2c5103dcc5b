package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/transparency-dev/tessera"

	"github.com/signetproject/signet/ctlog"
	"github.com/signetproject/signet/tlog"
)

// TestCTSubmissionErrors: how a failed submission is answered. Tessera's
// pushback is a 429 with Retry-After, which RFC 6962 clients (Fulcio's)
// back off and retry; internal causes stay in the server log.
func TestCTSubmissionErrors(t *testing.T) {
	s := &Server{logger: slog.New(slog.DiscardHandler)}
	for _, tt := range []struct {
		name       string
		err        error
		status     int
		want       string
		retryAfter string
	}{
		{"pushback", fmt.Errorf("ctlog: add entry: %w", tessera.ErrPushback), http.StatusTooManyRequests, "overloaded; retry later", "1"},
		{"invalid chain", fmt.Errorf("%w: chain does not end in a root the log accepts", ctlog.ErrInvalidChain), http.StatusBadRequest, "does not end in a root", ""},
		{"integrity", fmt.Errorf("ctlog: %w", tlog.ErrIntegrity), http.StatusServiceUnavailable, "integrity failure", ""},
		{"internal", errors.New("disk on fire at /var/secret"), http.StatusInternalServerError, "internal error in the certificate transparency log", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			s.writeCTError(w, httptest.NewRequest(http.MethodPost, "/ct/ct/v1/add-pre-chain", nil), tt.err)
			body := w.Body.String()
			if w.Code != tt.status || !strings.Contains(body, tt.want) || w.Header().Get("Retry-After") != tt.retryAfter {
				t.Fatalf("answer %d %q (Retry-After %q), want %d saying %q (Retry-After %q)", w.Code, body, w.Header().Get("Retry-After"), tt.status, tt.want, tt.retryAfter)
			}
			if strings.Contains(body, "/var/secret") {
				t.Errorf("the answer leaks the internal cause: %q", body)
			}
		})
	}
}
