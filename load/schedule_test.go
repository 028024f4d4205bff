package load

import (
	"testing"
	"time"
)

func TestScheduleConstant(t *testing.T) {
	s := constantSchedule(10000, 10*time.Second)
	if s.total != 100000 {
		t.Fatalf("total = %d, want 100000", s.total)
	}
	tests := []struct {
		i    int64
		want time.Duration
	}{
		{0, 0},
		{1, 100 * time.Microsecond},
		{10000, time.Second},
		{99999, 9*time.Second + 999900*time.Microsecond},
	}
	for _, tt := range tests {
		if got := s.at(tt.i); got != tt.want {
			t.Errorf("at(%d) = %v, want %v", tt.i, got, tt.want)
		}
	}
	for sec := 0; sec < 10; sec++ {
		n := s.count(time.Duration(sec+1)*time.Second) - s.count(time.Duration(sec)*time.Second)
		if n != 10000 {
			t.Errorf("second %d plans %d requests, want 10000", sec, n)
		}
	}
}

func TestScheduleRamp(t *testing.T) {
	// 0 → 100/s over 10s, hold 100/s for 10s, then down to 0 over 10s:
	// 500 + 1000 + 500 requests.
	s := newSchedule([]Stage{{10 * time.Second, 100}, {10 * time.Second, 100}, {10 * time.Second, 0}})
	if s.total != 2000 || s.end != 30*time.Second {
		t.Fatalf("total %d end %v, want 2000 and 30s", s.total, s.end)
	}
	tests := []struct {
		i    int64
		want time.Duration
	}{
		{0, 0},
		{5, time.Second},                   // N(t) = 5t² on the ramp
		{500, 10 * time.Second},            // end of the ramp
		{600, 11 * time.Second},            // plateau: one per 10 ms
		{1500, 20 * time.Second},           // start of the ramp down
		{1999, 30*time.Second - 447213595}, // N(30-u) = 2000 - 5u², so u = √0.2 s
	}
	for _, tt := range tests {
		got := s.at(tt.i)
		if d := got - tt.want; d < -time.Microsecond || d > time.Microsecond {
			t.Errorf("at(%d) = %v, want %v", tt.i, got, tt.want)
		}
	}
	// Instants are strictly increasing and count inverts at.
	prev := time.Duration(-1)
	for i := int64(0); i < s.total; i++ {
		at := s.at(i)
		if at <= prev {
			t.Fatalf("at(%d) = %v not after at(%d) = %v", i, at, i-1, prev)
		}
		if c := s.count(at + time.Nanosecond); c != i+1 {
			t.Fatalf("count just after at(%d) = %d, want %d", i, c, i+1)
		}
		prev = at
	}
}

func TestScheduleZeroStage(t *testing.T) {
	// A pause at rate 0 between two steps plans nothing inside it.
	s := newSchedule([]Stage{{time.Second, 100}, {time.Second, 0}, {time.Second, 0}, {time.Second, 100}})
	for i := int64(0); i < s.total; i++ {
		at := s.at(i)
		if at > 2*time.Second && at < 3*time.Second {
			t.Fatalf("request %d planned at %v, inside the pause", i, at)
		}
	}
	if s.total != 150 { // 50 up, 50 down, 0, 50 up
		t.Fatalf("total %d, want 150", s.total)
	}
}

func FuzzStages(f *testing.F) {
	for _, s := range []string{"10s:100,30s:1000,10s:0", "1s:1", "5ms:0.5", "", "1s:", ":5", "1s:1e9", "-1s:5", "1h:NaN"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		st, err := ParseStages(in)
		if err != nil {
			return
		}
		var total time.Duration
		for _, s := range st {
			if s.Duration <= 0 || s.Rate < 0 || s.Rate > maxRate || s.Rate != s.Rate {
				t.Fatalf("ParseStages(%q) accepted %+v", in, s)
			}
			total += s.Duration
		}
		if total > time.Hour || total < 0 {
			return // keep the plan walk below cheap
		}
		sc := newSchedule(st)
		if sc.total > 1e5 {
			return
		}
		prev := time.Duration(-1)
		for i := int64(0); i < sc.total; i++ {
			at := sc.at(i)
			if at < prev || at > sc.end {
				t.Fatalf("%q: at(%d) = %v after %v (end %v)", in, i, at, prev, sc.end)
			}
			prev = at
		}
	})
}

func BenchmarkScheduleAt(b *testing.B) {
	s := newSchedule([]Stage{{10 * time.Second, 1000}, {30 * time.Second, 20000}, {10 * time.Second, 0}})
	b.ReportAllocs()
	var sink time.Duration
	for i := 0; b.Loop(); i++ {
		sink += s.at(int64(i) % s.total)
	}
	_ = sink
}
