// This file holds the scheduler: one goroutine that owns the hosts, takes
// their URLs from the frontier in per-host order and hands fetches to the
// workers when the host scheduler (internal/hostsched, shared with the
// Fetcher's dispatcher) lets each host start: global and per-host caps,
// fair share, pacing, Retry-After holds and the global rate.

package crawler

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/sluicehq/sluice/internal/hostsched"
)

// robotsTTL is how long a robots.txt is kept (RFC 9309 §2.4: at most 24
// hours); robotsRetry is how soon an unreachable one is asked for again.
const (
	robotsTTL   = 24 * time.Hour
	robotsRetry = time.Minute
)

// scheduler runs one crawl. Only its loop goroutine touches its fields,
// except those the workers read, which are set before they start.
type scheduler struct {
	cfg         *config
	queueWarned bool     // the MaxQueue warning was given
	c           *Crawler // for Stats
	frontier    Frontier
	hosts       *hostsched.Scheduler[*host]
	rng         *rand.Rand

	pending   int // entries queued by this process and not popped
	admitted  int
	admitting int      // admissions sent in the background, not answered
	replies   *replies // their answers
	failNow   []*job   // URLs taken in that fail without a fetch

	jobs    chan *job
	results chan *result

	gate commitGate // the frontier's, if its Finishes wait for a commit
	held []heldSlot // slots of finished pages waiting for their commit, in order

	stopping bool
	stopErr  error
	poll     time.Time // when to look at a shared frontier again
	swept    time.Time // last sweep of idle hosts
}

func newScheduler(cfg *config) *scheduler {
	s := &scheduler{
		cfg: cfg, c: cfg.Crawler, frontier: cfg.frontier,
		hosts: hostsched.New[*host](cfg.inFlight, cfg.perHost, cfg.Rate),
		rng:   rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
		jobs:  make(chan *job, cfg.inFlight), results: make(chan *result, cfg.inFlight),
		replies: newReplies(),
	}
	s.gate, _ = cfg.frontier.(commitGate)
	return s
}

// jobKind says what a worker does with a job.
type jobKind uint8

const (
	jobPage    jobKind = iota
	jobRobots          // fetch robots.txt of host
	jobSitemap         // fetch a sitemap
	jobFail            // record e with err, no fetch
)

// job is one unit of work handed to a fetch worker.
type job struct {
	kind jobKind
	e    Entry
	h    *host
	url  string // robots.txt or sitemap URL
	err  error
}

// deniedByRobots reports whether j fails its URL because robots.txt
// denies it: such a URL gets its record but uses up no place of MaxPages,
// in this crawl and in one resumed from its frontier.
func (j *job) deniedByRobots() bool { return j.kind == jobFail && errors.Is(j.err, ErrRobots) }

// result comes back to the scheduler when a job is over.
type result struct {
	j         *job
	retry     bool          // put e back with a backoff
	requeue   bool          // fetched, not visited (the crawl stopped): put e back
	pause     time.Duration // Retry-After: hold the host this long
	state     State         // Done or Failed, for pages
	follow    []string      // links to admit, in scope
	redirect  bool          // follow[0] is a redirect target; the rest are URLs visit followed
	robots    *robotsRules
	robotsAge time.Duration // how long ago robots was fetched
	note      string        // robots.txt unreachable: why
	final     bool          // and not worth asking again at once
	sitemaps  []string      // sitemap URLs found in a robots.txt or sitemap index
	locs      []string      // page URLs found in a sitemap
	stop      error         // visit asked to stop
}

// loop runs the scheduler until the crawl is over. ctx ending stops
// intake; fetchCtx ending (Abort, or the grace period over) too. store is
// the frontier's context; stopFetches cancels the fetches once the grace
// period has passed.
func (s *scheduler) loop(ctx, fetchCtx, store context.Context, stopFetches func()) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var grace *time.Timer
	defer func() {
		if grace != nil {
			grace.Stop()
		}
	}()
	ctxDone, abortC := ctx.Done(), fetchCtx.Done()
	for !s.idle(store) {
		wake := s.step(store)
		if s.idle(store) {
			return
		}
		// idle may have just found the other crawls of a shared frontier
		// busy: look again when it says, or nothing may wake this one.
		if !s.poll.IsZero() && (wake.IsZero() || s.poll.Before(wake)) {
			wake = s.poll
		}
		timerC := s.arm(timer, wake)
		select {
		case r := <-s.results:
			s.drain(store, r)
		case <-s.replies.ready:
			s.applyReplies()
		case <-s.gateWake():
			s.releaseHeld(time.Now())
		case <-timerC:
		case <-ctxDone:
			ctxDone = nil
			s.stopping = true
		case <-abortC: // Abort, or the grace period has ended
			abortC = nil
		}
		if fetchCtx.Err() != nil {
			s.stopping = true // aborted
		}
		if s.stopping && grace == nil {
			grace = time.AfterFunc(s.cfg.grace, stopFetches)
		}
		stopTimer(timer, timerC)
	}
}

// step starts what is due and returns when to look again (zero: at an
// event).
func (s *scheduler) step(store context.Context) (wake time.Time) {
	s.dispatchFailed()
	if !s.stopping {
		now := time.Now()
		wake = s.hosts.Dispatch(now, func(sh *hostsched.Host[*host]) bool { return s.startNext(store, sh.Val, now) })
	}
	if !s.poll.IsZero() && (wake.IsZero() || s.poll.Before(wake)) {
		wake = s.poll
	}
	return wake
}

// arm sets timer for wake and returns its channel, or nil for no wake.
func (s *scheduler) arm(timer *time.Timer, wake time.Time) <-chan time.Time {
	if wake.IsZero() {
		return nil
	}
	timer.Reset(time.Until(wake))
	return timer.C
}

// stopTimer stops an armed timer and empties its channel.
func stopTimer(timer *time.Timer, armed <-chan time.Time) {
	if armed != nil && !timer.Stop() {
		select {
		case <-timer.C:
		default:
		}
	}
}

// drain applies r and every result already waiting.
func (s *scheduler) drain(store context.Context, r *result) {
	s.finish(store, r)
	for {
		select {
		case r := <-s.results:
			s.finish(store, r)
		default:
			return
		}
	}
}

// dispatchFailed hands the URLs that fail without a fetch to the workers;
// they are taken in, so they get their records even when the crawl stops.
func (s *scheduler) dispatchFailed() {
	for len(s.failNow) > 0 && !s.hosts.Full() {
		j := s.failNow[0]
		s.failNow = s.failNow[1:]
		s.start(j, nil, time.Time{})
	}
}

// start hands j to a worker, counting it in flight (on h, if not nil).
func (s *scheduler) start(j *job, h *host, now time.Time) {
	s.hosts.Start(h.slot(now))
	s.c.update(func(st *Stats) { st.InFlight = int64(s.hosts.InFlight()) })
	s.jobs <- j
}

// startNext starts h's next piece of work: robots.txt when it is due, then
// its sitemaps, then its pages. It reports whether it started a request.
func (s *scheduler) startNext(store context.Context, h *host, now time.Time) bool {
	var j *job
	switch {
	case s.needRobots(h):
		h.robotsBusy = true
		j = &job{kind: jobRobots, h: h, url: h.key + "/robots.txt"}
	case len(h.sitemaps) > 0 && !h.sitemapBusy:
		// One at a time: a sitemap index of a hundred bombs is read one
		// bomb after the other.
		j = &job{kind: jobSitemap, h: h, url: h.sitemaps[0]}
		h.sitemaps = h.sitemaps[1:]
		h.sitemapBusy = true
	default:
		j = s.nextPage(store, h, now)
	}
	if j == nil {
		s.touch(h)
		return false
	}
	s.start(j, h, now)
	if j.kind != jobFail {
		s.pace(h, now)
	}
	s.touch(h)
	return true
}
