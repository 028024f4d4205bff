// The HTML page of a maximum-rate search: latency against offered rate.

package load

import (
	_ "embed"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

//go:embed findmax.html
var searchHTMLSource string

// WriteHTML writes the search as one self-contained HTML page: the
// verdict, a chart of p50 and p99 response time against offered rate with
// the SLO's latency limits, and the table of steps.
func (r *SearchResult) WriteHTML(w io.Writer) error {
	h := newHTMLW(w)
	return h.page(searchHTMLSource, r.SLO, func() {
		h.f("<header>\n<h1>sluice load · maximum rate</h1>\n<p>SLO %s · %d steps</p>\n</header>\n<main>\n", r.SLO, len(r.Steps))
		h.f("<section><h2>%s</h2></section>\n<section>\n", r.Verdict())
		newRateChart(r).write(h)
		h.raw(`<p class="legend"><span style="color:#3b6fd8">━ p50</span> · <span style="color:#d8893b">━ p99</span> · dots: p99 of each step, green passed, red failed · dashed: latency limits of the SLO</p>` + "\n</section>\n")
		h.raw("<section>\n<h2>Steps, in the order run</h2>\n<table>\n<tr><th>rate</th><th>achieved</th><th>p50</th><th>p99</th><th>errors</th><th>result</th></tr>\n")
		for _, s := range r.Steps {
			h.f("<tr><td>%.1f</td><td>%.1f</td><td>%s</td><td>%s</td><td>%.2f%%</td><td%s>", s.Rate, s.Achieved, msString(s.P50), msString(s.P99), s.Errors*100, when(!s.Pass, ` class="fail"`))
			if s.Pass {
				h.raw("pass")
			} else {
				h.f("fail: %s", strings.Join(s.Failures, "; "))
			}
			h.raw(when(s.GeneratorLimited, " (generator behind)"))
			h.raw("</td></tr>\n")
		}
		h.raw("</table>\n</section>\n</main>")
	}, nil)
}

// write draws the chart as inline SVG.
func (c rateChart) write(h *htmlw) {
	h.f(`<svg viewBox="0 0 %g %g" role="img" aria-label="p50 and p99 response time against offered rate">`+"\n", c.W, c.H)
	h.f(`<line x1="%g" y1="%g" x2="%g" y2="%g" stroke="#8a93a6"/>`+"\n", c.X0, c.Y0, c.X1, c.Y0)
	h.f(`<line x1="%g" y1="%g" x2="%g" y2="%g" stroke="#8a93a6"/>`+"\n", c.X0, c.Y0, c.X0, c.Y1)
	for _, t := range c.XTicks {
		h.f(`<text x="%g" y="%g" text-anchor="middle">%s</text>`, t.X, c.LabelY, t.Label)
	}
	h.raw("\n")
	for _, t := range c.YTicks {
		h.f(`<text x="%g" y="%g" text-anchor="end">%s</text>`, c.LabelX, t.Y, t.Label)
	}
	h.raw("\n")
	for _, t := range c.Limits {
		h.f(`<line x1="%g" y1="%g" x2="%g" y2="%g" stroke="#b3261e" stroke-dasharray="4 3"/><text x="%g" y="%g" dy="-3" text-anchor="end" fill="#b3261e">%s</text>`,
			c.X0, t.Y, c.X1, t.Y, c.X1, t.Y, t.Label)
	}
	h.raw("\n")
	h.f(`<polyline fill="none" stroke="#3b6fd8" stroke-width="2" points="%s"/>`+"\n", c.P50)
	h.f(`<polyline fill="none" stroke="#d8893b" stroke-width="2" points="%s"/>`+"\n", c.P99)
	for _, d := range c.Dots {
		h.f(`<circle cx="%g" cy="%g" r="4" fill="%s"><title>%s</title></circle>`, d.X, d.Y, when(d.Pass, "#2e8b57")+when(!d.Pass, "#b3261e"), d.Label)
	}
	h.f("\n"+`<text x="%g" y="%g" dy="-2" text-anchor="end">offered req/s</text>`+"\n</svg>\n", c.X1, c.H)
}

type chartTick struct {
	X, Y  float64
	Label string
}

type chartDot struct {
	X, Y  float64
	Pass  bool
	Label string
}

// rateChart is the SVG geometry of the latency-against-rate chart, drawn
// in Go so the page needs no script.
type rateChart struct {
	W, H, X0, X1, Y0, Y1, LabelX, LabelY float64
	P50, P99                             string
	XTicks, YTicks, Limits               []chartTick
	Dots                                 []chartDot
}

func newRateChart(r *SearchResult) rateChart {
	c := rateChart{W: 720, H: 320, X0: 60, X1: 700, Y0: 290, Y1: 16, LabelX: 54, LabelY: 306}
	steps := slices.Clone(r.Steps)
	slices.SortFunc(steps, func(a, b Step) int { return int(math.Copysign(1, a.Rate-b.Rate)) })
	xMax, yMax := 1.0, 1.0
	for _, s := range steps {
		xMax, yMax = max(xMax, s.Rate), max(yMax, s.P99)
	}
	var limits []Threshold
	for _, t := range parseSLOText(r.SLO) {
		if strings.HasPrefix(t.Metric, "p") || t.Metric == "max" || t.Metric == "mean" {
			limits = append(limits, t)
			yMax = max(yMax, t.Value*1.1)
		}
	}
	x := func(v float64) float64 { return math.Round((c.X0+v/xMax*(c.X1-c.X0))*10) / 10 }
	y := func(v float64) float64 { return math.Round((c.Y0-min(v, yMax)/yMax*(c.Y0-c.Y1))*10) / 10 }
	var p50, p99 []string
	for _, s := range steps {
		p50 = append(p50, fmt.Sprintf("%g,%g", x(s.Rate), y(s.P50)))
		p99 = append(p99, fmt.Sprintf("%g,%g", x(s.Rate), y(s.P99)))
		c.Dots = append(c.Dots, chartDot{X: x(s.Rate), Y: y(s.P99), Pass: s.Pass,
			Label: fmt.Sprintf("%.1f req/s: p50 %s, p99 %s", s.Rate, msString(s.P50), msString(s.P99))})
	}
	c.P50, c.P99 = strings.Join(p50, " "), strings.Join(p99, " ")
	for i := 0; i <= 4; i++ {
		f := float64(i) / 4
		c.XTicks = append(c.XTicks, chartTick{X: x(f * xMax), Label: strconv.FormatFloat(math.Round(f*xMax), 'f', -1, 64)})
		c.YTicks = append(c.YTicks, chartTick{Y: y(f * yMax), Label: msString(f * yMax)})
	}
	for _, t := range limits {
		c.Limits = append(c.Limits, chartTick{Y: y(t.Value), Label: t.Text})
	}
	return c
}

// parseSLOText re-reads a result's SLO; a result read from JSON carries
// only the text.
func parseSLOText(s string) []Threshold {
	ths, err := ParseThresholds(s)
	if err != nil {
		return nil
	}
	return ths
}
