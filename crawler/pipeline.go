// This file holds Crawl's run: the scheduler loop and the three stages
// behind it: fetch workers (network), parse workers (CPU, sized to
// GOMAXPROCS, with a byte budget) and visit workers (user code).

package crawler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"mime"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice"
	"golang.org/x/sync/semaphore"
)

const (
	// maxLinkBytes caps the bytes of the resolved links kept from one page.
	maxLinkBytes = 4 << 20
	// parseBudget bounds the body bytes fetched and not yet visited, so a
	// slow parse or visit holds the fetchers back instead of piling up
	// bodies in memory.
	parseBudget = 64 << 20
)

// pipeline is what the stages share; it is set before they start.
type pipeline struct {
	c        *Crawler
	s        *scheduler
	fetcher  *sluice.Fetcher
	cz       *canonicalizer
	visit    func(*Page) error
	fetchCtx context.Context
	ua       string
	maxLinks int
	retries  int
	maxRedir int
	slow     time.Duration
	logger   *slog.Logger
	lastSlow atomic.Int64

	scopeHosts, scopeDomains map[string]bool

	budget  *semaphore.Weighted
	parseCh chan *pageWork
	visitCh chan *pageWork
	stopped atomic.Bool // visit returned an error: call it no more
}

// pageWork is a page on its way from fetch to visit.
type pageWork struct {
	j       *job
	page    *Page
	state   State
	follow  []string
	redir   bool
	charged int64 // budget held
}

// Crawl crawls from seeds and calls visit once for every URL taken in: each
// seed and each admitted link, whether it was fetched (Page.Response) or
// failed (Page.Err). It returns nil when nothing is left pending or in
// flight.
//
// When ctx ends, intake stops, pages in flight get Grace to finish (those
// cut short are visited with their error), and Crawl returns ctx's error;
// URLs not yet fetched stay pending in the Frontier. When visit returns an
// error other than SkipLinks, intake stops the same way but visit is not
// called again, as with filepath.WalkDir: the pages still in flight go back
// to the Frontier as pending, and Crawl returns visit's error (nil for
// SkipAll). Crawler.Abort ends a crawl at once with ErrAborted.
//
// Run again on the same Frontier with the same seeds (seen already, so not
// fetched again), a Crawl takes up the URLs left pending.
//
// visit is called from VisitWorkers goroutines (one by default), never
// after Crawl returns. A panic in visit stops the crawl and is returned as a
// *sluice.PanicError.
func (c *Crawler) Crawl(ctx context.Context, seeds []string, visit func(*Page) error) error {
	if visit == nil {
		visit = func(*Page) error { return nil }
	}
	conc := c.Concurrency
	if conc <= 0 {
		conc = 50
	}
	perHost := c.PerHost
	if perHost <= 0 || perHost > conc {
		perHost = conc
	}
	ua := c.UserAgent
	if ua == "" {
		ua = sluice.DefaultUserAgent
	}
	fetcher := &sluice.Fetcher{
		MaxInFlight: conc, PerHost: perHost, Timeout: c.Timeout, MaxBody: c.MaxBody,
		UserAgent: ua, Header: c.Header, MaxRedirects: -1, Client: c.Client,
	}
	defer fetcher.Close()
	frontier := c.Frontier
	if frontier == nil {
		frontier = &MemoryFrontier{}
	}
	cz := newCanonicalizer(canonOptions{sortQuery: c.SortQuery, stripTracking: c.StripTracking})
	fetchCtx, cancelFetch := context.WithCancelCause(context.WithoutCancel(ctx))
	defer cancelFetch(nil)

	s := &scheduler{
		c: c, ctx: fetchCtx, fctx: context.WithoutCancel(fetchCtx), frontier: frontier, hosts: make(map[string]*host),
		rng: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())), conc: conc, perHost: perHost,
		jobs: make(chan *job, conc), results: make(chan *result, conc),
	}
	if c.Rate > 0 {
		s.limiter = &sluice.Limiter{Rate: c.Rate}
	}
	p := &pipeline{
		c: c, s: s, fetcher: fetcher, cz: cz, visit: visit, fetchCtx: fetchCtx, ua: ua,
		maxLinks: c.MaxLinks, retries: c.Retries, maxRedir: c.MaxRedirects,
		slow: c.SlowVisit, logger: c.Logger,
		budget:  semaphore.NewWeighted(parseBudget),
		parseCh: make(chan *pageWork, runtime.GOMAXPROCS(0)),
		visitCh: make(chan *pageWork, max(c.VisitWorkers, 1)),
	}
	if p.maxLinks <= 0 {
		p.maxLinks = 10000
	}
	if p.maxRedir == 0 {
		p.maxRedir = 10
	}
	if p.slow == 0 {
		p.slow = time.Second
	}
	if p.logger == nil {
		p.logger = slog.Default()
	}
	p.scopeHosts, p.scopeDomains = seedScope(cz, seeds)
	c.mu.Lock()
	c.stats = Stats{start: time.Now(), Errors: make(map[string]int64), StatusCodes: make(map[int]int64)}
	c.abort = func() { cancelFetch(errStopped) }
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.abort = nil
		c.mu.Unlock()
	}()

	var fetchers, parsers, visitors sync.WaitGroup
	for range conc {
		fetchers.Go(p.fetchWorker)
	}
	for range runtime.GOMAXPROCS(0) {
		parsers.Go(p.parseWorker)
	}
	for range max(c.VisitWorkers, 1) {
		visitors.Go(p.visitWorker)
	}

	s.seed(cz, seeds)
	s.loop(ctx, c.Grace, cancelFetch)
	s.release()

	close(s.jobs)
	fetchers.Wait()
	close(p.parseCh)
	parsers.Wait()
	close(p.visitCh)
	visitors.Wait()
	c.update(func(st *Stats) { st.Elapsed = time.Since(st.start); st.done = true; st.InFlight = 0 })

	switch {
	case errors.Is(s.stopErr, SkipAll):
		return nil
	case s.stopErr != nil:
		return s.stopErr
	case ctx.Err() != nil:
		return ctx.Err()
	case context.Cause(fetchCtx) != nil:
		return ErrAborted
	}
	return nil
}

// loop runs the scheduler until the crawl is over.
func (s *scheduler) loop(ctx context.Context, grace time.Duration, cancelFetch context.CancelCauseFunc) {
	if grace <= 0 {
		grace = 10 * time.Second
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var graceTimer *time.Timer
	defer func() {
		if graceTimer != nil {
			graceTimer.Stop()
		}
	}()
	ctxDone, abortC := ctx.Done(), s.ctx.Done()
	for !s.idle() {
		var wake time.Time
		if s.stopping {
			s.dispatchFailed()
		} else {
			wake = s.dispatch()
		}
		if s.idle() {
			return
		}
		if !s.poll.IsZero() && (wake.IsZero() || s.poll.Before(wake)) {
			wake = s.poll
		}
		var timerC <-chan time.Time
		if !wake.IsZero() {
			timer.Reset(time.Until(wake))
			timerC = timer.C
		}
		select {
		case r := <-s.results:
			s.finish(r)
			for more := true; more; {
				select {
				case r := <-s.results:
					s.finish(r)
				default:
					more = false
				}
			}
		case <-timerC:
		case <-ctxDone:
			ctxDone = nil
			s.stopping = true
		case <-abortC: // Abort, or the grace period has ended
			abortC = nil
		}
		if s.ctx.Err() != nil {
			s.stopping = true // aborted
		}
		if s.stopping && graceTimer == nil {
			graceTimer = time.AfterFunc(grace, func() { cancelFetch(errStopped) })
		}
		if timerC != nil && !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// dispatchFailed records the seeds that failed before fetching; they are
// taken in, so they get their records even when the crawl stops.
func (s *scheduler) dispatchFailed() {
	for len(s.failNow) > 0 && s.inFlight < s.conc {
		j := s.failNow[0]
		s.failNow = s.failNow[1:]
		s.start(j, nil, time.Time{}, false)
	}
}

// fetchWorker runs jobs until the scheduler closes the channel.
func (p *pipeline) fetchWorker() {
	for j := range p.s.jobs {
		p.run(j)
	}
}

// run does one job. Every job ends in exactly one result or visit; a panic
// becomes the job's error instead of ending the process.
func (p *pipeline) run(j *job) {
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		err := panicError(v)
		switch j.kind {
		case jobRobots:
			p.s.results <- &result{j: j, robots: disallowRobots(), note: "robots.txt: " + err.Error()}
		case jobSitemap:
			p.s.results <- &result{j: j}
		default:
			p.toVisit(&pageWork{j: j, state: Failed, page: &Page{URL: j.e.URL, Depth: j.e.Depth, Parent: j.e.Parent, Err: err}})
		}
	}()
	switch j.kind {
	case jobRobots:
		p.s.results <- p.fetchRobots(j)
	case jobSitemap:
		p.s.results <- p.fetchSitemap(j)
	case jobFail:
		p.toVisit(&pageWork{j: j, state: Failed, page: &Page{URL: j.e.URL, Depth: j.e.Depth, Parent: j.e.Parent, Err: j.err}})
	default:
		p.fetchPage(j)
	}
}

// panicError records a recovered panic with its stack.
func panicError(v any) *sluice.PanicError {
	buf := make([]byte, 64<<10)
	return &sluice.PanicError{Value: v, Stack: buf[:runtime.Stack(buf, false)]}
}

func (p *pipeline) toVisit(w *pageWork) { p.visitCh <- w }

// fetchPage fetches one page and passes it on, or asks for a retry.
func (p *pipeline) fetchPage(j *job) {
	e := j.e
	start := time.Now()
	resp, err := p.fetcher.Fetch(p.fetchCtx, e.URL)
	page := &Page{URL: e.URL, Depth: e.Depth, Parent: e.Parent, Response: resp, Duration: time.Since(start)}
	if err != nil {
		if cause := context.Cause(p.fetchCtx); cause != nil {
			err = fmt.Errorf("%w (%w)", err, cause)
		}
		if fe := (*sluice.FetchError)(nil); !errors.As(err, &fe) {
			err = &sluice.FetchError{URL: e.URL, Err: err} // cancellations too
		}
		page.Response = nil
		page.Err = err
		if _, ok := retryPause(nil, err); ok && e.Attempts < p.retries && p.fetchCtx.Err() == nil {
			p.retry(j, 0)
			return
		}
		p.toVisit(&pageWork{j: j, page: page, state: Failed})
		return
	}
	if pause, ok := retryPause(resp, nil); ok && e.Attempts < p.retries {
		p.retry(j, pause)
		return
	}
	page.ContentType = mediaType(resp.Header.Get("Content-Type"), resp.Body)
	w := &pageWork{j: j, page: page, state: Done}
	if loc := resp.Header.Get("Location"); resp.StatusCode >= 300 && resp.StatusCode < 400 && loc != "" {
		if u, err := p.cz.resolve(e.URL, loc); err == nil {
			page.Links = []string{u}
			if e.Redirects >= p.maxRedir {
				page.Err = fmt.Errorf("%w (%d)", ErrTooManyRedirects, p.maxRedir)
				w.state = Failed
			} else if p.inScope(u) {
				w.follow, w.redir = page.Links, true
			}
		}
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

// parseWorker extracts the links of HTML pages.
func (p *pipeline) parseWorker() {
	for w := range p.parseCh {
		p.parseSafely(w)
		p.toVisit(w)
	}
}

// parseSafely parses w, turning a panic into the page's error.
func (p *pipeline) parseSafely(w *pageWork) {
	defer func() {
		if v := recover(); v != nil {
			w.page.Err, w.state, w.follow = panicError(v), Failed, nil
		}
	}()
	p.parse(w)
}

// parse fills in the page's title and links and picks those to follow.
func (p *pipeline) parse(w *pageWork) {
	page := w.page
	pl := extractLinks(page.Response.Body, page.Response.Header.Get("Content-Type"), p.maxLinks)
	page.Title = pl.title
	if pl.dropped > 0 {
		p.c.update(func(st *Stats) { st.LinksDropped += int64(pl.dropped) })
	}
	base := page.URL
	if pl.base != "" {
		if b, err := p.cz.resolve(page.URL, pl.base); err == nil {
			base = b
		}
	}
	var seen map[string]bool
	if len(pl.links) > 16 {
		seen = make(map[string]bool, len(pl.links))
	}
	size := 0
	for i, l := range pl.links {
		u, err := p.cz.resolve(base, l.href)
		if err != nil || u == page.URL {
			continue
		}
		// Short links against a long <base href> resolve to long URLs:
		// the bytes kept per page are capped as well as their number.
		if size += len(u); size > maxLinkBytes {
			dropped := len(pl.links) - i
			p.c.update(func(st *Stats) { st.LinksDropped += int64(dropped) })
			break
		}
		if seen != nil {
			if seen[u] {
				continue
			}
			seen[u] = true
		} else if contains(page.Links, u) {
			continue
		}
		page.Links = append(page.Links, u)
		if p.c.Nofollow && l.nofollow {
			p.c.update(func(st *Stats) { st.OutOfScope++ })
			continue
		}
		if p.inScope(u) {
			w.follow = append(w.follow, u)
		} else {
			p.c.update(func(st *Stats) { st.OutOfScope++ })
		}
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// visitWorker calls visit and reports each page to the scheduler.
func (p *pipeline) visitWorker() {
	for w := range p.visitCh {
		r := &result{j: w.j, state: w.state}
		page := w.page
		if page.Err != nil {
			r.state = Failed
		}
		if !p.stopped.Load() {
			p.c.update(func(st *Stats) {
				st.Pages++
				if page.Response != nil {
					st.Fetched++
					st.StatusCodes[page.Response.StatusCode]++
					st.Bytes += int64(len(page.Response.Body))
				}
				if page.Err != nil {
					st.Errors[errKind(page.Err)]++
				}
			})
			err := p.call(page)
			switch {
			case err == nil:
				r.follow = w.follow
				r.redirect = w.redir
			case errors.Is(err, SkipLinks):
			default:
				p.stopped.Store(true)
				r.stop = err
			}
		} else {
			r.requeue = true
		}
		if w.charged > 0 {
			p.budget.Release(w.charged)
		}
		p.s.results <- r
	}
}

// call runs visit, timing it and turning a panic into an error.
func (p *pipeline) call(page *Page) (err error) {
	start := time.Now()
	defer func() {
		d := time.Since(start)
		if v := recover(); v != nil {
			err = panicError(v)
		}
		slow := p.slow > 0 && d > p.slow
		p.c.update(func(st *Stats) {
			st.VisitTime += d
			if slow {
				st.SlowVisits++
			}
		})
		if slow {
			now := time.Now().UnixNano()
			if last := p.lastSlow.Load(); now-last >= int64(time.Second) && p.lastSlow.CompareAndSwap(last, now) {
				p.logger.Warn("crawler: slow visit callback", "url", page.URL, "duration", d.Round(time.Millisecond))
			}
		}
	}()
	return p.visit(page)
}

// mediaType returns the media type of a Content-Type header; when there is
// none, it is sniffed from the body.
func mediaType(ct string, body []byte) string {
	if ct == "" {
		ct = http.DetectContentType(body)
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return strings.ToLower(strings.TrimSpace(strings.Split(ct, ";")[0]))
	}
	return mt
}
