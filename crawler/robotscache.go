// This file holds the robots.txt cache a durable frontier keeps: the body
// of each host's robots.txt and when it was fetched, so that a resumed
// crawl uses it while it is fresh instead of asking every host again.

package crawler

import (
	"context"
	"encoding/binary"
	"time"
)

// robotsStore is a frontier that keeps robots.txt across runs
// (DiskFrontier). raw is what robotsRaw encodes.
type robotsStore interface {
	robotsRecord(ctx context.Context, host string) (raw []byte, fetched time.Time, ok bool)
	keepRobots(ctx context.Context, host string, raw []byte, fetched time.Time)
}

// The kinds of a stored robots.txt: a body to parse, or none (a 4xx or a
// redirect loop: everything allowed).
const (
	robotsBody = 'b'
	robotsNone = 'n'
)

// robotsRaw encodes the outcome of a robots.txt fetch worth keeping; nil
// for an unreachable one, which is asked for again soon.
func robotsRaw(body []byte, allowAll bool) []byte {
	if allowAll {
		return []byte{robotsNone}
	}
	return append([]byte{robotsBody}, body...)
}

// parseRobotsRaw returns the rules of an outcome robotsRaw encoded.
func parseRobotsRaw(raw []byte, userAgent string) (*robotsRules, bool) {
	switch {
	case len(raw) == 0:
		return nil, false
	case raw[0] == robotsNone:
		return allowRobots(), true
	case raw[0] == robotsBody:
		return parseRobots(raw[1:], userAgent), true
	}
	return nil, false
}

// cachedRobots gives h the robots.txt the frontier keeps for it, if it
// keeps one fetched less than robotsTTL ago; it looks once per host state.
func (s *scheduler) cachedRobots(store context.Context, h *host, now time.Time) {
	rs, ok := s.frontier.(robotsStore)
	if !ok || h.robotsLooked {
		return
	}
	h.robotsLooked = true
	raw, fetched, ok := rs.robotsRecord(store, h.key)
	if !ok || now.Sub(fetched) >= robotsTTL || fetched.After(now) {
		return
	}
	rules, ok := parseRobotsRaw(raw, s.cfg.userAgent)
	if !ok {
		return
	}
	s.c.update(func(st *Stats) { st.RobotsCached++ })
	s.finishRobots(store, h, &result{robots: rules, sitemaps: s.robotsSitemaps(h, rules)}, fetched)
}

// robotsSitemaps returns the sitemap URLs rules list, resolved against h.
func (s *scheduler) robotsSitemaps(h *host, rules *robotsRules) []string {
	var out []string
	for _, u := range rules.sitemaps() {
		if c, err := s.cz.resolve(h.key+"/robots.txt", u); err == nil {
			out = append(out, c)
		}
	}
	return out
}

// robotsKey is the key of host's robots.txt: b<host>.
func robotsKey(host string) []byte { return append([]byte{kindRobots}, host...) }

// robotsRecord implements robotsStore.
func (f *DiskFrontier) robotsRecord(_ context.Context, host string) ([]byte, time.Time, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.usable() != nil {
		return nil, time.Time{}, false
	}
	v, ok, err := f.get(robotsKey(host))
	if err != nil || !ok {
		return nil, time.Time{}, false
	}
	at, n := binary.Varint(v)
	if n <= 0 {
		return nil, time.Time{}, false
	}
	return v[n:], time.Unix(0, at), true
}

// keepRobots implements robotsStore: written unsynced, with the next
// group commit.
func (f *DiskFrontier) keepRobots(_ context.Context, host string, raw []byte, fetched time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.usable() != nil {
		return
	}
	b := f.db.NewBatch()
	_ = b.Set(robotsKey(host), append(binary.AppendVarint(nil, fetched.UnixNano()), raw...), nil)
	_ = f.apply(b, false)
}
