package sluice

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestLimiterSlots(t *testing.T) {
	l := &Limiter{MaxInFlight: 3, PerHost: 2}
	r1, _, _ := l.TryAcquire("a", t0)
	r2, _, _ := l.TryAcquire("a", t0)
	if r1 == nil || r2 == nil {
		t.Fatal("first two requests to a were refused")
	}
	if r, wait, hostBusy := l.TryAcquire("a", t0); r != nil || wait != 0 || !hostBusy {
		t.Fatalf("third to a: granted=%v wait=%v hostBusy=%v; want host busy", r != nil, wait, hostBusy)
	}
	r3, _, _ := l.TryAcquire("b", t0)
	if r3 == nil {
		t.Fatal("b refused while a slot is free")
	}
	if r, _, hostBusy := l.TryAcquire("c", t0); r != nil || hostBusy {
		t.Fatal("fourth request granted over MaxInFlight, or blamed on the host")
	}
	r1()
	r1() // a second call is harmless
	if l.InFlight() != 2 {
		t.Fatalf("in flight %d after one release", l.InFlight())
	}
	if r, _, _ := l.TryAcquire("a", t0); r == nil {
		t.Fatal("a refused after a release")
	}
}

func TestLimiterRates(t *testing.T) {
	for _, tc := range []struct {
		name     string
		l        *Limiter
		host     func(i int) string
		perSec   int // grants in one simulated second, stepping 100 µs
		min, max int
	}{
		{"global 200/s", &Limiter{Rate: 200}, func(int) string { return "h" }, 0, 200, 202},
		{"global 20000/s", &Limiter{Rate: 20000}, func(i int) string { return fmt.Sprint(i % 7) }, 0, 19990, 20200},
		{"host 50/s", &Limiter{HostRate: 50}, func(int) string { return "h" }, 0, 50, 51},
		{"host 50/s on 3 hosts", &Limiter{HostRate: 50}, func(i int) string { return fmt.Sprint(i % 3) }, 0, 150, 153},
		{"global 100 host 50 on 3 hosts", &Limiter{Rate: 100, HostRate: 50}, func(i int) string { return fmt.Sprint(i % 3) }, 0, 100, 101},
	} {
		t.Run(tc.name, func(t *testing.T) {
			granted := 0
			for i := 0; i < 10000; i++ {
				now := t0.Add(time.Duration(i) * 100 * time.Microsecond)
				for k := 0; k < 4; k++ { // several callers per tick
					if r, _, _ := tc.l.TryAcquire(tc.host(i*4+k), now); r != nil {
						granted++
						r()
					}
				}
			}
			if granted < tc.min || granted > tc.max {
				t.Fatalf("granted %d in one second; want %d..%d", granted, tc.min, tc.max)
			}
		})
	}
}

func TestLimiterReportsTokenWait(t *testing.T) {
	l := &Limiter{Rate: 10}
	if r, _, _ := l.TryAcquire("h", t0); r == nil {
		t.Fatal("first request refused")
	}
	r, wait, _ := l.TryAcquire("h", t0)
	if r != nil || wait < 99*time.Millisecond || wait > 101*time.Millisecond {
		t.Fatalf("second request: granted=%v wait=%v; want a 100ms wait", r != nil, wait)
	}
	if l.InFlight() != 1 {
		t.Fatalf("a request waiting for a token holds a slot: in flight %d", l.InFlight())
	}
	if r, _, _ := l.TryAcquire("h", t0.Add(wait)); r == nil {
		t.Fatal("refused once the token was due")
	}
}

// TestLimiterHostPacing checks that HostRate spaces a host's starts as the
// Fetcher and the crawler do: 1/HostRate apart, counted from when a start
// was due unless it came more than hostsched.PaceSlack late.
func TestLimiterHostPacing(t *testing.T) {
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	for _, tc := range []struct {
		name  string
		tries []int // ms at which TryAcquire("h") is called in turn
		want  []int // for each try: -1 granted, else the wait in ms
	}{
		{"spaced 100ms", []int{0, 0, 50, 100, 100, 200}, []int{-1, 100, 50, -1, 100, -1}},
		{"a start a little late counts from when it was due", []int{0, 105, 200}, []int{-1, -1, -1}},
		{"a start much late counts from then", []int{0, 150, 200, 250}, []int{-1, -1, 50, -1}},
		{"no burst after idling", []int{0, 5000, 5000, 5100}, []int{-1, -1, 100, -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := &Limiter{HostRate: 10}
			for i, at := range tc.tries {
				r, wait, hostBusy := l.TryAcquire("h", ms(at))
				switch {
				case hostBusy:
					t.Fatalf("try %d at %dms: blamed on the host's slots", i, at)
				case tc.want[i] < 0 && r == nil:
					t.Fatalf("try %d at %dms: refused, wait %v; want granted", i, at, wait)
				case tc.want[i] >= 0 && (r != nil || wait != time.Duration(tc.want[i])*time.Millisecond):
					t.Fatalf("try %d at %dms: granted=%v wait=%v; want a %dms wait", i, at, r != nil, wait, tc.want[i])
				}
				if r != nil {
					r()
				}
			}
			if l.InFlight() != 0 {
				t.Fatalf("in flight %d after every release", l.InFlight())
			}
		})
	}
}

// TestLimiterPacingHoldsNoSlot checks that a request waiting for its host's
// pacing takes no slot, and that other hosts are not paced by it.
func TestLimiterPacingHoldsNoSlot(t *testing.T) {
	l := &Limiter{HostRate: 1, MaxInFlight: 2}
	ra, _, _ := l.TryAcquire("a", t0)
	if r, wait, _ := l.TryAcquire("a", t0); r != nil || wait != time.Second {
		t.Fatalf("second start on a: granted=%v wait=%v; want a 1s wait", r != nil, wait)
	}
	rb, _, _ := l.TryAcquire("b", t0)
	if ra == nil || rb == nil || l.InFlight() != 2 {
		t.Fatalf("a and b not both running: in flight %d", l.InFlight())
	}
	ra()
	rb()
}

// TestLimiterKeepsPacedHosts checks that a host is not forgotten, and so
// not let start early, before its next start is due.
func TestLimiterKeepsPacedHosts(t *testing.T) {
	l := &Limiter{HostRate: 0.1, IdleTimeout: time.Second} // 10s apart
	r, _, _ := l.TryAcquire("h", t0)
	r()
	for i := range 5000 { // sweeps run every 4096 calls
		l.TryAcquire(fmt.Sprint("o", i), t0.Add(5*time.Second))
	}
	if r, wait, _ := l.TryAcquire("h", t0.Add(5*time.Second)); r != nil || wait != 5*time.Second {
		t.Fatalf("h at 5s: granted=%v wait=%v; want a 5s wait", r != nil, wait)
	}
	if r, _, _ := l.TryAcquire("h", t0.Add(10*time.Second)); r == nil {
		t.Fatal("h refused at 10s, when it was due")
	}
}

func TestLimiterEvictsIdleHosts(t *testing.T) {
	l := &Limiter{HostRate: 10, IdleTimeout: time.Second}
	for i := range 100_000 {
		r, _, _ := l.TryAcquire(fmt.Sprintf("host%d.example", i), t0)
		if r == nil {
			t.Fatal("refused")
		}
		r()
	}
	busy, _, _ := l.TryAcquire("busy.example", t0)
	later := t0.Add(2 * time.Second)
	l.TryAcquire("other.example", later)
	if n := l.Hosts(); n > 2 {
		t.Fatalf("%d hosts kept after they went idle; want at most 2", n)
	}
	busy()
}

func TestLimiterWait(t *testing.T) {
	l := &Limiter{MaxInFlight: 1}
	r, err := l.Wait(context.Background(), "h")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan func(), 1)
	go func() {
		r2, err := l.Wait(context.Background(), "h")
		if err != nil {
			t.Error(err)
		}
		got <- r2
	}()
	select {
	case <-got:
		t.Fatal("Wait returned while the only slot was held")
	case <-time.After(20 * time.Millisecond):
	}
	r()
	(<-got)()

	l2 := &Limiter{Rate: 1}
	r, _ = l2.Wait(context.Background(), "h")
	r()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	// The next token comes in about a second, past the deadline: Wait
	// says so at once rather than when the deadline comes.
	if _, err := l2.Wait(ctx, "h"); !errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
		t.Fatalf("Wait = %v (ctx: %v), want deadline exceeded before the deadline", err, ctx.Err())
	}
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	if _, err := l2.Wait(ctx, "h"); err != context.Canceled {
		t.Fatalf("Wait with a cancelled ctx = %v, want context.Canceled", err)
	}
}
