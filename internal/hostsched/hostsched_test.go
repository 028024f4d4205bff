package hostsched

import (
	"testing"
	"time"
)

// queues is a test source: a count of items per host.
type queues map[string]int

func (q queues) load(s *Scheduler[int]) {
	for k, n := range q {
		h, _ := s.Host(k)
		s.SetWork(h, n > 0)
	}
}

// starter starts one item of h's queue, pacing h by delay.
func starter(s *Scheduler[int], q queues, now time.Time, delay time.Duration, log *[]string) func(*Host[int]) bool {
	return func(h *Host[int]) bool {
		q[h.Key]--
		s.Start(h)
		s.Pace(h, now, delay)
		s.SetWork(h, q[h.Key] > 0)
		*log = append(*log, h.Key)
		return true
	}
}

func count(log []string) map[string]int {
	m := map[string]int{}
	for _, k := range log {
		m[k]++
	}
	return m
}

func TestDispatchCaps(t *testing.T) {
	now := time.Unix(1000, 0)
	tests := []struct {
		name             string
		maxInFlight, per int
		q                queues
		want             map[string]int
	}{
		{"global cap", 4, 0, queues{"a": 10}, map[string]int{"a": 4}},
		{"per-host cap", 10, 2, queues{"a": 10, "b": 10}, map[string]int{"a": 2, "b": 2}},
		{"fair share", 6, 0, queues{"a": 10, "b": 10, "c": 10}, map[string]int{"a": 2, "b": 2, "c": 2}},
		{"share left over goes round", 6, 0, queues{"a": 10, "b": 1}, map[string]int{"a": 5, "b": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New[int](tt.maxInFlight, tt.per, 0)
			tt.q.load(s)
			var log []string
			s.Dispatch(now, starter(s, tt.q, now, 0, &log))
			got := count(log)
			for k, n := range tt.want {
				if got[k] != n {
					t.Errorf("started %v, want %v", got, tt.want)
					break
				}
			}
			if s.InFlight() != len(log) {
				t.Errorf("InFlight %d, started %d", s.InFlight(), len(log))
			}
		})
	}
}

func TestDispatchPacingAndHold(t *testing.T) {
	now := time.Unix(1000, 0)
	s := New[int](10, 0, 0)
	q := queues{"a": 5}
	q.load(s)
	var log []string
	wake := s.Dispatch(now, starter(s, q, now, 100*time.Millisecond, &log))
	if len(log) != 1 || !wake.Equal(now.Add(100*time.Millisecond)) {
		t.Fatalf("started %v, wake %v; want 1 start and a wake 100ms on", log, wake.Sub(now))
	}
	// A late wake-up within PaceSlack counts from when the start was due.
	late := now.Add(105 * time.Millisecond)
	s.Dispatch(late, starter(s, q, late, 100*time.Millisecond, &log))
	if h := s.Lookup("a"); !h.Next().Equal(now.Add(200 * time.Millisecond)) {
		t.Fatalf("next %v, want 200ms after the first start", h.Next().Sub(now))
	}
	h := s.Lookup("a")
	s.Hold(h, now.Add(time.Hour))
	if wake := s.Dispatch(now.Add(time.Second), starter(s, q, now, 0, &log)); len(log) != 2 || !wake.Equal(now.Add(time.Hour)) {
		t.Fatalf("held host started (%v) or wake %v", log, wake)
	}
}

func TestDispatchGlobalRate(t *testing.T) {
	now := time.Unix(1000, 0)
	s := New[int](100, 0, 100) // burst 1
	q := queues{"a": 50, "b": 50}
	q.load(s)
	var log []string
	wake := s.Dispatch(now, starter(s, q, now, 0, &log))
	if len(log) != 1 || wake.Sub(now) != 10*time.Millisecond {
		t.Fatalf("started %d, wake in %v; want 1 and 10ms", len(log), wake.Sub(now))
	}
}

func TestDispatchSkipsHostThatStartsNothing(t *testing.T) {
	now := time.Unix(1000, 0)
	s := New[int](10, 0, 0)
	q := queues{"a": 1, "b": 3}
	q.load(s)
	var log []string
	start := starter(s, q, now, 0, &log)
	calls := 0
	s.Dispatch(now, func(h *Host[int]) bool {
		calls++
		if h.Key == "a" {
			return false // a source that found nothing after all
		}
		return start(h)
	})
	if got := count(log); got["b"] != 3 || calls > 10 {
		t.Fatalf("started %v in %d calls", got, calls)
	}
	if s.Lookup("a").index < 0 {
		t.Fatal("host a left out of the ready heap after the round")
	}
}

func TestDoneReopensCappedHost(t *testing.T) {
	now := time.Unix(1000, 0)
	s := New[int](10, 1, 0)
	q := queues{"a": 3}
	q.load(s)
	var log []string
	s.Dispatch(now, starter(s, q, now, 0, &log))
	s.Dispatch(now, starter(s, q, now, 0, &log))
	if len(log) != 1 {
		t.Fatalf("per-host cap 1 started %d", len(log))
	}
	s.Done(s.Lookup("a"))
	s.Dispatch(now, starter(s, q, now, 0, &log))
	if len(log) != 2 || s.InFlight() != 1 {
		t.Fatalf("after Done: started %d, in flight %d", len(log), s.InFlight())
	}
}
