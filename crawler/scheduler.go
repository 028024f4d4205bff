// This file holds the scheduler: one goroutine that owns the hosts, takes
// their URLs from the frontier in per-host order, paces each host and hands
// fetches to the workers under the global and per-host caps.

package crawler

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/sluicehq/sluice"
)

// robotsTTL is how long a robots.txt is kept (RFC 9309 §2.4: at most 24
// hours); robotsRetry is how soon an unreachable one is asked for again.
const (
	robotsTTL   = 24 * time.Hour
	robotsRetry = time.Minute
)

// paceSlack is how late a host's start may be and still count from when it
// was due; like the Limiter's buckets, it covers a timer's late wake-up.
const paceSlack = 10 * time.Millisecond

// host is the scheduler's state of one host (scheme and authority).
type host struct {
	key      string // "http://example.com:8080", the frontier's queue key
	pending  int    // entries this process queued and has not popped
	held     *Entry // popped, waiting for its NotBefore
	inFlight int
	next     time.Time // earliest next start
	index    int       // in the ready heap, or -1

	robots      *robotsRules
	robotsNote  string // why robots.txt disallows all, if it does
	robotsUntil time.Time
	robotsBusy  bool
	robotsFails int // unreachable fetches in a row

	seed     bool
	sitemaps []string // sitemap URLs to fetch
	smSeen   map[string]bool
	active   time.Time // last start or finish
}

// hostIdle is how long a host with nothing pending or in flight keeps its
// state (robots.txt rules included) before it is dropped, so that a crawl
// across many hosts holds the state of those active recently, not of all
// it has seen; a host that comes back fetches its robots.txt again.
const hostIdle = time.Minute

// sweep drops the state of hosts idle for hostIdle, at most every 10 s.
func (s *scheduler) sweep(now time.Time) {
	if now.Sub(s.swept) < 10*time.Second {
		return
	}
	s.swept = now
	for key, h := range s.hosts {
		if h.inFlight == 0 && h.pending == 0 && h.held == nil && len(h.sitemaps) == 0 &&
			h.index < 0 && !h.robotsBusy && !h.seed && now.Sub(h.active) > hostIdle && !h.next.After(now) {
			delete(s.hosts, key)
		}
	}
}

// ready reports whether h has work it may start, setting aside time.
func (h *host) ready(s *scheduler) bool {
	if h.inFlight >= s.perHost || h.robotsBusy {
		return false
	}
	// robots.txt is fetched, when due, before the work it guards.
	return len(h.sitemaps) > 0 || h.pending > 0 || h.held != nil
}

// hostHeap orders hosts by their next start time.
type hostHeap []*host

func (q hostHeap) Len() int           { return len(q) }
func (q hostHeap) Less(i, j int) bool { return q[i].next.Before(q[j].next) }
func (q hostHeap) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index, q[j].index = i, j
}
func (q *hostHeap) Push(x any) { h := x.(*host); h.index = len(*q); *q = append(*q, h) }
func (q *hostHeap) Pop() any {
	old := *q
	h := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	h.index = -1
	return h
}

// scheduler runs one crawl. Only its run goroutine touches its fields,
// except those the workers read, which are set before they start.
type scheduler struct {
	c        *Crawler
	ctx      context.Context // the fetches': cancelled when the grace ends
	fctx     context.Context // the frontier's: ctx without its cancellation
	frontier Frontier
	hosts    map[string]*host
	ready    hostHeap
	limiter  *sluice.Limiter // global rate only
	rng      *rand.Rand

	conc, perHost int
	inFlight      int
	pending       int // entries queued by this process and not popped
	admitted      int
	failNow       []*job // seeds that failed before fetching

	jobs    chan *job
	results chan *result

	stopping bool
	stopErr  error
	poll     time.Time // when to look at a shared frontier again
	swept    time.Time // last sweep of idle hosts
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

// result comes back to the scheduler when a job is over.
type result struct {
	j        *job
	retry    bool          // put e back with a backoff
	requeue  bool          // fetched, not visited (the crawl stopped): put e back
	pause    time.Duration // Retry-After: hold the host this long
	state    State         // Done or Failed, for pages
	follow   []string      // links to admit, in scope
	redirect bool          // follow holds a redirect target
	robots   *robotsRules
	note     string   // robots.txt unreachable: why
	sitemaps []string // sitemap URLs found in a robots.txt or sitemap index
	locs     []string // page URLs found in a sitemap
	stop     error    // visit asked to stop
}

func (s *scheduler) needRobots(h *host) bool {
	return !s.c.IgnoreRobots && !h.robotsBusy && (h.robots == nil || time.Now().After(h.robotsUntil))
}

// hostOf returns the host state of a canonical URL, creating it.
func (s *scheduler) hostOf(u string) *host {
	key, _ := splitURL(u)
	h := s.hosts[key]
	if h == nil {
		h = &host{key: key, index: -1}
		s.hosts[key] = h
	}
	return h
}

// touch puts h in the ready heap, or out of it, as its state says.
func (s *scheduler) touch(h *host) {
	switch ok := h.ready(s); {
	case ok && h.index < 0:
		heap.Push(&s.ready, h)
	case ok:
		heap.Fix(&s.ready, h.index)
	case h.index >= 0:
		heap.Remove(&s.ready, h.index)
	}
}

// admit offers a batch (one page's links, or one seed) to the frontier in
// one step, under the depth and page limits.
func (s *scheduler) admit(batch ...Entry) {
	keep := batch[:0:0]
	for _, e := range batch {
		if s.c.MaxDepth > 0 && e.Depth > s.c.MaxDepth || s.c.MaxPages > 0 && s.admitted+len(keep) >= s.c.MaxPages {
			s.c.update(func(st *Stats) { st.OutOfScope++ })
			continue
		}
		e.Host = s.hostOf(e.URL).key
		keep = append(keep, e)
	}
	if len(keep) == 0 {
		return
	}
	added, err := s.frontier.Admit(s.fctx, keep)
	if err != nil {
		// The URLs are taken in, so each gets its record.
		for _, e := range keep {
			s.failNow = append(s.failNow, &job{kind: jobFail, e: e, err: fmt.Errorf("crawler: frontier: %w", err)})
		}
		s.admitted += len(keep)
		return
	}
	for i, e := range keep {
		if !added[i] {
			s.c.update(func(st *Stats) { st.Duplicates++ })
			continue
		}
		h := s.hosts[e.Host]
		s.admitted++
		h.pending++
		s.pending++
		s.touch(h)
	}
	s.c.update(func(st *Stats) {
		st.Queued = int64(s.pending)
		st.PeakQueue = max(st.PeakQueue, st.Queued)
	})
}

// delay returns the pause between two starts on h.
func (s *scheduler) delay(h *host) time.Duration {
	var d time.Duration
	if s.c.HostRate > 0 {
		d = time.Duration(float64(time.Second) / s.c.HostRate)
	}
	if h.robots != nil && s.c.MaxCrawlDelay >= 0 {
		limit := s.c.MaxCrawlDelay
		if limit == 0 {
			limit = 10 * time.Second
		}
		d = max(d, min(h.robots.crawlDelay(), limit))
	}
	if s.c.Jitter > 0 && d > 0 {
		d += time.Duration((s.rng.Float64()*2 - 1) * s.c.Jitter * float64(d))
	}
	return d
}

// start hands j to a worker, counting it in flight on h.
func (s *scheduler) start(j *job, h *host, now time.Time, paced bool) {
	s.inFlight++
	if h != nil {
		h.inFlight++
		h.active = now
		if paced {
			// The next start is due a delay after this one was due, not
			// after it happened: timers wake about 1 ms late here
			// (golang/go#47084), which at --host-rate 3000 held a host
			// to 1,100 starts a second. A start more than paceSlack late
			// (a host that was idle) counts from now, so no credit
			// builds up beyond that.
			// Hosts without a delay go to the back of the line.
			d := s.delay(h)
			due := h.next
			if d == 0 || now.Sub(due) > paceSlack {
				due = now
			}
			h.next = due.Add(d)
		}
	}
	s.c.update(func(st *Stats) { st.InFlight = int64(s.inFlight) })
	s.jobs <- j
}

// dispatch starts all the work that is due, and returns when it should be
// called again if nothing else happens first (zero: not before an event).
//
// While several hosts have work, none may hold more than its share of the
// in-flight slots (Concurrency over the number of such hosts), so a host
// whose requests hang holds at most its share and the others go on.
func (s *scheduler) dispatch() (wake time.Time) {
	s.dispatchFailed()
	now := time.Now()
	var held []*host // due, but at their share of the slots
	limited := false // the global rate says wait
	for s.inFlight < s.conc && len(s.ready) > 0 {
		h := s.ready[0]
		if h.next.After(now) {
			wake = h.next
			break
		}
		if hosts := len(s.ready) + len(held); hosts > 1 && h.inFlight >= max(1, s.conc/hosts) {
			heap.Pop(&s.ready)
			held = append(held, h)
			continue
		}
		if limited = !s.allow(now, &wake); limited {
			break
		}
		s.startNext(h, now)
		s.touch(h)
	}
	// Slots that no host under its share can use now (the others are not
	// due) go to the hosts held to their share, in turn.
	for more := !limited; more && s.inFlight < s.conc; {
		more = false
		for _, h := range held {
			if s.inFlight >= s.conc || !h.ready(s) || h.next.After(now) {
				continue
			}
			if !s.allow(now, &wake) {
				more = false
				break
			}
			s.startNext(h, now)
			more = true
		}
	}
	for _, h := range held {
		s.touch(h)
		if h.index >= 0 && h.next.After(now) && (wake.IsZero() || h.next.Before(wake)) {
			wake = h.next
		}
	}
	return wake
}

// allow reports whether the global rate lets a request start now; if not,
// it sets wake to when it will.
func (s *scheduler) allow(now time.Time, wake *time.Time) bool {
	if s.limiter == nil {
		return true
	}
	release, wait, _ := s.limiter.TryAcquire("", now)
	if release == nil {
		*wake = now.Add(wait)
		return false
	}
	release()
	return true
}

// startNext starts h's next piece of work: robots.txt when it is due, then
// its sitemaps, then its pages.
func (s *scheduler) startNext(h *host, now time.Time) {
	switch {
	case s.needRobots(h):
		h.robotsBusy = true
		s.start(&job{kind: jobRobots, h: h, url: h.key + "/robots.txt"}, h, now, true)
	case len(h.sitemaps) > 0:
		u := h.sitemaps[0]
		h.sitemaps = h.sitemaps[1:]
		s.start(&job{kind: jobSitemap, h: h, url: u}, h, now, true)
	default:
		s.startPage(h, now)
	}
}

// startPage pops h's next entry and starts it, if it is due.
func (s *scheduler) startPage(h *host, now time.Time) {
	var e Entry
	if h.held != nil {
		e, h.held = *h.held, nil
	} else {
		var ok bool
		var err error
		e, ok, err = s.pop(h)
		if err != nil {
			h.next = now.Add(popWait(err))
			return
		}
		if !ok {
			s.pending -= h.pending
			h.pending = 0
			return
		}
		h.pending--
		s.pending--
		s.c.update(func(st *Stats) { st.Queued = int64(s.pending) })
	}
	if e.NotBefore > now.UnixNano() {
		h.held = &e
		h.next = time.Unix(0, e.NotBefore)
		return
	}
	if _, path := splitURL(e.URL); h.robots != nil && !h.robots.allowed(path) {
		s.c.update(func(st *Stats) { st.RobotsDenied++ })
		s.start(&job{kind: jobFail, e: e, h: h, err: robotsDenial(h.robotsNote)}, h, now, false)
		return
	}
	s.start(&job{kind: jobPage, e: e, h: h}, h, now, true)
}

// pop takes h's next entry from the frontier; a frontier shared with
// other crawls paces the host for all of them.
func (s *scheduler) pop(h *host) (Entry, bool, error) {
	if pf, ok := s.frontier.(PacedFrontier); ok {
		return pf.PopPaced(s.fctx, h.key, HostLimits{Delay: s.delay(h), PerHost: s.c.PerHost})
	}
	return s.frontier.Pop(s.fctx, h.key)
}

// popWait is how long a host waits after a Pop that failed: the wait a
// PacedFrontier asked for, or a second for a store that failed.
func popWait(err error) time.Duration {
	if w := (*HostWaitError)(nil); errors.As(err, &w) {
		return w.Wait
	}
	return time.Second
}

// robotsDenial returns the error of a URL robots.txt does not allow.
func robotsDenial(note string) error {
	if note == "" {
		return ErrRobots
	}
	return fmt.Errorf("%w (%s)", ErrRobots, note)
}

// finish applies a job's result.
func (s *scheduler) finish(r *result) {
	j := r.j
	s.inFlight--
	s.c.update(func(st *Stats) { st.InFlight = int64(s.inFlight) })
	h := j.h
	now := time.Now()
	if h != nil {
		h.inFlight--
		h.active = now
	}
	defer s.sweep(now)
	if r.stop != nil && s.stopErr == nil {
		s.stopErr = r.stop
		s.stopping = true
	}
	switch j.kind {
	case jobRobots:
		h.robotsBusy = false
		if r.note != "" && h.robotsFails < s.c.Retries && !s.stopping {
			// Unreachable: the host's URLs wait while robots.txt is asked
			// for again, 500 ms, 1 s, 2 s … later, Retries times.
			h.robotsFails++
			h.next = maxTime(h.next, now.Add(min(500*time.Millisecond<<min(h.robotsFails-1, 6), 30*time.Second)))
			break
		}
		h.robotsFails = 0
		h.robots, h.robotsNote = r.robots, r.note
		h.robotsUntil = now.Add(robotsTTL)
		if r.note != "" {
			// Unreachable after the retries: disallow all (RFC 9309
			// §2.3.1.4), and ask again a minute from now.
			h.robotsUntil = now.Add(robotsRetry)
		}
		if s.c.Sitemaps && h.seed {
			for _, u := range r.sitemaps {
				s.addSitemap(h, u)
			}
		}
	case jobSitemap:
		for _, u := range r.sitemaps {
			s.addSitemap(h, u)
		}
		locs := make([]Entry, len(r.locs))
		for i, u := range r.locs {
			locs[i] = Entry{URL: u, Parent: j.url, Depth: 1}
		}
		s.admit(locs...)
	case jobPage, jobFail:
		if r.requeue && h != nil {
			// Fetched but not visited, the crawl having stopped: it stays
			// pending for a crawl that resumes from this frontier.
			if s.frontier.Retry(s.fctx, j.e) == nil {
				h.pending++
				s.pending++
				s.c.update(func(st *Stats) { st.Queued = int64(s.pending) })
			}
			break
		}
		// A retry due when the crawl stops stays pending in the frontier,
		// like every URL not yet fetched, and is counted as queued.
		if r.retry {
			e := j.e
			if r.pause > 0 && h != nil {
				h.next = maxTime(h.next, now.Add(r.pause))
			}
			err := s.frontier.Retry(s.fctx, e)
			if err == nil {
				h.pending++
				s.pending++
				s.c.update(func(st *Stats) { st.Retries++; st.Queued = int64(s.pending) })
				break
			}
			if errors.Is(err, ErrLeaseLost) {
				break // another crawl holds the URL now and records it
			}
			// The URL still needs its record.
			s.failNow = append(s.failNow, &job{kind: jobFail, e: e, err: fmt.Errorf("crawler: frontier: %w", err)})
			break
		}
		// Links first, then the page: a crawl sharing the frontier must
		// not see it empty in between and end.
		links := make([]Entry, len(r.follow))
		for i, u := range r.follow {
			links[i] = Entry{URL: u, Parent: j.e.URL, Depth: j.e.Depth + 1}
			if r.redirect {
				links[i].Depth, links[i].Redirects = j.e.Depth, j.e.Redirects+1
			}
		}
		s.admit(links...)
		// A lost lease means another crawl took the URL back and records
		// it; nothing more to do here.
		_ = s.frontier.Finish(s.fctx, j.e, r.state)
	}
	if h != nil {
		s.touch(h)
	}
}

// addSitemap queues a sitemap of h once; at most 100 per host, so a loop of
// sitemap indexes ends.
func (s *scheduler) addSitemap(h *host, u string) {
	if h.smSeen == nil {
		h.smSeen = make(map[string]bool)
	}
	if h.smSeen[u] || len(h.smSeen) >= 100 {
		return
	}
	h.smSeen[u] = true
	h.sitemaps = append(h.sitemaps, u)
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// release puts back in the frontier the entries popped but not started,
// those waiting out a retry's backoff, when the crawl stops: they stay
// pending, like every URL not fetched, and are counted as queued.
func (s *scheduler) release() {
	ctx := s.fctx
	for _, h := range s.hosts {
		if h.held == nil {
			continue
		}
		e := *h.held
		h.held = nil
		if err := s.frontier.Retry(ctx, e); err == nil {
			s.pending++
		}
	}
	s.c.update(func(st *Stats) { st.Queued = int64(s.pending) })
}

// remotePoll is how often a crawl that shares its frontier looks for work
// while the other crawls have URLs in flight and it has none.
const remotePoll = 100 * time.Millisecond

// idle reports whether nothing is left to do. When the frontier holds
// pending URLs of hosts this crawl does not know, it takes those hosts on;
// when other crawls sharing the frontier have URLs in flight, it is not
// idle and sets s.poll to look again.
func (s *scheduler) idle() bool {
	s.poll = time.Time{}
	if s.inFlight > 0 || len(s.failNow) > 0 {
		return false
	}
	if s.stopping {
		return true
	}
	if len(s.ready) > 0 || s.pending > 0 {
		return false
	}
	for _, h := range s.hosts {
		if h.held != nil || len(h.sitemaps) > 0 {
			return false
		}
	}
	pending, inFlight, err := s.frontier.Counts(s.fctx)
	if err != nil {
		return true
	}
	if pending > 0 {
		hosts, err := s.frontier.Hosts(s.fctx, 1000)
		if err == nil && len(hosts) > 0 {
			for _, key := range hosts {
				h := s.hostOf(key + "/")
				if h.pending == 0 {
					h.pending = 1 // a hint: Pop tells the truth
					s.pending++
				}
				s.touch(h)
			}
			s.poll = time.Now() // dispatch to them at once
			return false
		}
	}
	if pending > 0 || inFlight > 0 {
		s.poll = time.Now().Add(remotePoll)
		return false
	}
	return true
}

// seedEntries canonicalises the seeds; bad ones are queued to fail.
func (s *scheduler) seed(cz *canonicalizer, seeds []string) {
	for _, raw := range seeds {
		u, err := cz.resolve("", raw)
		if err != nil {
			s.admitted++
			s.failNow = append(s.failNow, &job{kind: jobFail, e: Entry{URL: strings.TrimSpace(raw)}, err: fmt.Errorf("%w %q: %w", ErrBadURL, raw, err)})
			continue
		}
		h := s.hostOf(u)
		if !h.seed {
			// robots.txt, fetched before any sitemap, may list more.
			h.seed = true
			if s.c.Sitemaps {
				s.addSitemap(h, h.key+"/sitemap.xml")
			}
		}
		s.admit(Entry{URL: u})
	}
}

// errStopped is the cause of fetches cut short when the grace period ends.
var errStopped = errors.New("crawler: stopped before the page finished")
