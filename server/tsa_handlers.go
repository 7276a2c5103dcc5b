package server

import (
	"errors"
	"io"
	"net/http"

	"github.com/signetproject/signet/tsa"
)

// handleTimestamp is RFC 3161 over HTTP: POST /api/v1/timestamp.
func (s *Server) handleTimestamp(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, tsa.MaxRequestBytes+1))
	if err != nil {
		s.writeError(w, r, badRequest("read_body", "timestamp request larger than %d bytes or unreadable", tsa.MaxRequestBytes))
		return
	}
	resp, err := s.tsa.Timestamp(body)
	if err != nil {
		var reqErr *tsa.RequestError
		if errors.As(err, &reqErr) {
			err = badRequest("bad_timestamp_request", "%v", err)
		} else {
			err = internalError("the timestamp authority", err)
		}
		s.writeError(w, r, err)
		return
	}
	writeBody(w, http.StatusOK, tsa.ContentTypeReply, resp)
}

func (s *Server) handleTimestampChain(w http.ResponseWriter, _ *http.Request) {
	writeBody(w, http.StatusOK, mediaTypePEMChain, s.tsa.ChainPEM())
}
