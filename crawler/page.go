// This file holds how the scheduler takes a host's next page from the
// frontier: due or held, allowed by robots.txt or recorded as denied.

package crawler

import (
	"context"
	"errors"
	"time"
)

// nextPage pops h's next entry and returns its job if it is due: a fetch,
// or a failure when robots.txt denies it. It returns nil when there is
// none or it is not yet due (h is then held until it is).
func (s *scheduler) nextPage(store context.Context, h *host, now time.Time) *job {
	e, ok := s.pop(store, h, now)
	if !ok {
		return nil
	}
	if e.NotBefore > now.UnixNano() {
		h.held = &e
		s.hosts.Hold(h.sh, time.Unix(0, e.NotBefore))
		return nil
	}
	if _, path := splitURL(e.URL); h.robots != nil && !h.robots.allowed(path) {
		s.c.update(func(st *Stats) { st.RobotsDenied++ })
		s.admitted-- // a denied URL gets its record but does not use up MaxPages
		return &job{kind: jobFail, e: e, h: h, err: robotsDenial(h.robotsNote)}
	}
	return &job{kind: jobPage, e: e, h: h}
}

// pop returns h's held entry or the next one from the frontier.
func (s *scheduler) pop(store context.Context, h *host, now time.Time) (Entry, bool) {
	if h.held != nil {
		e := *h.held
		h.held = nil
		return e, true
	}
	e, ok, err := s.popPaced(store, h)
	if w := (*HostWaitError)(nil); errors.As(err, &w) {
		s.hosts.Hold(h.sh, now.Add(w.Wait)) // another crawl started it, or holds its cap
		return Entry{}, false
	}
	if err != nil {
		// The frontier failed for good (a full disk; a Redis frontier
		// retries while Redis is unreachable and fails only then): the
		// crawl stops with its error, and its URLs stay pending for a
		// resume. Retrying here kept a crawl on a full disk alive forever.
		s.frontierFailed(err)
		return Entry{}, false
	}
	if !ok {
		s.pending -= h.pending
		h.pending = 0
		return Entry{}, false
	}
	h.pending--
	s.pending--
	if _, shared := s.frontier.(PacedFrontier); shared && h.pending == 0 {
		// Other crawls sharing the frontier fill the host's queue too:
		// pop until it says the queue is empty, not only the URLs this
		// crawl admitted, or this crawl runs dry while the queue is full.
		h.pending++
		s.pending++
	}
	s.c.update(func(st *Stats) { st.Queued = int64(s.pending) })
	return e, true
}

// popPaced pops h's next entry; a frontier shared with other crawls paces
// the host and caps its requests in flight for all of them.
func (s *scheduler) popPaced(store context.Context, h *host) (Entry, bool, error) {
	if pf, ok := s.frontier.(PacedFrontier); ok {
		return pf.PopPaced(store, h.key, HostLimits{Delay: s.delay(h), PerHost: s.cfg.PerHost})
	}
	return s.frontier.Pop(store, h.key)
}

// robotsDenial returns the error of a URL robots.txt does not allow.
func robotsDenial(note string) error {
	if note == "" {
		return ErrRobots
	}
	return &robotsUnreachableError{note: note}
}

// robotsUnreachableError is the error of a URL whose host's robots.txt
// could not be fetched: both ErrRobots and ErrRobotsUnreachable.
type robotsUnreachableError struct{ note string }

func (e *robotsUnreachableError) Error() string {
	return "crawler: " + e.note + "; the host is disallowed"
}

func (e *robotsUnreachableError) Unwrap() []error { return []error{ErrRobotsUnreachable, ErrRobots} }
