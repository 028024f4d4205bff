// Pass/fail thresholds for CI.

package load

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Threshold is one pass condition on a report, such as p99 < 200ms.
// Metrics: p50, p90, p95, p99, p999, p9999, max, mean (response time),
// errors and dropped (fractions of requests), rps and success_rps.
type Threshold struct {
	Metric string  // one of the metrics above, as written: "p99", "errors"
	Op     string  // "<", "<=", ">" or ">="
	Value  float64 // milliseconds for latency, a fraction for errors and dropped, req/s for rates
	Text   string  // as written
}

// ParseThresholds parses a comma-separated list such as
// "p99<200ms,errors<1%". Latency values need a unit (us, ms, s); errors and
// dropped take a percentage or a fraction.
func ParseThresholds(s string) ([]Threshold, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("load: threshold: empty")
	}
	var out []Threshold
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		t, err := parseThreshold(part)
		if err != nil {
			return nil, fmt.Errorf("load: threshold %q: %w", part, err)
		}
		out = append(out, t)
	}
	return out, nil
}

func parseThreshold(s string) (Threshold, error) {
	i := strings.IndexAny(s, "<>")
	if i <= 0 {
		return Threshold{}, errors.New("want METRIC<VALUE or METRIC>VALUE, e.g. p99<200ms")
	}
	t := Threshold{Metric: strings.ToLower(strings.TrimSpace(s[:i])), Text: s}
	rest := s[i+1:]
	t.Op = s[i : i+1]
	if strings.HasPrefix(rest, "=") {
		t.Op += "="
		rest = rest[1:]
	}
	rest = strings.TrimSpace(rest)
	switch t.Metric {
	case "p50", "p90", "p95", "p99", "p999", "p99.9", "p9999", "p99.99", "max", "mean":
		d, err := time.ParseDuration(rest)
		if err != nil || d < 0 {
			return t, errors.New("want a duration such as 200ms")
		}
		t.Value = float64(d) / float64(time.Millisecond)
	case "errors", "dropped":
		pct := strings.HasSuffix(rest, "%")
		v, err := strconv.ParseFloat(strings.TrimSuffix(rest, "%"), 64)
		if err != nil || v != v || v < 0 {
			return t, errors.New("want a percentage such as 1% or a fraction such as 0.01")
		}
		if pct {
			v /= 100
		}
		if v > 1 {
			return t, errors.New("want at most 100%")
		}
		t.Value = v
	case "rps", "success_rps":
		v, err := strconv.ParseFloat(rest, 64)
		if err != nil || v != v || v < 0 {
			return t, errors.New("want a rate in requests per second")
		}
		t.Value = v
	default:
		return t, fmt.Errorf("unknown metric %q (want p50, p90, p95, p99, p999, p9999, max, mean, errors, dropped, rps or success_rps)", t.Metric)
	}
	return t, nil
}

// Check returns the thresholds that r violates, each as a message such
// as "p99<200ms: was 250.3ms". An empty report violates every rate floor
// and no ceiling.
func (r *Report) Check(ths []Threshold) []string {
	var out []string
	for _, t := range ths {
		v, unit := r.metric(t.Metric)
		ok := false
		switch t.Op {
		case "<":
			ok = v < t.Value
		case "<=":
			ok = v <= t.Value
		case ">":
			ok = v > t.Value
		case ">=":
			ok = v >= t.Value
		}
		if !ok {
			out = append(out, fmt.Sprintf("%s: was %s", t.Text, formatMetric(v, unit)))
		}
	}
	return out
}

func (r *Report) metric(name string) (float64, string) {
	l := r.Latency
	total := float64(r.Requests)
	switch name {
	case "p50":
		return l.P50, "ms"
	case "p90":
		return l.P90, "ms"
	case "p95":
		return l.P95, "ms"
	case "p99":
		return l.P99, "ms"
	case "p999", "p99.9":
		return l.P999, "ms"
	case "p9999", "p99.99":
		return l.P9999, "ms"
	case "max":
		return l.Max, "ms"
	case "mean":
		return l.Mean, "ms"
	case "errors":
		if total == 0 {
			return 0, "%"
		}
		return float64(r.Failed) / total, "%"
	case "dropped":
		if total+float64(r.Dropped) == 0 {
			return 0, "%"
		}
		return float64(r.Dropped) / (total + float64(r.Dropped)), "%"
	case "rps":
		return r.RPS, "req/s"
	case "success_rps":
		return r.SuccessRPS, "req/s"
	}
	return 0, ""
}

func formatMetric(v float64, unit string) string {
	switch unit {
	case "ms":
		return msString(v)
	case "%":
		return strconv.FormatFloat(v*100, 'f', 2, 64) + "%"
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " " + unit
}
