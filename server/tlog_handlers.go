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
		s.writeError(w, r, internalError("the transparency log", err))
		return
	}
	writeBody(w, http.StatusCreated, "application/json", out)
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
	case errors.Is(err, tlog.ErrIntegrity):
		return integrityError("transparency log", err)
	default:
		return internalError("the transparency log", err)
	}
}

// integrityError answers for a log that found its stored data disagreeing
// with a checkpoint it signed: it serves and appends nothing it cannot
// prove until an operator repairs it.
func integrityError(log string, err error) *apiError {
	return &apiError{status: http.StatusServiceUnavailable, code: grpcUnavailable, reason: "integrity",
		message: log + " integrity failure: its stored data disagrees with a checkpoint it signed; see /healthz", cause: err}
}

// handleCheckpoint serves the tlog-tiles /checkpoint resource.
func (s *Server) handleCheckpoint(w http.ResponseWriter, r *http.Request) {
	_, cp, err := s.log.Checkpoint(r.Context()) // only a checkpoint that verifies
	s.writeTile(w, r, cp, err, "no-cache")
}

// handleTile serves /tile/<L>/<N>[.p/<W>] and /tile/entries/<N>[.p/<W>].
func (s *Server) handleTile(w http.ResponseWriter, r *http.Request) {
	s.serveTile(w, r, s.log, strings.TrimPrefix(r.URL.Path, "/tile/"), "entries/", "entry bundle")
}

// tileSource is a log whose tiles and entry bundles are served.
type tileSource interface {
	ReadTile(ctx context.Context, level, index uint64, p uint8) ([]byte, error)
	ReadEntryBundle(ctx context.Context, index uint64, p uint8) ([]byte, error)
}

// serveTile serves rest, a path below one of log's tile directories:
// <L>/<N>[.p/<W>] for a hash tile, or bundles (entries/, data/) and
// <N>[.p/<W>] for an entry bundle, which the path errors call what.
func (s *Server) serveTile(w http.ResponseWriter, r *http.Request, log tileSource, rest, bundles, what string) {
	var (
		data []byte
		err  error
	)
	if idx, ok := strings.CutPrefix(rest, bundles); ok {
		index, p, perr := layout.ParseTileIndexPartial(idx)
		if perr != nil {
			s.writeError(w, r, badRequest("bad_path", "bad %s path %q: %v", what, capped(r.URL.Path), perr))
			return
		}
		data, err = log.ReadEntryBundle(r.Context(), index, p)
	} else {
		level, idx, _ := strings.Cut(rest, "/")
		l, index, p, perr := layout.ParseTileLevelIndexPartial(level, idx)
		if perr != nil {
			s.writeError(w, r, badRequest("bad_path", "bad tile path %q: %v", capped(r.URL.Path), perr))
			return
		}
		data, err = log.ReadTile(r.Context(), l, index, p)
	}
	s.writeTile(w, r, data, err, "max-age=31536000, immutable")
}

func (s *Server) writeTile(w http.ResponseWriter, r *http.Request, data []byte, err error, cache string) {
	if errors.Is(err, fs.ErrNotExist) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		w.Header().Set("Cache-Control", "no-store")
		s.writeError(w, r, s.tlogError(err))
		return
	}
	w.Header().Set("Cache-Control", cache)
	writeBody(w, http.StatusOK, "application/octet-stream", data)
}
