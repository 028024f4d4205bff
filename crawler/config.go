// This file holds the configuration a crawl runs with: the Crawler's
// fields with their defaults resolved, once, when Crawl starts.

package crawler

import (
	"log/slog"
	"time"

	"github.com/sluicehq/sluice"
)

// config is a Crawler's settings with every default applied. Crawl
// resolves it once; nothing else reads a default.
type config struct {
	*Crawler // the fields without a default, read as set

	inFlight      int // MaxInFlight
	retries       int // Retries: 0 means sluice.DefaultRetries
	perHost       int
	userAgent     string
	maxLinks      int
	maxRedirects  int // negative: none followed
	maxCrawlDelay time.Duration
	slowVisit     time.Duration // negative: never reported
	grace         time.Duration
	visitWorkers  int
	logger        *slog.Logger
	frontier      Frontier
	maxQueue      int // 0: no cap
}

// resolve returns c's configuration with the documented defaults.
func (c *Crawler) resolve() *config {
	cfg := &config{
		Crawler: c, inFlight: c.MaxInFlight, perHost: c.PerHost, userAgent: c.UserAgent,
		maxLinks: c.MaxLinks, maxRedirects: c.MaxRedirects, maxCrawlDelay: c.MaxCrawlDelay,
		slowVisit: c.SlowVisit, grace: c.Grace, visitWorkers: max(c.VisitWorkers, 1),
		logger: c.Logger, frontier: c.Frontier, retries: sluice.ResolveRetries(c.Retries),
	}
	if cfg.inFlight <= 0 {
		cfg.inFlight = 50
	}
	if cfg.perHost <= 0 || cfg.perHost > cfg.inFlight {
		cfg.perHost = cfg.inFlight
	}
	if cfg.userAgent == "" {
		cfg.userAgent = sluice.DefaultUserAgent
	}
	if cfg.maxLinks <= 0 {
		cfg.maxLinks = 10000
	}
	if cfg.maxRedirects == 0 {
		cfg.maxRedirects = 10
	}
	if cfg.maxCrawlDelay == 0 {
		cfg.maxCrawlDelay = 10 * time.Second
	}
	if cfg.slowVisit == 0 {
		cfg.slowVisit = time.Second
	}
	if cfg.grace <= 0 {
		cfg.grace = 10 * time.Second
	}
	if cfg.logger == nil {
		cfg.logger = slog.Default()
	}
	if cfg.frontier == nil {
		cfg.frontier = &MemoryFrontier{}
	}
	cfg.maxQueue = max(c.MaxQueue, 0)
	if _, inMemory := cfg.frontier.(*MemoryFrontier); inMemory && c.MaxQueue == 0 {
		cfg.maxQueue = DefaultMaxQueue
	}
	return cfg
}

// fetcher returns the Fetcher whose Attempt sends the crawl's requests:
// its client is sized to the caps and follows no redirects (they go
// through the frontier).
func (cfg *config) fetcher() *sluice.Fetcher {
	return &sluice.Fetcher{
		MaxInFlight: cfg.inFlight, PerHost: cfg.perHost, Timeout: cfg.Timeout, MaxBody: cfg.MaxBody,
		UserAgent: cfg.userAgent, MaxRedirects: -1, Client: cfg.Client,
		Jar: cfg.Jar, Proxy: cfg.Proxy, TLSConfig: cfg.TLSConfig,
		MaxHeaderBytes: cfg.MaxHeaderBytes, DenyPrivate: cfg.DenyPrivate, InsecureSkipVerify: cfg.InsecureSkipVerify,
	} // Header is added per request, by origin: see pipeline.get
}
