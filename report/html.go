package report

import (
	"embed"
	"html/template"
	"io"
	"strings"
	"sync"
)

//go:embed templates/report.html
var templates embed.FS

// htmlReport is parsed on first use, not when the signet binary starts.
var htmlReport = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("report.html").Funcs(template.FuncMap{
		"severities": func() []string { return Severities },
		"join":       strings.Join,
	}).ParseFS(templates, "templates/report.html"))
})

// WriteHTML writes the report as one self-contained HTML page: inline
// styles, no scripts, no external assets, every value from the evidence
// escaped by html/template.
func WriteHTML(w io.Writer, r *Report) error {
	return htmlReport().Execute(w, r)
}
