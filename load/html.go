// The self-contained HTML report.

package load

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"maps"
	"slices"

	"github.com/sluicehq/sluice/internal/humanize"
)

//go:embed report.html.tmpl
var htmlSource string

var htmlTemplate = template.Must(template.New("report").Funcs(template.FuncMap{"ms": msString}).Parse(htmlSource))

type htmlKV struct {
	K string
	V int64
	S string
}

type htmlRow struct {
	Name   string
	Values []string
}

// WriteHTML writes the report as one HTML page with its styles, script and
// data inlined, so it opens offline and can be attached to a ticket. The
// page draws latency over time, the percentile spectrum and target vs
// achieved rate as SVG charts.
func (r *Report) WriteHTML(w io.Writer) error {
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("load: write html: %w", err)
	}
	row := func(name string, l Latency) htmlRow {
		var vs []string
		for _, v := range []float64{l.P50, l.P90, l.P95, l.P99, l.P999, l.P9999, l.Max, l.Mean} {
			vs = append(vs, msString(v))
		}
		return htmlRow{Name: name, Values: vs}
	}
	rows := []htmlRow{row("response", r.Latency), row("service", r.Service)}
	if r.Model == "open" {
		rows = append(rows, row("send lateness", r.Lateness))
	}
	var status, errs []htmlKV
	for _, k := range slices.Sorted(maps.Keys(r.StatusCodes)) {
		status = append(status, htmlKV{K: k, V: r.StatusCodes[k]})
	}
	for _, k := range slices.Sorted(maps.Keys(r.Errors)) {
		errs = append(errs, htmlKV{K: k, V: r.Errors[k], S: r.ErrorSamples[k]})
	}
	err = htmlTemplate.Execute(w, map[string]any{
		"R":       r,
		"JSON":    template.JS(data), // inside a JSON script element; json.Marshal escapes <, > and &
		"Rows":    rows,
		"Note":    LatencyNote,
		"Status":  status,
		"Errors":  errs,
		"Read":    humanize.Bytes(r.BytesRead, 2),
		"Written": humanize.Bytes(r.BytesWritten, 2),
	})
	if err != nil {
		return fmt.Errorf("load: write html: %w", err)
	}
	return nil
}
