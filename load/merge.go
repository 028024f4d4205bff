// Reading reports back and merging them exactly.

package load

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// ErrNoHistograms is returned by [ReadReport] and [Merge] for a report
// written before schema 2: it has percentiles but not the histograms they
// came from, so it cannot be merged exactly.
var ErrNoHistograms = errors.New("load: report has no histograms (schema 1) and cannot be merged exactly; rerun it with this version of sluice")

// maxReportSize bounds what [ReadReport] reads: a day-long run's report,
// one histogram per second, stays well under it.
const maxReportSize = 256 << 20

// ReadReport reads a JSON report as [Report.WriteJSON] writes it and
// checks that it can be merged: it must be a sluice load report of the
// current schema with its histograms intact. A schema 1 report yields an
// error wrapping [ErrNoHistograms].
func ReadReport(r io.Reader) (*Report, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxReportSize+1))
	if err != nil {
		return nil, fmt.Errorf("load: read report: %w", err)
	}
	if len(data) > maxReportSize {
		return nil, fmt.Errorf("load: read report: larger than %d MiB", maxReportSize>>20)
	}
	var head struct {
		Schema *int `json:"schema"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("load: not a JSON load report: %w", err)
	}
	switch {
	case head.Schema == nil:
		return nil, errors.New("load: not a load report: no schema field")
	case *head.Schema == 1:
		return nil, ErrNoHistograms
	case *head.Schema != SchemaVersion:
		return nil, fmt.Errorf("load: report schema %d; this version reads schema %d", *head.Schema, SchemaVersion)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var rep Report
	if err := dec.Decode(&rep); err != nil {
		return nil, fmt.Errorf("load: corrupt report: %w", err)
	}
	if _, err := rep.histograms(); err != nil {
		return nil, err
	}
	return &rep, nil
}

// decoded holds a report's histograms, decoded.
type decoded struct {
	resp, svc, late *hdr.Histogram
	seconds         []*hdr.Histogram
	targets         []*hdr.Histogram
}

// histograms decodes and checks every histogram r carries, and that they
// agree with its counts.
func (r *Report) histograms() (*decoded, error) {
	if r.Schema != SchemaVersion {
		if r.Schema == 1 {
			return nil, ErrNoHistograms
		}
		return nil, fmt.Errorf("load: report schema %d; this version reads schema %d", r.Schema, SchemaVersion)
	}
	var d decoded
	var err error
	for _, h := range []struct {
		name string
		enc  string
		dst  **hdr.Histogram
	}{{"response", r.Histograms.Response, &d.resp}, {"service", r.Histograms.Service, &d.svc}, {"lateness", r.Histograms.Lateness, &d.late}} {
		if *h.dst, err = decodeHist(h.enc, histDigits); err != nil {
			return nil, fmt.Errorf("load: %s histogram: %w", h.name, err)
		}
	}
	// Requests without a response are counted but not timed.
	if d.resp.TotalCount() > r.Requests {
		return nil, fmt.Errorf("load: corrupt report: response histogram holds %d requests, the report says %d", d.resp.TotalCount(), r.Requests)
	}
	for _, s := range r.Seconds {
		h, err := decodeHist(s.Hist, histDigits)
		if err != nil {
			return nil, fmt.Errorf("load: second %d: %w", s.T, err)
		}
		d.seconds = append(d.seconds, h)
	}
	for _, t := range r.Targets {
		h, err := decodeHist(t.Hist, 2)
		if err != nil {
			return nil, fmt.Errorf("load: target %s: %w", t.URL, err)
		}
		d.targets = append(d.targets, h)
	}
	return &d, nil
}

// Merge combines reports of runs made at the same time (the workers of a
// distributed run, or several machines started together) or at different
// times, including reports that are themselves merges, into one report as
// if a single client had made every request: counts add, every percentile
// comes from the merged histograms, per-second rows are aligned on
// wall-clock time (each report's Start, to the nearest second), and
// per-target figures combine by method and URL. Duration spans from the
// earliest start to the latest end, so rates are over wall-clock time.
// Merge reads its arguments and does not modify them.
func Merge(reports ...*Report) (*Report, error) {
	if len(reports) == 0 {
		return nil, errors.New("load: merge: no reports")
	}
	ds := make([]*decoded, len(reports))
	for i, r := range reports {
		d, err := r.histograms()
		if err != nil {
			return nil, wrap(fmt.Sprintf("load: merge: report %d", i+1), err)
		}
		ds[i] = d
	}
	m := mergeTotals(reports)
	resp := hdr.New(histMin, histMax, histDigits)
	svc := hdr.New(histMin, histMax, histDigits)
	late := hdr.New(histMin, histMax, histDigits)
	for _, d := range ds {
		resp.Merge(d.resp)
		svc.Merge(d.svc)
		late.Merge(d.late)
	}
	m.Latency, m.Service, m.Lateness = summarize(resp), summarize(svc), summarize(late)
	m.Spectrum = spectrum(resp)
	m.Histograms = Histograms{Response: encodeHist(resp), Service: encodeHist(svc), Lateness: encodeHist(late)}
	m.Seconds = mergeSeconds(reports, ds, m.Start)
	m.Targets = mergeTargets(reports, ds)
	return m, nil
}

// mergeTotals adds the counters of reports and sets the span.
func mergeTotals(reports []*Report) *Report {
	m := &Report{
		Schema: SchemaVersion, Model: reports[0].Model, URL: reports[0].URL,
		StatusCodes: map[string]int64{}, Errors: map[string]int64{}, ErrorSamples: map[string]string{},
	}
	var end time.Time
	planned := 0.0
	for i, r := range reports {
		if i == 0 || r.Start.Before(m.Start) {
			m.Start = r.Start
		}
		if e := r.Start.Add(secs(r.Duration)); e.After(end) {
			end = e
		}
		if r.Model != m.Model {
			m.Model = "mixed"
		}
		m.Connections += r.Connections
		m.Requests += r.Requests
		m.Success += r.Success
		m.Failed += r.Failed
		m.Dropped += r.Dropped
		m.Cancelled += r.Cancelled
		m.CancelledWait = max(m.CancelledWait, r.CancelledWait)
		m.LateSends += r.LateSends
		m.BytesRead += r.BytesRead
		m.BytesWritten += r.BytesWritten
		m.ConnsOpened += r.ConnsOpened
		m.ConnsReused += r.ConnsReused
		m.Interrupted = m.Interrupted || r.Interrupted
		m.MergedFrom += max(r.MergedFrom, 1)
		m.Workers = append(m.Workers, r.Workers...)
		planned += r.TargetRPS * r.Duration
		for k, n := range r.StatusCodes {
			m.StatusCodes[k] += n
		}
		for k, n := range r.Errors {
			m.Errors[k] += n
		}
		for k, s := range r.ErrorSamples {
			if m.ErrorSamples[k] == "" {
				m.ErrorSamples[k] = s
			}
		}
	}
	m.Duration = math.Round(end.Sub(m.Start).Seconds()*1000) / 1000
	if m.Duration > 0 {
		m.RPS = math.Round(float64(m.Requests)/m.Duration*10) / 10
		m.SuccessRPS = math.Round(float64(m.Success)/m.Duration*10) / 10
		m.TargetRPS = math.Round(planned/m.Duration*10) / 10
	}
	return m
}

// mergeSeconds aligns the per-second rows of reports on wall-clock
// seconds from start and adds them.
func mergeSeconds(reports []*Report, ds []*decoded, start time.Time) []Second {
	rows := map[int]*Second{}
	hists := map[int]*hdr.Histogram{}
	for i, r := range reports {
		off := int(math.Round(r.Start.Sub(start).Seconds()))
		for j, s := range r.Seconds {
			t := s.T + off
			row, ok := rows[t]
			if !ok {
				row = &Second{T: t}
				rows[t] = row
				hists[t] = hdr.New(histMin, histMax, histDigits)
			}
			row.addCounts(&s)
			hists[t].Merge(ds[i].seconds[j])
		}
	}
	out := make([]Second, 0, len(rows))
	for _, t := range slices.Sorted(maps.Keys(rows)) {
		row := rows[t]
		setPercentiles(row, hists[t])
		out = append(out, *row)
	}
	return out
}

// setPercentiles fills row's latency figures and histogram from h.
func setPercentiles(row *Second, h *hdr.Histogram) {
	rowPercentiles(row, h)
	row.Hist = encodeHist(h)
}

// rowPercentiles fills row's latency figures from h.
func rowPercentiles(row *Second, h *hdr.Histogram) {
	row.P50, row.P90, row.P99, row.Max, row.Hist = 0, 0, 0, 0, ""
	if h.TotalCount() == 0 {
		return
	}
	row.P50 = ms(quantile(h, 50))
	row.P90 = ms(quantile(h, 90))
	row.P99 = ms(quantile(h, 99))
	row.Max = ms(h.Max())
}

// mergeTargets combines per-target rows by method and URL, in order of
// first appearance.
func mergeTargets(reports []*Report, ds []*decoded) []TargetSummary {
	type key struct{ method, url string }
	var order []key
	sums := map[key]*TargetSummary{}
	hists := map[key]*hdr.Histogram{}
	for i, r := range reports {
		for j, t := range r.Targets {
			k := key{t.Method, t.URL}
			s, ok := sums[k]
			if !ok {
				order = append(order, k)
				s = &TargetSummary{Method: t.Method, URL: t.URL}
				sums[k] = s
				hists[k] = hdr.New(histMin, histMax, 2)
			}
			s.Requests += t.Requests
			s.Success += t.Success
			s.Failed += t.Failed
			hists[k].Merge(ds[i].targets[j])
		}
	}
	var out []TargetSummary
	for _, k := range order {
		s, h := sums[k], hists[k]
		if h.TotalCount() > 0 {
			s.P50, s.P99, s.Max = ms(quantile(h, 50)), ms(quantile(h, 99)), ms(h.Max())
			s.Hist = encodeHist(h)
		}
		out = append(out, *s)
	}
	return out
}
