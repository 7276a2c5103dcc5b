package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"strconv"
	"strings"

	"github.com/transparency-dev/tessera"

	"github.com/signetproject/signet/search"
	"github.com/signetproject/signet/tlog"
	"github.com/signetproject/signet/tlog/rekorv1"
)

// The Rekor v1 API (what cosign ≤ 2.6 speaks), served by a second log with
// an ECDSA key and Rekor v1 checkpoints; see rekorv1.Log.

func (s *Server) registerRekorV1(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/v1/log/entries", s.handleV1Create)
	mux.HandleFunc("GET /api/v1/log/entries/{entryUUID}", s.handleV1Get)
	mux.HandleFunc("GET /api/v1/log/entries", s.handleV1GetByIndex)
	mux.HandleFunc("POST /api/v1/log/entries/retrieve", s.handleV1Retrieve)
	mux.HandleFunc("GET /api/v1/log", s.handleV1LogInfo)
	mux.HandleFunc("GET /api/v1/log/proof", s.handleV1Proof)
	mux.HandleFunc("GET /api/v1/log/publicKey", s.handleV1PublicKey)
	mux.HandleFunc("POST /api/v1/index/retrieve", s.handleV1Search)
}

// v1Error maps V1Log errors to Rekor's status codes; the body shape is
// Rekor's {"code":…, "message":…} with the HTTP status as code.
func (s *Server) v1Error(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusInternalServerError
	msg := "internal error in the Rekor v1 log"
	var dup *rekorv1.DuplicateError
	switch {
	case errors.As(err, &dup):
		w.Header().Set("Location", "/api/v1/log/entries/"+dup.EntryID)
		w.Header().Set("ETag", dup.EntryID)
		status, msg = http.StatusConflict, "an equivalent entry already exists in the transparency log with UUID "+dup.UUID
	case errors.Is(err, rekorv1.ErrTooManyQueries):
		status, msg = http.StatusUnprocessableEntity, err.Error()
	case errors.Is(err, tlog.ErrInvalidRequest), errors.Is(err, rekorv1.ErrInvalidQuery):
		status, msg = http.StatusBadRequest, err.Error()
	case errors.Is(err, fs.ErrNotExist):
		status, msg = http.StatusNotFound, err.Error()
	case errors.Is(err, tessera.ErrPushback):
		status, msg = http.StatusServiceUnavailable, "log is busy, retry shortly"
	case errors.Is(err, tlog.ErrIntegrity):
		ie := integrityError("Rekor v1 log", err)
		status, msg = ie.status, ie.message
		s.logger.Error("rekor v1 request failed", "path", capped(r.URL.Path), "err", err)
	default:
		s.logger.Error("rekor v1 request failed", "path", capped(r.URL.Path), "err", err)
	}
	writeJSON(w, status, map[string]any{"code": status, "message": cappedTo(msg, maxMessage)})
}

func (s *Server) readV1Body(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, tlog.MaxRequestSize))
	if err != nil {
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]any{"code": 413, "message": fmt.Sprintf("request body exceeds %d bytes or is unreadable", tlog.MaxRequestSize)})
		return nil, false
	}
	return body, true
}

func (s *Server) handleV1Create(w http.ResponseWriter, r *http.Request) {
	body, ok := s.readV1Body(w, r)
	if !ok {
		return
	}
	e, err := s.v1log.Create(r.Context(), body)
	if err != nil {
		s.v1Error(w, r, err)
		return
	}
	if env, ok := search.V1Envelope(body); ok {
		// Keep the envelope for the search UI; the entry is logged either way.
		if err := s.search.RecordV1(r.Context(), uint64(e.LogIndex), e.Body, env); err != nil {
			s.logger.Warn("search: keep envelope", "index", e.LogIndex, "err", err)
		}
	}
	w.Header().Set("ETag", e.EntryID)
	w.Header().Set("Location", "/api/v1/log/entries/"+e.EntryID)
	writeJSON(w, http.StatusCreated, e.Keyed())
}

func (s *Server) handleV1Get(w http.ResponseWriter, r *http.Request) {
	e, err := s.v1log.EntryByUUID(r.Context(), r.PathValue("entryUUID"))
	if err != nil {
		s.v1Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, e.Keyed())
}

func (s *Server) handleV1GetByIndex(w http.ResponseWriter, r *http.Request) {
	idx, err := strconv.ParseInt(r.URL.Query().Get("logIndex"), 10, 64)
	if err != nil || idx < 0 {
		s.v1Error(w, r, fmt.Errorf("%w: logIndex must be a non-negative integer", rekorv1.ErrInvalidQuery))
		return
	}
	e, err := s.v1log.EntryByIndex(r.Context(), idx)
	if err != nil {
		s.v1Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, e.Keyed())
}

func (s *Server) handleV1Retrieve(w http.ResponseWriter, r *http.Request) {
	body, ok := s.readV1Body(w, r)
	if !ok {
		return
	}
	var q rekorv1.SearchLogQuery
	if err := json.Unmarshal(body, &q); err != nil {
		s.v1Error(w, r, fmt.Errorf("%w: %v", rekorv1.ErrInvalidQuery, err))
		return
	}
	entries, err := s.v1log.Retrieve(r.Context(), q)
	if err != nil {
		s.v1Error(w, r, err)
		return
	}
	out := make([]map[string]*rekorv1.LogEntry, 0, len(entries))
	for _, e := range entries {
		out = append(out, e.Keyed())
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleV1LogInfo(w http.ResponseWriter, r *http.Request) {
	info, err := s.v1log.LogInfo(r.Context())
	if err != nil {
		s.v1Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, info)
}

func (s *Server) handleV1Proof(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if err := s.v1log.CheckTreeID(q.Get("treeID")); err != nil {
		s.v1Error(w, r, err)
		return
	}
	first, last := int64(1), int64(-1)
	var err error
	if v := q.Get("firstSize"); v != "" {
		if first, err = strconv.ParseInt(v, 10, 64); err != nil {
			s.v1Error(w, r, fmt.Errorf("%w: firstSize: %v", rekorv1.ErrInvalidQuery, err))
			return
		}
	}
	v := q.Get("lastSize")
	if v == "" {
		s.v1Error(w, r, fmt.Errorf("%w: lastSize is required", rekorv1.ErrInvalidQuery))
		return
	}
	if last, err = strconv.ParseInt(v, 10, 64); err != nil {
		s.v1Error(w, r, fmt.Errorf("%w: lastSize: %v", rekorv1.ErrInvalidQuery, err))
		return
	}
	p, err := s.v1log.ConsistencyProof(r.Context(), first, last)
	if err != nil {
		s.v1Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (s *Server) handleV1PublicKey(w http.ResponseWriter, r *http.Request) {
	if err := s.v1log.CheckTreeID(r.URL.Query().Get("treeID")); err != nil {
		s.v1Error(w, r, err)
		return
	}
	writeBody(w, http.StatusOK, "application/x-pem-file", s.v1log.PublicKeyPEM())
}

func (s *Server) handleV1Search(w http.ResponseWriter, r *http.Request) {
	body, ok := s.readV1Body(w, r)
	if !ok {
		return
	}
	var q rekorv1.SearchIndexQuery
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&q); err != nil {
		s.v1Error(w, r, fmt.Errorf("%w: %v", rekorv1.ErrInvalidQuery, err))
		return
	}
	ids, err := s.v1log.SearchIndex(r.Context(), q)
	if err != nil {
		s.v1Error(w, r, err)
		return
	}
	if ids == nil {
		ids = []string{}
	}
	writeJSON(w, http.StatusOK, ids)
}
