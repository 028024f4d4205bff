// This file holds host pacing: how long a host waits between two starts.
// It is one step, pace, so that a frontier shared by many crawlers can
// later pace a host across all of them from here.

package crawler

import "time"

// pace spaces h's next start after this one, which began at now.
func (s *scheduler) pace(h *host, now time.Time) {
	s.hosts.Pace(h.sh, now, s.delay(h))
}

// delay returns the pause between two starts on h: the longer of
// 1/HostRate and the robots.txt Crawl-delay (capped at MaxCrawlDelay),
// spread by Jitter.
func (s *scheduler) delay(h *host) time.Duration {
	var d time.Duration
	if s.cfg.HostRate > 0 {
		d = time.Duration(float64(time.Second) / s.cfg.HostRate)
	}
	if h.robots != nil && s.cfg.maxCrawlDelay >= 0 {
		d = max(d, min(h.robots.crawlDelay(), s.cfg.maxCrawlDelay))
	}
	if s.cfg.Jitter > 0 && d > 0 {
		d += time.Duration((s.rng.Float64()*2 - 1) * s.cfg.Jitter * float64(d))
	}
	return d
}
