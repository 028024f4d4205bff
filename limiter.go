// This file holds Limiter, admission control for callers that run their
// own goroutines: caps and per-host pacing kept by the host scheduler, and
// a token bucket for the global rate.

package sluice

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/sluicehq/sluice/internal/hostsched"
	"golang.org/x/time/rate"
)

// Limiter admits requests under four limits at once: at most MaxInFlight
// running, at most PerHost running per host, at most Rate starting per
// second overall, and a host's starts spaced 1/HostRate apart.
//
// HostRate means what it means in [Fetcher] and crawler.Crawler: the same
// host scheduler paces a host, so a start counts from when it was due
// unless it is more than 10 ms late (a timer woken late does not lower the
// rate; a host that was idle gets no credit). Rate is a token bucket sized
// to 10 ms of its rate (at least 1), for the same reason: a waiter woken
// late by the timer (about 1 ms here, golang/go#47084) finds the tokens it
// missed still in the bucket and the achieved rate stays on target; at
// 200/s that burst is 2, so no second sees more than Rate+2 starts.
//
// Pacing and tokens are checked before slots are taken, and a request that
// has to wait for either holds no slot while it waits.
//
// The state of a host is dropped once it has been idle for IdleTimeout and
// its next start is due, so the memory a Limiter uses is bounded by the
// hosts active recently, not by all hosts ever seen.
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
	// HostRate paces each host: its starts are spaced 1/HostRate seconds
	// apart, as in the Fetcher and the crawler; 0 means no pacing.
	HostRate float64
	// IdleTimeout is how long a host's state is kept once no request to
	// it runs or is asked for; 0 means 30 seconds.
	IdleTimeout time.Duration

	once     sync.Once
	mu       sync.Mutex
	global   *rate.Limiter
	spacing  time.Duration                    // from HostRate
	hosts    *hostsched.Scheduler[*hostState] // counts in flight and paces, overall and per host
	released chan struct{}                    // closed and replaced on every release
	calls    int
	swept    time.Time
}

// hostState is what a Limiter keeps of a host beside its scheduling state.
type hostState struct {
	lastUsed time.Time
}

func (l *Limiter) init() {
	l.once.Do(func() {
		l.global = hostsched.Bucket(l.Rate)
		l.spacing = hostsched.Spacing(l.HostRate)
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
// long until the host's pacing or a token allows a start, or is 0 when a
// slot is missing, in which case hostBusy tells whether it is the host's
// slot; try again after a release. Schedulers that must not block use
// TryAcquire; others use [Limiter.Wait].
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
		h.Val = &hostState{}
	}
	h.Val.lastUsed = now
	if l.hosts.HostFull(h) {
		return nil, 0, true
	}
	if d := h.Next().Sub(now); d > 0 {
		return nil, d, false
	}
	if _, d := hostsched.Take(l.global, now); d > 0 {
		return nil, d, false
	}
	l.hosts.Start(h)
	if l.spacing > 0 {
		l.hosts.Pace(h, now, l.spacing)
	}
	var once sync.Once
	return func() { once.Do(func() { l.release(h) }) }, 0, false
}

func (l *Limiter) release(h *hostsched.Host[*hostState]) {
	l.mu.Lock()
	l.hosts.Done(h)
	close(l.released)
	l.released = make(chan struct{})
	l.mu.Unlock()
}

// sweep drops idle hosts now and then; the caller holds l.mu. A host is
// kept until its next start is due, so forgetting it cannot let one start
// early.
func (l *Limiter) sweep(now time.Time) {
	l.calls++
	idle := l.IdleTimeout
	if idle <= 0 {
		idle = 30 * time.Second
	}
	if l.calls%4096 != 0 && now.Sub(l.swept) < idle {
		return
	}
	l.swept = now
	l.hosts.Each(func(h *hostsched.Host[*hostState]) {
		if h.InFlight() == 0 && now.Sub(h.Val.lastUsed) >= idle && !now.Before(h.Next()) {
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
// no slot. It returns ctx's error if ctx ends first, and at once, with an
// error wrapping context.DeadlineExceeded, if the wait for a token (Rate,
// HostRate) would end after ctx's deadline, as x/time/rate's Wait does.
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
			if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
				// A later try only waits longer: tokens come at their
				// pace, and other waiters may take them first.
				return nil, fmt.Errorf("sluice: limiter: a wait of %v for %s would pass ctx's deadline: %w", wait.Round(time.Millisecond), host, context.DeadlineExceeded)
			}
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
