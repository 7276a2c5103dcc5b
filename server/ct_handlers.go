package server

import (
	"encoding/hex"
	"net/http"
	"strings"
)

// The CT log's static-ct-api monitoring API lives under /ct: /ct/checkpoint,
// /ct/tile/<L>/<N>[.p/<W>], /ct/tile/data/<N>[.p/<W>] and
// /ct/issuer/<hex SHA-256>. Its submissions come from the CA in-process.

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
