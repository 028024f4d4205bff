// This file holds how URLs come into a crawl and how it knows it is over:
// seeds and links admitted to the frontier, hosts learned from a shared
// frontier, and the entries put back when the crawl stops.

package crawler

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/sluicehq/sluice/internal/failure"
	"github.com/sluicehq/sluice/internal/hostsched"
)

// errStopped is the cause of fetches cut short when the grace period ends.
var errStopped = failure.New(failure.Cancelled, "crawler: stopped before the page finished")

// seed canonicalises the seeds and admits them; bad ones are queued to
// fail.
func (s *scheduler) seed(store context.Context, cz *canonicalizer, seeds []string) {
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
			if s.cfg.Sitemaps {
				s.addSitemap(h, h.key+"/sitemap.xml")
				// Told now, not by the seed's admission: a seed the
				// frontier had seen (a crawl resumed) is not admitted,
				// and the host, with its sitemap left unfetched, held
				// the crawl up for ever.
				s.touch(h)
			}
		}
		s.admit(store, Entry{URL: u})
	}
}

// durableFrontier is a frontier kept beyond its process, for a later
// crawl to resume: it counts the URLs it has taken in (see countEarlier),
// and the pages a stop cut short stay pending in it (see outlivesCrawl).
// DiskFrontier is one.
type durableFrontier interface {
	admittedCount(ctx context.Context) (int, error)
}

// countEarlier counts against MaxPages the URLs the frontier took in
// before this crawl, so that a crawl stopped and resumed on a DiskFrontier
// takes in MaxPages URLs in all, not MaxPages in each run. A frontier that
// cannot say fails its next call too, which ends the crawl.
func (s *scheduler) countEarlier(store context.Context) {
	ac, ok := s.frontier.(durableFrontier)
	if !ok || s.cfg.MaxPages <= 0 {
		return
	}
	if n, err := ac.admittedCount(store); err == nil {
		s.admitted = n
	}
}

// admit offers a batch (one page's links, or one seed) to the frontier in
// one step, under the depth and page limits.
func (s *scheduler) admit(store context.Context, batch ...Entry) {
	keep := s.admissible(batch)
	if len(keep) == 0 {
		return
	}
	var codes []int8
	var err error
	if ca, ok := s.frontier.(cappedAdmitter); ok {
		codes, err = ca.admitCapped(store, keep, s.cfg.MaxPages)
	} else {
		var added []bool
		added, err = s.frontier.Admit(store, keep)
		codes = make([]int8, len(added))
		for i, a := range added {
			if a {
				codes[i] = admitNew
			}
		}
	}
	s.applyAdmit(keep, codes, err)
}

// admissible returns the part of batch within the depth and page limits
// and the room of the queue, with each entry's host set, filtering batch in
// place.
func (s *scheduler) admissible(batch []Entry) []Entry {
	keep := batch[:0] // callers hand over batch; it is filtered in place
	for _, e := range batch {
		if s.cfg.MaxDepth > 0 && e.Depth > s.cfg.MaxDepth {
			s.c.update(func(st *Stats) { st.OutOfScope++ })
			continue
		}
		if s.cfg.MaxPages > 0 && s.admitted+len(keep) >= s.cfg.MaxPages {
			s.c.update(func(st *Stats) { st.OverMaxPages++ })
			continue
		}
		e.Host = s.hostOf(e.URL).key
		keep = append(keep, e)
	}
	return s.room(keep)
}

// applyAdmit counts the URLs of keep the frontier admitted (codes) and
// queues their hosts; when the frontier failed (err), each URL is taken
// in, to fail with its record.
func (s *scheduler) applyAdmit(keep []Entry, codes []int8, err error) {
	if err != nil {
		// A seed gets its record; a link does not, for it may have been
		// taken in already (a page's link back to its seed was recorded
		// a second time), and its page, not finished, is fetched again
		// by a resumed crawl, which admits it then.
		for _, e := range keep {
			if e.Parent == "" {
				s.admitted++
				s.failNow = append(s.failNow, &job{kind: jobFail, e: e, err: fmt.Errorf("crawler: frontier: %w", err)})
			}
		}
		s.frontierFailed(err)
		return
	}
	for i, e := range keep {
		switch codes[i] {
		case admitSeen:
			s.c.update(func(st *Stats) { st.Duplicates++ })
			continue
		case admitOver:
			s.c.update(func(st *Stats) { st.OverMaxPages++ })
			continue
		}
		h := s.hostOf(e.URL)
		s.admitted++
		h.pending++
		s.pending++
		s.touch(h)
	}
	s.countQueued()
}

// countQueued sets the stats' count of URLs queued, and their peak, from
// the scheduler's.
func (s *scheduler) countQueued() {
	s.c.update(func(st *Stats) {
		st.Queued = int64(s.pending)
		st.PeakQueue = max(st.PeakQueue, st.Queued)
	})
}

// release puts back in the frontier the entries popped but not started,
// those waiting out a retry's backoff, when the crawl stops: they stay
// pending, like every URL not fetched, and are counted as queued.
func (s *scheduler) release(store context.Context) {
	s.hosts.Each(func(sh *hostsched.Host[*host]) {
		h := sh.Val
		if h.held == nil {
			return
		}
		e := *h.held
		h.held = nil
		if err := s.frontier.Retry(store, e); err == nil {
			s.pending++
		}
	})
	s.c.update(func(st *Stats) { st.Queued = int64(s.pending) })
}

// remotePoll is how often a crawl that shares its frontier looks for work
// while the other crawls have URLs in flight and it has none.
const remotePoll = 100 * time.Millisecond

// idle reports whether nothing is left to do. When the frontier holds
// pending URLs of hosts this crawl does not know, it takes those hosts on;
// when other crawls sharing the frontier have URLs in flight, it is not
// idle and sets s.poll to look again.
func (s *scheduler) idle(store context.Context) bool {
	s.poll = time.Time{}
	switch {
	case s.hosts.InFlight() > 0 || len(s.failNow) > 0 || s.admitting > 0:
		return false
	case s.stopping:
		return true
	case s.hosts.Waiting() > 0 || s.pending > 0 || s.localWork():
		return false
	}
	pending, inFlight, err := s.frontier.Counts(store)
	if err != nil {
		s.frontierFailed(err)
		return true
	}
	if pending > 0 && s.adoptHosts(store) {
		s.poll = time.Now() // dispatch to them at once
		return false
	}
	if pending > 0 || inFlight > 0 {
		s.poll = time.Now().Add(remotePoll)
		return false
	}
	return true
}

// frontierFailed stops the crawl with err, a failure of the frontier that
// is for good (a full disk, a closed frontier; a Redis frontier retries
// while Redis is unreachable and fails only then), unless it is stopping
// with an error already. Its URLs stay pending for a resume; those whose
// admission failed get their records. Ending with nil, as a crawl whose
// Admit or Counts failed did, told its caller that it had run to the end.
func (s *scheduler) frontierFailed(err error) {
	if s.stopErr == nil {
		s.stopErr = fmt.Errorf("crawler: frontier: %w", err)
	}
	s.stopping = true
}

// localWork reports whether a host holds an entry or sitemaps to fetch.
func (s *scheduler) localWork() bool {
	work := false
	s.hosts.Each(func(sh *hostsched.Host[*host]) {
		work = work || sh.Val.held != nil || len(sh.Val.sitemaps) > 0
	})
	return work
}

// adoptHosts takes on the hosts whose queues in a shared frontier hold
// pending URLs, and reports whether there were any.
func (s *scheduler) adoptHosts(store context.Context) bool {
	hosts, err := s.frontier.Hosts(store, 1000)
	if err != nil || len(hosts) == 0 {
		return false
	}
	counter, _ := s.frontier.(hostCounter)
	for _, key := range hosts {
		h := s.hostOf(key + "/")
		if h.pending == 0 {
			h.pending = 1 // a hint: Pop tells the truth
			if counter != nil {
				// A frontier that counts each host's queue (one opened
				// again to resume a crawl) lets the host run at full
				// speed, not one URL per look.
				if n, err := counter.HostPending(store, key); err == nil && n > 0 {
					h.pending = n
				}
			}
			s.pending += h.pending
		}
		s.touch(h)
	}
	s.countQueued()
	return true
}

// hostCounter is implemented by frontiers that count the pending URLs of
// each host, as DiskFrontier does.
type hostCounter interface {
	HostPending(ctx context.Context, host string) (int, error)
}

// DefaultMaxQueue is the cap on pending URLs of a crawl on a MemoryFrontier
// when Crawler.MaxQueue is 0: a million pending URLs take tens of
// megabytes, so an endless site ends in a warning, not in exhausted memory.
const DefaultMaxQueue = 1_000_000

// room returns the part of batch the frontier has room for under the
// MaxQueue cap; the rest is counted in Stats.QueueFull, with one warning.
func (s *scheduler) room(batch []Entry) []Entry {
	if s.cfg.maxQueue <= 0 || s.pending+len(batch) <= s.cfg.maxQueue {
		return batch
	}
	n := max(s.cfg.maxQueue-s.pending, 0)
	dropped := len(batch) - n
	s.c.update(func(st *Stats) { st.QueueFull += int64(dropped) })
	if !s.queueWarned {
		s.queueWarned = true
		s.cfg.logger.Warn("crawler: frontier full; URLs found while it is are not admitted (raise MaxQueue, or use a frontier on disk)",
			"pending", s.pending, "max_queue", s.cfg.maxQueue)
	}
	return batch[:n]
}
