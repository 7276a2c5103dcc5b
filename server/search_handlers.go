package server

import (
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"
	"sync"

	"github.com/signetproject/signet/internal/webui"
	"github.com/signetproject/signet/search"
)

// The log search web UI at / and its JSON API under /api/search; the
// searching and decoding is package search's, the look internal/webui's.

//go:embed ui/*.html
var uiFiles embed.FS

// Each page is its own template set: they all define "title" and
// "content". They are parsed on first use, not when the signet binary
// starts.
var (
	searchTemplate = sync.OnceValue(func() *template.Template {
		return template.Must(webui.Templates(uiFiles, "ui/search.html"))
	})
	entryTemplate = sync.OnceValue(func() *template.Template {
		return template.Must(webui.Templates(uiFiles, "ui/entry.html"))
	})
)

func (s *Server) registerSearch(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", s.handleSearchPage)
	mux.HandleFunc("GET /entries/{log}/{index}", s.handleEntryPage)
	mux.HandleFunc("GET /api/search", s.handleSearchAPI)
	mux.HandleFunc("GET /api/search/entries/{log}/{index}", s.handleEntryAPI)
	mux.Handle("GET "+webui.StylesheetPath, webui.Static())
}

// searchQuery reads a search from the URL: q, kind, page and (JSON API
// only) pageSize.
func searchQuery(r *http.Request) (search.Query, error) {
	v := r.URL.Query()
	q := search.Query{Kind: v.Get("kind"), Value: v.Get("q")}
	for _, p := range []struct {
		name string
		dst  *int
	}{{"page", &q.Page}, {"pageSize", &q.PageSize}} {
		if s := v.Get(p.name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 {
				return q, fmt.Errorf("%s %q is not a positive integer: %w", p.name, capped(s), search.ErrInvalidQuery)
			}
			*p.dst = n
		}
	}
	return q, nil
}

// searchURL is the deep link of a query's page.
func searchURL(q search.Query, page int) string {
	v := url.Values{"q": {q.Value}}
	if q.Kind != "" {
		v.Set("kind", q.Kind)
	}
	if page > 1 {
		v.Set("page", strconv.Itoa(page))
	}
	return "/?" + v.Encode()
}

func entryURL(p search.Posting) string {
	return "/entries/" + p.Log.String() + "/" + strconv.FormatUint(p.Index, 10)
}

// kindOption is an option of the search form's kind selector.
type kindOption struct {
	Value, Label string
	Selected     bool
}

var kindLabels = map[string]string{
	search.KindAuto:        "Anything (guess from the value)",
	search.KindIdentity:    "Identity (email, URI, workflow, repository)",
	search.KindIssuer:      "OIDC issuer",
	search.KindDigest:      "Artifact digest (sha256:…)",
	search.KindFingerprint: "Key or certificate fingerprint",
	search.KindIndex:       "Log index",
	search.KindUUID:        "Entry UUID (Rekor v1)",
}

// searchPage is the data of ui/search.html.
type searchPage struct {
	Query   search.Query
	Kinds   []kindOption
	Error   string
	Results *search.Results
	Hits    []hitRow
	// Newer and Older are the links to the neighbouring pages.
	Newer, Older string
}

type hitRow struct {
	search.Hit
	URL string
}

func (s *Server) page(title string, data any) webui.Page {
	p := webui.Page{Title: title, Site: "signet log search", Data: data,
		Nav: []webui.Link{{Href: "/", Text: "Search"}, {Href: "/trusted_root.json", Text: "Trusted root"}, {Href: "/checkpoint", Text: "Checkpoint"}}}
	if s.dev != nil {
		p.Warning = "This server runs the insecure development OIDC issuer: anyone can obtain a certificate for any identity here."
	}
	return p
}

func (s *Server) handleSearchPage(w http.ResponseWriter, r *http.Request) {
	q, err := searchQuery(r)
	data := &searchPage{Query: q}
	for _, k := range search.QueryKinds {
		data.Kinds = append(data.Kinds, kindOption{Value: k, Label: kindLabels[k], Selected: k == q.Kind})
	}
	status := http.StatusOK
	if err == nil && q.Value != "" {
		var res *search.Results
		res, err = s.search.Search(r.Context(), q)
		if err == nil {
			data.Results = res
			for _, h := range res.Hits {
				data.Hits = append(data.Hits, hitRow{Hit: h, URL: entryURL(h.Posting)})
			}
			if p := res.Query.Page; p > 1 {
				data.Newer = searchURL(res.Query, p-1)
			}
			if p := res.Query.Page; p < res.Pages {
				data.Older = searchURL(res.Query, p+1)
			}
		}
	}
	if err != nil {
		status = s.searchErrorStatus(r, err)
		data.Error = cappedTo(err.Error(), maxMessage)
	}
	// A value longer than any valid one is not repeated in full.
	data.Query.Value = cappedTo(q.Value, search.MaxQueryLength)
	title := "Search"
	if q.Value != "" {
		title = "Results for " + capped(q.Value)
	}
	webui.Render(w, s.logger, searchTemplate(), status, s.page(title, data))
}

// searchErrorStatus maps a search error to a status, logging server
// errors.
func (s *Server) searchErrorStatus(r *http.Request, err error) int {
	switch {
	case errors.Is(err, search.ErrInvalidQuery):
		return http.StatusBadRequest
	case errors.Is(err, fs.ErrNotExist):
		return http.StatusNotFound
	}
	s.logger.Error("search failed", "path", capped(r.URL.Path), "err", err)
	return http.StatusInternalServerError
}

// entryAddress parses /entries/{log}/{index}.
func entryAddress(r *http.Request) (search.Log, uint64, error) {
	log, err := search.ParseLog(r.PathValue("log"))
	if err != nil {
		return 0, 0, err
	}
	index, err := strconv.ParseUint(r.PathValue("index"), 10, 63)
	if err != nil {
		return 0, 0, fmt.Errorf("log index %q is not a non-negative integer: %w", capped(r.PathValue("index")), search.ErrInvalidQuery)
	}
	return log, index, nil
}

// entryPage is the data of ui/entry.html.
type entryPage struct {
	Entry *search.EntryView
	Error string
	// Search links back to a search for the entry's UUID.
	Search string
}

func (s *Server) handleEntryPage(w http.ResponseWriter, r *http.Request) {
	log, index, err := entryAddress(r)
	var e *search.EntryView
	if err == nil {
		e, err = s.search.Entry(r.Context(), log, index, s.opts.BaseURL)
	}
	if err != nil {
		status := s.searchErrorStatus(r, err)
		msg := cappedTo(err.Error(), maxMessage)
		if status == http.StatusInternalServerError {
			msg = "internal error reading the entry"
		}
		webui.Render(w, s.logger, entryTemplate(), status, s.page("Entry not shown", &entryPage{Error: msg}))
		return
	}
	webui.Render(w, s.logger, entryTemplate(), http.StatusOK, s.page(fmt.Sprintf("%s log entry %d", log, index),
		&entryPage{Entry: e, Search: searchURL(search.Query{Kind: search.KindUUID, Value: e.UUID}, 1)}))
}

// apiHit is a search hit in the JSON API, with its entry's URLs.
type apiHit struct {
	search.Hit
	URL    string `json:"url"`
	APIURL string `json:"apiUrl"`
}

func (s *Server) handleSearchAPI(w http.ResponseWriter, r *http.Request) {
	q, err := searchQuery(r)
	var res *search.Results
	if err == nil {
		res, err = s.search.Search(r.Context(), q)
	}
	if err != nil {
		s.writeSearchAPIError(w, r, err)
		return
	}
	hits := make([]apiHit, 0, len(res.Hits))
	for _, h := range res.Hits {
		u := entryURL(h.Posting)
		hits = append(hits, apiHit{Hit: h, URL: u, APIURL: "/api/search" + u})
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"query": res.Query, "searched": res.Searched, "total": res.Total, "pages": res.Pages, "hits": hits,
	})
}

func (s *Server) handleEntryAPI(w http.ResponseWriter, r *http.Request) {
	log, index, err := entryAddress(r)
	var e *search.EntryView
	if err == nil {
		e, err = s.search.Entry(r.Context(), log, index, s.opts.BaseURL)
	}
	if err != nil {
		s.writeSearchAPIError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, e)
}

func (s *Server) writeSearchAPIError(w http.ResponseWriter, r *http.Request, err error) {
	status := s.searchErrorStatus(r, err)
	msg := cappedTo(err.Error(), maxMessage)
	if status == http.StatusInternalServerError {
		msg = "internal error"
	}
	writeJSON(w, status, map[string]any{"code": status, "message": msg})
}
