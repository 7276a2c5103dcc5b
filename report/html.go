package report

import (
	"embed"
	"html/template"
	"io"
	"strings"
)

//go:embed templates/report.html
var templates embed.FS

var htmlReport = template.Must(template.New("report.html").Funcs(template.FuncMap{
	"severities": func() []string { return Severities },
	"join":       strings.Join,
}).ParseFS(templates, "templates/report.html"))

// WriteHTML writes the report as one self-contained HTML page: inline
// styles, no scripts, no external assets, every value from the evidence
// escaped by html/template.
func WriteHTML(w io.Writer, r *Report) error {
	return htmlReport.Execute(w, r)
}
