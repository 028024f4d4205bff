// The self-contained HTML report.

package load

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/sluicehq/sluice/internal/humanize"
)

//go:embed report.html
var htmlSource string

// WriteHTML writes the report as one HTML page with its styles, script and
// data inlined, so it opens offline and can be attached to a ticket. The
// page draws latency over time, the percentile spectrum and target vs
// achieved rate as SVG charts.
func (r *Report) WriteHTML(w io.Writer) error {
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("load: write html: %w", err)
	}
	h := newHTMLW(w)
	return h.page(htmlSource, r.URL, func() {
		r.htmlHeader(h)
		h.raw("<main>\n")
		r.htmlCards(h)
		h.raw(htmlCharts(r))
		r.htmlTables(h)
		h.raw("</div>\n</main>")
	}, data)
}

func (r *Report) htmlHeader(h *htmlw) {
	h.f("<header>\n<h1>sluice load · %s</h1>\n<p>%s model · %d connections · %.2f s", r.URL, r.Model, r.Connections, r.Duration)
	h.raw(when(r.Interrupted, " · interrupted: partial results"))
	if len(r.Targets) > 0 {
		h.f(" · %d targets", len(r.Targets))
	}
	if r.MergedFrom > 1 {
		h.f(" · merged from %d runs", r.MergedFrom)
	}
	h.raw("</p>\n")
	if len(r.Workers) > 0 {
		h.raw("<p>workers: ")
		for _, wk := range r.Workers {
			h.f("%s (%s, %d req", wk.Name, wk.State, wk.Requests)
			if wk.State == "dead" {
				h.f("; its share after second %d is missing", wk.LastSecond)
			}
			h.raw(") ")
		}
		h.raw("</p>\n")
	}
	h.raw("</header>\n")
}

func (r *Report) htmlCards(h *htmlw) {
	h.f("<div class=\"cards\">\n<div class=\"card\"><b>%d</b><span>requests</span></div>\n", r.Requests)
	h.f("<div class=\"card\"><b>%.1f</b><span>req/s", r.RPS)
	if r.Model == "open" {
		h.f(" (target %.1f)", r.TargetRPS)
	}
	h.raw("</span></div>\n")
	h.f("<div class=\"card%s\"><b>%d</b><span>failed</span></div>\n", when(r.Failed > 0, " bad"), r.Failed)
	h.f("<div class=\"card\"><b>%s</b><span>p50 response</span></div>\n", msString(r.Latency.P50))
	h.f("<div class=\"card\"><b>%s</b><span>p99 response</span></div>\n", msString(r.Latency.P99))
	h.f("<div class=\"card\"><b>%s</b><span>max response</span></div>\n", msString(r.Latency.Max))
	if r.Dropped > 0 {
		h.f("<div class=\"card bad\"><b>%d</b><span>dropped</span></div>\n", r.Dropped)
	}
	h.raw("</div>\n")
}

// htmlCharts returns the chart sections, which the page's script fills.
func htmlCharts(r *Report) string {
	rateLegend := when(r.Model == "open", `<i style="background:#9aa5b8"></i>target`) +
		`<i style="background:#2f6fdb"></i>sent<i style="background:#2a9d5c"></i>ok<i style="background:#b3261e"></i>errors` +
		when(r.Dropped > 0, "+dropped")
	return `<div class="grid">
<section class="wide"><h2>Latency over time</h2>
<div class="chart" id="latency-chart" data-points="0"></div>
<div class="legend"><i style="background:#9aa5b8"></i>p50<i style="background:#2f6fdb"></i>p90<i style="background:#e0862d"></i>p99<i style="background:#b3261e"></i>max <span class="note">· response time of requests completing in each second, log scale</span></div>
</section>
<section><h2>Percentile spectrum</h2>
<div class="chart" id="spectrum-chart" data-points="0"></div>
<div class="legend"><i style="background:#2f6fdb"></i>response time by percentile</div>
</section>
<section><h2>Target vs achieved rate</h2>
<div class="chart" id="rate-chart" data-points="0"></div>
<div class="legend">` + rateLegend + ` <span class="note">· requests per second</span></div>
</section>
`
}

func (r *Report) htmlTables(h *htmlw) {
	if !r.timed() {
		h.raw("<section class=\"wide\"><h2>Latency</h2>\n<p>None measured: no request got a response.</p>\n</section>\n")
	} else {
		r.htmlLatency(h)
	}
	r.htmlCounts(h)
}

// htmlLatency writes the latency table and its note.
func (r *Report) htmlLatency(h *htmlw) {
	h.raw("<section class=\"wide\"><h2>Latency</h2>\n<table>\n<tr><th></th><th>p50</th><th>p90</th><th>p95</th><th>p99</th><th>p99.9</th><th>p99.99</th><th>max</th><th>mean</th></tr>\n")
	row := func(name string, l Latency) {
		h.f("<tr><td>%s</td>", name)
		for _, v := range []float64{l.P50, l.P90, l.P95, l.P99, l.P999, l.P9999, l.Max, l.Mean} {
			h.f("<td>%s</td>", msString(v))
		}
		h.raw("</tr>\n")
	}
	row("response", r.Latency)
	row("service", r.Service)
	if r.Model == "open" {
		row("send lateness", r.Lateness)
	}
	h.f("</table>\n<p class=\"note\">%s.</p>\n</section>\n", LatencyNote)
}

// htmlCounts writes the status codes, the errors and the transfer.
func (r *Report) htmlCounts(h *htmlw) {
	h.raw("<section><h2>Status codes</h2>\n<table>")
	for _, k := range slices.Sorted(maps.Keys(r.StatusCodes)) {
		h.f("<tr><td>%s</td><td>%d</td></tr>", k, r.StatusCodes[k])
	}
	h.raw(when(len(r.StatusCodes) == 0, "<tr><td>none</td></tr>"))
	h.raw("</table>\n</section>\n<section><h2>Errors</h2>\n<table>")
	for _, k := range slices.Sorted(maps.Keys(r.Errors)) {
		h.f("<tr><td>%s</td><td>%d</td><td class=\"note\" style=\"text-align:left\">%s</td></tr>", k, r.Errors[k], r.ErrorSamples[k])
	}
	h.raw(when(len(r.Errors) == 0, "<tr><td>none</td></tr>"))
	h.raw("</table>\n</section>\n")
	h.f("<section class=\"wide\"><h2>Transfer</h2>\n<p>%s read · %s written · connections %d opened, %d reused",
		humanize.Bytes(r.BytesRead, 2), humanize.Bytes(r.BytesWritten, 2), r.ConnsOpened, r.ConnsReused)
	if r.Model == "open" {
		h.f(" · late sends (&gt;1 ms) %d", r.LateSends)
	}
	h.raw("</p>\n</section>\n")
	if len(r.Targets) > 0 {
		h.raw("<section class=\"wide\"><h2>Per target</h2>\n<table><tr><th>target</th><th>requests</th><th>failed</th><th>p50</th><th>p99</th><th>max</th></tr>\n")
		for _, t := range r.Targets {
			h.f("<tr><td>%s %s</td><td>%d</td><td>%d</td><td>%s</td><td>%s</td><td>%s</td></tr>\n",
				t.Method, t.URL, t.Requests, t.Failed, msString(t.P50), msString(t.P99), msString(t.Max))
		}
		h.raw("</table></section>\n")
	}
}
