package server

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"strconv"
	"strings"

	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/api/layout"

	"github.com/signetproject/signet/search"
	"github.com/signetproject/signet/tlog"
)

// handleCreateEntry is Rekor v2's POST /api/v2/log/entries.
func (s *Server) handleCreateEntry(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r, tlog.MaxRequestSize)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	req, err := tlog.DecodeCreateEntryRequest(body)
	if err != nil {
		s.writeError(w, r, s.tlogError(err))
		return
	}
	entry, err := s.log.Append(r.Context(), req)
	if err != nil {
		var dup *tlog.DuplicateError
		if errors.As(err, &dup) {
			w.Header().Set("X-Log-Index", strconv.FormatUint(dup.Index, 10))
		}
		s.writeError(w, r, s.tlogError(err))
		return
	}
	if env, ok := search.V2Envelope(req); ok {
		// Keep the envelope for the search UI; the entry is logged either way.
		if err := s.search.RecordV2(r.Context(), uint64(entry.GetLogIndex()), entry.GetCanonicalizedBody(), env); err != nil {
			s.logger.Warn("search: keep envelope", "index", entry.GetLogIndex(), "err", err)
		}
	}
	out, err := tlog.EncodeTransparencyLogEntry(entry)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write(out)
}

// tlogError maps log errors to the answers rekor-tiles gives.
func (s *Server) tlogError(err error) error {
	var dup *tlog.DuplicateError
	switch {
	case errors.Is(err, tlog.ErrInvalidRequest):
		return badRequest("invalid_entry", "%v", err)
	case errors.As(err, &dup):
		return &apiError{status: http.StatusConflict, code: 6, reason: "duplicate", message: err.Error()} // 6 = AlreadyExists
	case errors.Is(err, tessera.ErrPushback):
		return &apiError{status: http.StatusServiceUnavailable, code: grpcUnavailable, reason: "pushback", message: "log is busy, retry shortly"}
	case errors.Is(err, context.Canceled):
		return &apiError{status: 499, code: 1, reason: "canceled", message: "request canceled"}
	default:
		return err
	}
}

// handleCheckpoint serves the tlog-tiles /checkpoint resource.
func (s *Server) handleCheckpoint(w http.ResponseWriter, r *http.Request) {
	cp, err := s.log.ReadCheckpoint(r.Context())
	s.writeTile(w, r, cp, err, "no-cache")
}

// handleTile serves /tile/<L>/<N>[.p/<W>] and /tile/entries/<N>[.p/<W>].
func (s *Server) handleTile(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, "/tile/")
	var (
		data []byte
		err  error
	)
	if idx, ok := strings.CutPrefix(rest, "entries/"); ok {
		index, p, perr := layout.ParseTileIndexPartial(idx)
		if perr != nil {
			s.writeError(w, r, badRequest("bad_path", "bad entry bundle path %q: %v", r.URL.Path, perr))
			return
		}
		data, err = s.log.ReadEntryBundle(r.Context(), index, p)
	} else {
		level, idx, _ := strings.Cut(rest, "/")
		l, index, p, perr := layout.ParseTileLevelIndexPartial(level, idx)
		if perr != nil {
			s.writeError(w, r, badRequest("bad_path", "bad tile path %q: %v", r.URL.Path, perr))
			return
		}
		data, err = s.log.ReadTile(r.Context(), l, index, p)
	}
	s.writeTile(w, r, data, err, "max-age=31536000, immutable")
}

func (s *Server) writeTile(w http.ResponseWriter, r *http.Request, data []byte, err error, cache string) {
	if errors.Is(err, fs.ErrNotExist) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Cache-Control", cache)
	_, _ = w.Write(data)
}
