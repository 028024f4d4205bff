package load

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/failure"
)

func TestRecorderRows(t *testing.T) {
	s := constantSchedule(10, 3*time.Second)
	r := newRecorder(1, &s)
	r.markSent(100 * time.Millisecond)
	r.record(&result{intended: 100 * time.Millisecond, sent: 100 * time.Millisecond, done: 300 * time.Millisecond, status: 200})
	r.markSent(1500 * time.Millisecond)
	r.record(&result{intended: 1200 * time.Millisecond, sent: 1500 * time.Millisecond, done: 2500 * time.Millisecond, err: context.DeadlineExceeded})
	// A refused connect is counted but kept out of the latency figures.
	r.record(&result{intended: 2550 * time.Millisecond, sent: 2550 * time.Millisecond, done: 2551 * time.Millisecond, err: syscall.ECONNREFUSED})
	r.advance(3 * time.Second)
	r.flushHists()
	if len(r.rows) != 3 {
		t.Fatalf("%d rows, want 3", len(r.rows))
	}
	want := []Second{
		{T: 0, Target: 10, Sent: 1, Done: 1, OK: 1, P50: 200, P90: 200, P99: 200, Max: 200},
		{T: 1, Target: 10, Sent: 1},
		{T: 2, Target: 10, Done: 2, Errors: 2, P50: 1300, P90: 1300, P99: 1300, Max: 1300},
	}
	for i, w := range want {
		got := r.rows[i]
		if h, err := decodeHist(got.Hist, histDigits); err != nil || h.TotalCount() > got.Done || (h.TotalCount() > 0) != (got.P50 > 0) {
			t.Errorf("row %d: histogram holds %d requests (%v) of %d done, p50 %v", i, h.TotalCount(), err, got.Done, got.P50)
		}
		got.Hist = ""
		// HDR buckets round to 3 significant digits.
		for _, p := range []*float64{&got.P50, &got.P90, &got.P99, &got.Max} {
			*p = float64(int(*p + 0.5))
		}
		if got != w {
			t.Errorf("row %d = %+v, want %+v", i, got, w)
		}
	}
	if r.lateSends != 1 || r.kinds[failure.Timeout] != 1 || r.kinds[failure.Connect] != 1 || r.failed != 2 || r.ok != 1 || r.resp.TotalCount() != 2 {
		t.Fatalf("late %d timeout %d dial %d failed %d ok %d timed %d", r.lateSends, r.kinds[failure.Timeout], r.kinds[failure.Connect], r.failed, r.ok, r.resp.TotalCount())
	}
}

func BenchmarkRecord(b *testing.B) {
	s := constantSchedule(1e6, time.Hour)
	r := newRecorder(1, &s)
	b.ReportAllocs()
	var i time.Duration
	for b.Loop() {
		i += time.Microsecond
		r.markSent(i)
		r.record(&result{intended: i, sent: i, done: i + 300*time.Microsecond, status: 200})
	}
}
