// This file holds the fetch workers: each job is one request sent once
// through Fetcher.Attempt (a page, a robots.txt, a sitemap) or a failure
// recorded without a fetch.

package crawler

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/internal/failure"
	"github.com/sluicehq/sluice/internal/urlcheck"
)

const (
	// robotsMaxBytes is the part of a robots.txt parsed (RFC 9309 §2.5).
	robotsMaxBytes = 500 << 10
	// robotsMaxRedirects is the redirects followed to a robots.txt or a
	// sitemap (RFC 9309 §2.3.1.2).
	robotsMaxRedirects = 5
	// sitemapMaxURLs is the URLs taken from one sitemap (the sitemap
	// protocol's own limit).
	sitemapMaxURLs = 50000
)

// fetchWorker runs jobs until the scheduler closes the channel; the
// requests run with ctx.
func (p *pipeline) fetchWorker(ctx context.Context) {
	for j := range p.s.jobs {
		p.run(ctx, j)
	}
}

// run does one job. Every job ends in exactly one result or visit; a panic
// becomes the job's error instead of ending the process.
func (p *pipeline) run(ctx context.Context, j *job) {
	defer func() {
		if v := recover(); v != nil {
			p.failJob(j, panicError(v))
		}
	}()
	switch j.kind {
	case jobRobots:
		p.s.results <- p.fetchRobots(ctx, j)
	case jobSitemap:
		p.s.results <- p.fetchSitemap(ctx, j)
	case jobFail:
		p.failJob(j, j.err)
	default:
		p.fetchPage(ctx, j)
	}
}

// failJob ends j with err: a page is visited with it, a robots.txt counts
// as unreachable, a sitemap as empty.
func (p *pipeline) failJob(j *job, err error) {
	switch j.kind {
	case jobRobots:
		p.s.results <- &result{j: j, robots: disallowRobots(), note: "robots.txt: " + err.Error()}
	case jobSitemap:
		p.s.results <- &result{j: j}
	default:
		p.toVisit(&pageWork{j: j, state: Failed, page: &Page{URL: j.e.URL, Depth: j.e.Depth, Parent: j.e.Parent, Err: err}})
	}
}

// panicError records a recovered panic with its stack.
func panicError(v any) *sluice.PanicError {
	buf := make([]byte, 64<<10)
	return &sluice.PanicError{Value: v, Stack: buf[:runtime.Stack(buf, false)]}
}

// get sends one GET of u with ctx, with header added.
func (p *pipeline) get(ctx context.Context, u string, header http.Header) (*sluice.Response, error) {
	// A "%" that starts no escape is sent as "%25" (a link to "/100%"):
	// net/url refuses it as it is.
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, urlcheck.EscapeStrayPercent(u), nil)
	if err != nil {
		return nil, &sluice.FetchError{URL: u, Err: fmt.Errorf("%w: %w", ErrBadURL, err)}
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	if len(p.cfg.Header) > 0 && (p.cfg.HeaderAnyHost || p.headerOrigins[sluice.Origin(req.URL)]) {
		for k, vs := range p.cfg.Header {
			if _, ok := req.Header[k]; !ok {
				req.Header[k] = vs
			}
		}
	}
	resp, err := p.fetcher.Attempt(ctx, req)
	if err != nil {
		if cause := context.Cause(ctx); cause != nil && !errors.Is(err, cause) {
			err = fmt.Errorf("%w (%w)", err, cause)
		}
	}
	return resp, err
}

// fetchPage fetches one page and passes it on, or asks for a retry.
func (p *pipeline) fetchPage(ctx context.Context, j *job) {
	e := j.e
	start := time.Now()
	var header http.Header
	if p.c.PageHeader != nil {
		header = p.c.PageHeader(e.URL)
	}
	resp, err := p.get(ctx, e.URL, header)
	page := &Page{URL: e.URL, Depth: e.Depth, Parent: e.Parent, Response: resp, Err: err, Duration: time.Since(start)}
	if pause, ok := retryPause(resp, err); ok && e.Attempts < p.cfg.retries && ctx.Err() == nil {
		p.retry(j, pause)
		return
	}
	if err != nil {
		p.toVisit(&pageWork{j: j, page: page, state: Failed})
		return
	}
	page.ContentType = mediaType(resp.Header.Get("Content-Type"), resp.Body)
	w := &pageWork{j: j, page: page, state: Done}
	if loc := resp.Header.Get("Location"); resp.StatusCode >= 300 && resp.StatusCode < 400 && loc != "" {
		p.redirect(w, loc)
		p.toVisit(w)
		return
	}
	if resp.StatusCode/100 != 2 || page.ContentType != "text/html" && page.ContentType != "application/xhtml+xml" {
		p.toVisit(w)
		return
	}
	w.charged = min(int64(len(resp.Body)), parseBudget)
	if err := p.budget.Acquire(context.Background(), w.charged); err != nil {
		w.charged = 0
	}
	p.parseCh <- w
}

// redirect makes a 3xx page's Location its one link, followed unless the
// redirects that led here reach the cap.
func (p *pipeline) redirect(w *pageWork, loc string) {
	page, e := w.page, w.j.e
	u, err := p.cz.resolve(e.URL, locationRef(loc))
	if err != nil {
		return
	}
	page.Links = []string{u}
	switch {
	case e.Redirects >= max(p.cfg.maxRedirects, 0):
		page.Err = fmt.Errorf("%w (%d)", ErrTooManyRedirects, max(p.cfg.maxRedirects, 0))
		w.state = Failed
	case p.inScope(u):
		w.follow, w.redir = page.Links, true
	default:
		p.c.update(func(st *Stats) {
			st.OutOfScope++
			if e.Depth == 0 && len(st.SeedRedirectsOut) < maxSeedRedirectsOut {
				st.SeedRedirectsOut = append(st.SeedRedirectsOut, e.URL+" -> "+u)
			}
		})
	}
}

// locationRef returns a Location header as a link to resolve: its bytes
// that are not UTF-8, such as a Latin-1 file name from an old server, are
// percent-encoded as they are, as browsers and net/http send them. The URL
// parser would make each one U+FFFD: another, wrong URL, and one for all
// such names.
func locationRef(loc string) string {
	if utf8.ValidString(loc) {
		return loc
	}
	b := make([]byte, 0, len(loc)+16)
	for i := 0; i < len(loc); {
		r, n := utf8.DecodeRuneInString(loc[i:])
		if r == utf8.RuneError && n == 1 {
			b = appendEscaped(b, loc[i])
		} else {
			b = append(b, loc[i:i+n]...)
		}
		i += n
	}
	return string(b)
}

// maxSeedRedirectsOut caps Stats.SeedRedirectsOut: a crawl of many seeds
// that all redirect elsewhere needs a few of them named, not all.
const maxSeedRedirectsOut = 3

// fetchFollowing GETs u, following up to five redirects; past them it
// returns the last redirect response.
func (p *pipeline) fetchFollowing(ctx context.Context, u string) (*sluice.Response, error) {
	for i := 0; ; i++ {
		resp, err := p.get(ctx, u, nil)
		if err != nil {
			return nil, err
		}
		loc := resp.Header.Get("Location")
		if resp.StatusCode < 300 || resp.StatusCode >= 400 || loc == "" || i == robotsMaxRedirects {
			return resp, nil
		}
		next, err := p.cz.resolve(u, locationRef(loc))
		if err != nil {
			return resp, nil
		}
		u = next
	}
}

// fetchRobots fetches and parses a host's robots.txt; on a frontier that
// keeps robots.txt files for the crawls sharing it, it takes the copy kept
// there, or fetches it for all of them (sharedrobots.go).
func (p *pipeline) fetchRobots(ctx context.Context, j *job) *result {
	rs, shared := p.cfg.frontier.(robotsStore)
	if shared {
		if rec, ok := p.sharedRobots(ctx, rs, j.h.key); ok {
			p.c.update(func(st *Stats) { st.RobotsCached++ })
			return p.robotsResult(j, rec)
		}
	}
	rec := p.getRobots(ctx, j.url)
	if shared && rec.lasting() {
		if err := rs.putRobots(ctx, j.h.key, rec); err != nil {
			p.cfg.logger.Warn("crawler: robots.txt not shared", "host", j.h.key, "err", err)
		}
	}
	return p.robotsResult(j, rec)
}

// getRobots fetches a robots.txt.
func (p *pipeline) getRobots(ctx context.Context, url string) robotsRecord {
	p.c.update(func(st *Stats) { st.RobotsFetched++ })
	resp, err := p.fetchFollowing(ctx, url)
	if err != nil {
		p.c.update(func(st *Stats) { st.RobotsUnanswered++ })
		return robotsRecord{note: "robots.txt unreachable: " + errKind(err), final: !failure.Retryable(err)}
	}
	rec := robotsRecord{status: resp.StatusCode, fetched: time.Now()}
	if resp.StatusCode < 300 {
		rec.body = resp.Body[:min(len(resp.Body), robotsMaxBytes)]
	}
	return rec
}

// robotsResult is the result of a robots.txt job whose answer was rec.
func (p *pipeline) robotsResult(j *job, rec robotsRecord) *result {
	r := &result{j: j, robotsAge: max(time.Since(rec.fetched), 0)}
	switch {
	case rec.note != "":
		r.robots, r.note, r.final = disallowRobots(), rec.note, rec.final
	case rec.status >= 300 && rec.status < 400:
		// More than five redirects: unavailable, as a 4xx.
		r.robots = allowRobots()
	case robotsUnreachable(rec.status):
		r.robots, r.note = disallowRobots(), "robots.txt status "+strconv.Itoa(rec.status)
	case rec.status >= 400:
		r.robots = allowRobots()
	default:
		release := p.charge(int64(len(rec.body)))
		r.robots = parseRobots(rec.body, p.cfg.userAgent)
		release()
		for _, u := range r.robots.sitemaps() {
			if c, err := p.cz.resolve(j.url, u); err == nil {
				r.sitemaps = append(r.sitemaps, c)
			}
		}
	}
	return r
}
