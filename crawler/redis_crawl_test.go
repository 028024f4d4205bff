package crawler_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sluicehq/sluice/crawler"
	"github.com/sluicehq/sluice/crawler/crawltest"
	"github.com/sluicehq/sluice/crawler/frontiertest"
	"github.com/sluicehq/sluice/internal/redistest"
)

// newClient returns a client of srv of its own, closed when t ends.
func newClient(t *testing.T, srv *redistest.Server) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestRedisFrontierReapsDeadWorker(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	const ttl = time.Second
	deadClient := redis.NewClient(&redis.Options{Addr: srv.Addr})
	dead, err := crawler.NewRedisFrontier(deadClient, "reap", crawler.RedisOptions{Worker: "dead", LeaseTTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	live := openRedisCrawl(t, newClient(t, srv), "reap", crawler.RedisOptions{Worker: "live", LeaseTTL: ttl})
	const u = "http://a.example/x"
	if _, err := dead.Admit(ctx, []crawler.Entry{{URL: u}, {URL: u + "2"}}); err != nil {
		t.Fatal(err)
	}
	// The hand-out leases the URLs until ttl after it at the earliest.
	popped := time.Now()
	stale, ok, err := dead.Pop(ctx, "http://a.example")
	if err != nil || !ok || stale.URL != u {
		t.Fatalf("pop: %+v %v %v", stale, ok, err)
	}
	// The worker dies: its heartbeat stops (its connection is gone).
	_ = deadClient.Close()
	_ = dead.Close()
	// A machine that stalled for the lease's length since the hand-out
	// leaves nothing to check before the lease expires.
	n, err := live.Beat(ctx)
	if early := time.Since(popped) < ttl; err != nil || early && n != 0 {
		t.Fatalf("reaped %d (%v) before the lease expired", n, err)
	}
	if s, _ := live.State(ctx, u); s != crawler.InFlight && time.Since(popped) < ttl {
		t.Fatalf("state %v, want in flight", s)
	}
	// The live worker's heartbeat (every ttl/3) reaps the lease once it
	// has expired.
	for deadline := time.Now().Add(5 * ttl); ; time.Sleep(ttl / 10) {
		if s, _ := live.State(ctx, u); s == crawler.Pending {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("lease not reaped %v after it expired", 4*ttl)
		}
	}
	if p, i, _ := live.Counts(ctx); p != 2 || i != 0 {
		t.Fatalf("counts %d pending, %d in flight after the reap; want 2, 0", p, i)
	}
	// The URL went back to the front of its queue.
	cur, ok, err := live.Pop(ctx, "http://a.example")
	if err != nil || !ok || cur.URL != u || cur.Lease == stale.Lease {
		t.Fatalf("pop after reap: %+v %v %v", cur, ok, err)
	}
	if err := live.Finish(ctx, cur, crawler.Done); err != nil {
		t.Fatal(err)
	}
	// The dead worker's late answers, from any process, change nothing.
	late := openRedisCrawl(t, newClient(t, srv), "reap", crawler.RedisOptions{Worker: "dead", LeaseTTL: ttl})
	if err := late.Finish(ctx, stale, crawler.Failed); !errors.Is(err, crawler.ErrLeaseLost) {
		t.Fatalf("late finish: %v, want ErrLeaseLost", err)
	}
	if err := late.Retry(ctx, stale); !errors.Is(err, crawler.ErrLeaseLost) {
		t.Fatalf("late retry: %v, want ErrLeaseLost", err)
	}
	if s, _ := live.State(ctx, u); s != crawler.Done {
		t.Fatalf("state %v, want done", s)
	}
	if p, i, _ := live.Counts(ctx); p != 1 || i != 0 {
		t.Fatalf("counts %d pending, %d in flight; want 1, 0", p, i)
	}
}

func TestRedisFrontierCloseReleases(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	client := srv.Client(t)
	a, err := crawler.NewRedisFrontier(client, "close", crawler.RedisOptions{Worker: "a"})
	if err != nil {
		t.Fatal(err)
	}
	b := openRedisCrawl(t, client, "close", crawler.RedisOptions{Worker: "b"})
	if _, err := a.Admit(ctx, []crawler.Entry{{URL: "http://a.example/1"}}); err != nil {
		t.Fatal(err)
	}
	e, _, _ := a.Pop(ctx, "http://a.example")
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if p, i, _ := b.Counts(ctx); p != 1 || i != 0 {
		t.Fatalf("counts %d, %d after Close; want 1 pending", p, i)
	}
	if err := a.Finish(ctx, e, crawler.Done); !errors.Is(err, crawler.ErrLeaseLost) {
		t.Fatalf("finish after close: %v, want ErrLeaseLost", err)
	}
}

// crawlShared runs one Crawl per crawler on the crawl name, each with its
// own client and frontier, and returns how many times each URL was
// visited and by which crawl.
func crawlShared(t *testing.T, srv *redistest.Server, name string, crawlers []*crawler.Crawler, seeds []string) (map[string]int, []int) {
	t.Helper()
	var mu sync.Mutex
	seen := make(map[string]int)
	per := make([]int, len(crawlers))
	var wg sync.WaitGroup
	for i, c := range crawlers {
		f := openRedisCrawl(t, newClient(t, srv), name, crawler.RedisOptions{Worker: fmt.Sprint("w", i), LeaseTTL: 2 * time.Second})
		c.Frontier = f
		wg.Go(func() {
			err := c.Crawl(context.Background(), seeds, func(p *crawler.Page) error {
				mu.Lock()
				seen[p.URL]++
				per[i]++
				mu.Unlock()
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	return seen, per
}

func TestRedisCrawlTwoProcessesEnd(t *testing.T) {
	srv := redistest.Start(t)
	site := crawltest.NewSite(1500, 10)
	site.Latency = time.Millisecond
	hs := httptest.NewServer(site)
	defer hs.Close()
	crawlers := []*crawler.Crawler{{MaxInFlight: 8}, {MaxInFlight: 8}}
	seen, per := crawlShared(t, srv, "two", crawlers, []string{hs.URL + "/p/0"})
	unique, dups := site.Fetches()
	if unique != 1500 || dups != 0 || len(seen) != 1500 {
		t.Errorf("%d pages fetched, %d twice, %d visited; want 1500, 0, 1500", unique, dups, len(seen))
	}
	for u, n := range seen {
		if n != 1 {
			t.Errorf("%s visited %d times", u, n)
		}
	}
	if per[0] == 0 || per[1] == 0 {
		t.Errorf("work split %v: one crawl did nothing", per)
	}
	f, _ := crawler.NewRedisFrontier(srv.Client(t), "two", crawler.RedisOptions{Worker: "check"})
	defer f.Close()
	if p, n, _ := f.Counts(context.Background()); p != 0 || n != 0 {
		t.Errorf("frontier left with %d pending, %d in flight", p, n)
	}
}

// startLog records when each page request started.
type startLog struct {
	mu     sync.Mutex
	starts []time.Time
	next   http.Handler
}

func (l *startLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/p/") {
		l.mu.Lock()
		l.starts = append(l.starts, time.Now())
		l.mu.Unlock()
	}
	l.next.ServeHTTP(w, r)
}

// peakPerSecond returns the most starts in any window of one second.
func peakPerSecond(starts []time.Time) int {
	s := slices.Clone(starts)
	slices.SortFunc(s, func(a, b time.Time) int { return a.Compare(b) })
	peak, j := 0, 0
	for i := range s {
		for s[i].Sub(s[j]) >= time.Second {
			j++
		}
		peak = max(peak, i-j+1)
	}
	return peak
}

func TestRedisCrawlHostRateAcrossProcesses(t *testing.T) {
	srv := redistest.Start(t)
	site := crawltest.NewSite(100, 5)
	log := &startLog{next: site}
	hs := httptest.NewServer(log)
	defer hs.Close()
	const rate = 40
	var crawlers []*crawler.Crawler
	for range 3 {
		crawlers = append(crawlers, &crawler.Crawler{MaxInFlight: 10, HostRate: rate})
	}
	start := time.Now()
	seen, per := crawlShared(t, srv, "rate", crawlers, []string{hs.URL + "/p/0"})
	took := time.Since(start)
	if len(seen) != 100 {
		t.Fatalf("%d pages visited, want 100", len(seen))
	}
	// Three crawls pacing the host each on its own would start 120 a
	// second; together they keep to 40 (one more when a window's edges
	// fall on two starts).
	if peak := peakPerSecond(log.starts); peak > rate+1 {
		t.Errorf("%d page starts in one second; host rate %d", peak, rate)
	}
	if took < 2*time.Second {
		t.Errorf("100 pages at %d/s took %v", rate, took)
	}
	t.Logf("work split %v in %v", per, took)
}

func TestRedisCrawlPerHostAcrossProcesses(t *testing.T) {
	srv := redistest.Start(t)
	site := crawltest.NewSite(200, 5)
	site.Latency = 5 * time.Millisecond
	hs := httptest.NewServer(site)
	defer hs.Close()
	var crawlers []*crawler.Crawler
	for range 3 {
		crawlers = append(crawlers, &crawler.Crawler{MaxInFlight: 10, PerHost: 2, IgnoreRobots: true})
	}
	seen, _ := crawlShared(t, srv, "perhost", crawlers, []string{hs.URL + "/p/0"})
	if len(seen) != 200 {
		t.Fatalf("%d pages visited, want 200", len(seen))
	}
	if peak := site.PeakInFlight(); peak > 2 {
		t.Errorf("the host served %d requests at once; per-host cap 2 across the crawls", peak)
	}
}

// sharedCrawls is crawls of one shared crawl running in goroutines of
// their own, which a test may interrupt once they have visited some pages.
type sharedCrawls struct {
	mu      sync.Mutex
	seen    map[string]int // visits of each URL
	at      int            // pages visited that close reached
	reached chan struct{}
	errs    []error       // each crawl's, once done is closed
	done    chan struct{} // every crawl has returned
}

// startCrawls starts each crawler on seeds in a goroutine of its own;
// waitPages returns once they have visited at pages.
func startCrawls(crawlers []*crawler.Crawler, seeds []string, at int) *sharedCrawls {
	s := &sharedCrawls{seen: make(map[string]int), at: at, reached: make(chan struct{}),
		errs: make([]error, len(crawlers)), done: make(chan struct{})}
	var wg sync.WaitGroup
	for i, c := range crawlers {
		wg.Go(func() { s.errs[i] = c.Crawl(context.Background(), seeds, s.visit) })
	}
	go func() {
		wg.Wait()
		close(s.done)
	}()
	return s
}

func (s *sharedCrawls) visit(p *crawler.Page) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen[p.URL]++
	if len(s.seen) == s.at {
		close(s.reached)
	}
	return nil
}

// waitPages waits until the crawls have visited the pages startCrawls
// was given, and fails t if they all end before.
func (s *sharedCrawls) waitPages(t *testing.T) {
	t.Helper()
	select {
	case <-s.reached:
	case <-s.done:
		t.Fatalf("the crawls ended after %d pages, before %d: %v", len(s.seen), s.at, s.errs)
	}
}

// wait waits until every crawl has returned and returns their errors and
// the visits of each URL.
func (s *sharedCrawls) wait() ([]error, map[string]int) {
	<-s.done
	return s.errs, s.seen
}

// syncBuffer is a bytes.Buffer for a logger written from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRedisCrawlSurvivesRedisRestart kills Redis mid-crawl and starts it
// again: the crawl goes on where it was, and the outage is reported. A
// client with its own retries (go-redis's default) bridges a shorter
// outage unseen, so it gets one longer than those: 3 retries up to 512 ms
// apart, each dial tried 5 times 100 ms apart (go-redis v9.23 defaults).
// With them off, as sluice's CLI sets them, a short outage is reported too.
func TestRedisCrawlSurvivesRedisRestart(t *testing.T) {
	tests := []struct {
		name       string
		maxRetries int
		outage     time.Duration
	}{
		{"client retries", 0, 4 * time.Second},
		{"no client retries", -1, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { testRedisRestart(t, tt.maxRetries, tt.outage) })
	}
}

func testRedisRestart(t *testing.T, maxRetries int, outage time.Duration) {
	srv := redistest.Start(t, "--appendonly", "yes", "--appendfsync", "always")
	site := crawltest.NewSite(600, 10)
	site.Latency = 10 * time.Millisecond
	hs := httptest.NewServer(site)
	defer hs.Close()
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	var crawlers []*crawler.Crawler
	for i := range 2 {
		c := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: maxRetries})
		t.Cleanup(func() { _ = c.Close() })
		f := openRedisCrawl(t, c, "restart", crawler.RedisOptions{Worker: fmt.Sprint("w", i), LeaseTTL: 2 * time.Second, Logger: logger})
		crawlers = append(crawlers, &crawler.Crawler{MaxInFlight: 8, Frontier: f, Logger: logger})
	}
	run := startCrawls(crawlers, []string{hs.URL + "/p/0"}, 100)
	run.waitPages(t)
	srv.Kill()
	time.Sleep(outage)
	srv.Restart(t)
	errs, seen := run.wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	unique, dups := site.Fetches()
	if unique != 600 || len(seen) != 600 {
		t.Errorf("%d pages fetched, %d visited; want 600", unique, len(seen))
	}
	for u, n := range seen {
		if n != 1 {
			t.Errorf("%s visited %d times", u, n)
		}
	}
	if dups != 0 {
		t.Errorf("%d duplicate fetches", dups)
	}
	if out := logs.String(); !strings.Contains(out, "redis unreachable") || !strings.Contains(out, "redis is back") {
		t.Errorf("the outage was not reported:\n%s", out)
	}
}

// TestRedisCrawlCutShortStaysPending: a process of a shared crawl stopped
// with pages in flight hands them back to the shared queue, for the next
// process to fetch.
func TestRedisCrawlCutShortStaysPending(t *testing.T) {
	srv := redistest.Start(t)
	worker := 0
	frontiertest.StopAndResume(t, func(t *testing.T) (crawler.Frontier, func() error) {
		worker++
		f, err := crawler.NewRedisFrontier(newClient(t, srv), "cut", crawler.RedisOptions{Worker: fmt.Sprint("w", worker)})
		if err != nil {
			t.Fatal(err)
		}
		return f, f.Close
	})
}

// TestRedisCrawlStopsWhenRedisLosesTheCrawl restarts Redis without its
// data mid-crawl: every process stops with an error that says the crawl is
// gone from Redis, instead of admitting the links of its pages in flight
// into an empty seen-set and crawling the site again from them.
func TestRedisCrawlStopsWhenRedisLosesTheCrawl(t *testing.T) {
	srv := redistest.Start(t) // no persistence: a restart loses the crawl
	site := crawltest.NewSite(600, 10)
	site.Latency = 10 * time.Millisecond
	hs := httptest.NewServer(site)
	defer hs.Close()
	logger := slog.New(slog.NewTextHandler(&syncBuffer{}, nil))
	var crawlers []*crawler.Crawler
	for i := range 2 {
		c := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1})
		t.Cleanup(func() { _ = c.Close() })
		f := openRedisCrawl(t, c, "lost", crawler.RedisOptions{Worker: fmt.Sprint("w", i), LeaseTTL: 2 * time.Second, Logger: logger})
		crawlers = append(crawlers, &crawler.Crawler{MaxInFlight: 8, Frontier: f, Logger: logger})
	}
	run := startCrawls(crawlers, []string{hs.URL + "/p/0"}, 100)
	run.waitPages(t)
	srv.Restart(t)
	errs, seen := run.wait()
	for i, err := range errs {
		if err == nil || !strings.Contains(err.Error(), "gone from Redis") {
			t.Errorf("crawl %d ended with %v; want the crawl gone from Redis", i, err)
		}
	}
	twice := 0
	for _, n := range seen {
		if n > 1 {
			twice++
		}
	}
	if twice > 0 {
		t.Errorf("%d of %d pages visited twice: the crawl started again from scratch", twice, len(seen))
	}
}
