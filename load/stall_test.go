package load

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// stallServer answers at once except in [1s, 2s) of every 5 s after it
// starts: a request arriving then is held until the window ends, like a
// server pausing for a garbage collection or a lock.
func stallServer() *httptest.Server {
	start := time.Now()
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in := time.Since(start) % (5 * time.Second)
		if in >= time.Second && in < 2*time.Second {
			select {
			case <-time.After(2*time.Second - in):
			case <-r.Context().Done():
			}
		}
	}))
}

// TestStallShowsInOpenModel is the coordinated-omission check: at 1000
// requests/s for 6 s, one stalled second delays every request due in it by
// up to 1 s. About 1/6 of all requests are caught, so p99 must show close
// to the full second. A closed-model client, which stops sending while its
// connections are stuck, sees only a handful of slow requests and reports
// a p99 far below that; the test checks both so the contrast is measured,
// not assumed.
func TestStallShowsInOpenModel(t *testing.T) {
	if testing.Short() {
		t.Skip("12 s stall test skipped in -short mode")
	}
	srv := stallServer()
	defer srv.Close()
	open, err := Run(context.Background(), Config{Targets: []Target{{URL: srv.URL}}, Rate: 1000, Duration: 6 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("open model: p50 %.1fms p90 %.1fms p99 %.1fms max %.1fms, %d requests", open.Latency.P50, open.Latency.P90, open.Latency.P99, open.Latency.Max, open.Requests)
	if open.Latency.P99 < 800 || open.Latency.P99 > 1200 {
		t.Errorf("open model p99 = %.1fms, want about 1000ms", open.Latency.P99)
	}
	if open.Latency.P50 > 100 {
		t.Errorf("open model p50 = %.1fms, want the unstalled majority fast", open.Latency.P50)
	}
	if open.Requests+open.Cancelled+open.Dropped != 6000 || open.Failed != 0 {
		t.Errorf("open model: %d requests, %d cancelled and %d unsent at the end, %d failed; want 6000 in all, 0 failed",
			open.Requests, open.Cancelled, open.Dropped, open.Failed)
	}

	srv2 := stallServer()
	defer srv2.Close()
	closed, err := Run(context.Background(), Config{Targets: []Target{{URL: srv2.URL}}, MaxInFlight: 10, Duration: 6 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("closed model: p50 %.1fms p90 %.1fms p99 %.1fms max %.1fms, %d requests", closed.Latency.P50, closed.Latency.P90, closed.Latency.P99, closed.Latency.Max, closed.Requests)
	if closed.Latency.Max < 800 {
		t.Errorf("closed model max = %.1fms; the stall should hit its stuck connections", closed.Latency.Max)
	}
	if closed.Latency.P99 > 500 {
		t.Errorf("closed model p99 = %.1fms; expected it to hide the stall", closed.Latency.P99)
	}
}
