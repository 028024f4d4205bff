// The HTML page of a maximum-rate search: latency against offered rate.

package load

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

//go:embed findmax.html.tmpl
var searchHTMLSource string

var searchHTMLTemplate = template.Must(template.New("search").Funcs(template.FuncMap{
	"ms":   msString,
	"pct":  func(f float64) float64 { return f * 100 },
	"join": strings.Join,
}).Parse(searchHTMLSource))

// WriteHTML writes the search as one self-contained HTML page: the
// verdict, a chart of p50 and p99 response time against offered rate with
// the SLO's latency limits, and the table of steps.
func (r *SearchResult) WriteHTML(w io.Writer) error {
	err := searchHTMLTemplate.Execute(w, map[string]any{"R": r, "C": newRateChart(r)})
	if err != nil {
		return fmt.Errorf("load: write html: %w", err)
	}
	return nil
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
