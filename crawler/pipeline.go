// This file holds what the stages of a crawl share. Data flows:
//
//	seeds ─▶ scheduler ──jobs──▶ fetch workers ──▶ parse workers ──▶ visit workers
//	            ▲   │                  │ (robots.txt, sitemaps,         │
//	            │   └─ hostsched:      │  failures, non-HTML)           │
//	            │      caps, pacing    └──────────────▶─────────────────┤
//	            └───────────────────── results ◀────────────────────────┘
//
// The scheduler is the only goroutine that touches the frontier's queues
// and the host state; every job ends in exactly one result.

package crawler

import (
	"sync/atomic"

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
	cfg      *config
	c        *Crawler // for Stats
	s        *scheduler
	fetcher  *sluice.Fetcher // its Attempt sends each request once
	cz       *canonicalizer
	visit    func(*Page) error
	lastSlow atomic.Int64

	scopeHosts, scopeDomains map[string]bool
	headerOrigins            map[string]bool // where cfg.Header goes

	budget  *semaphore.Weighted
	parseCh chan *pageWork
	visitCh chan *pageWork
	stopped atomic.Bool // visit returned an error: call it no more
	durable bool        // the frontier outlives the crawl: see outlivesCrawl
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

func (p *pipeline) toVisit(w *pageWork) { p.visitCh <- w }
