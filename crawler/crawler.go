// This file holds the Crawler's configuration, the Page handed to visit and
// the Crawl entry points.

package crawler

import (
	"context"
	"crypto/tls"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sync"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/internal/failure"
)

// Scope says which hosts a crawl follows links to.
type Scope uint8

// The scopes.
const (
	// ScopeHost follows links to the seeds' hosts only, port included.
	ScopeHost Scope = iota
	// ScopeDomain follows links to the seeds' registrable domains and
	// their subdomains (example.com covers www.example.com).
	ScopeDomain
	// ScopeAny follows links to any host.
	ScopeAny
)

// ParseScope parses "host", "domain" or "any".
func ParseScope(s string) (Scope, error) {
	switch s {
	case "host":
		return ScopeHost, nil
	case "domain":
		return ScopeDomain, nil
	case "any":
		return ScopeAny, nil
	}
	return 0, errors.New(`crawler: scope must be host, domain or any, not "` + s + `"`)
}

// SkipLinks is used as a return value from visit functions to say that the
// page's links are not to be followed. The crawl goes on.
//
//lint:ignore ST1012 a control-flow sentinel, named like fs.SkipDir
var SkipLinks = errors.New("crawler: skip this page's links")

// SkipAll is used as a return value from visit functions to stop the crawl
// without error: no page is fetched after it and Crawl returns nil once the
// pages in flight have finished.
var SkipAll = fs.SkipAll

// ErrBadURL is the error of a seed that is not an http or https URL.
var ErrBadURL = failure.New(failure.BadURL, "crawler: bad URL")

// ErrAborted is the error of a crawl stopped by Crawler.Abort.
var ErrAborted = failure.New(failure.Cancelled, "crawler: aborted")

// ErrRobots is the error of a page that robots.txt does not allow to fetch.
var ErrRobots = failure.New(failure.Robots, "crawler: disallowed by robots.txt")

// ErrRobotsUnreachable is wrapped, together with [ErrRobots], in the error
// of a page not fetched because its host's robots.txt could not be fetched
// (a network error, a 5xx status or a 429): the host was not reached,
// rather than the page denied.
var ErrRobotsUnreachable = failure.New(failure.Robots, "crawler: robots.txt unreachable")

// ErrTooManyRedirects is the error of a redirect that would pass the
// Crawler's MaxRedirects.
var ErrTooManyRedirects = failure.New(failure.Redirects, "crawler: too many redirects")

// Crawler crawls web sites: it fetches pages, extracts their links and
// follows those in scope, fetching each canonical URL exactly once, under a
// global in-flight cap, a per-host in-flight cap and per-host pacing.
//
// The zero value is ready to use with the defaults below; a Crawler may run
// one Crawl at a time (a Crawl called while another runs returns an error
// at once: the two would share Stats and Abort). Set the fields before
// Crawl and do not change them during it. Stats is safe to call from any
// goroutine while Crawl runs.
type Crawler struct {
	// MaxInFlight caps requests in flight, robots.txt and sitemaps
	// included; 0 means 50. (sluice.Fetcher and sluice.Limiter use the
	// same name for the same cap.)
	MaxInFlight int
	// PerHost caps requests in flight per host; 0 means MaxInFlight.
	PerHost int
	// Rate caps request starts per second overall; 0 means no cap.
	Rate float64
	// HostRate paces each host: its starts are spaced 1/HostRate seconds
	// apart, measured from one start to the next, as in sluice.Fetcher;
	// 0 means no pacing.
	HostRate float64
	// Jitter spreads each host's delay uniformly over ±Jitter of itself
	// (0.2 is ±20%); 0 means none.
	Jitter float64
	// MaxCrawlDelay caps the Crawl-delay a robots.txt may ask for; 0 means
	// 10 seconds, negative means Crawl-delay is ignored.
	MaxCrawlDelay time.Duration

	// MaxDepth is the number of links followed from a seed; 0 means no
	// limit.
	MaxDepth int
	// MaxPages caps the URLs admitted (each ends as one record); 0 means
	// no limit. A URL robots.txt denies still gets its record but gives
	// its place back, so links found later can take it. On a DiskFrontier
	// the URLs it took in before count too, so that a crawl stopped and
	// resumed takes in MaxPages in all.
	MaxPages int
	// Scope says which hosts links are followed to; the zero value is
	// ScopeHost.
	Scope Scope
	// Allow, when not empty, admits only URLs that match one of them.
	Allow []*regexp.Regexp
	// Deny rejects URLs that match any of them.
	Deny []*regexp.Regexp
	// IgnoreRobots turns robots.txt off; by default it is obeyed.
	IgnoreRobots bool
	// Nofollow makes the crawl skip links marked rel=nofollow and pages
	// marked <meta name=robots content=nofollow>.
	Nofollow bool
	// MaxLinks caps the links taken from one page; 0 means 10,000. The
	// links of a page also stop at 4 MiB of resolved URLs, whatever
	// MaxLinks says. The links dropped are counted in Stats.LinksDropped.
	MaxLinks int
	// Sitemaps seeds the crawl with the URLs of the sitemaps listed in the
	// seed hosts' robots.txt, and of their /sitemap.xml.
	Sitemaps bool
	// SortQuery sorts query parameters before URLs are compared.
	SortQuery bool
	// StripTracking drops tracking parameters (utm_*, gclid, fbclid, …)
	// before URLs are compared.
	StripTracking bool

	// UserAgent is sent with every request and chooses the robots.txt
	// group by its product token; "" means sluice.DefaultUserAgent.
	UserAgent string
	// Header is added to the requests sent to the seeds' origins (scheme,
	// host and port), robots.txt included, and to no other: credentials
	// given for a site do not follow its links, redirects or <base href>
	// elsewhere. HeaderAnyHost sends it everywhere.
	Header http.Header
	// PageHeader, when set, returns headers to add to the request of the
	// page at url (not of robots.txt or sitemaps); nil adds none. A
	// recrawl sends a page's stored validators this way (If-None-Match,
	// If-Modified-Since), and records a 304 as unchanged. It is called
	// from the fetch workers and must be safe for concurrent use.
	PageHeader func(url string) http.Header
	// HeaderAnyHost sends Header to every origin the crawl reaches.
	HeaderAnyHost bool
	// MaxHeaderBytes caps the bytes of a response's header; 0 means 1 MiB.
	// Ignored when Client is set.
	MaxHeaderBytes int64
	// DenyPrivate refuses connections to loopback, private, link-local
	// (cloud metadata included), unique-local and other non-public
	// addresses, checked at dial time after DNS resolution; the pages
	// refused fail with kind "blocked". Set it when crawling on behalf of
	// others. Ignored when Client is set.
	DenyPrivate bool
	// InsecureSkipVerify accepts any TLS certificate. Ignored when Client
	// is set.
	InsecureSkipVerify bool
	// Timeout bounds each attempt (one request, body included; a retry is
	// a new attempt), as in sluice.Fetcher; 0 means 30 seconds.
	Timeout time.Duration
	// Retries is how many times a page is fetched again after a network
	// error, a timeout, or a status of 408, 429, 500, 502, 503 or 504, each
	// after a backoff taken in the frontier (Retry-After is honoured), and
	// how many times an unreachable robots.txt is asked for again before
	// its host is disallowed; 0 means sluice.DefaultRetries (2), negative
	// means none.
	Retries int
	// MaxBody caps the bytes of a page kept; 0 means 10 MiB. A longer page
	// is cut and its links are taken from what was read.
	MaxBody int64
	// MaxRedirects caps the redirects followed to reach one page; 0 means
	// 10, negative means none (a 3xx page is recorded with
	// ErrTooManyRedirects). Redirect targets go through the frontier like
	// links, so a page reached by a redirect is still fetched once.
	MaxRedirects int
	// Client sends the requests; nil means a client sized to MaxInFlight
	// that speaks HTTP/2 over TLS where the server offers it. It must not
	// follow redirects itself.
	Client *http.Client
	// Jar keeps the cookies responses set and sends them back, robots.txt
	// and sitemaps included; nil means cookies are not kept. Ignored when
	// Client is set.
	Jar http.CookieJar
	// Proxy is the proxy every request goes through (http, https, socks5
	// or socks5h URL); nil means the environment's, as net/http does.
	// Ignored when Client is set.
	Proxy *url.URL
	// TLSConfig configures TLS connections; nil means net/http's defaults.
	// Ignored when Client is set.
	TLSConfig *tls.Config

	// Frontier holds the seen-set and pending URLs; nil means a new
	// MemoryFrontier.
	Frontier Frontier
	// MaxQueue caps the URLs this crawl keeps pending in the frontier: while
	// it is full, links and sitemap URLs are not admitted; they are counted
	// in Stats.QueueFull and Logger gets one warning. 0 means
	// DefaultMaxQueue with a MemoryFrontier (whose pending URLs are held in
	// memory) and no cap with another Frontier (which may spill to disk);
	// negative means no cap.
	MaxQueue int
	// VisitWorkers is how many visit calls may run at once; 0 means 1, so
	// visit needs no locking.
	VisitWorkers int
	// SlowVisit is the duration past which a visit call is reported as
	// slow, with its URL, to Logger (at most once a second); 0 means 1
	// second, negative means never.
	SlowVisit time.Duration
	// Grace is how long pages in flight may take to finish once ctx ends;
	// 0 means 10 seconds.
	Grace time.Duration
	// Logger receives slow-visit reports; nil means slog.Default().
	Logger *slog.Logger

	mu    sync.Mutex
	stats Stats
	abort func() // cancels the fetches of the running crawl
}

// Abort stops the running crawl at once: intake stops and the pages in
// flight are cancelled, without the grace period, and recorded with their
// error. The CLI calls it on a second Ctrl+C. It does nothing when no crawl
// runs. It is safe for concurrent use.
func (c *Crawler) Abort() {
	c.mu.Lock()
	abort := c.abort
	c.mu.Unlock()
	if abort != nil {
		abort()
	}
}

// Page is a page fetched (or given up on) by a crawl, as handed to visit.
// Its fields are set before visit is called and not changed after, so they
// may be read from any goroutine, also after visit returns; [Page.Document]
// is for one goroutine at a time, and [Page.Follow] and [Page.Enqueue]
// work only on visit's, while it runs. A zero Page, or one made by hand,
// is not part of a crawl: Follow fails and Resolve uses URL as the base.
type Page struct {
	// URL is the canonical URL requested.
	URL string
	// Depth is the number of links followed from a seed.
	Depth int
	// Parent is the URL of the page whose link led here; "" for a seed.
	Parent string
	// Response is the HTTP response; nil when Err is a fetch failure.
	Response *sluice.Response
	// Err is why the page could not be fetched, nil otherwise. A non-2xx
	// status is not an error.
	Err error
	// Links are the canonical http(s) URLs the page links to, in document
	// order without repeats, whether or not they are in scope. A 3xx
	// response's Location is its one link.
	Links []string
	// Title is the text of the page's <title>.
	Title string
	// ContentType is the media type of the response, without parameters.
	ContentType string
	// Duration is the time the fetch took.
	Duration time.Duration

	doc     *goquery.Document
	docErr  error
	base    string         // what links resolve against: <base href>, else URL
	pl      *pipeline      // the crawl, while visit runs; nil otherwise
	cz      *canonicalizer // the crawl's, for Resolve during visit and after
	follows []string       // URLs Follow and Enqueue queued during visit
}

// Stats are the counters of a crawl, as [Crawler.Stats] returns them: a
// copy, maps included, that the caller owns. The zero value is a crawl that
// has not started.
type Stats struct {
	// Pages is the number of records: pages fetched plus URLs failed.
	Pages int64
	// Fetched is the number of pages that got a response.
	Fetched int64
	// Errors counts failed URLs by kind, in the vocabulary `sluice fetch`
	// and `sluice load` share: dns, connect, tls, timeout, reset, read,
	// protocol, cancelled, too-large, redirects, robots, bad-url, other.
	Errors map[string]int64
	// StatusCodes counts the pages fetched by HTTP status.
	StatusCodes map[int]int64
	// Bytes is the body bytes read.
	Bytes int64
	// Retries is the number of fetches repeated after a failure.
	Retries int64
	// RobotsDenied is the number of URLs robots.txt did not allow.
	RobotsDenied int64
	// RobotsFetched is the number of robots.txt fetches.
	RobotsFetched int64
	// RobotsUnanswered is the number of those fetches that got no
	// response (a refused connection, a timeout): the host's URLs are
	// denied until one is answered.
	RobotsUnanswered int64
	// RobotsCached is the number of hosts whose robots.txt came from the
	// frontier, without a fetch: a DiskFrontier keeps each host's for a
	// resumed crawl, and a RedisFrontier for all the crawls sharing it,
	// while it is fresh.
	RobotsCached int64
	// Duplicates is the number of links not admitted because their URL
	// had been seen.
	Duplicates int64
	// OutOfScope is the number of links not admitted for scope, allow,
	// deny, depth or nofollow.
	OutOfScope int64
	// SeedRedirectsOut holds, as "URL -> Location", the first few
	// redirects of seeds to a URL out of scope: a seed example.com that
	// redirects to www.example.com under ScopeHost ends the crawl there,
	// and the target, given as the seed, or a wider Scope crawls the site.
	SeedRedirectsOut []string
	// OverMaxPages is the number of links not admitted because MaxPages
	// URLs had been taken in.
	OverMaxPages int64
	// LinksDropped is the number of links past the per-page cap.
	LinksDropped int64
	// QueueFull is the number of URLs not admitted because MaxQueue URLs
	// were pending.
	QueueFull int64
	// Queued is the number of URLs pending now; PeakQueue the most ever.
	Queued, PeakQueue int64
	// InFlight is the number of requests running now.
	InFlight int64
	// VisitTime is the total time spent in visit calls; SlowVisits the
	// number of calls longer than SlowVisit.
	VisitTime  time.Duration
	SlowVisits int64
	// Elapsed is the time since the crawl began.
	Elapsed time.Duration

	start time.Time
	done  bool
}

// Stats returns a copy of the counters of the current or last crawl.
func (c *Crawler) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Errors = make(map[string]int64, len(c.stats.Errors))
	for k, v := range c.stats.Errors {
		s.Errors[k] = v
	}
	s.StatusCodes = make(map[int]int64, len(c.stats.StatusCodes))
	for k, v := range c.stats.StatusCodes {
		s.StatusCodes[k] = v
	}
	s.SeedRedirectsOut = slices.Clone(c.stats.SeedRedirectsOut)
	if !s.done && !s.start.IsZero() {
		s.Elapsed = time.Since(s.start)
	}
	return s
}

// update changes the counters under the lock.
func (c *Crawler) update(fn func(s *Stats)) {
	c.mu.Lock()
	fn(&c.stats)
	c.mu.Unlock()
}

// Crawl crawls from seeds with a zero [Crawler], whose defaults are
// documented on its fields; see [Crawler.Crawl].
func Crawl(ctx context.Context, seeds []string, visit func(*Page) error) error {
	var c Crawler
	return c.Crawl(ctx, seeds, visit)
}
