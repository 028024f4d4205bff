// Live Prometheus/OpenMetrics metrics of a run.

package load

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/internal/failure"
)

// Metrics exposes the progress of runs to Prometheus while they last:
//
//	sluice_load_requests_total{target,status}  completed requests; status is the HTTP code, or "error"
//	sluice_load_errors_total{target,kind}       transport failures by kind (as in Report.Errors)
//	sluice_load_response_seconds{target}        response time histogram (from the intended send; requests without a response left out)
//	sluice_load_target_rps                      requests planned in the last second (open model)
//	sluice_load_achieved_rps                    requests completed in the last second
//
// Set [Config.Metrics] to feed one; several runs, one after another or at
// once (the steps of [FindMax]), may share it and their counts add. Create
// it with [NewMetrics]; the zero value is not usable. Safe for concurrent
// use.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	errors   *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	target   prometheus.Gauge
	achieved prometheus.Gauge
}

// NewMetrics returns Metrics registered in a registry of their own, served
// by [Metrics.Handler].
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_load_requests_total", Help: "Requests completed, by target and HTTP status (\"error\" for transport failures).",
		}, []string{"target", "status"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_load_errors_total", Help: "Transport failures by target and kind, named as in the --json report (dns, connect, tls, timeout, reset, read, ...).",
		}, []string{"target", "kind"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "sluice_load_response_seconds", Help: "Response time from the intended send time (queueing included).",
			// 100µs to about 50s; scrapers that read native histograms
			// get 10%-wide buckets instead.
			Buckets:                     prometheus.ExponentialBuckets(100e-6, 2, 20),
			NativeHistogramBucketFactor: 1.1,
		}, []string{"target"}),
		target: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sluice_load_target_rps", Help: "Requests planned in the last whole second (open model; 0 in the closed model).",
		}),
		achieved: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sluice_load_achieved_rps", Help: "Requests completed in the last whole second.",
		}),
	}
	m.reg.MustRegister(m.requests, m.errors, m.latency, m.target, m.achieved)
	return m
}

// Handler serves the metrics in the Prometheus text format, or in
// OpenMetrics when the scraper asks for it.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{EnableOpenMetrics: true})
}

// Gatherer returns the registry the metrics live in, for embedding them
// in a larger exposition.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.reg }

// runMetrics binds Metrics to one phase's targets. Its methods are called
// with the recorder's lock held, which also guards the status map.
type runMetrics struct {
	m        *Metrics
	labels   []string
	latency  []prometheus.Observer
	errs     [][failure.NumKinds]prometheus.Counter
	byStatus []map[int]prometheus.Counter
}

func newRunMetrics(m *Metrics, targets []Target) *runMetrics {
	rm := &runMetrics{m: m}
	for _, t := range targets {
		label := sluice.RedactURL(t.URL) // a password is no label
		if mt := method(t); mt != "GET" {
			label = mt + " " + label
		}
		rm.labels = append(rm.labels, label)
		rm.latency = append(rm.latency, m.latency.WithLabelValues(label))
		// The kinds a load run can have start at 0, so that a scraper's
		// rate() sees them from the first scrape; the fetcher's and
		// crawler's own (redirects, robots, bad-url, blocked), which load
		// never records, would be series of zeros for nothing.
		var errs [failure.NumKinds]prometheus.Counter
		for k := range failure.Redirects {
			errs[k] = m.errors.WithLabelValues(label, k.String())
		}
		rm.errs = append(rm.errs, errs)
		rm.byStatus = append(rm.byStatus, map[int]prometheus.Counter{})
	}
	return rm
}

// record counts one finished request; kind is its error kind when
// res.err is set, and timed says whether its response time counts (as in
// the report, requests that got no response are not timed).
func (rm *runMetrics) record(res *result, kind int, respTimeMicros int64, timed bool) {
	t := res.target
	if timed {
		rm.latency[t].Observe(float64(respTimeMicros) / 1e6)
	}
	status := res.status
	if res.err != nil {
		if rm.errs[t][kind] == nil {
			rm.errs[t][kind] = rm.m.errors.WithLabelValues(rm.labels[t], failure.Kind(kind).String())
		}
		rm.errs[t][kind].Inc()
		status = -1
	}
	c, ok := rm.byStatus[t][status]
	if !ok {
		s := "error"
		if status >= 0 {
			s = strconv.Itoa(status)
		}
		c = rm.m.requests.WithLabelValues(rm.labels[t], s)
		rm.byStatus[t][status] = c
	}
	c.Inc()
}

// second publishes a closed second's rates.
func (rm *runMetrics) second(row *Second) {
	rm.m.target.Set(float64(row.Target))
	rm.m.achieved.Set(float64(row.Done))
}
