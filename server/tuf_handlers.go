package server

import (
	"crypto/x509"
	"encoding/pem"
	"net/http"
)

// handleTUF serves the TUF repository: /tuf/N.root.json, /tuf/timestamp.json,
// /tuf/N.snapshot.json, /tuf/N.targets.json and /tuf/targets/<sha256>.<name>.
func (s *Server) handleTUF(w http.ResponseWriter, r *http.Request) {
	if s.tuf == nil {
		http.Error(w, "this server publishes no TUF repository (signet server --tuf-repo)", http.StatusNotFound)
		return
	}
	body, ok := s.tuf.File(r.PathValue("file"))
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Cache-Control", "no-cache")
	writeBody(w, http.StatusOK, "application/octet-stream", body)
}

// handleTUFOnlineKey serves the public half of the online key that signs
// snapshot and timestamp, for signet tuf init and sign-root to put in the
// root metadata.
func (s *Server) handleTUFOnlineKey(w http.ResponseWriter, r *http.Request) {
	der, err := x509.MarshalPKIXPublicKey(s.tufKey.Public())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-pem-file")
	_ = pem.Encode(w, &pem.Block{Type: "PUBLIC KEY", Bytes: der})
}
