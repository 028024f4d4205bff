package failure

import (
	"net/http"
	"testing"
	"time"
)

func TestRetryableStatus(t *testing.T) {
	for code, want := range map[int]bool{200: false, 301: false, 404: false, 408: true, 429: true,
		500: true, 501: false, 502: true, 503: true, 504: true} {
		if got := RetryableStatus(code); got != want {
			t.Errorf("RetryableStatus(%d) = %v, want %v", code, got, want)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{" 120 ", 2 * time.Minute, true},
		{"-1", 0, false},
		{"1.5", 0, false},
		{"12abc", 0, false},
		{"99999999999999999999999", MaxRetryAfter, true},
		{"9999999999", MaxRetryAfter, true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{now.Add(72 * time.Hour).Format(http.TimeFormat), MaxRetryAfter, true},
		{"Friday, 02-Jan-26 03:05:05 GMT", time.Minute, true}, // RFC 850
		{"Fri Jan  2 03:04:15 2026", 10 * time.Second, true},  // asctime
		{"tomorrow", 0, false},
	}
	for _, tt := range tests {
		got, ok := RetryAfter(tt.in, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("RetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestStatusPause(t *testing.T) {
	now := time.Now()
	h := http.Header{"Retry-After": {"3"}}
	for code, want := range map[int]time.Duration{429: 3 * time.Second, 503: 3 * time.Second, 500: 0, 200: 0} {
		if got := StatusPause(code, h, now); got != want {
			t.Errorf("StatusPause(%d) = %v, want %v", code, got, want)
		}
	}
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		n       int
		limit   time.Duration
		ceiling time.Duration
	}{
		{1, time.Minute, BackoffBase},
		{2, time.Minute, 2 * BackoffBase},
		{4, time.Minute, 8 * BackoffBase},
		{60, 30 * time.Second, 30 * time.Second},
		{0, time.Minute, BackoffBase},
		{3, 0, 0},
	}
	for _, tt := range tests {
		var top time.Duration
		for range 2000 {
			d := Backoff(tt.n, tt.limit)
			if d < 0 || d > tt.ceiling || tt.ceiling > 0 && d == tt.ceiling {
				t.Fatalf("Backoff(%d, %v) = %v, want in [0, %v)", tt.n, tt.limit, d, tt.ceiling)
			}
			top = max(top, d)
		}
		// Full jitter uses the whole range: 2000 draws all in its lower
		// half would happen with probability 2^-2000.
		if tt.ceiling > 0 && top < tt.ceiling/2 {
			t.Errorf("Backoff(%d, %v): largest of 2000 draws %v, want some above %v", tt.n, tt.limit, top, tt.ceiling/2)
		}
	}
}

func TestWait(t *testing.T) {
	if _, ok := Wait(1, 2*time.Minute, time.Minute); ok {
		t.Error("a pause past the limit should give up")
	}
	if d, ok := Wait(1, 5*time.Second, time.Minute); !ok || d != 5*time.Second {
		t.Errorf("Wait(1, 5s) = %v, %v; want 5s (the pause beats a 250 ms backoff)", d, ok)
	}
	if d, ok := Wait(3, 0, time.Minute); !ok || d >= 4*BackoffBase {
		t.Errorf("Wait(3, 0) = %v, %v", d, ok)
	}
}

func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"", "0", "120", "-1", "1e9", "99999999999999999999",
		"Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994"} {
		f.Add(s)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		d, ok := RetryAfter(v, now)
		if d < 0 || d > MaxRetryAfter {
			t.Fatalf("RetryAfter(%q) = %v out of [0, %v]", v, d, MaxRetryAfter)
		}
		if !ok && d != 0 {
			t.Fatalf("RetryAfter(%q) = %v with ok false", v, d)
		}
	})
}
