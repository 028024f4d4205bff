// The report of a run and its text and JSON forms.

package load

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/internal/failure"
	"github.com/sluicehq/sluice/internal/humanize"
)

// SchemaVersion is the value of [Report.Schema] written by this package.
// It changes when a field changes meaning or goes away, or when a field
// becomes necessary to merge reports. Schema 2 added the start time and
// the histograms (whole run, per second and per target) that make
// [Merge] exact; schema 1 reports cannot be merged.
const SchemaVersion = 2

// Report is the outcome of a run. Latencies are in milliseconds. Its size
// does not depend on the number of requests; Seconds grows by one small
// row per second of run. It is a plain value: safe to read from several
// goroutines, not to modify concurrently.
type Report struct {
	Schema      int       `json:"schema"`      // the JSON layout's version: 2 (1 had no histograms)
	Start       time.Time `json:"start"`       // wall-clock start of measurement
	Model       string    `json:"model"`       // "open" or "closed"; a merge of both is "mixed"
	URL         string    `json:"url"`         // first target
	Connections int       `json:"connections"` // the run's in-flight cap, Config.MaxInFlight resolved (summed by a merge)
	Duration    float64   `json:"duration_s"`  // seconds measured, warm-up excluded; a merge's wall-clock span
	Requests    int64     `json:"requests"`    // requests completed (answered or failed)
	Success     int64     `json:"success"`     // answered with a status below 400
	Failed      int64     `json:"failed"`      // transport errors plus statuses of 400 and above
	RPS         float64   `json:"rps"`         // Requests per second of Duration
	SuccessRPS  float64   `json:"success_rps"` // Success per second of Duration
	TargetRPS   float64   `json:"target_rps"`  // planned mean rate; 0 in the closed model
	Dropped     int64     `json:"dropped"`     // due but never sent: over DropAbove, or still unsent when the plan ended
	Cancelled   int64     `json:"cancelled"`   // in flight when the run ended, cut off and counted nowhere else
	// CancelledWait is the longest that a cancelled request had waited
	// for its answer, from its intended send time, in milliseconds: a
	// server that stalls as the run ends shows here, not in the latency.
	CancelledWait float64 `json:"cancelled_wait_ms,omitempty"`
	LateSends     int64   `json:"late_sends"` // sent more than 1 ms after their intended time

	StatusCodes  map[string]int64  `json:"status_codes"`  // responses by HTTP status ("200", "503")
	Errors       map[string]int64  `json:"errors"`        // by kind, named as in fetch and crawl records: dns, connect, tls, timeout, reset, read, protocol, too-large, cancelled, other
	ErrorSamples map[string]string `json:"error_samples"` // the first message seen of each kind

	Latency  Latency `json:"latency_ms"`       // response time, from the intended send time
	Service  Latency `json:"service_ms"`       // service time, from the actual send
	Lateness Latency `json:"send_lateness_ms"` // actual minus intended send time (open model)

	BytesRead    int64 `json:"bytes_read"`    // read from the connections, headers and framing included
	BytesWritten int64 `json:"bytes_written"` // written to the connections
	ConnsOpened  int64 `json:"conns_opened"`  // connections dialled
	ConnsReused  int64 `json:"conns_reused"`  // requests that went over an already open connection

	Interrupted bool `json:"interrupted"` // stopped early; figures cover what was measured

	Seconds  []Second        `json:"seconds"`           // one row per second measured
	Spectrum []Percentile    `json:"spectrum"`          // response-time percentile spectrum
	Targets  []TargetSummary `json:"targets,omitempty"` // one per target of a run of several

	Histograms Histograms `json:"histograms"` // what Merge combines, encoded

	// MergedFrom counts the runs a merged report combines; 0 for a
	// single run.
	MergedFrom int `json:"merged_from,omitempty"`
	// Workers lists the workers of a distributed run (see [RunDistributed]).
	Workers []WorkerState `json:"workers,omitempty"`

	genLate int64 // see phase.genLate; read by FindMax
}

// Latency summarises one histogram, in milliseconds: its percentiles (P999
// is the 99.9th, P9999 the 99.99th), maximum and mean.
type Latency struct {
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P95   float64 `json:"p95"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p999"`
	P9999 float64 `json:"p9999"`
	Max   float64 `json:"max"`
	Mean  float64 `json:"mean"`
}

// Percentile is one point of the percentile spectrum: the response time
// in milliseconds (Ms) at or below which Percentile per cent of requests
// were answered.
type Percentile struct {
	Percentile float64 `json:"percentile"`
	Ms         float64 `json:"ms"`
}

// TargetSummary is the breakdown for one target (Method and URL) of a
// multi-target run: its requests completed, answered with a status below
// 400 (Success) and failed, and its response times in milliseconds.
type TargetSummary struct {
	Method   string  `json:"method"`
	URL      string  `json:"url"`
	Requests int64   `json:"requests"`
	Success  int64   `json:"success"`
	Failed   int64   `json:"failed"`
	P50      float64 `json:"p50_ms"`
	P99      float64 `json:"p99_ms"`
	Max      float64 `json:"max_ms"`
	Hist     string  `json:"hist,omitempty"` // response time, as in [Histograms]
}

func summarize(h *hdr.Histogram) Latency {
	if h.TotalCount() == 0 {
		return Latency{}
	}
	return Latency{
		P50: ms(quantile(h, 50)), P90: ms(quantile(h, 90)),
		P95: ms(quantile(h, 95)), P99: ms(quantile(h, 99)),
		P999: ms(quantile(h, 99.9)), P9999: ms(quantile(h, 99.99)),
		Max: ms(h.Max()), Mean: roundMs(h.Mean() / 1000),
	}
}

// spectrum samples h at 100·(1-10^-x) percent for x = 0, 0.1, ... until
// the tail is exhausted, then at 100%.
func spectrum(h *hdr.Histogram) []Percentile {
	if h.TotalCount() == 0 {
		return nil
	}
	var out []Percentile
	for i := 0; i <= 60; i++ {
		q := 100 * (1 - math.Pow(10, -float64(i)/10))
		if i > 0 && (1-q/100)*float64(h.TotalCount()) < 1 {
			break
		}
		out = append(out, Percentile{Percentile: math.Round(q*1e4) / 1e4, Ms: ms(quantile(h, q))})
	}
	return append(out, Percentile{Percentile: 100, Ms: ms(h.Max())})
}

func (p *phase) report(cfg *Config) *Report {
	r := p.rec
	r.flushHists()
	r.mu.Lock()
	defer r.mu.Unlock()
	rep := &Report{
		Schema:        SchemaVersion,
		Start:         p.start.UTC(),
		Model:         "closed",
		URL:           sluice.RedactURL(cfg.Targets[0].URL),
		Connections:   cfg.maxInFlight(),
		Duration:      math.Round(p.elapsed.Seconds()*1000) / 1000,
		Requests:      r.requests,
		Success:       r.ok,
		Failed:        r.failed,
		Dropped:       r.totalDropped,
		Cancelled:     r.cancelled,
		CancelledWait: roundMs(r.cancelledWait.Seconds() * 1000),
		LateSends:     r.lateSends,
		StatusCodes:   map[string]int64{},
		Errors:        map[string]int64{},
		ErrorSamples:  map[string]string{},
		Latency:       summarize(r.resp),
		Service:       summarize(r.svc),
		Lateness:      summarize(r.late),
		Seconds:       append([]Second(nil), r.rows...),
		Spectrum:      spectrum(r.resp),
		Histograms:    Histograms{Response: encodeHist(r.resp), Service: encodeHist(r.svc), Lateness: encodeHist(r.late)},
	}
	r.fillSeconds(rep.Seconds)
	if secs := p.elapsed.Seconds(); secs > 0 {
		rep.RPS = math.Round(float64(r.requests)/secs*10) / 10
		rep.SuccessRPS = math.Round(float64(r.ok)/secs*10) / 10
	}
	if p.sched != nil {
		rep.Model = "open"
		if d := p.sched.end.Seconds(); d > 0 {
			rep.TargetRPS = math.Round(float64(p.sched.total)/d*10) / 10
		}
	}
	r.fillCounts(rep)
	rep.Targets = r.targetSummaries(cfg.Targets)
	return rep
}

// fillSeconds copies the sends and drops of each second into rows. Sends
// and drops are counted by the second they were due or made; drops at the
// end of an overloaded run land in rows already closed. The caller holds
// r.mu.
func (r *recorder) fillSeconds(rows []Second) {
	for i := range rows {
		row := &rows[i]
		if row.T < len(r.sent) {
			row.Sent = r.sent[row.T]
		}
		if row.T < len(r.dropped) {
			row.Dropped = r.dropped[row.T]
		}
	}
}

// fillCounts copies the status and failure-kind counts into rep. The
// caller holds r.mu.
func (r *recorder) fillCounts(rep *Report) {
	for code, n := range r.status {
		rep.StatusCodes[strconv.Itoa(code)] = n
	}
	for k, n := range r.kinds {
		if n > 0 {
			rep.Errors[failure.Kind(k).String()] = n
			rep.ErrorSamples[failure.Kind(k).String()] = r.samples[k]
		}
	}
}

// targetSummaries sums up each target's requests. The caller holds r.mu.
func (r *recorder) targetSummaries(targets []Target) []TargetSummary {
	var out []TargetSummary
	for i, ts := range r.targets {
		t := targets[i]
		s := TargetSummary{Method: method(t), URL: sluice.RedactURL(t.URL), Requests: ts.requests, Success: ts.ok, Failed: ts.errors}
		if ts.resp.TotalCount() > 0 {
			s.P50, s.P99, s.Max = ms(quantile(ts.resp, 50)), ms(quantile(ts.resp, 99)), ms(ts.resp.Max())
			s.Hist = encodeHist(ts.resp)
		}
		out = append(out, s)
	}
	return out
}

// WriteJSON writes r as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error { return writeJSON(w, r) }

// writeJSON writes v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("load: write json: %w", err)
	}
	return nil
}

// LatencyNote explains the three latency figures of a report.
const LatencyNote = "response time counts from when each request was due to be sent (what a user waits, queueing included); " +
	"service time from when it was actually sent (what the server took); send lateness is the gap between the two. " +
	"Requests that got no response (refused, reset, DNS) are left out; a timeout counts as the time it waited"

// WriteText writes the human-readable summary.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	status := ""
	if r.Interrupted {
		status = " (interrupted: partial results)"
	}
	conns := "connections"
	if r.Connections == 1 {
		conns = "connection"
	}
	fmt.Fprintf(&b, "%s model, %d %s, %.2fs%s\n", r.Model, r.Connections, conns, r.Duration, status)
	r.writeWorkers(&b)
	writeField(&b, "requests", fmt.Sprintf("%d (%d ok, %d failed)", r.Requests, r.Success, r.Failed))
	if r.Dropped > 0 {
		writeField(&b, "", fmt.Sprintf("%d dropped (in-flight cap, or still unsent when the plan ended)", r.Dropped))
	}
	if r.Cancelled > 0 {
		writeField(&b, "", fmt.Sprintf("%d cancelled in flight at the end, the longest after %s", r.Cancelled, msString(r.CancelledWait)))
	}
	r.writeRate(&b)
	r.writeLatency(&b)
	writeWords(&b, "status", countWords(r.StatusCodes))
	var noResponse int64
	for _, n := range r.Errors {
		noResponse += n
	}
	failed := strings.Fields(fmt.Sprintf("%d: %d with status 400 and above, %d without a response", r.Failed, r.Failed-noResponse, noResponse))
	if noResponse > 0 {
		counts := countWords(r.Errors)
		counts[0] = "(" + counts[0]
		counts[len(counts)-1] += ")"
		failed = append(failed, counts...)
	}
	writeWords(&b, "failed", failed)
	for _, k := range slices.Sorted(maps.Keys(r.ErrorSamples)) {
		b.WriteString(strings.TrimPrefix(wrapText(k+": "+r.ErrorSamples[k], reportWidth-6, "      "), "  "))
	}
	if len(r.Targets) > 0 {
		b.WriteString("\n  per target\n")
		for _, t := range r.Targets {
			// The URL has a line of its own; the figures go under it.
			fmt.Fprintf(&b, "    %-6s %s\n           %8d req %6d failed  p50 %7s  p99 %7s  max %7s\n",
				t.Method, t.URL, t.Requests, t.Failed, msString(t.P50), msString(t.P99), msString(t.Max))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeRate writes the achieved rate, the plan kept and the transfer.
func (r *Report) writeRate(b *strings.Builder) {
	rate := fmt.Sprintf("%.1f req/s (%.1f ok/s)", r.RPS, r.SuccessRPS)
	if r.Model == "open" {
		rate += fmt.Sprintf(", target %.1f req/s", r.TargetRPS)
	}
	writeField(b, "rate", rate)
	if worst, ok := r.worstSecond(); ok && r.Model == "open" {
		writeField(b, "plan", fmt.Sprintf("worst second %d/%d sent;", worst.Sent, worst.Target))
		writeField(b, "", fmt.Sprintf("%d of %d full seconds more than 1%% off plan", r.secondsOffPlan(), r.fullSeconds()))
	}
	writeField(b, "transfer", fmt.Sprintf("%s read, %s written;", humanize.Bytes(r.BytesRead, 2), humanize.Bytes(r.BytesWritten, 2)))
	writeField(b, "", fmt.Sprintf("connections %d opened, %d reused", r.ConnsOpened, r.ConnsReused))
}

// reportWidth is the width of a terminal the text report fits: 80
// columns, but for a target's URL longer than the line.
const reportWidth = 80

// fieldIndent leads the lines of a field's text in the text report: the
// label's column, two spaces, ten and one.
const fieldIndent = "             "

// writeField writes a field of the text report: its label, then text,
// wrapped between words within reportWidth, each further line under the
// first. An empty label continues the field above.
func writeField(b *strings.Builder, label, text string) {
	writeWords(b, label, strings.Fields(text))
}

// writeWords writes a field as writeField does, breaking lines only
// between words.
func writeWords(b *strings.Builder, label string, words []string) {
	fmt.Fprintf(b, "  %-10s ", label)
	b.WriteString(strings.TrimPrefix(wrapWords(words, reportWidth-len(fieldIndent), fieldIndent), fieldIndent))
}

// writeLatency writes the latency table and its note.
func (r *Report) writeLatency(b *strings.Builder) {
	if !r.timed() {
		b.WriteString("\n  latency    none measured: no request got a response\n\n")
		return
	}
	// Columns of 7 hold every msString ("99.99ms", "100.0s") and keep
	// the table within 80 columns.
	b.WriteString("\n          ")
	for _, name := range []string{"p50", "p90", "p95", "p99", "p99.9", "p99.99", "max", "mean"} {
		fmt.Fprintf(b, " %7s", name)
	}
	b.WriteString("\n")
	row := func(name string, l Latency) {
		fmt.Fprintf(b, "  %-8s", name)
		for _, v := range []float64{l.P50, l.P90, l.P95, l.P99, l.P999, l.P9999, l.Max, l.Mean} {
			fmt.Fprintf(b, " %7s", msString(v))
		}
		b.WriteString("\n")
	}
	row("response", r.Latency)
	row("service", r.Service)
	if r.Model == "open" {
		row("lateness", r.Lateness)
		fmt.Fprintf(b, "  late sends (>1ms) %d\n", r.LateSends)
	}
	b.WriteString(wrapText("("+LatencyNote+")", 76, "  "))
	b.WriteString("\n")
}

// wrapText breaks s into lines of at most width characters between
// words, each line led by indent and ended by a newline.
func wrapText(s string, width int, indent string) string {
	return wrapWords(strings.Fields(s), width, indent)
}

// wrapWords lays words out as wrapText does, each word kept whole (a word
// may hold spaces, and one longer than width has a line of its own).
func wrapWords(words []string, width int, indent string) string {
	var b strings.Builder
	n := 0
	for _, w := range words {
		switch {
		case n == 0:
			b.WriteString(indent)
		case n+1+utf8.RuneCountInString(w) > width:
			b.WriteString("\n" + indent)
			n = 0
		default:
			b.WriteByte(' ')
			n++
		}
		b.WriteString(w)
		n += utf8.RuneCountInString(w)
	}
	b.WriteString("\n")
	return b.String()
}

// timed reports whether any request counts in the latency figures: one
// that got a response, whatever its status, or one that timed out.
func (r *Report) timed() bool { return r.Latency.Max > 0 }

// writeWorkers lists a distributed run's workers, and says what a dead
// one leaves out.
func (r *Report) writeWorkers(b *strings.Builder) {
	if len(r.Workers) == 0 {
		if r.MergedFrom > 1 {
			fmt.Fprintf(b, "  merged     %d runs\n", r.MergedFrom)
		}
		return
	}
	words := []string{fmt.Sprintf("%d:", len(r.Workers))}
	for _, w := range r.Workers {
		words = append(words, fmt.Sprintf("%s (%s, %d req)", w.Name, w.State, w.Requests))
	}
	writeWords(b, "workers", words)
	for _, w := range r.Workers {
		if w.State == stateDead {
			writeField(b, "MISSING", fmt.Sprintf("worker %s stopped reporting after second %d: its 1/%d share of the load after that is missing; "+
				"its earlier seconds count here with response times only (no status codes, service times or bytes)",
				w.Name, w.LastSecond, len(r.Workers)))
		}
	}
}

// fullSeconds counts the planned seconds after the first that the run
// covered completely; secondsOffPlan counts those whose sends missed the
// plan by more than 1%.
func (r *Report) fullSeconds() int {
	n := 0
	for _, s := range r.Seconds {
		if s.T > 0 && s.Target > 0 && s.T+1 <= int(r.Duration+0.05) {
			n++
		}
	}
	return n
}

func (r *Report) secondsOffPlan() int {
	n := 0
	for _, s := range r.Seconds {
		if s.T > 0 && s.Target > 0 && s.T+1 <= int(r.Duration+0.05) && math.Abs(float64(s.Sent-s.Target)) > 0.01*float64(s.Target) {
			n++
		}
	}
	return n
}

// worstSecond returns the full planned second (after the first) with the
// lowest sent/target ratio.
func (r *Report) worstSecond() (Second, bool) {
	var worst Second
	found := false
	for _, s := range r.Seconds {
		if s.T == 0 || s.Target == 0 || s.T+1 > int(r.Duration+0.05) {
			continue
		}
		if !found || float64(s.Sent)/float64(s.Target) < float64(worst.Sent)/float64(worst.Target) {
			worst, found = s, true
		}
	}
	return worst, found
}

// countWords returns the counts of m as countsString writes them, one
// word each ("200: 5,"), so that a line breaks between counts only.
func countWords(m map[string]int64) []string {
	words := strings.SplitAfter(countsString(m), ", ")
	for i, w := range words {
		words[i] = strings.TrimSuffix(w, " ")
	}
	return words
}

func countsString(m map[string]int64) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s: %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func msString(v float64) string {
	d := time.Duration(v * float64(time.Millisecond))
	switch {
	case d >= 10*time.Second:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d >= time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d >= 100*time.Millisecond:
		return fmt.Sprintf("%.0fms", v)
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2fms", v)
	}
	return fmt.Sprintf("%.0fµs", v*1000)
}
