// Finding the highest rate a target sustains within an SLO.

package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"
)

// Defaults used when the matching [Search] field is zero.
const (
	DefaultStep      = 10 * time.Second
	DefaultMinRate   = 10
	DefaultPrecision = 0.05
)

// Search describes a search for the maximum rate (see [FindMax]). Only
// SLO is required.
type Search struct {
	// SLO holds the conditions every step must meet, as [ParseSLO]
	// returns them. A step must also achieve 90% of its offered rate.
	SLO []Threshold
	// Step is how long each rate is held. Zero means DefaultStep.
	Step time.Duration
	// Min is the first rate tried, in requests per second. Zero means
	// DefaultMinRate.
	Min float64
	// Max caps the rates tried. Zero means no cap below the package's
	// maximum rate.
	Max float64
	// Precision ends the bisection when the bracket is narrower than this
	// fraction of the passing rate. Zero means DefaultPrecision.
	Precision float64
	// OnStep, if non-nil, is called after each step from the goroutine
	// that called FindMax.
	OnStep func(Step)
}

// Step is one rate held during a search.
type Step struct {
	Rate     float64 `json:"rate"`     // offered, requests per second
	Achieved float64 `json:"achieved"` // completed, requests per second
	P50      float64 `json:"p50_ms"`   // response time
	P99      float64 `json:"p99_ms"`   // response time
	Errors   float64 `json:"errors"`   // fraction of requests failed
	Pass     bool    `json:"pass"`     // every condition of the SLO held

	Failures []string `json:"failures,omitempty"` // the conditions missed
	// GeneratorLimited is set on a failed step when the generator itself
	// fell behind the plan with connections free (a quarter of the
	// requests, and at least 50, left more than 10ms late): the step
	// measured the client, not the target.
	GeneratorLimited bool `json:"generator_limited,omitempty"`
	// Retry is set on the second attempt at a rate whose first failed.
	Retry bool `json:"retry,omitempty"`
}

// SearchResult is the outcome of [FindMax]. It is a plain value.
type SearchResult struct {
	MaxRPS float64 `json:"max_rps"` // highest rate that passed; 0 if none did
	SLO    string  `json:"slo"`     // as given to the search
	Steps  []Step  `json:"steps"`   // every rate held, in order
	// Unreachable is set when the lowest rate tried already failed.
	Unreachable bool `json:"unreachable"`
	// GeneratorLimited is set when the search stopped because the
	// generator could not keep up; MaxRPS is then a lower bound.
	GeneratorLimited bool `json:"generator_limited"`
	// AtMax is set when the search's Max passed: the target may take more.
	AtMax bool `json:"at_max"`
	// Interrupted is set when ctx ended the search; Steps hold the rates
	// held until then.
	Interrupted bool `json:"interrupted"`
}

// ParseSLO parses the conditions of a search, such as
// "p99<50ms,errors<0.1%", in the syntax of [ParseThresholds]. Conditions
// on the achieved rate are refused: the search sets the rate itself.
func ParseSLO(s string) ([]Threshold, error) {
	ths, err := ParseThresholds(s)
	if err != nil {
		return nil, err // it names the condition
	}
	for _, t := range ths {
		if t.Metric == "rps" || t.Metric == "success_rps" {
			return nil, fmt.Errorf("load: slo: %q: the search sets the rate; give latency, errors or dropped conditions", t.Text)
		}
	}
	return ths, nil
}

// FindMax searches for the highest open-model rate at which the targets of
// base meet s.SLO: it holds each rate for s.Step, doubling from s.Min until
// a step fails, then bisects between the highest pass and the lowest
// failure. A rate fails only if it fails twice running (see the steps marked
// Retry): one stall must not end the growth. base must not set Rate, Stages,
// Duration or Requests; its other fields (connections, timeout, warmup per
// step...) apply to every step. MaxInFlight should exceed the rate times the
// latency the SLO allows, or the steps measure the connection pool.
//
// The search stops early, and says so in the result, when the generator
// itself cannot keep up. It returns an error only for invalid input;
// when ctx is cancelled it returns what it found with Interrupted set.
func FindMax(ctx context.Context, base Config, s Search) (*SearchResult, error) {
	s, err := s.resolve(&base)
	if err != nil {
		return nil, err
	}
	res := &SearchResult{SLO: sloText(s.SLO)}
	b := bracket{min: s.Min, max: s.Max, precision: s.Precision}
	for {
		rate, ok := b.next()
		if !ok {
			break
		}
		pass, stop, err := s.hold(ctx, base, rate, res)
		if err != nil {
			return nil, err
		}
		if stop {
			break
		}
		b.observe(rate, pass)
	}
	res.MaxRPS = b.lo
	res.Unreachable = !res.Interrupted && !res.GeneratorLimited && len(res.Steps) > 0 && b.lo == 0
	res.AtMax = b.lo > 0 && b.lo >= b.max
	return res, nil
}

// hold runs rate for a step and, if it fails, once more: a rate fails
// only when both attempts do. A single stall of a shared machine (or of
// the target's host) can put a step's p99 over the SLO at any rate; a
// saturated target fails both. It appends the steps to res and reports
// whether the rate passed, and whether the search must stop.
func (s Search) hold(ctx context.Context, base Config, rate float64, res *SearchResult) (pass, stop bool, err error) {
	for attempt := 0; attempt < 2; attempt++ {
		cfg := base
		cfg.Rate, cfg.Duration = rate, s.Step
		rep, err := Run(ctx, cfg)
		if err != nil {
			return false, true, err
		}
		if rep.Interrupted {
			res.Interrupted = true
			return false, true, nil
		}
		st := evaluate(rep, rate, s.SLO)
		st.Retry = attempt > 0
		res.Steps = append(res.Steps, st)
		if s.OnStep != nil {
			s.OnStep(st)
		}
		if st.GeneratorLimited {
			res.GeneratorLimited = true
			return false, true, nil
		}
		if st.Pass {
			return true, false, nil
		}
	}
	return false, false, nil
}

func (s Search) resolve(base *Config) (Search, error) {
	switch {
	case len(s.SLO) == 0:
		return s, errors.New("load: find max: no SLO")
	case base.Rate != 0 || len(base.Stages) > 0 || base.Duration != 0 || base.Requests != 0:
		return s, errors.New("load: find max sets the rate and duration of each step; drop rate, stages, duration and requests")
	case s.Step < 0 || s.Min < 0 || s.Max < 0 || s.Precision < 0 || s.Precision >= 1:
		return s, errors.New("load: find max: step, min and max must not be negative, precision must be in [0, 1)")
	}
	if s.Step == 0 {
		s.Step = DefaultStep
	}
	if s.Min == 0 {
		s.Min = DefaultMinRate
	}
	if s.Max == 0 || s.Max > maxRate {
		s.Max = maxRate
	}
	if s.Min > s.Max {
		return s, fmt.Errorf("load: find max: min %g above max %g", s.Min, s.Max)
	}
	if s.Precision == 0 {
		s.Precision = DefaultPrecision
	}
	cfg := *base
	cfg.Rate, cfg.Duration = s.Min, s.Step
	return s, cfg.Validate()
}

// generatorBehind is the fraction of a step's requests that must leave
// more than genLateAfter late, with a connection free, for the step to
// count as measuring the generator rather than the target.
const generatorBehind = 0.25

// generatorBehindMin is the fewest late releases that can show the
// generator behind: a few late ones at a low rate are scheduling noise.
const generatorBehindMin = 50

// evaluate turns a step's report into its row of the search.
func evaluate(rep *Report, rate float64, slo []Threshold) Step {
	st := Step{Rate: rate, Achieved: rep.RPS, P50: rep.Latency.P50, P99: rep.Latency.P99}
	if rep.Requests > 0 {
		st.Errors = float64(rep.Failed) / float64(rep.Requests)
	}
	st.Failures = rep.Check(slo)
	if rep.RPS < 0.9*rate {
		st.Failures = append(st.Failures, fmt.Sprintf("achieved %.1f of %.1f req/s", rep.RPS, rate))
	}
	st.Pass = len(st.Failures) == 0
	planned := max(rep.Requests+rep.Dropped, 1)
	// A busy machine delays a few releases; a generator that cannot keep
	// up falls behind on most of them. A step that passed offered its rate
	// (it achieved 90% of it) whatever the lateness.
	st.GeneratorLimited = !st.Pass && rep.genLate >= generatorBehindMin && float64(rep.genLate) > generatorBehind*float64(planned)
	return st
}

func sloText(ths []Threshold) string {
	var parts []string
	for _, t := range ths {
		parts = append(parts, t.Text)
	}
	return strings.Join(parts, ",")
}

// bracket is the search's state: lo is the highest rate that passed (0
// before any), hi the lowest that failed (+Inf before any). It grows
// geometrically until a failure, then bisects.
type bracket struct {
	min, max, precision float64
	lo, hi              float64
	started             bool
}

// next returns the next rate to try, or false when the search is over.
func (b *bracket) next() (float64, bool) {
	if !b.started {
		b.started, b.hi = true, math.Inf(1)
		return b.min, true
	}
	switch {
	case b.lo == 0: // the lowest rate failed
		return 0, false
	case math.IsInf(b.hi, 1):
		if b.lo >= b.max {
			return 0, false
		}
		return min(b.lo*2, b.max), true
	case b.hi-b.lo <= b.precision*b.lo || b.hi-b.lo < 1:
		return 0, false
	}
	return math.Round((b.lo+b.hi)/2*10) / 10, true
}

// observe records whether rate passed.
func (b *bracket) observe(rate float64, pass bool) {
	if pass {
		b.lo = max(b.lo, rate)
	} else {
		b.hi = min(b.hi, rate)
	}
}

// WriteJSON writes r as indented JSON.
func (r *SearchResult) WriteJSON(w io.Writer) error { return writeJSON(w, r) }

// Verdict is one line saying what the search found.
func (r *SearchResult) Verdict() string {
	switch {
	case r.Interrupted && r.MaxRPS == 0:
		return "interrupted before any rate passed"
	case r.Unreachable:
		return fmt.Sprintf("SLO %s unreachable: even the lowest rate tried (%.1f req/s) failed", r.SLO, r.Steps[0].Rate)
	case r.GeneratorLimited:
		return fmt.Sprintf("stopped: the generator could not keep up at %.1f req/s; highest passing rate %.1f req/s is a lower bound (add clients: see --workers)",
			r.Steps[len(r.Steps)-1].Rate, r.MaxRPS)
	case r.AtMax:
		return fmt.Sprintf("%.1f req/s, the highest rate allowed, met %s; the target may take more", r.MaxRPS, r.SLO)
	case r.Interrupted:
		return fmt.Sprintf("interrupted; highest passing rate so far %.1f req/s", r.MaxRPS)
	}
	return fmt.Sprintf("maximum rate meeting %s: %.1f req/s", r.SLO, r.MaxRPS)
}

// WriteText writes the table of steps and the verdict.
func (r *SearchResult) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%10s %10s %9s %9s %8s  %s\n", "rate", "achieved", "p50", "p99", "errors", "result")
	for _, s := range r.Steps {
		verdict := "pass"
		if !s.Pass {
			verdict = "FAIL " + strings.Join(s.Failures, "; ")
		}
		if s.GeneratorLimited {
			verdict += " (generator behind)"
		}
		if s.Retry {
			verdict += " (retry)"
		}
		fmt.Fprintf(&b, "%10.1f %10.1f %9s %9s %7.2f%%  %s\n", s.Rate, s.Achieved, msString(s.P50), msString(s.P99), s.Errors*100, verdict)
	}
	b.WriteString(r.Verdict())
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}
