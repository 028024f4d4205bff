// This file holds Limiter, admission control for callers that run their
// own goroutines: caps counted by the host scheduler, and token buckets.

package sluice

import (
	"context"
	"math"
	"sync"
	"time"

	"github.com/sluicehq/sluice/internal/hostsched"
	"golang.org/x/time/rate"
)

// Limiter admits requests under four limits at once: at most MaxInFlight
// running, at most PerHost running per host, at most Rate starting per
// second overall and at most HostRate per second per host.
//
// Tokens are taken before slots, and a request that has to wait for a token
// holds no slot while it waits. Token buckets are sized to 10 ms of their
// rate (at least 1), so a waiter woken late by the timer (about 1 ms here,
// golang/go#47084) finds the tokens it missed still in the bucket and the
// achieved rate stays on target; at 200/s that burst is 2, so no second
// sees more than Rate+2 starts.
//
// The state of a host is dropped once it has been idle long enough for its
// bucket to refill (and at least IdleTimeout), so the memory a Limiter uses
// is bounded by the hosts active recently, not by all hosts ever seen.
//
// The zero value admits everything at once. Set the fields before first
// use and do not change them after. A Limiter is safe for concurrent use.
type Limiter struct {
	// MaxInFlight caps requests running at once; 0 means no cap.
	MaxInFlight int
	// PerHost caps requests running at once per host; 0 means no cap.
	PerHost int
	// Rate caps request starts per second overall; 0 means no cap.
	Rate float64
	// HostRate caps request starts per second per host with a token
	// bucket of 10 ms worth (a burst of 1 below 100/s, which spaces the
	// starts 1/HostRate apart as the Fetcher and the crawler do); 0 means
	// no cap.
	HostRate float64
	// IdleTimeout is how long a host's state is kept after its last
	// request ends; 0 means 30 seconds.
	IdleTimeout time.Duration

	once     sync.Once
	mu       sync.Mutex
	global   *rate.Limiter
	hosts    *hostsched.Scheduler[*hostState] // counts in flight, overall and per host
	released chan struct{}                    // closed and replaced on every release
	calls    int
	swept    time.Time
}

// hostState is what a Limiter keeps of a host beside its in-flight count.
type hostState struct {
	lim      *rate.Limiter
	lastUsed time.Time
}

func (l *Limiter) init() {
	l.once.Do(func() {
		l.global = hostsched.Bucket(l.Rate)
		// The host scheduler counts the caps; 0 (no cap) is a cap no
		// count reaches.
		maxInFlight := l.MaxInFlight
		if maxInFlight <= 0 {
			maxInFlight = math.MaxInt
		}
		l.hosts = hostsched.New[*hostState](maxInFlight, l.PerHost, 0)
		l.released = make(chan struct{})
	})
}

// TryAcquire takes, at time now, everything a request to host needs, if it
// can without waiting. On success it returns the function that ends the
// request; call it exactly once. Otherwise release is nil and wait says how
// long until a token is due, or is 0 when a slot is missing, in which case
// hostBusy tells whether it is the host's slot; try again after a release.
// Schedulers that must not block use TryAcquire; others use [Limiter.Wait].
func (l *Limiter) TryAcquire(host string, now time.Time) (release func(), wait time.Duration, hostBusy bool) {
	l.init()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	if l.hosts.Full() {
		return nil, 0, false
	}
	h, created := l.hosts.Host(host)
	if created {
		h.Val = &hostState{lim: hostsched.Bucket(l.HostRate)}
	}
	hs := h.Val
	hs.lastUsed = now
	if l.hosts.HostFull(h) {
		return nil, 0, true
	}
	g, d := hostsched.Take(l.global, now)
	if d > 0 {
		return nil, d, false
	}
	if _, d := hostsched.Take(hs.lim, now); d > 0 {
		if g != nil {
			g.CancelAt(now) // give back the global token
		}
		return nil, d, false
	}
	l.hosts.Start(h)
	var once sync.Once
	return func() { once.Do(func() { l.release(h) }) }, 0, false
}

func (l *Limiter) release(h *hostsched.Host[*hostState]) {
	l.mu.Lock()
	l.hosts.Done(h) // lastUsed stays the start time: the bucket refills from then
	close(l.released)
	l.released = make(chan struct{})
	l.mu.Unlock()
}

// sweep drops idle hosts now and then; the caller holds l.mu.
func (l *Limiter) sweep(now time.Time) {
	l.calls++
	idle := l.IdleTimeout
	if idle <= 0 {
		idle = 30 * time.Second
	}
	if l.HostRate > 0 {
		// Only a full bucket may be forgotten, or a host could burst.
		refill := time.Duration(float64(max(1, int(math.Ceil(l.HostRate/100)))) / l.HostRate * float64(time.Second))
		idle = max(idle, refill)
	}
	if l.calls%4096 != 0 && now.Sub(l.swept) < idle {
		return
	}
	l.swept = now
	l.hosts.Each(func(h *hostsched.Host[*hostState]) {
		if h.InFlight() == 0 && now.Sub(h.Val.lastUsed) >= idle {
			l.hosts.Forget(h)
		}
	})
}

// Hosts returns the number of hosts whose state the Limiter holds.
func (l *Limiter) Hosts() int {
	l.init()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.hosts.Len()
}

// InFlight returns the number of requests admitted and not yet released.
func (l *Limiter) InFlight() int {
	l.init()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.hosts.InFlight()
}

// Wait blocks until a request to host may start, then returns the function
// that ends it; call it exactly once. While it waits for a token it holds
// no slot. It returns ctx's error if ctx ends first.
func (l *Limiter) Wait(ctx context.Context, host string) (release func(), err error) {
	l.init()
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		l.mu.Lock()
		released := l.released
		l.mu.Unlock()
		release, wait, _ := l.TryAcquire(host, time.Now())
		if release != nil {
			return release, nil
		}
		var wake <-chan time.Time
		if wait > 0 {
			if timer == nil {
				timer = time.NewTimer(wait)
			} else {
				timer.Reset(wait)
			}
			wake = timer.C
		}
		select {
		case <-wake:
		case <-released:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
