// This file holds the crawl's state of each host beside what the host
// scheduler keeps: robots.txt, sitemaps, the entries of its queue.

package crawler

import (
	"time"

	"github.com/sluicehq/sluice/internal/hostsched"
)

// host is the crawl's state of one host (scheme and authority).
type host struct {
	key     string // "http://example.com:8080", the frontier's queue key
	sh      *hostsched.Host[*host]
	pending int    // entries this process queued and has not popped
	held    *Entry // popped, waiting for its NotBefore

	robots       *robotsRules
	robotsNote   string // why robots.txt disallows all, if it does
	robotsUntil  time.Time
	robotsBusy   bool
	robotsFails  int  // unreachable fetches in a row
	robotsLooked bool // the frontier's robots.txt cache was looked in

	seed        bool
	sitemaps    []string // sitemap URLs to fetch
	sitemapBusy bool     // one sitemap of a host is fetched at a time
	smSeen      map[string]bool
	active      time.Time // last start or finish
}

// hasWork reports whether h has work it may start, setting aside time and
// caps: robots.txt, when due, is fetched before the work it guards.
func (h *host) hasWork() bool {
	return !h.robotsBusy && (len(h.sitemaps) > 0 && !h.sitemapBusy || h.pending > 0 || h.held != nil)
}

// slot marks h active at now and returns its host scheduler state, whose
// in-flight count a start or a finish changes; nil for no host (a URL
// that fails without a fetch), which counts in the global cap only.
func (h *host) slot(now time.Time) *hostsched.Host[*host] {
	if h == nil {
		return nil
	}
	h.active = now
	return h.sh
}

// hostIdle is how long a host with nothing pending or in flight keeps its
// state (robots.txt rules included) before it is dropped, so that a crawl
// across many hosts holds the state of those active recently, not of all
// it has seen; a host that comes back fetches its robots.txt again.
const hostIdle = time.Minute

// hostOf returns the host state of a canonical URL, creating it.
func (s *scheduler) hostOf(u string) *host {
	key, _ := splitURL(u)
	sh, created := s.hosts.Host(key)
	if created {
		sh.Val = &host{key: key, sh: sh}
	}
	return sh.Val
}

// touch tells the host scheduler whether h has work.
func (s *scheduler) touch(h *host) { s.hosts.SetWork(h.sh, h.hasWork()) }

// sweep drops the state of hosts idle for hostIdle, at most every 10 s.
func (s *scheduler) sweep(now time.Time) {
	if now.Sub(s.swept) < 10*time.Second {
		return
	}
	s.swept = now
	s.hosts.Each(func(sh *hostsched.Host[*host]) {
		h := sh.Val
		if sh.InFlight() == 0 && !h.hasWork() && h.pending == 0 && h.held == nil && len(h.sitemaps) == 0 &&
			!h.robotsBusy && !h.seed && now.Sub(h.active) > hostIdle && !sh.Next().After(now) {
			s.hosts.Forget(sh)
		}
	})
}

// needRobots reports whether h's robots.txt is to be fetched before its
// next page.
func (s *scheduler) needRobots(h *host) bool {
	return !s.cfg.IgnoreRobots && !h.robotsBusy && (h.robots == nil || time.Now().After(h.robotsUntil))
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
