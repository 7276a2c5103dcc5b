package registrytest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// Attack is what a Hostile registry does to its clients.
type Attack int

// Attacks.
const (
	// HugeManifests serves every manifest, tag or digest, and every
	// referrers index as a valid JSON document of ManifestSize bytes,
	// padded with an annotation; HEAD requests for manifests fail (405)
	// so that tag resolution falls back to GET.
	HugeManifests Attack = iota + 1
	// ManyLayers serves every manifest as an image whose Layers layers
	// (simple-signing media type, or DSSE for ".att" tags) are LayerSize
	// bytes of garbage each, with their true digests; the referrers API
	// and its fallback tag answer 404.
	ManyLayers
	// RedirectLoop answers the ping (/v2/) and redirects every other
	// request to itself.
	RedirectLoop
	// Silent accepts connections and never answers.
	Silent
)

// HostileConfig configures a Hostile registry.
type HostileConfig struct {
	Attack Attack
	// ManifestSize is the size of HugeManifests documents; default 99 MiB.
	ManifestSize int64
	// Chunked leaves out Content-Length (HugeManifests, ManyLayers), so
	// that clients cannot refuse a body by its announced size.
	Chunked bool
	// Layers and LayerSize shape ManyLayers images; defaults 60 and
	// 16 MiB (each under cosign's per-blob limit).
	Layers    int
	LayerSize int64
}

// Hostile is a registry on 127.0.0.1 that attacks its clients, for tests
// of the limits on what a client reads and for how long. It counts the
// requests it received and the response bytes it wrote.
type Hostile struct {
	// Host is its host:port.
	Host string

	cfg      HostileConfig
	requests atomic.Int64
	written  atomic.Int64
	digests  []string // ManyLayers: the layers' digests
}

// StartHostile starts a hostile registry until the test ends.
func StartHostile(tb testing.TB, cfg HostileConfig) *Hostile {
	tb.Helper()
	if cfg.ManifestSize == 0 {
		cfg.ManifestSize = 99 << 20
	}
	if cfg.Layers == 0 {
		cfg.Layers = 60
	}
	if cfg.LayerSize == 0 {
		cfg.LayerSize = 16 << 20
	}
	h := &Hostile{cfg: cfg}
	if cfg.Attack == Silent {
		h.Host = h.startSilent(tb)
		return h
	}
	if cfg.Attack == ManyLayers {
		for i := range cfg.Layers {
			s := sha256.New()
			if _, err := io.Copy(s, layerContent(i, cfg.LayerSize)); err != nil {
				tb.Fatal(err)
			}
			h.digests = append(h.digests, "sha256:"+hex.EncodeToString(s.Sum(nil)))
		}
	}
	srv := httptest.NewServer(http.HandlerFunc(h.serve))
	tb.Cleanup(srv.Close)
	h.Host = strings.TrimPrefix(srv.URL, "http://")
	return h
}

// Requests returns how many requests the registry received (for Silent:
// connections).
func (h *Hostile) Requests() int64 { return h.requests.Load() }

// BytesServed returns how many response body bytes clients read.
func (h *Hostile) BytesServed() int64 { return h.written.Load() }

// startSilent accepts connections, reads and discards what they send and
// never answers, until the test ends.
func (h *Hostile) startSilent(tb testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			h.requests.Add(1)
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() { _, _ = io.Copy(io.Discard, c) })
		}
	})
	tb.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

func (h *Hostile) serve(w http.ResponseWriter, r *http.Request) {
	h.requests.Add(1)
	if r.URL.Path == "/v2/" || r.URL.Path == "/v2" {
		w.Header().Set("Content-Type", "application/json")
		h.write(w, strings.NewReader("{}"), 2)
		return
	}
	if h.cfg.Attack == RedirectLoop {
		http.Redirect(w, r, fmt.Sprintf("%s?n=%d", r.URL.Path, h.requests.Load()), http.StatusTemporaryRedirect)
		return
	}
	parts := strings.Split(r.URL.Path, "/")
	if len(parts) < 4 {
		http.NotFound(w, r)
		return
	}
	kind, ref := parts[len(parts)-2], parts[len(parts)-1]
	switch h.cfg.Attack {
	case HugeManifests:
		switch {
		case kind == "manifests" && r.Method == http.MethodHead:
			w.WriteHeader(http.StatusMethodNotAllowed)
		case kind == "manifests":
			w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
			h.write(w, hugeDocument(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":2,"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},"layers":[],"annotations":{"pad":"`, h.cfg.ManifestSize), h.cfg.ManifestSize)
		case kind == "referrers":
			w.Header().Set("Content-Type", "application/vnd.oci.image.index.v1+json")
			h.write(w, hugeDocument(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[],"annotations":{"pad":"`, h.cfg.ManifestSize), h.cfg.ManifestSize)
		default:
			http.NotFound(w, r)
		}
	case ManyLayers:
		switch {
		case kind == "manifests":
			raw := h.layersManifest(strings.HasSuffix(ref, ".att"))
			w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
			sum := sha256.Sum256(raw)
			w.Header().Set("Docker-Content-Digest", "sha256:"+hex.EncodeToString(sum[:]))
			if r.Method == http.MethodHead {
				w.Header().Set("Content-Length", fmt.Sprint(len(raw)))
				return
			}
			h.write(w, bytes.NewReader(raw), int64(len(raw)))
		case kind == "blobs":
			for i, d := range h.digests {
				if d == ref {
					w.Header().Set("Content-Type", "application/octet-stream")
					h.write(w, layerContent(i, h.cfg.LayerSize), h.cfg.LayerSize)
					return
				}
			}
			http.NotFound(w, r)
		default:
			http.NotFound(w, r)
		}
	default:
		http.Error(w, "unknown attack", http.StatusInternalServerError)
	}
}

// write copies body to w, announcing its size unless configured not to,
// and counts the bytes written as they are.
func (h *Hostile) write(w http.ResponseWriter, body io.Reader, size int64) {
	if !h.cfg.Chunked {
		w.Header().Set("Content-Length", fmt.Sprint(size))
	}
	_, _ = io.Copy(countingWriter{w, &h.written}, body)
}

// countingWriter counts the bytes written through it as they go.
type countingWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	return n, err
}

// layersManifest is the ManyLayers image manifest.
func (h *Hostile) layersManifest(attestation bool) []byte {
	mt := "application/vnd.dev.cosign.simplesigning.v1+json"
	if attestation {
		mt = "application/vnd.dsse.envelope.v1+json"
	}
	type desc struct {
		MediaType string `json:"mediaType"`
		Size      int64  `json:"size"`
		Digest    string `json:"digest"`
	}
	m := struct {
		SchemaVersion int    `json:"schemaVersion"`
		MediaType     string `json:"mediaType"`
		Config        desc   `json:"config"`
		Layers        []desc `json:"layers"`
	}{SchemaVersion: 2, MediaType: "application/vnd.oci.image.manifest.v1+json",
		Config: desc{"application/vnd.oci.image.config.v1+json", 2, "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"}}
	for _, d := range h.digests {
		m.Layers = append(m.Layers, desc{mt, h.cfg.LayerSize, d})
	}
	raw, _ := json.Marshal(m)
	return raw
}

// layerContent is layer i of ManyLayers: size bytes of one value.
func layerContent(i int, size int64) io.Reader {
	return io.LimitReader(repeatReader(byte('a'+i%26)), size)
}

type repeatReader byte

func (r repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

// hugeDocument is a JSON document of exactly size bytes: head, a padding
// string, and the closing `"}}`.
func hugeDocument(head string, size int64) io.Reader {
	const tail = `"}}`
	pad := max(size-int64(len(head))-int64(len(tail)), 0)
	return io.MultiReader(strings.NewReader(head), io.LimitReader(repeatReader('x'), pad), strings.NewReader(tail))
}
