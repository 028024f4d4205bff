package load

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/hostile"
)

// TestRunEndsAtDuration runs both models against a server that never
// answers, with a timeout far longer than the duration. The run must end
// at its duration, not its timeout: what is in flight is cancelled and
// counted, and in the open model nothing due after the plan is sent.
func TestRunEndsAtDuration(t *testing.T) {
	srv := hostile.New(hostile.Config{})
	defer srv.Close()
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"closed", Config{MaxInFlight: 4, Duration: 300 * time.Millisecond}},
		{"open", Config{MaxInFlight: 4, Rate: 100_000, Duration: 300 * time.Millisecond}},
		{"stages", Config{MaxInFlight: 4, Stages: []Stage{{Duration: 300 * time.Millisecond, Rate: 50_000}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Targets = []Target{{URL: srv.URL + "/stall"}}
			cfg.Timeout = time.Minute
			// The guard is far past the duration and far short of the
			// timeout: a run that waits for its timeout hits it.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			rep, err := Run(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Interrupted {
				t.Fatalf("run outlived its %v duration (cut by the guard)", cfg.duration())
			}
			if rep.Cancelled != 4 || rep.Requests != 0 {
				t.Fatalf("cancelled %d, requests %d; want the 4 in flight cancelled and none completed", rep.Cancelled, rep.Requests)
			}
			// The 4 were sent as the run began and waited to its end: the
			// report says so, where it said only that 4 were cut off.
			if w := rep.CancelledWait; w < rep.Duration*1000/2 || w > rep.Duration*1000+1 { // Duration is rounded to the millisecond
				t.Fatalf("cancelled requests waited up to %.3f ms, want most of the %.3f s run", w, rep.Duration)
			}
			var text strings.Builder
			if err := rep.WriteText(&text); err != nil || !strings.Contains(text.String(), "4 cancelled in flight at the end, the longest after ") {
				t.Fatalf("text report does not say how long the cut requests waited (%v):\n%s", err, text.String())
			}
			if m, err := Merge(rep, rep); err != nil || m.CancelledWait != rep.CancelledWait {
				t.Fatalf("merged with itself: cancelled wait %v, want %v (%v)", m.CancelledWait, rep.CancelledWait, err)
			}
			if !cfg.open() {
				return
			}
			sched := newSchedule(cfg.Stages)
			if cfg.Rate > 0 {
				sched = constantSchedule(cfg.Rate, cfg.Duration)
			}
			if got := rep.Dropped + rep.Cancelled; got != sched.total {
				t.Fatalf("dropped %d + cancelled %d = %d, want the plan's %d", rep.Dropped, rep.Cancelled, got, sched.total)
			}
			var sent int64
			for _, s := range rep.Seconds {
				sent += s.Sent
			}
			if sent != 4 {
				t.Fatalf("sent %d, want 4 (one per connection, all stalled)", sent)
			}
		})
	}
}

// TestRampDownLastsThePlan runs a ramp down to rate 0, whose last request
// falls due before the plan ends: the run lasts the plan, as --stages
// asks, so its rate is over the plan's length. It ended with the last
// answer, 45 ms early here (0.3 s of a 10 s ramp to 0), and reported a
// rate above the plan's.
func TestRampDownLastsThePlan(t *testing.T) {
	srv := hostile.New(hostile.Config{})
	defer srv.Close()
	cfg := Config{Targets: []Target{{URL: srv.URL + "/"}}, MaxInFlight: 4,
		Stages: []Stage{{Duration: 200 * time.Millisecond, Rate: 200}, {Duration: 200 * time.Millisecond, Rate: 0}}}
	rep := mustRun(t, cfg)
	if rep.Requests+rep.Dropped+rep.Cancelled != 40 {
		t.Fatalf("requests %d, dropped %d, cancelled %d: want the plan's 40", rep.Requests, rep.Dropped, rep.Cancelled)
	}
	if rep.Duration < 0.4 || rep.RPS > rep.TargetRPS {
		t.Fatalf("ran %.3f s at %.1f req/s; want the plan's 0.4 s at no more than its %.1f req/s", rep.Duration, rep.RPS, rep.TargetRPS)
	}
}

// TestRowsEndWithTheRun checks that a run of one second has one row per
// second: the moments after its end, taken to cancel what was in flight
// (and, in the open model, to wait out the plan), made a second row, empty
// or with the few answers that came in then, and the rate chart fell to 0
// at its end.
func TestRowsEndWithTheRun(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(okHandler))
	defer srv.Close()
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"closed", Config{MaxInFlight: 2, Duration: time.Second}},
		{"open", Config{MaxInFlight: 2, Rate: 50, Duration: time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Targets = []Target{{URL: srv.URL + "/"}}
			rep := mustRun(t, cfg)
			if rep.Duration != 1 {
				t.Errorf("a run of 1 s reported as %.3f s", rep.Duration)
			}
			if len(rep.Seconds) != 1 {
				t.Fatalf("%d rows for a run of %.3f s: %+v", len(rep.Seconds), rep.Duration, rep.Seconds)
			}
			if s := rep.Seconds[0]; s.Done != rep.Requests || (cfg.open() && s.Target != 50) {
				t.Fatalf("row %+v; want all %d requests done in it", s, rep.Requests)
			}
		})
	}
}
