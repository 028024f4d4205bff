// This file holds what the scheduler does when a job is over: it frees
// the slot and applies the result to the host and the frontier.

package crawler

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sluicehq/sluice/internal/failure"
)

// finish applies a job's result.
func (s *scheduler) finish(store context.Context, r *result) {
	j, h, now := r.j, r.j.h, time.Now()
	defer s.sweep(now)
	if r.stop != nil && s.stopErr == nil {
		s.stopErr = r.stop
		s.stopping = true
	}
	held := false
	switch j.kind {
	case jobRobots:
		s.finishRobots(h, r, now)
	case jobSitemap:
		s.finishSitemap(store, h, r)
	default:
		held = s.finishPage(store, h, r, now)
	}
	if !held {
		s.free(h, now)
	}
	if h != nil {
		s.touch(h)
	}
}

// free ends a job's hold on its slot (and on h's, if not nil).
func (s *scheduler) free(h *host, now time.Time) {
	s.hosts.Done(h.slot(now))
	s.c.update(func(st *Stats) { st.InFlight = int64(s.hosts.InFlight()) })
}

// finishRobots keeps the rules of a robots.txt, or asks for it again after
// a backoff when it was unreachable for a transient cause (the failure
// policy of pages: not a blocked address or a TLS failure) and retries
// remain.
func (s *scheduler) finishRobots(h *host, r *result, now time.Time) {
	h.robotsBusy = false
	if r.note != "" && !r.final && h.robotsFails < s.cfg.retries && !s.stopping {
		// Unreachable: the host's URLs wait while robots.txt is asked
		// for again after a backoff, Retries times.
		h.robotsFails++
		s.hosts.Hold(h.sh, now.Add(failure.Backoff(h.robotsFails, maxRetryWait)))
		return
	}
	h.robotsFails = 0
	h.robots, h.robotsNote = r.robots, r.note
	h.robotsUntil = now.Add(robotsTTL - r.robotsAge) // a kept copy is as old as its fetch
	if r.note != "" {
		// Unreachable after the retries: disallow all (RFC 9309
		// §2.3.1.4), and ask again a minute from now.
		h.robotsUntil = now.Add(robotsRetry)
	}
	if s.cfg.Sitemaps && h.seed {
		for _, u := range r.sitemaps {
			s.addSitemap(h, u)
		}
	}
}

// finishSitemap queues the sitemaps a sitemap lists and admits its pages.
func (s *scheduler) finishSitemap(store context.Context, h *host, r *result) {
	h.sitemapBusy = false
	for _, u := range r.sitemaps {
		s.addSitemap(h, u)
	}
	locs := make([]Entry, len(r.locs))
	for i, u := range r.locs {
		locs[i] = Entry{URL: u, Parent: r.j.url, Depth: 1}
	}
	s.admit(store, locs...)
}

// finishPage puts a page back (to retry, or because the crawl stopped
// before it was visited) or admits its links and records it. It reports
// whether the page keeps its slot until its Finish is committed.
func (s *scheduler) finishPage(store context.Context, h *host, r *result, now time.Time) bool {
	j := r.j
	switch {
	case r.requeue && h != nil:
		// Fetched but not visited, the crawl having stopped: it stays
		// pending for a crawl that resumes from this frontier.
		s.putBack(store, h, j.e, false)
	case r.retry:
		// A retry due when the crawl stops stays pending in the
		// frontier, like every URL not yet fetched, and is counted as
		// queued.
		if r.pause > 0 && h != nil {
			s.hosts.Hold(h.sh, now.Add(r.pause))
		}
		s.putBack(store, h, j.e, true)
	default:
		if pf, ok := s.frontier.(pageFinisher); ok {
			// Its slot is held until the frontier answers (replies).
			s.finishShared(store, pf, r)
			return true
		}
		// Links first, then the page: a crawl sharing the frontier must
		// not see it empty in between and end.
		s.admit(store, links(r)...)
		// A lost lease means another crawl took the URL back and records
		// it; nothing more to do here.
		if s.finishEntry(store, r) == nil {
			return s.hold(h)
		}
	}
	return false
}

// deniedFinisher is a frontier that keeps the URLs robots.txt denied
// apart from the other failed ones, so that a crawl resumed from it does
// not count them against MaxPages (see durableFrontier). DiskFrontier is
// one.
type deniedFinisher interface {
	finishDenied(ctx context.Context, e Entry) error
}

// finishEntry finishes r's page in the frontier.
func (s *scheduler) finishEntry(store context.Context, r *result) error {
	if df, ok := s.frontier.(deniedFinisher); ok && r.state == Failed && r.j.deniedByRobots() {
		return df.finishDenied(store, r.j.e)
	}
	return s.frontier.Finish(store, r.j.e, r.state)
}

// commitGate is a frontier whose Finishes take effect at a later commit
// (a [DiskFrontier] with an [Output]'s committer running): see
// DiskFrontier.finishGate.
type commitGate interface {
	finishGate() (taken, committed uint64, wake <-chan struct{}, waits bool)
}

// heldSlot is the slot of a finished page, held until the frontier has
// committed its Finish, the taken-th.
type heldSlot struct {
	taken uint64
	h     *host
}

// hold keeps h's slot of the page just finished until its Finish is
// committed, if the frontier commits Finishes later; it reports whether it
// does.
func (s *scheduler) hold(h *host) bool {
	if s.gate == nil {
		return false
	}
	taken, _, _, waits := s.gate.finishGate()
	if !waits {
		return false
	}
	s.held = append(s.held, heldSlot{taken, h})
	return true
}

// gateWake returns the channel that tells of commits while slots wait for
// one, nil otherwise.
func (s *scheduler) gateWake() <-chan struct{} {
	if len(s.held) == 0 {
		return nil
	}
	_, _, wake, _ := s.gate.finishGate()
	return wake
}

// releaseHeld frees the slots of the pages whose Finishes are committed.
func (s *scheduler) releaseHeld(now time.Time) {
	_, committed, _, _ := s.gate.finishGate()
	n := 0
	for n < len(s.held) && s.held[n].taken <= committed {
		h := s.held[n].h
		s.hosts.Done(h.slot(now))
		if h != nil {
			s.touch(h)
		}
		n++
	}
	if n == 0 {
		return
	}
	s.held = append(s.held[:0], s.held[n:]...)
	s.c.update(func(st *Stats) { st.InFlight = int64(s.hosts.InFlight()) })
}

// putBack returns a popped entry to the frontier as pending. A retry that
// the frontier cannot take still needs its record.
func (s *scheduler) putBack(store context.Context, h *host, e Entry, retry bool) {
	err := s.frontier.Retry(store, e)
	if err == nil {
		h.pending++
		s.pending++
		s.c.update(func(st *Stats) {
			if retry {
				st.Retries++
			}
			st.Queued = int64(s.pending)
		})
		return
	}
	if retry && !errors.Is(err, ErrLeaseLost) { // a lost lease: another crawl records it
		s.failNow = append(s.failNow, &job{kind: jobFail, e: e, err: fmt.Errorf("crawler: frontier: %w", err)})
	}
}

// links returns the entries of the links a page's result follows.
func links(r *result) []Entry {
	parent := r.j.e
	out := make([]Entry, len(r.follow))
	for i, u := range r.follow {
		out[i] = Entry{URL: u, Parent: parent.URL, Depth: parent.Depth + 1}
		if r.redirect && i == 0 {
			out[i].Depth, out[i].Redirects = parent.Depth, parent.Redirects+1
		}
	}
	return out
}
