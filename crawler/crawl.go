// This file holds Crawl: it resolves the configuration, starts the stages
// around the scheduler, runs the scheduler to the end and says why the
// crawl ended.

package crawler

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"
)

// Crawl crawls from seeds and calls visit once for every URL taken in: each
// seed and each admitted link, whether it was fetched (Page.Response) or
// failed (Page.Err). It returns nil when nothing is left pending or in
// flight. When the Frontier fails for good (a full disk, a DiskFrontier
// closed under it), the crawl stops, its URLs left pending for a resume,
// and Crawl returns that failure. A Crawl called while another Crawl of c runs returns an
// error at once.
//
// When ctx ends, intake stops, pages in flight get Grace to finish (those
// cut short are visited with their error, or on a DiskFrontier or a
// RedisFrontier stay pending, not visited), and Crawl returns ctx's
// error; URLs not yet fetched stay pending in the Frontier. When visit
// returns an error other than SkipLinks, intake stops the same way but
// visit is not called again, as with filepath.WalkDir: the pages still in
// flight go back to the Frontier as pending, the links of the page whose
// visit stopped the crawl are admitted as pending (so a resumed crawl
// finds them), and Crawl returns visit's error (nil for SkipAll).
// [Crawler.Abort] ends a crawl at once with [ErrAborted].
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
	// The fetches outlive ctx by the grace period: their context is
	// cancelled by Abort or when the grace ends. The frontier's outlives
	// both, so that pages cut short are still put back.
	fetchCtx, cancelFetch := context.WithCancelCause(context.WithoutCancel(ctx))
	defer cancelFetch(nil)
	store := context.WithoutCancel(fetchCtx)
	if err := c.begin(func() { cancelFetch(errStopped) }); err != nil {
		return err
	}
	defer c.end()

	cfg := c.resolve()
	s := newScheduler(cfg)
	p := newPipeline(cfg, s, visit, seeds)

	stages := p.startStages(fetchCtx)
	s.countEarlier(store)
	s.seed(store, p.cz, seeds)
	s.loop(ctx, fetchCtx, store, func() { cancelFetch(errStopped) })
	s.release(store)
	p.stopStages(stages)
	c.update(func(st *Stats) { st.Elapsed = time.Since(st.start); st.done = true; st.InFlight = 0 })
	return crawlErr(ctx, fetchCtx, s.stopErr)
}

// begin resets the counters and arms Abort for a crawl, unless another
// crawl of c runs: the two would share the counters and Abort.
func (c *Crawler) begin(abort func()) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.abort != nil {
		return errors.New("crawler: Crawl called while another Crawl of this Crawler runs")
	}
	c.stats = Stats{start: time.Now(), Errors: make(map[string]int64), StatusCodes: make(map[int]int64)}
	c.abort = abort
	return nil
}

// end disarms Abort.
func (c *Crawler) end() {
	c.mu.Lock()
	c.abort = nil
	c.mu.Unlock()
}

// crawlErr says why a crawl ended: visit's error (nil for SkipAll), ctx's,
// ErrAborted, or nil when it ran out of work.
func crawlErr(ctx, fetchCtx context.Context, stopErr error) error {
	switch {
	case errors.Is(stopErr, SkipAll):
		return nil
	case stopErr != nil:
		return stopErr
	case ctx.Err() != nil:
		return ctx.Err()
	case context.Cause(fetchCtx) != nil:
		return ErrAborted
	}
	return nil
}

// stages are the worker groups around the scheduler.
type stages struct{ fetchers, parsers, visitors sync.WaitGroup }

// startStages starts the fetch, parse and visit workers; fetches run with
// ctx.
func (p *pipeline) startStages(ctx context.Context) *stages {
	st := &stages{}
	for range p.cfg.inFlight {
		st.fetchers.Go(func() { p.fetchWorker(ctx) })
	}
	for range runtime.GOMAXPROCS(0) {
		st.parsers.Go(p.parseWorker)
	}
	for range p.cfg.visitWorkers {
		st.visitors.Go(p.visitWorker)
	}
	return st
}

// stopStages closes the stages in order, each once the one before it has
// drained, and closes the connections the crawl left idle.
func (p *pipeline) stopStages(st *stages) {
	close(p.s.jobs)
	st.fetchers.Wait()
	close(p.parseCh)
	st.parsers.Wait()
	close(p.visitCh)
	st.visitors.Wait()
	p.fetcher.Close()
}

// newPipeline returns the stages' shared state for a crawl from seeds.
func newPipeline(cfg *config, s *scheduler, visit func(*Page) error, seeds []string) *pipeline {
	p := &pipeline{
		cfg: cfg, c: cfg.Crawler, s: s, fetcher: cfg.fetcher(), visit: visit,
		cz:      newCanonicalizer(canonOptions{sortQuery: cfg.SortQuery, stripTracking: cfg.StripTracking}),
		budget:  semaphore.NewWeighted(parseBudget),
		parseCh: make(chan *pageWork, runtime.GOMAXPROCS(0)),
		visitCh: make(chan *pageWork, cfg.visitWorkers),
	}
	p.scopeHosts, p.scopeDomains = seedScope(p.cz, seeds)
	p.headerOrigins = seedOrigins(p.cz, seeds)
	p.durable = outlivesCrawl(cfg.frontier)
	return p
}

// outlivesCrawl reports whether f outlives the crawl: kept on disk for a
// crawl that resumes it, or shared through Redis with other processes. The
// pages a stop cuts short then stay pending in it, for that crawl or
// those processes to fetch, instead of being visited with their error and
// recorded as failed for good.
func outlivesCrawl(f Frontier) bool {
	switch f.(type) {
	case durableFrontier, *RedisFrontier:
		return true
	}
	return false
}
