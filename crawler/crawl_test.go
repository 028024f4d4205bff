package crawler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/crawler/crawltest"
)

// crawlAll crawls seeds with c and returns the pages visited by URL,
// failing the test if a URL is visited twice.
func crawlAll(t *testing.T, c *Crawler, seeds ...string) (map[string]*Page, error) {
	t.Helper()
	var mu sync.Mutex
	pages := make(map[string]*Page)
	err := c.Crawl(context.Background(), seeds, func(p *Page) error {
		mu.Lock()
		defer mu.Unlock()
		if _, dup := pages[p.URL]; dup {
			t.Errorf("visited twice: %s", p.URL)
		}
		pages[p.URL] = p
		return nil
	})
	return pages, err
}

func TestCrawlSyntheticSiteExactlyOnce(t *testing.T) {
	site := crawltest.NewSite(2000, 10)
	srv := httptest.NewServer(site)
	defer srv.Close()
	c := &Crawler{MaxInFlight: 20}
	pages, err := crawlAll(t, c, srv.URL+"/p/0")
	if err != nil {
		t.Fatal(err)
	}
	unique, dups := site.Fetches()
	if unique != 2000 || dups != 0 {
		t.Errorf("server saw %d unique pages and %d duplicate fetches, want 2000 and 0", unique, dups)
	}
	if len(pages) != 2000 {
		t.Errorf("visited %d pages, want 2000", len(pages))
	}
	st := c.Stats()
	if st.Pages != 2000 || st.Fetched != 2000 || st.StatusCodes[200] != 2000 || st.Queued != 0 || st.InFlight != 0 {
		t.Errorf("stats: %+v", st)
	}
	if st.Duplicates < 2000*9-2000 {
		t.Errorf("duplicates skipped = %d, want most of the %d links", st.Duplicates, 2000*10)
	}
	p := pages[srv.URL+"/p/0"]
	if p == nil || p.Title != "Page 0" || len(p.Links) == 0 || p.Depth != 0 || p.Parent != "" {
		t.Errorf("seed page: %+v", p)
	}
}

// linkSite serves pages from a map of path to HTML body; unknown paths 404.
func linkSite(t *testing.T, pages map[string]string) (*httptest.Server, *sync.Map) {
	t.Helper()
	var hits sync.Map
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := hits.LoadOrStore(r.URL.RequestURI(), new(atomic.Int32))
		n.(*atomic.Int32).Add(1)
		body, ok := pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func hitCount(hits *sync.Map, path string) int {
	n, ok := hits.Load(path)
	if !ok {
		return 0
	}
	return int(n.(*atomic.Int32).Load())
}

func TestCrawlScopeAndLimits(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<a href=/deeper>x</a>")
	}))
	defer other.Close()
	srv, _ := linkSite(t, map[string]string{
		"/":        `<a href="/a">a</a><a href="/skip/me">s</a><a rel="nofollow" href="/nf">n</a><a href="` + other.URL + `/x">o</a>`,
		"/a":       `<a href="/a/b">b</a>`,
		"/a/b":     `<a href="/a/b/c">c</a>`,
		"/a/b/c":   `end`,
		"/skip/me": `x`,
		"/nf":      `x`,
	})
	deny := regexp.MustCompile(`/skip/`)
	for _, tc := range []struct {
		name string
		c    *Crawler
		want []string
	}{
		{"host", &Crawler{}, []string{"/", "/a", "/a/b", "/a/b/c", "/skip/me", "/nf"}},
		{"depth", &Crawler{MaxDepth: 1}, []string{"/", "/a", "/skip/me", "/nf"}},
		{"deny", &Crawler{Deny: []*regexp.Regexp{deny}}, []string{"/", "/a", "/a/b", "/a/b/c", "/nf"}},
		{"allow", &Crawler{Allow: []*regexp.Regexp{regexp.MustCompile(`/a`)}}, []string{"/", "/a", "/a/b", "/a/b/c"}},
		{"nofollow", &Crawler{Nofollow: true}, []string{"/", "/a", "/a/b", "/a/b/c", "/skip/me"}},
		{"max pages", &Crawler{MaxPages: 3}, nil},
		{"any", &Crawler{Scope: ScopeAny, MaxDepth: 1}, []string{"/", "/a", "/skip/me", "/nf", other.URL + "/x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pages, err := crawlAll(t, tc.c, srv.URL+"/")
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == nil {
				if len(pages) != tc.c.MaxPages {
					t.Fatalf("%d pages, want %d", len(pages), tc.c.MaxPages)
				}
				return
			}
			var got []string
			for u := range pages {
				got = append(got, strings.TrimPrefix(u, srv.URL))
			}
			sort.Strings(got)
			sort.Strings(tc.want)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("pages %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCrawlDomainScope(t *testing.T) {
	var c Crawler
	c.Scope = ScopeDomain
	p := &pipeline{cfg: c.resolve(), c: &c}
	cz := newCanonicalizer(canonOptions{})
	p.scopeHosts, p.scopeDomains = seedScope(cz, []string{"https://www.example.co.uk/"})
	for u, want := range map[string]bool{
		"https://www.example.co.uk/x":    true,
		"https://shop.example.co.uk/x":   true,
		"http://example.co.uk/":          true,
		"https://example.com/":           false,
		"https://other.co.uk/":           false,
		"https://notexample.co.uk/":      false,
		"https://a.b.example.co.uk:81/x": true,
	} {
		if got := p.inScope(u); got != want {
			t.Errorf("inScope(%s) = %v, want %v", u, got, want)
		}
	}
}

func TestCrawlCaps(t *testing.T) {
	// Two hosts: one slow, one fast. The slow one must not hold back the
	// fast one, and neither may pass its per-host cap.
	slow, fast := crawltest.NewSite(200, 5), crawltest.NewSite(400, 5)
	slow.Latency, fast.Latency = 50*time.Millisecond, time.Millisecond
	slowSrv, fastSrv := httptest.NewServer(slow), httptest.NewServer(fast)
	defer slowSrv.Close()
	defer fastSrv.Close()
	c := &Crawler{MaxInFlight: 12, PerHost: 4}
	var fastDone, slowAtFastDone atomic.Int64
	err := c.Crawl(context.Background(), []string{slowSrv.URL + "/p/0", fastSrv.URL + "/p/0"}, func(p *Page) error {
		if strings.HasPrefix(p.URL, fastSrv.URL) && fastDone.Add(1) == 400 {
			u, _ := slow.Fetches()
			slowAtFastDone.Store(int64(u))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if slow.PeakInFlight() > 4 || fast.PeakInFlight() > 4 {
		t.Errorf("peak in flight: slow %d, fast %d; cap 4", slow.PeakInFlight(), fast.PeakInFlight())
	}
	if n := slowAtFastDone.Load(); n >= 150 {
		t.Errorf("the fast host finished only after %d of 200 slow pages: it was held back", n)
	}
	if u, _ := slow.Fetches(); u != 200 {
		t.Errorf("slow host: %d pages", u)
	}
}

func TestCrawlHostRatePacing(t *testing.T) {
	site := crawltest.NewSite(30, 3)
	srv := httptest.NewServer(site)
	defer srv.Close()
	var mu sync.Mutex
	var starts []time.Time
	c := &Crawler{HostRate: 50, IgnoreRobots: true, Client: &http.Client{
		Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			mu.Lock()
			starts = append(starts, time.Now())
			mu.Unlock()
			return http.DefaultTransport.RoundTrip(r)
		}),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	if _, err := crawlAll(t, c, srv.URL+"/p/0"); err != nil {
		t.Fatal(err)
	}
	if len(starts) != 30 {
		t.Fatalf("%d requests", len(starts))
	}
	sort.Slice(starts, func(i, j int) bool { return starts[i].Before(starts[j]) })
	// Starts are paced 20 ms apart when dispatched; by the time the
	// transport sees them, goroutine scheduling has moved each by a little.
	if span := starts[len(starts)-1].Sub(starts[0]); span < 29*19*time.Millisecond {
		t.Errorf("30 starts within %v at 50/s", span)
	}
	// No burst: whatever delayed one start, the starts from i to j never
	// come faster than the rate allows, give or take one interval.
	for i := range starts {
		for j := i + 1; j < len(starts); j++ {
			if d, least := starts[j].Sub(starts[i]), time.Duration(j-i-1)*20*time.Millisecond; d < least {
				t.Errorf("starts %d to %d within %v at 50/s, want at least %v", i, j, d, least)
			}
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestCrawlRetriesThroughFrontier(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/flaky":
			if calls.Add(1) < 3 {
				w.Header().Set("Retry-After", "0")
				http.Error(w, "slow down", http.StatusTooManyRequests)
				return
			}
			fmt.Fprint(w, "ok")
		case "/down":
			http.Error(w, "down", http.StatusServiceUnavailable)
		default:
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, `<a href="/flaky">f</a><a href="/down">d</a>`)
		}
	}))
	defer srv.Close()
	c := &Crawler{Retries: 2, IgnoreRobots: true}
	pages, err := crawlAll(t, c, srv.URL+"/")
	if err != nil {
		t.Fatal(err)
	}
	if p := pages[srv.URL+"/flaky"]; p == nil || p.Response == nil || p.Response.StatusCode != 200 {
		t.Errorf("flaky page: %+v", p)
	}
	if p := pages[srv.URL+"/down"]; p == nil || p.Response == nil || p.Response.StatusCode != 503 {
		t.Errorf("down page: %+v", p)
	}
	if st := c.Stats(); st.Retries != 4 || st.Pages != 3 {
		t.Errorf("retries %d, pages %d; want 4 and 3", st.Retries, st.Pages)
	}
}

func TestCrawlRedirects(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<a href="/loop1">l</a><a href="/chain/0">c</a><a href="/moved">m</a><a href="/target">t</a>`)
	})
	mux.HandleFunc("/loop1", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop2", http.StatusFound) })
	mux.HandleFunc("/loop2", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop1", http.StatusFound) })
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/target", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/target", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "here") })
	mux.HandleFunc("/chain/", func(w http.ResponseWriter, r *http.Request) {
		var n int
		fmt.Sscan(strings.TrimPrefix(r.URL.Path, "/chain/"), &n)
		http.Redirect(w, r, fmt.Sprintf("/chain/%d", n+1), http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := &Crawler{MaxRedirects: 5, IgnoreRobots: true}
	pages, err := crawlAll(t, c, srv.URL+"/")
	if err != nil {
		t.Fatal(err)
	}
	// / + loop1 + loop2 + target + moved + chain/0…5 (the last one over
	// the limit) = 11, each once, although /target is linked and redirected
	// to.
	if len(pages) != 11 {
		var got []string
		for u := range pages {
			got = append(got, u)
		}
		t.Fatalf("%d pages: %v", len(pages), got)
	}
	last := pages[srv.URL+"/chain/5"]
	if last == nil || !errors.Is(last.Err, ErrTooManyRedirects) {
		t.Errorf("end of chain: %+v", last)
	}
	if p := pages[srv.URL+"/moved"]; p == nil || len(p.Links) != 1 || p.Links[0] != srv.URL+"/target" {
		t.Errorf("moved: %+v", p)
	}
}

// TestCrawlRedirectOutOfScope checks that a redirect to a host out of
// scope is counted in Stats.OutOfScope, as such a link is: a seed that
// redirected off its host ended the crawl with nothing counted anywhere.
func TestCrawlRedirectOutOfScope(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "other") }))
	defer other.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusMovedPermanently)
	}))
	defer srv.Close()
	c := &Crawler{IgnoreRobots: true}
	pages, err := crawlAll(t, c, srv.URL+"/")
	if err != nil {
		t.Fatal(err)
	}
	if p := pages[srv.URL+"/"]; len(pages) != 1 || p == nil || len(p.Links) != 1 || p.Links[0] != other.URL+"/" {
		t.Fatalf("pages %v; want the seed's 301 alone, linking to %s/", pages, other.URL)
	}
	st := c.Stats()
	if st.OutOfScope != 1 {
		t.Errorf("OutOfScope %d, want 1", st.OutOfScope)
	}
	if want := []string{srv.URL + "/ -> " + other.URL + "/"}; !slices.Equal(st.SeedRedirectsOut, want) {
		t.Errorf("SeedRedirectsOut %q, want %q", st.SeedRedirectsOut, want)
	}
}

func TestCrawlVisitErrors(t *testing.T) {
	site := crawltest.NewSite(300, 5)
	srv := httptest.NewServer(site)
	defer srv.Close()

	c := &Crawler{MaxInFlight: 4}
	n := 0
	err := c.Crawl(context.Background(), []string{srv.URL + "/p/0"}, func(p *Page) error {
		n++
		return SkipLinks
	})
	if err != nil || n != 1 {
		t.Errorf("SkipLinks on the seed: %d pages, err %v", n, err)
	}

	n = 0
	err = c.Crawl(context.Background(), []string{srv.URL + "/p/0"}, func(p *Page) error {
		if n++; n == 10 {
			return SkipAll
		}
		return nil
	})
	if err != nil || n != 10 {
		t.Errorf("SkipAll: %d pages, err %v", n, err)
	}

	boom := errors.New("boom")
	n = 0
	err = c.Crawl(context.Background(), []string{srv.URL + "/p/0"}, func(p *Page) error {
		if n++; n == 5 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || n != 5 || c.Stats().Pages != 5 {
		t.Errorf("error: %d pages, %d records, err %v", n, c.Stats().Pages, err)
	}

	err = c.Crawl(context.Background(), []string{srv.URL + "/p/0"}, func(p *Page) error { panic("visit panicked") })
	var pe *sluice.PanicError
	if !errors.As(err, &pe) || pe.Value != "visit panicked" {
		t.Errorf("panic: err %v", err)
	}
}

func TestCrawlSlowVisitReported(t *testing.T) {
	srv := httptest.NewServer(crawltest.NewSite(5, 2))
	defer srv.Close()
	var log strings.Builder
	var mu sync.Mutex
	// A visit that returns at once must not pass SlowVisit, even on a
	// machine that stalls it for a moment: 300 ms of margin, not 20.
	c := &Crawler{SlowVisit: 300 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(&lockedWriter{w: &log, mu: &mu}, nil))}
	err := c.Crawl(context.Background(), []string{srv.URL + "/p/0"}, func(p *Page) error {
		if p.URL == srv.URL+"/p/2" {
			time.Sleep(350 * time.Millisecond)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	st := c.Stats()
	mu.Lock()
	defer mu.Unlock()
	if st.SlowVisits != 1 || st.VisitTime < 350*time.Millisecond || !strings.Contains(log.String(), srv.URL+"/p/2") {
		t.Errorf("slow visits %d, visit time %v, log %q", st.SlowVisits, st.VisitTime, log.String())
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestCrawlCancelGrace(t *testing.T) {
	site := crawltest.NewSite(100000, 10)
	site.Latency = 100 * time.Millisecond
	srv := httptest.NewServer(site)
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	c := &Crawler{MaxInFlight: 10, Grace: 5 * time.Second}
	var visited atomic.Int64
	err := c.Crawl(ctx, []string{srv.URL + "/p/0"}, func(p *Page) error {
		if p.Err != nil {
			t.Errorf("page in flight failed within the grace period: %v", p.Err)
		}
		if visited.Add(1) == 5 {
			cancel() // with about ten pages in flight
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
	if u, _ := site.Fetches(); int64(u) != visited.Load() {
		t.Errorf("server served %d pages, %d visited", u, visited.Load())
	}
	if st := c.Stats(); st.Queued == 0 || st.InFlight != 0 {
		t.Errorf("stats after cancel: queued %d, in flight %d", st.Queued, st.InFlight)
	}

	// With no grace left, pages in flight end with an error, still visited
	// once each.
	ctx, cancel = context.WithCancel(context.Background())
	c = &Crawler{MaxInFlight: 10, Grace: time.Millisecond}
	var failed, seen atomic.Int64
	err = c.Crawl(ctx, []string{srv.URL + "/p/0"}, func(p *Page) error {
		if p.Err != nil {
			failed.Add(1)
			var fe *sluice.FetchError
			if !errors.As(p.Err, &fe) || !errors.Is(p.Err, errStopped) {
				t.Errorf("cut short: %v", p.Err)
			}
		}
		if seen.Add(1) == 5 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || failed.Load() == 0 {
		t.Errorf("err %v, %d pages cut short", err, failed.Load())
	}
}

func TestPageDocumentLazy(t *testing.T) {
	srv, hits := linkSite(t, map[string]string{"/": `<div class="price">42</div>`})
	var price string
	err := Crawl(context.Background(), []string{srv.URL + "/"}, func(p *Page) error {
		if p.doc != nil {
			t.Error("document built before it was asked for")
		}
		doc, err := p.Document()
		if err != nil {
			return err
		}
		price = doc.Find(".price").Text()
		return nil
	})
	if err != nil || price != "42" {
		t.Fatalf("price %q, err %v", price, err)
	}
	if n := hitCount(hits, "/"); n != 1 {
		t.Errorf("page fetched %d times", n)
	}
}

func TestCrawlSitemaps(t *testing.T) {
	site := crawltest.NewSite(3000, 1) // each page links only to the next
	srv := httptest.NewServer(site)
	defer srv.Close()
	c := &Crawler{Sitemaps: true, MaxDepth: 1}
	pages, err := crawlAll(t, c, srv.URL+"/p/0")
	if err != nil {
		t.Fatal(err)
	}
	// The sitemap lists /p/0…/p/999 at depth 1, which link on to /p/1000
	// at depth 2, past the limit.
	if len(pages) != 1000 {
		t.Fatalf("%d pages, want the 1000 of the sitemap", len(pages))
	}
}

func TestCrawlManyLinksCapped(t *testing.T) {
	var b strings.Builder
	for i := range 100000 {
		fmt.Fprintf(&b, `<a href="/l/%d">x</a>`, i)
	}
	srv, _ := linkSite(t, map[string]string{"/": b.String()})
	c := &Crawler{MaxLinks: 500, MaxDepth: 1, MaxInFlight: 50}
	pages, err := crawlAll(t, c, srv.URL+"/")
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) != 501 || c.Stats().LinksDropped != 100000-500 {
		t.Fatalf("%d pages, %d links dropped", len(pages), c.Stats().LinksDropped)
	}
}

func TestCrawlInfiniteCalendarEnds(t *testing.T) {
	// Every day links to the next with a fresh session id: an infinite URL
	// space, bounded here by MaxPages.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var day int
		fmt.Sscan(r.URL.Query().Get("day"), &day)
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<a href="/cal?day=%d&sid=%d">next</a><a href="/cal?day=%d&sid=%d">prev</a>`, day+1, rand.Int(), day-1, rand.Int())
	}))
	defer srv.Close()
	c := &Crawler{MaxPages: 300, IgnoreRobots: true}
	pages, err := crawlAll(t, c, srv.URL+"/cal?day=0")
	if err != nil || len(pages) != 300 {
		t.Fatalf("%d pages, err %v", len(pages), err)
	}
}

func TestCrawlBadSeeds(t *testing.T) {
	pages, err := crawlAll(t, &Crawler{}, "ftp://x/", "", "http://", "::nope")
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) != 4 {
		t.Fatalf("%d records for 4 bad seeds", len(pages))
	}
	for u, p := range pages {
		if !errors.Is(p.Err, ErrBadURL) {
			t.Errorf("%q: err %v", u, p.Err)
		}
	}
}

// TestCrawlSharedFrontier runs two crawls at once on one frontier, as
// several machines share one crawl through a shared store: together they
// fetch every page once, and both end only when the whole crawl is done.
func TestCrawlSharedFrontier(t *testing.T) {
	site := crawltest.NewSite(3000, 10)
	site.Latency = time.Millisecond
	srv := httptest.NewServer(site)
	defer srv.Close()
	shared := &MemoryFrontier{}
	var mu sync.Mutex
	seen := make(map[string]int)
	var counts [2]int
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() {
			c := &Crawler{MaxInFlight: 10, Frontier: shared}
			// The second crawl starts from a page the first will also
			// find; it must not fetch it again.
			seed := srv.URL + "/p/0"
			if i == 1 {
				seed = srv.URL + "/p/1500"
			}
			err := c.Crawl(context.Background(), []string{seed}, func(p *Page) error {
				mu.Lock()
				seen[p.URL]++
				counts[i]++
				mu.Unlock()
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	unique, dups := site.Fetches()
	if unique != 3000 || dups != 0 || len(seen) != 3000 {
		t.Errorf("%d pages fetched, %d twice, %d visited", unique, dups, len(seen))
	}
	for u, n := range seen {
		if n != 1 {
			t.Errorf("%s visited %d times", u, n)
		}
	}
	if counts[0] == 0 || counts[1] == 0 {
		t.Errorf("work split %v: one crawl did nothing", counts)
	}
	if p, n, _ := shared.Counts(context.Background()); p != 0 || n != 0 {
		t.Errorf("frontier left with %d pending, %d in flight", p, n)
	}
}

// TestCrawlDeadHostDoesNotStarve crawls a host whose pages hang next to a
// healthy one with the default PerHost: the hanging host holds at most its
// share of the slots, so every healthy page is visited before the first
// hanging request times out.
func TestCrawlDeadHostDoesNotStarve(t *testing.T) {
	dead := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			w.Header().Set("Content-Type", "text/html")
			for i := range 10 {
				fmt.Fprintf(w, `<a href="/hang/%d">x</a>`, i)
			}
			return
		}
		if r.URL.Path != "/robots.txt" {
			<-r.Context().Done()
		}
	}))
	defer dead.Close()
	healthy := crawltest.NewSite(200, 5)
	srv := httptest.NewServer(healthy)
	defer srv.Close()
	c := &Crawler{MaxInFlight: 10, Timeout: time.Second}
	var healthyDone int
	var timedOutFirst bool
	err := c.Crawl(context.Background(), []string{dead.URL + "/", srv.URL + "/p/0"}, func(p *Page) error {
		switch {
		case strings.HasPrefix(p.URL, srv.URL):
			healthyDone++
		case p.Err != nil && healthyDone < 200:
			timedOutFirst = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if timedOutFirst || healthyDone != 200 {
		t.Errorf("a hanging request timed out before the healthy host was done (%d of 200 pages)", healthyDone)
	}
}

// TestCrawlAbort aborts a crawl while requests are in flight: after the
// site's first 20 pages every request hangs until it is cancelled, and the
// crawl is aborted once 5 of them hang, so that their cancelling does not
// depend on how fast pages are visited.
func TestCrawlAbort(t *testing.T) {
	site := crawltest.NewSite(100000, 10)
	var served atomic.Int32
	hanging := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" || served.Add(1) <= 20 {
			site.ServeHTTP(w, r)
			return
		}
		select {
		case hanging <- struct{}{}:
		case <-r.Context().Done():
			return
		}
		<-r.Context().Done()
	}))
	defer srv.Close()
	c := &Crawler{MaxInFlight: 10, Grace: time.Minute}
	crawled, aborter := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(aborter)
		for range 5 {
			select {
			case <-hanging:
			case <-crawled: // ended without hanging requests: the checks fail
				return
			}
		}
		c.Abort()
	}()
	err := c.Crawl(context.Background(), []string{srv.URL + "/p/0"}, func(*Page) error { return nil })
	close(crawled)
	<-aborter
	if !errors.Is(err, ErrAborted) {
		t.Fatalf("err %v, want ErrAborted", err)
	}
	if st := c.Stats(); st.Queued == 0 || st.InFlight != 0 || st.Errors["cancelled"] == 0 {
		t.Errorf("after abort: %d queued, %d in flight, errors %v", st.Queued, st.InFlight, st.Errors)
	}
}

// TestCrawlStopKeepsRetriesQueued stops a crawl while a page waits out its
// retry backoff: the page stays pending in the frontier, unrecorded, as
// every URL not yet fetched does.
func TestCrawlStopKeepsRetriesQueued(t *testing.T) {
	srv, _ := linkSite(t, map[string]string{"/": `<a href="/busy">b</a>`})
	busy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "busy", http.StatusServiceUnavailable)
	}))
	defer busy.Close()
	f := &MemoryFrontier{}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Crawler{Retries: 5, IgnoreRobots: true, Frontier: f}
	var visited []string
	err := c.Crawl(ctx, []string{srv.URL + "/", busy.URL + "/x"}, func(p *Page) error {
		visited = append(visited, p.URL)
		cancel() // after the first page; /x is then waiting to be retried
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
	pending, inFlight, _ := f.Counts(context.Background())
	if inFlight != 0 || pending+len(visited) != 3 {
		t.Errorf("visited %v; frontier: %d pending, %d in flight", visited, pending, inFlight)
	}
	if st := c.Stats(); st.Queued != int64(pending) {
		t.Errorf("stats say %d queued, frontier %d", st.Queued, pending)
	}
}

func TestCrawlScopeIPv6(t *testing.T) {
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skip("no IPv6 loopback:", err)
	}
	srv := httptest.NewUnstartedServer(crawltest.NewSite(20, 3))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	defer srv.Close()
	for _, scope := range []Scope{ScopeHost, ScopeDomain} {
		pages, err := crawlAll(t, &Crawler{Scope: scope}, srv.URL+"/p/0")
		if err != nil || len(pages) != 20 {
			t.Errorf("scope %d: %d pages, err %v", scope, len(pages), err)
		}
	}
}

func TestCrawlLinkBytesCapped(t *testing.T) {
	// 10,000 two-byte links against an 8,000-byte <base href> would
	// resolve to 80 MB of URLs.
	var b strings.Builder
	b.WriteString(`<base href="/` + strings.Repeat("d/", 4000) + `">`)
	for i := range 10000 {
		fmt.Fprintf(&b, `<a href="%d">x</a>`, i)
	}
	srv, _ := linkSite(t, map[string]string{"/": b.String()})
	var links, size int
	c := &Crawler{MaxDepth: 1, IgnoreRobots: true}
	err := c.Crawl(context.Background(), []string{srv.URL + "/"}, func(p *Page) error {
		if p.Depth == 0 {
			links = len(p.Links)
			for _, l := range p.Links {
				size += len(l)
			}
			return SkipLinks
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if size > maxLinkBytes || links == 0 || c.Stats().LinksDropped != int64(10000-links) {
		t.Errorf("%d links of %d bytes kept, %d dropped", links, size, c.Stats().LinksDropped)
	}
}

// TestCrawlResumesFromFrontier stops a crawl from visit, then runs it again
// on the same frontier: the second takes up what the first left, and
// between them every page is visited once. Only the pages in flight at the
// stop, fetched but not visited, are fetched again.
func TestCrawlResumesFromFrontier(t *testing.T) {
	site := crawltest.NewSite(300, 5)
	srv := httptest.NewServer(site)
	defer srv.Close()
	f := &MemoryFrontier{}
	visited := map[string]int{}
	stop := errors.New("stop")
	c := &Crawler{MaxInFlight: 8, Frontier: f}
	err := c.Crawl(context.Background(), []string{srv.URL + "/p/0"}, func(p *Page) error {
		visited[p.URL]++
		if len(visited) == 20 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Fatalf("first crawl: %v", err)
	}
	pending, inFlight, _ := f.Counts(context.Background())
	if pending == 0 || inFlight != 0 || c.Stats().Queued != int64(pending) {
		t.Fatalf("after the stop: %d pending, %d in flight, %d queued", pending, inFlight, c.Stats().Queued)
	}
	err = (&Crawler{MaxInFlight: 8, Frontier: f}).Crawl(context.Background(), []string{srv.URL + "/p/0"}, func(p *Page) error {
		visited[p.URL]++
		return nil
	})
	if err != nil {
		t.Fatalf("second crawl: %v", err)
	}
	for u, n := range visited {
		if n != 1 {
			t.Errorf("%s visited %d times", u, n)
		}
	}
	if unique, dups := site.Fetches(); len(visited) != 300 || unique != 300 || dups > 8 {
		t.Errorf("%d visited, %d fetched, %d fetched twice", len(visited), unique, dups)
	}
}

func TestCrawlAbortWhilePaced(t *testing.T) {
	srv := httptest.NewServer(crawltest.NewSite(100, 5))
	defer srv.Close()
	// A start every 5 s: Abort must not wait for the next one.
	c := &Crawler{HostRate: 0.2, IgnoreRobots: true}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	err := c.Crawl(ctx, []string{srv.URL + "/p/0"}, func(p *Page) error {
		c.Abort()
		return nil
	})
	if !errors.Is(err, ErrAborted) {
		t.Fatalf("err %v, want ErrAborted at once", err)
	}
}

// TestCrawlFairShareLeavesNoSlotIdle crawls a host that asks for a 5 s
// Crawl-delay next to a fast one: the fast host may use the slots the slow
// one cannot, beyond its half share.
func TestCrawlFairShareLeavesNoSlotIdle(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" {
			fmt.Fprint(w, "User-agent: *\nCrawl-delay: 5\n")
			return
		}
		w.Header().Set("Content-Type", "text/html")
		for i := range 20 {
			fmt.Fprintf(w, `<a href="/%d">x</a>`, i)
		}
	}))
	defer slow.Close()
	fast := crawltest.NewSite(400, 10)
	fast.Latency = 5 * time.Millisecond
	srv := httptest.NewServer(fast)
	defer srv.Close()
	c := &Crawler{MaxInFlight: 10}
	done := 0
	err := c.Crawl(context.Background(), []string{slow.URL + "/", srv.URL + "/p/0"}, func(p *Page) error {
		if strings.HasPrefix(p.URL, srv.URL) {
			if done++; done == 400 {
				return SkipAll
			}
		}
		return nil
	})
	if err != nil || done != 400 {
		t.Fatalf("%d fast pages, err %v", done, err)
	}
	if peak := fast.PeakInFlight(); peak <= 5 {
		t.Errorf("fast host peaked at %d in flight of 10 while the other waited out its delay", peak)
	}
}

// requestLog keeps the request URIs a test server was asked for; it is
// safe for concurrent use.
type requestLog struct {
	mu   sync.Mutex
	uris []string
}

func (l *requestLog) add(r *http.Request) {
	l.mu.Lock()
	l.uris = append(l.uris, r.URL.RequestURI())
	l.mu.Unlock()
}

// sorted returns the URIs asked for, sorted.
func (l *requestLog) sorted() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Sorted(slices.Values(l.uris))
}

// TestCrawlLinksInPageCharset crawls a windows-1252 page whose links name
// two pages past ASCII: each is requested as a browser requests it, and
// neither is lost to the other as U+FFFD.
func TestCrawlLinksInPageCharset(t *testing.T) {
	var asked requestLog
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=windows-1252")
		if r.URL.Path == "/" {
			io.WriteString(w, "<a href=\"/caf\xe9\">1</a><a href=\"/caf\xe8?q=\xe9\">2</a>")
			return
		}
		asked.add(r)
	}))
	defer srv.Close()
	pages, err := crawlAll(t, &Crawler{IgnoreRobots: true}, srv.URL+"/")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/caf%C3%A8?q=%E9", "/caf%C3%A9"}
	if got := asked.sorted(); !slices.Equal(got, want) || len(pages) != 3 {
		t.Errorf("requested %q (%d records), want %q", got, len(pages), want)
	}
}

// TestCrawlSitemapImagesNotPages crawls a site whose sitemap lists a page
// and, in the image extension, its picture: the picture is not a page.
func TestCrawlSitemapImagesNotPages(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/sitemap.xml" {
			fmt.Fprintf(w, `<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">
<url><loc>http://%[1]s/page</loc><image:image><image:loc>http://%[1]s/photo.jpg</image:loc></image:image></url></urlset>`, r.Host)
			return
		}
		w.Header().Set("Content-Type", "text/html")
	}))
	defer srv.Close()
	pages, err := crawlAll(t, &Crawler{Sitemaps: true, IgnoreRobots: true}, srv.URL+"/")
	if err != nil {
		t.Fatal(err)
	}
	got := slices.Sorted(maps.Keys(pages))
	if want := []string{srv.URL + "/", srv.URL + "/page"}; !slices.Equal(got, want) {
		t.Errorf("records %q, want %q", got, want)
	}
}

// TestCrawlRedirectLocationNotUTF8 follows redirects whose Location holds
// Latin-1 bytes: each target is requested as browsers and net/http request
// it, and the two are not made one URL.
func TestCrawlRedirectLocationNotUTF8(t *testing.T) {
	var asked requestLog
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/1":
			w.Header().Set("Location", "/caf\xe9 1")
			w.WriteHeader(http.StatusFound)
		case "/2":
			w.Header().Set("Location", "/caf\xe8 1")
			w.WriteHeader(http.StatusFound)
		default:
			asked.add(r)
		}
	}))
	defer srv.Close()
	pages, err := crawlAll(t, &Crawler{IgnoreRobots: true}, srv.URL+"/1", srv.URL+"/2")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/caf%E8%201", "/caf%E9%201"}
	if got := asked.sorted(); !slices.Equal(got, want) || len(pages) != 4 {
		t.Errorf("requested %q (%d records), want %q", got, len(pages), want)
	}
}

// TestCrawlStrayPercent follows links with a "%" that starts no escape,
// which browsers request as they are and net/url refuses: each is fetched,
// its "%" sent as "%25", and keeps its canonical URL in the record; the
// escape of an unreserved character is decoded ("%41" is "A").
func TestCrawlStrayPercent(t *testing.T) {
	var asked requestLog
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		if r.URL.Path == "/" {
			io.WriteString(w, `<a href="/100%">1</a><a href="/a%zz?b=%&c=%41">2</a>`)
			return
		}
		asked.add(r)
	}))
	defer srv.Close()
	pages, err := crawlAll(t, &Crawler{IgnoreRobots: true}, srv.URL+"/")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pages {
		if p.Err != nil {
			t.Errorf("%s: %v", p.URL, p.Err)
		}
	}
	want := []string{"/100%25", "/a%25zz?b=%25&c=A"}
	if got := asked.sorted(); !slices.Equal(got, want) || pages[srv.URL+"/100%"] == nil {
		t.Errorf("requested %q, want %q; records %q", got, want, slices.Sorted(maps.Keys(pages)))
	}
}

// TestCrawlOneAtATime checks that a second Crawl of a Crawler whose first
// still runs fails at once instead of taking over the first's Stats and
// Abort, and that the Crawler takes a new Crawl once the first has ended.
func TestCrawlOneAtATime(t *testing.T) {
	site := crawltest.NewSite(50, 5)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hold" { // the first crawl's seed
			<-release
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, `<a href="/p/0">site</a>`)
			return
		}
		site.ServeHTTP(w, r)
	}))
	defer srv.Close()
	c := &Crawler{}
	first := make(chan error, 1)
	go func() {
		first <- c.Crawl(context.Background(), []string{srv.URL + "/hold"}, func(*Page) error { return nil })
	}()
	for c.Stats().InFlight == 0 {
		time.Sleep(time.Millisecond)
	}
	var visited atomic.Int32
	second := c.Crawl(context.Background(), []string{srv.URL + "/p/1"}, func(*Page) error {
		visited.Add(1)
		return nil
	})
	close(release)
	if second == nil || !strings.Contains(second.Error(), "another Crawl") || visited.Load() != 0 {
		t.Fatalf("second Crawl = %v after %d visits, want an error saying another Crawl runs", second, visited.Load())
	}
	if err := <-first; err != nil {
		t.Fatalf("first Crawl = %v", err)
	}
	if st := c.Stats(); st.Pages != 51 || len(st.Errors) != 0 {
		t.Fatalf("first crawl's stats: %+v; want its seed and the 50 pages of its site", st)
	}
	if err := c.Crawl(context.Background(), []string{srv.URL + "/p/1"}, func(*Page) error { return nil }); err != nil {
		t.Fatalf("Crawl after the first ended = %v", err)
	}
}

// TestCrawlEscapeSpellings crawls a page linking to the same pages in
// spellings that differ only in percent-encoding (RFC 3986 §6.2.2): each
// page is fetched once, under one URL, while "%2F", which is not "/",
// keeps its page apart.
func TestCrawlEscapeSpellings(t *testing.T) {
	var asked requestLog
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, `<a href="/a%7e">1</a><a href="/a%7E">2</a><a href="/a~">3</a>`+
				`<a href="/%61~">4</a><a href="/q?x=%7e&y=%2f">5</a><a href="/q?x=~&y=%2F">6</a>`+
				`<a href="/c%2Fd">7</a><a href="/c/d">8</a><a href="/%c3%a9">9</a><a href="/é">10</a>`)
			return
		}
		asked.add(r)
	}))
	defer srv.Close()
	pages, err := crawlAll(t, &Crawler{IgnoreRobots: true}, srv.URL+"/")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/%C3%A9", "/a~", "/c%2Fd", "/c/d", "/q?x=~&y=%2F"}
	if got := asked.sorted(); !slices.Equal(got, want) {
		t.Errorf("requested %q, want %q", got, want)
	}
	if got := slices.Sorted(maps.Keys(pages)); len(got) != len(want)+1 {
		t.Errorf("records %q, want one for the seed and one for each of %q", got, want)
	}
}
