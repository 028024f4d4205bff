// This file holds Crawl's run: the scheduler loop and the three stages
// behind it: fetch workers (network), parse workers (CPU, sized to
// GOMAXPROCS, with a byte budget) and visit workers (user code).

package crawler

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"mime"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sluicehq/sluice"
	"golang.org/x/net/publicsuffix"
	"golang.org/x/sync/semaphore"
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
// failed (Page.Err). It returns when nothing is pending or in flight, when
// visit returns an error other than SkipLinks, or when ctx ends; then intake
// stops, pages in flight get Grace to finish and are visited, and Crawl
// returns visit's error (nil for SkipAll) or ctx's error.
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
		c: c, ctx: fetchCtx, frontier: frontier, hosts: make(map[string]*host),
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
	c.stats = Stats{start: time.Now(), Errors: make(map[string]int64)}
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
	}
	return ctx.Err()
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
	ctxDone := ctx.Done()
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
			err = fmt.Errorf("crawler: %s: %w", e.URL, cause)
		}
		page.Response = nil
		page.Err = err
		if e.Attempts < p.retries && retryableErr(err) && p.fetchCtx.Err() == nil {
			p.retry(j, 0)
			return
		}
		p.toVisit(&pageWork{j: j, page: page, state: Failed})
		return
	}
	if pause, ok := retryableStatus(resp); ok && e.Attempts < p.retries {
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

// retry sends j back to the frontier with a backoff.
func (p *pipeline) retry(j *job, pause time.Duration) {
	e := j.e
	e.Attempts++
	wait := pause
	if wait == 0 {
		// 500 ms, 1 s, 2 s … up to 30 s, each spread over ±50%.
		base := min(500*time.Millisecond<<min(e.Attempts-1, 6), 30*time.Second)
		wait = base/2 + rand.N(base)
	}
	e.NotBefore = time.Now().Add(wait).UnixNano()
	j.e = e
	p.s.results <- &result{j: j, retry: true, pause: pause}
}

// parseWorker extracts the links of HTML pages.
func (p *pipeline) parseWorker() {
	for w := range p.parseCh {
		p.parse(w)
		p.toVisit(w)
	}
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
	for _, l := range pl.links {
		u, err := p.cz.resolve(base, l.href)
		if err != nil || u == page.URL {
			continue
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
		p.c.update(func(st *Stats) {
			st.Pages++
			if page.Response != nil {
				st.Fetched++
				st.Bytes += int64(len(page.Response.Body))
			}
			if page.Err != nil {
				st.Errors[errKind(page.Err)]++
			}
		})
		if !p.stopped.Load() {
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
			buf := make([]byte, 64<<10)
			err = &sluice.PanicError{Value: v, Stack: buf[:runtime.Stack(buf, false)]}
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

// fetchRobots fetches and parses a host's robots.txt.
func (p *pipeline) fetchRobots(j *job) *result {
	p.c.update(func(st *Stats) { st.RobotsFetched++ })
	resp, err := p.fetchFollowing(j.url)
	r := &result{j: j}
	switch {
	case err != nil:
		r.robots, r.note = disallowRobots(), "robots.txt unreachable: "+errKind(err)
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		// More than five redirects: unavailable, as a 4xx.
		r.robots = allowRobots()
	case resp.StatusCode >= 500:
		r.robots, r.note = disallowRobots(), "robots.txt status "+strconv.Itoa(resp.StatusCode)
	case resp.StatusCode >= 400:
		r.robots = allowRobots()
	default:
		body := resp.Body[:min(len(resp.Body), robotsMaxBytes)]
		r.robots = parseRobots(body, p.ua)
		for _, u := range r.robots.sitemaps() {
			if c, err := p.cz.resolve(j.url, u); err == nil {
				r.sitemaps = append(r.sitemaps, c)
			}
		}
	}
	return r
}

// fetchFollowing GETs u, following up to five redirects; past them it
// returns the last redirect response.
func (p *pipeline) fetchFollowing(u string) (*sluice.Response, error) {
	for i := 0; ; i++ {
		resp, err := p.fetcher.Fetch(p.fetchCtx, u)
		if err != nil {
			return nil, err
		}
		loc := resp.Header.Get("Location")
		if resp.StatusCode < 300 || resp.StatusCode >= 400 || loc == "" || i == robotsMaxRedirects {
			return resp, nil
		}
		next, err := p.cz.resolve(u, loc)
		if err != nil {
			return resp, nil
		}
		u = next
	}
}

// fetchSitemap fetches a sitemap or sitemap index and returns the URLs in
// scope that it lists.
func (p *pipeline) fetchSitemap(j *job) *result {
	r := &result{j: j}
	resp, err := p.fetchFollowing(j.url)
	if err != nil || resp.StatusCode/100 != 2 {
		return r
	}
	var body io.Reader = bytes.NewReader(resp.Body)
	if bytes.HasPrefix(resp.Body, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(body)
		if err != nil {
			return r
		}
		defer zr.Close()
		body = io.LimitReader(zr, parseBudget)
	}
	d := xml.NewDecoder(body)
	d.Strict = false
	var inSitemap, inLoc bool
	var loc strings.Builder
	for len(r.locs) < sitemapMaxURLs {
		tok, err := d.Token()
		if err != nil {
			break
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "sitemap":
				inSitemap = true
			case "loc":
				inLoc = true
				loc.Reset()
			}
		case xml.CharData:
			if inLoc && loc.Len() < 4096 {
				loc.Write(t)
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "sitemap":
				inSitemap = false
			case "loc":
				inLoc = false
				u, err := p.cz.resolve(j.url, strings.TrimSpace(loc.String()))
				switch {
				case err != nil:
				case inSitemap:
					r.sitemaps = append(r.sitemaps, u)
				case p.inScope(u):
					r.locs = append(r.locs, u)
				}
			}
		}
	}
	return r
}

// inScope reports whether links to canonical URL u are followed.
func (p *pipeline) inScope(u string) bool {
	c := p.c
	if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
		return false
	}
	switch c.Scope {
	case ScopeHost:
		if !p.scopeHosts[authority(u)] {
			return false
		}
	case ScopeDomain:
		h := hostname(u)
		ok := p.scopeDomains[h]
		for d := range p.scopeDomains {
			if ok = ok || strings.HasSuffix(h, "."+d); ok {
				break
			}
		}
		if !ok {
			return false
		}
	}
	for _, re := range c.Deny {
		if re.MatchString(u) {
			return false
		}
	}
	if len(c.Allow) == 0 {
		return true
	}
	for _, re := range c.Allow {
		if re.MatchString(u) {
			return true
		}
	}
	return false
}

// authority returns the host and port of a canonical URL.
func authority(u string) string {
	rest := u[strings.Index(u, "://")+3:]
	if j := strings.IndexByte(rest, '/'); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

// hostname returns the host name of a canonical URL, without port.
func hostname(u string) string {
	i := strings.Index(u, "://")
	rest := u[i+3:]
	if j := strings.IndexByte(rest, '/'); j >= 0 {
		rest = rest[:j]
	}
	if strings.HasPrefix(rest, "[") {
		if j := strings.IndexByte(rest, ']'); j >= 0 {
			return rest[:j+1]
		}
	}
	if j := strings.LastIndexByte(rest, ':'); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

// registrable returns the registrable domain of a host name (example.com
// for www.example.com), or the name itself for IP addresses and the like.
func registrable(h string) string {
	d, err := publicsuffix.EffectiveTLDPlusOne(h)
	if err != nil {
		return h
	}
	return d
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

// retryableErr reports whether a failed fetch may succeed if tried again.
func retryableErr(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, errStopped) {
		return false
	}
	var dns *net.DNSError
	if errors.As(err, &dns) && dns.IsNotFound {
		return false
	}
	var ue *url.Error
	if errors.As(err, &ue) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET)
}

// retryableStatus reports whether a status asks for a retry, and the pause
// its Retry-After asks for (at most a minute; longer ones are not waited).
func retryableStatus(resp *sluice.Response) (time.Duration, bool) {
	switch resp.StatusCode {
	case 429, 500, 502, 503, 504:
	default:
		return 0, false
	}
	ra := resp.Header.Get("Retry-After")
	if ra == "" || resp.StatusCode != 429 && resp.StatusCode != 503 {
		return 0, true
	}
	var d time.Duration
	if secs, err := strconv.Atoi(strings.TrimSpace(ra)); err == nil {
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(ra); err == nil {
		d = time.Until(t)
	}
	if d > time.Minute {
		return 0, false
	}
	return max(d, 0), true
}

// errKind names the kind of a failure for the summary.
func errKind(err error) string {
	var dns *net.DNSError
	var op *net.OpError
	var ne net.Error
	var cert *tls.CertificateVerificationError
	var rec tls.RecordHeaderError
	switch {
	case errors.Is(err, ErrRobots):
		return "robots"
	case errors.Is(err, ErrTooManyRedirects):
		return "redirects"
	case errors.Is(err, errStopped) || errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.As(err, &dns):
		return "dns"
	case errors.As(err, &cert) || errors.As(err, &rec):
		return "tls"
	case errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return "reset"
	case errors.As(err, &op) && op.Op == "dial":
		return "connect"
	case errors.Is(err, ErrBadURL):
		return "url"
	}
	return "other"
}
