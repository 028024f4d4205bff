// Package hostsched is the one place that decides when a request to a host
// may start, for the Fetcher's dispatcher and the crawler's scheduler
// alike: a global in-flight cap, a per-host in-flight cap, a fair share of
// slots while several hosts have work, per-host pacing (start-to-start
// spacing), pauses a server asked for, and a global rate.
//
// A Scheduler holds no queues and runs no goroutine. Its owner keeps the
// work of each host in its own source (a slice of jobs, a frontier) and
// drives it from one goroutine:
//
//	owner loop ──SetWork(h, true)──▶ Scheduler ◀──Done(h)── request ends
//	     │                              │
//	     └──Dispatch(now, start)──▶ due host h, under caps, share, rate
//	                                    │
//	                    start(h): take h's next item from the source,
//	                    hand it to a worker, Pace(h, …) ─▶ true
//
// It is not safe for concurrent use.
package hostsched

import (
	"container/heap"
	"math"
	"time"

	"golang.org/x/time/rate"
)

// PaceSlack is how late a host's start may be and still count from when it
// was due, rather than from when it happened. Timers wake about 1 ms late
// (golang/go#47084); without the slack a host paced at 3000 starts a
// second reached 1,100 (crawler rate bench). A start later than this (a
// host that was idle) counts from now, so no credit builds up.
const PaceSlack = 10 * time.Millisecond

// Host is the scheduling state of one host; Val is its owner's.
type Host[T any] struct {
	// Key names the host, as given to [Scheduler.Host].
	Key string
	// Val is the owner's state of the host.
	Val T

	inFlight int
	next     time.Time // earliest next start
	work     bool      // the owner's source has work for the host
	index    int       // in the ready heap, or -1
}

// InFlight returns the number of requests to h started and not done.
func (h *Host[T]) InFlight() int { return h.inFlight }

// Next returns the earliest time h may start its next request.
func (h *Host[T]) Next() time.Time { return h.next }

// Scheduler decides which host starts next. Create it with New.
type Scheduler[T any] struct {
	maxInFlight, perHost int
	global               *rate.Limiter
	hosts                map[string]*Host[T]
	ready                hostHeap[T] // hosts with work under their cap, by next
	inFlight             int
	held                 []*Host[T] // scratch for Dispatch
}

// New returns a Scheduler that lets maxInFlight requests run at once (at
// least 1), perHost per host (0 or more than maxInFlight means
// maxInFlight) and starts at most ratePerSec a second overall (0 means no
// cap).
func New[T any](maxInFlight, perHost int, ratePerSec float64) *Scheduler[T] {
	maxInFlight = max(maxInFlight, 1)
	if perHost <= 0 || perHost > maxInFlight {
		perHost = maxInFlight
	}
	return &Scheduler[T]{maxInFlight: maxInFlight, perHost: perHost, global: Bucket(ratePerSec),
		hosts: make(map[string]*Host[T])}
}

// Host returns the state of the host named key, creating it.
func (s *Scheduler[T]) Host(key string) (h *Host[T], created bool) {
	if h = s.hosts[key]; h != nil {
		return h, false
	}
	h = &Host[T]{Key: key, index: -1}
	s.hosts[key] = h
	return h, true
}

// Lookup returns the state of the host named key, or nil.
func (s *Scheduler[T]) Lookup(key string) *Host[T] { return s.hosts[key] }

// Each calls fn for every host known.
func (s *Scheduler[T]) Each(fn func(*Host[T])) {
	for _, h := range s.hosts {
		fn(h)
	}
}

// Forget drops h, which must have no work and nothing in flight.
func (s *Scheduler[T]) Forget(h *Host[T]) {
	if h.index >= 0 {
		heap.Remove(&s.ready, h.index)
	}
	delete(s.hosts, h.Key)
}

// Len returns the number of hosts known.
func (s *Scheduler[T]) Len() int { return len(s.hosts) }

// InFlight returns the number of requests started and not done.
func (s *Scheduler[T]) InFlight() int { return s.inFlight }

// Full reports whether every in-flight slot is taken.
func (s *Scheduler[T]) Full() bool { return s.inFlight >= s.maxInFlight }

// HostFull reports whether h has taken its per-host slots.
func (s *Scheduler[T]) HostFull(h *Host[T]) bool { return h.inFlight >= s.perHost }

// Waiting returns the number of hosts with work under their cap.
func (s *Scheduler[T]) Waiting() int { return len(s.ready) }

// SetWork tells whether the owner's source has work for h.
func (s *Scheduler[T]) SetWork(h *Host[T], work bool) {
	h.work = work
	s.fix(h)
}

// Hold keeps h from starting anything before until: a Retry-After, a
// robots.txt asked for again, an entry not yet due.
func (s *Scheduler[T]) Hold(h *Host[T], until time.Time) {
	if until.After(h.next) {
		h.next = until
		s.fix(h)
	}
}

// Start counts one request started on h; h nil counts a request that
// belongs to no host (it takes a slot all the same).
func (s *Scheduler[T]) Start(h *Host[T]) {
	s.inFlight++
	if h != nil {
		h.inFlight++
		s.fix(h)
	}
}

// Pace spaces h's next start delay after this one's, which started at
// now. The start counts from when it was due unless it is more than
// PaceSlack late; a delay of 0 sends h to the back of the line.
func (s *Scheduler[T]) Pace(h *Host[T], now time.Time, delay time.Duration) {
	due := h.next
	if delay == 0 || now.Sub(due) > PaceSlack {
		due = now
	}
	h.next = due.Add(delay)
	s.fix(h)
}

// Done counts one request of h (or of no host, for nil) as ended.
func (s *Scheduler[T]) Done(h *Host[T]) {
	s.inFlight--
	if h != nil {
		h.inFlight--
		s.fix(h)
	}
}

// fix puts h in the ready heap, or takes it out, as its state says.
func (s *Scheduler[T]) fix(h *Host[T]) {
	switch ok := h.work && h.inFlight < s.perHost; {
	case ok && h.index < 0:
		heap.Push(&s.ready, h)
	case ok:
		heap.Fix(&s.ready, h.index)
	case h.index >= 0:
		heap.Remove(&s.ready, h.index)
	}
}

// Bucket returns a token bucket for r events per second, or nil for no
// limit. Its burst is 10 ms worth (at least 1): a waiter woken late by the
// timer finds the tokens it missed still in the bucket, so the achieved
// rate stays on target; at 200/s the burst is 2.
func Bucket(r float64) *rate.Limiter {
	if r <= 0 || math.IsInf(r, 1) {
		return nil
	}
	return rate.NewLimiter(rate.Limit(r), max(1, int(math.Ceil(r/100))))
}

// Take takes a token from lim at now, or reports how long until one is
// due. A nil lim always has a token.
func Take(lim *rate.Limiter, now time.Time) (*rate.Reservation, time.Duration) {
	if lim == nil {
		return nil, 0
	}
	r := lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return nil, d
	}
	return r, 0
}
