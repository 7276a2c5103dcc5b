package server

import (
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/transparency-dev/tessera/api/layout"
)

// The CT log's static-ct-api monitoring API lives under /ct: /ct/checkpoint,
// /ct/tile/<L>/<N>[.p/<W>], /ct/tile/data/<N>[.p/<W>] and
// /ct/issuer/<hex SHA-256>. Its submissions come from the CA in-process.

func (s *Server) handleCTCheckpoint(w http.ResponseWriter, r *http.Request) {
	cp, err := s.ct.ReadCheckpoint(r.Context())
	s.writeTile(w, r, cp, err, "no-cache")
}

func (s *Server) handleCTTile(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, "/ct/tile/")
	var (
		data []byte
		err  error
	)
	if idx, ok := strings.CutPrefix(rest, "data/"); ok {
		index, p, perr := layout.ParseTileIndexPartial(idx)
		if perr != nil {
			s.writeError(w, r, badRequest("bad_path", "bad data tile path %q: %v", capped(r.URL.Path), perr))
			return
		}
		data, err = s.ct.ReadEntryBundle(r.Context(), index, p)
	} else {
		level, idx, _ := strings.Cut(rest, "/")
		l, index, p, perr := layout.ParseTileLevelIndexPartial(level, idx)
		if perr != nil {
			s.writeError(w, r, badRequest("bad_path", "bad tile path %q: %v", capped(r.URL.Path), perr))
			return
		}
		data, err = s.ct.ReadTile(r.Context(), l, index, p)
	}
	s.writeTile(w, r, data, err, "max-age=31536000, immutable")
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
