// Package webui is the look shared by signet's server-rendered web pages
// (the log search in `signet server`, the cluster report in `signet
// admission serve`): one layout template, one embedded stylesheet, and a
// renderer that sets strict security headers. Pages need no JavaScript and
// load nothing from elsewhere; the Content-Security-Policy forbids scripts
// altogether, so a value that escaped html/template's escaping still could
// not run.
//
// A page template defines "title" and "content" and is parsed with
// [Templates]; [Render] executes "layout" with a [Page].
package webui

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"time"
)

//go:embed layout.html static/signet.css
var files embed.FS

// StylesheetPath is where [Static] serves the stylesheet; the layout links
// to it.
const StylesheetPath = "/static/signet.css"

// ContentSecurityPolicy allows the page's own stylesheet and nothing else:
// no scripts, no frames, forms posting only to the same origin.
const ContentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// Link is a navigation link in the page header.
type Link struct {
	Href, Text string
	// Current marks the link of the page shown (aria-current="page").
	Current bool
}

// Page is what the layout renders around a page's content.
type Page struct {
	// Title is the document title, after the site name.
	Title string
	// Site is the name in the header, e.g. "signet log search".
	Site string
	Nav  []Link
	// Warning is shown as a banner on every page when set (e.g. an
	// insecure development server).
	Warning string
	// Data is the page template's data.
	Data any
}

// Funcs are the template functions every page may use.
var Funcs = template.FuncMap{
	// utc formats a time in UTC, RFC 3339; the zero time is "".
	"utc": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	},
	// unix formats Unix seconds as utc does; 0 is "".
	"unix": func(s int64) string {
		if s == 0 {
			return ""
		}
		return time.Unix(s, 0).UTC().Format(time.RFC3339)
	},
	"add": func(a, b int) int { return a + b },
}

// Templates parses the layout and the page templates fsys holds matching
// patterns, with [Funcs].
func Templates(fsys fs.FS, patterns ...string) (*template.Template, error) {
	t, err := template.New("layout.html").Funcs(Funcs).ParseFS(files, "layout.html")
	if err != nil {
		return nil, err
	}
	return t.ParseFS(fsys, patterns...)
}

// Render executes t's "layout" template with page into a buffer and, if
// that succeeds, writes it with status and security headers; otherwise it
// answers 500 and logs the error.
func Render(w http.ResponseWriter, logger *slog.Logger, t *template.Template, status int, page Page) {
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", page); err != nil {
		logger.Error("render page", "title", page.Title, "err", err)
		SetHeaders(w)
		http.Error(w, "internal error rendering the page", http.StatusInternalServerError)
		return
	}
	SetHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// SetHeaders sets the security headers of every page.
func SetHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
}

// Static serves the stylesheet at [StylesheetPath].
func Static() http.Handler {
	css, _ := files.ReadFile("static/signet.css")
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		SetHeaders(w)
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Header().Set("Cache-Control", "max-age=3600")
		_, _ = w.Write(css)
	})
}
