// Configuration of a load run: targets, model, limits.

package load

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/internal/buildinfo"
	"github.com/sluicehq/sluice/internal/urlcheck"
)

// Defaults used when the matching [Config] field is zero.
const (
	DefaultMaxInFlight = 50
	DefaultDuration    = 10 * time.Second
	DefaultTimeout     = 10 * time.Second
)

// DefaultUserAgent is the User-Agent sent unless a target sets one, the
// same string as sluice.DefaultUserAgent: "sluice/VERSION (+https://...)"
// with the version of this module the program was built with ("devel"
// when unknown). It is computed once at start and is meant to be read,
// not changed: set a target's header instead.
var DefaultUserAgent = buildinfo.UserAgent()

// Target is one request template. The zero value is not usable: URL is
// required.
type Target struct {
	// Method is the HTTP method; "" means GET.
	Method string
	// URL is the absolute http or https URL to request.
	URL string
	// Header holds extra request headers; nil means none.
	Header http.Header
	// Body is sent with every request; nil means no body.
	Body []byte
}

// Stage is one segment of an open-model ramp: over Duration the arrival
// rate moves linearly from the previous stage's Rate (0 before the first
// stage) to this Rate, in requests per second.
type Stage struct {
	Duration time.Duration
	Rate     float64
}

// Config describes a load run. Only Targets is required; every other zero
// field has the documented default. A Config must not be modified while
// [Run] uses it.
type Config struct {
	// Targets are the requests to send. With more than one target,
	// requests cycle through them in order and the report breaks results
	// down per target.
	Targets []Target

	// MaxInFlight caps requests in flight: it is the number of
	// connections and of sending workers, each with at most one request
	// outstanding, as MaxInFlight is in sluice.Fetcher and
	// crawler.Crawler. In the closed model this many requests are always
	// in flight; in the open model a request that finds every worker
	// busy waits for one, and the wait counts in its response time. Zero
	// means DefaultMaxInFlight; at most MaxInFlightLimit. The CLI sets it
	// with -c.
	MaxInFlight int

	// Requests, in the closed model, stops the run after this many
	// requests. Zero means no count limit.
	Requests int64

	// Duration bounds the run. Zero means DefaultDuration, unless Requests
	// is set (closed model) or Stages is set (open model).
	Duration time.Duration

	// Rate, when positive, selects the open model at a constant arrival
	// rate in requests per second for Duration.
	Rate float64

	// Stages, when non-empty, selects the open model with linear ramps.
	// Stages and Rate are mutually exclusive.
	Stages []Stage

	// DropAbove, in the open model, drops instead of queueing: a request
	// that falls due while DropAbove are outstanding is not sent, and is
	// counted in Report.Dropped. Zero means requests wait for a worker
	// (and the wait counts in their latency). When set it is also the
	// in-flight cap, replacing MaxInFlight. The CLI sets it with
	// --max-inflight.
	DropAbove int

	// Warmup runs the load for this long before measuring; its requests
	// are excluded from every statistic and its connections are reused.
	// The open model warms up at the first stage's rate (or Rate).
	Warmup time.Duration

	// Timeout bounds each request, dial to last body byte. Zero means
	// DefaultTimeout. On keep-alive connections of the plain-HTTP engine a
	// request may be cut up to 1% early (its socket deadline is moved only
	// when it drifts by more than that).
	Timeout time.Duration

	// DisableKeepAlives opens a new connection for every request.
	DisableKeepAlives bool

	// HTTP2 sends requests over HTTP/2 (h2 over TLS, or prior-knowledge
	// h2c for http URLs). The workers share connections, up to 100 (or
	// the server's stream limit, if lower) on each, one stream per worker,
	// so MaxInFlight 50 opens one connection. With DisableKeepAlives it
	// goes through net/http, a connection per request.
	HTTP2 bool

	// InsecureSkipVerify disables TLS certificate verification.
	InsecureSkipVerify bool

	// OnSecond, if non-nil, is called after each measured second with
	// that second's figures, from a single goroutine. It must not block
	// for long. The same rows appear in [Report.Seconds].
	OnSecond func(Second)

	// Metrics, if non-nil, is fed every measured request and second as
	// it happens (warmup excluded), for a Prometheus scraper to watch.
	Metrics *Metrics
}

// open reports whether c selects the open model.
func (c *Config) open() bool { return c.Rate > 0 || len(c.Stages) > 0 }

// maxInFlight returns the number of workers, defaults resolved.
func (c *Config) maxInFlight() int {
	switch {
	case c.DropAbove > 0 && c.open():
		return c.DropAbove
	case c.MaxInFlight > 0:
		return c.MaxInFlight
	}
	return DefaultMaxInFlight
}

func (c *Config) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return DefaultTimeout
}

// duration is the measured run's length bound; 0 means none (closed model
// with a request count only).
func (c *Config) duration() time.Duration {
	switch {
	case len(c.Stages) > 0:
		var d time.Duration
		for _, s := range c.Stages {
			d += s.Duration
		}
		return d
	case c.Duration > 0:
		return c.Duration
	case c.Requests > 0 && !c.open():
		return 0
	}
	return DefaultDuration
}

// Validate reports the first problem that would stop [Run] from starting:
// no targets, a malformed target URL or method, or contradictory limits.
// Its errors describe bad input, never a network condition.
func (c *Config) Validate() error {
	if len(c.Targets) == 0 {
		return errors.New("load: no targets")
	}
	for i, t := range c.Targets {
		if err := validateTarget(t); err != nil {
			if len(c.Targets) == 1 {
				return fmt.Errorf("load: %w", err)
			}
			return fmt.Errorf("load: target %d: %w", i+1, err)
		}
	}
	if err := c.validateLimits(); err != nil {
		return err
	}
	return c.validateStages()
}

// validateLimits checks the counts, rates and durations, and that they
// fit the model they select.
func (c *Config) validateLimits() error {
	switch {
	case c.MaxInFlight < 0:
		return errors.New("load: in-flight cap (connections) must not be negative")
	case c.MaxInFlight > MaxInFlightLimit || c.DropAbove > MaxInFlightLimit:
		return fmt.Errorf("load: connections and max in-flight must be at most %d", MaxInFlightLimit)
	case math.IsNaN(c.Rate) || math.IsInf(c.Rate, 0):
		return fmt.Errorf("load: rate %g is not a number of requests per second", c.Rate)
	case c.Duration > maxDuration || c.Warmup > maxDuration:
		return fmt.Errorf("load: duration and warmup must be at most %v", maxDuration)
	case c.Requests < 0:
		return errors.New("load: requests must not be negative")
	case c.Duration < 0:
		return errors.New("load: duration must not be negative")
	case c.Rate < 0:
		return errors.New("load: rate must not be negative")
	case c.Rate > 0 && len(c.Stages) > 0:
		return errors.New("load: rate and stages are mutually exclusive")
	case c.Requests > 0 && c.open():
		return errors.New("load: a request count applies to the closed model only; use a duration with a rate")
	case c.DropAbove < 0:
		return errors.New("load: drop-above cap must not be negative")
	case c.DropAbove > 0 && !c.open():
		return errors.New("load: dropping above an in-flight cap (--max-inflight) applies to the open model only (set a rate or stages)")
	case c.Warmup < 0:
		return errors.New("load: warmup must not be negative")
	case c.Timeout < 0:
		return errors.New("load: timeout must not be negative")
	case c.Rate > 0 && c.Rate > maxRate:
		return fmt.Errorf("load: rate %g above the supported maximum %d", c.Rate, maxRate)
	case len(c.Stages) > 0 && c.Duration > 0:
		return errors.New("load: stages set their own duration; drop the duration")
	}
	return nil
}

// validateStages checks each stage, and that the ramp is neither too long
// nor all at rate 0.
func (c *Config) validateStages() error {
	var total time.Duration
	for i, s := range c.Stages {
		if s.Duration <= 0 || !(s.Rate >= 0 && s.Rate <= maxRate) {
			return fmt.Errorf("load: stage %d: want a positive duration and a rate in [0, %d]", i+1, maxRate)
		}
		if s.Duration > maxDuration-total {
			return fmt.Errorf("load: stages last longer than %v", maxDuration)
		}
		total += s.Duration
	}
	if len(c.Stages) > 0 {
		peak := 0.0
		for _, s := range c.Stages {
			peak = max(peak, s.Rate)
		}
		if peak == 0 {
			return errors.New("load: every stage has rate 0")
		}
	}
	return nil
}

// MaxInFlightLimit bounds MaxInFlight and DropAbove: each is a goroutine,
// a socket and buffers, so far more than a machine's file descriptors
// would take gigabytes before the first request.
const MaxInFlightLimit = 100_000

// maxDuration bounds a run's length (stages summed, and the warmup) well
// inside time.Duration, whose overflow would turn a long run into none.
const maxDuration = 365 * 24 * time.Hour

// maxRate bounds the open model's rate: far above what one machine can
// send, low enough that schedule arithmetic stays exact in float64.
const maxRate = 10_000_000

// validateTarget checks one target; its errors carry no prefix, for
// the caller to say where the target came from.
func validateTarget(t Target) error {
	if t.Method != "" && (strings.ContainsAny(t.Method, " \t\r\n:/") || !isToken(t.Method)) {
		return fmt.Errorf("bad method %q", t.Method)
	}
	shown := sluice.RedactURL(t.URL) // a message shows no password
	u, err := url.Parse(t.URL)
	if err != nil {
		return fmt.Errorf("bad URL %q: %w", shown, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("bad URL %q: scheme must be http or https", shown)
	}
	if u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("bad URL %q: no host", shown)
	}
	if p, bad := urlcheck.BadPort(u); bad {
		return fmt.Errorf("bad URL %q: port %s out of range (0 to 65535)", shown, p)
	}
	for k, vs := range t.Header {
		if k == "" || !isToken(k) {
			return fmt.Errorf("bad header name %q", k)
		}
		for _, v := range vs {
			if strings.ContainsAny(v, "\r\n\x00") {
				return fmt.Errorf("bad value for header %q", k)
			}
		}
	}
	return nil
}

// isToken reports whether s is an RFC 9110 token (method, header name).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}
