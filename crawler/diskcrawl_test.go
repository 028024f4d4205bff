package crawler

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/crawler/crawltest"
)

// TestCrawlResumesFromDisk stops a crawl on a DiskFrontier, closes it,
// opens the directory again and crawls on: every page is visited once, and
// only the pages in flight at the stop are fetched twice. A third crawl of
// the finished directory fetches nothing. With Sitemaps too: the crawls
// that resume, whose seed the frontier had seen, had waited for ever on
// the seed host's sitemap, which no one was told to fetch.
func TestCrawlResumesFromDisk(t *testing.T) {
	for _, sitemaps := range []bool{false, true} {
		t.Run(fmt.Sprintf("sitemaps=%v", sitemaps), func(t *testing.T) { crawlResumesFromDisk(t, sitemaps) })
	}
}

func crawlResumesFromDisk(t *testing.T, sitemaps bool) {
	site := crawltest.NewSite(1000, 8)
	srv := httptest.NewServer(site)
	defer srv.Close()
	dir := t.TempDir()
	seeds := []string{srv.URL + "/p/0"}
	visited := map[string]int{}
	visit := func(p *Page) error { visited[p.URL]++; return nil }
	stop := errors.New("stop")
	newCrawler := func(f *DiskFrontier) *Crawler { return &Crawler{MaxInFlight: 8, Frontier: f, Sitemaps: sitemaps} }

	f := openDisk(t, dir, nil)
	err := newCrawler(f).Crawl(context.Background(), seeds, func(p *Page) error {
		visit(p)
		if len(visited) == 200 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Fatalf("first crawl: %v", err)
	}
	must(t, f.Close())

	for range 2 {
		f = openDisk(t, dir, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := newCrawler(f).Crawl(ctx, seeds, visit)
		late := ctx.Err()
		cancel()
		must(t, f.Close())
		if err != nil || late != nil {
			t.Fatalf("crawl resumed: %v, %v", err, late)
		}
	}
	for u, n := range visited {
		if n != 1 {
			t.Errorf("%s visited %d times", u, n)
		}
	}
	if unique, dups := site.Fetches(); len(visited) != 1000 || unique != 1000 || dups > 8 {
		t.Errorf("%d visited, %d fetched, %d fetched twice", len(visited), unique, dups)
	}
}

// TestCrawlResumedKeepsMaxPages stops a crawl with MaxPages on a
// DiskFrontier once it has admitted its pages but not fetched them all,
// and resumes it: the URLs taken in across both crawls are MaxPages, not
// MaxPages more for each.
func TestCrawlResumedKeepsMaxPages(t *testing.T) {
	site := crawltest.NewSite(1000, 8)
	srv := httptest.NewServer(site)
	defer srv.Close()
	dir := t.TempDir()
	seeds := []string{srv.URL + "/p/0"}
	const maxPages = 100
	visited := map[string]int{}
	visit := func(p *Page) error { visited[p.URL]++; return nil }
	stop := errors.New("stop")

	f := openDisk(t, dir, nil)
	err := (&Crawler{MaxInFlight: 4, MaxPages: maxPages, Frontier: f}).Crawl(context.Background(), seeds, func(p *Page) error {
		visit(p)
		if len(visited) == maxPages/2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Fatalf("first crawl: %v", err)
	}
	must(t, f.Close())

	f = openDisk(t, dir, nil)
	defer f.Close()
	if err := (&Crawler{MaxInFlight: 4, MaxPages: maxPages, Frontier: f}).Crawl(context.Background(), seeds, visit); err != nil {
		t.Fatal(err)
	}
	if len(visited) != maxPages {
		t.Errorf("%d URLs visited across the two crawls, want MaxPages, %d", len(visited), maxPages)
	}
}

// uncommitted returns the URLs a kill would make the next run fetch
// again: leased, or finished and not yet committed.
func (f *DiskFrontier) uncommitted() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.out) + int(f.finTaken-f.finCommitted)
}

// TestCrawlHoldsSlotsUntilCommit crawls with an Output's committer
// running and samples, in every visit and from a goroutine, the URLs
// leased or finished and not committed: never more than MaxInFlight,
// because a finished page keeps its slot until its Finish is committed.
func TestCrawlHoldsSlotsUntilCommit(t *testing.T) {
	const conc = 6
	ctx := context.Background()
	site := crawltest.NewSite(2000, 8)
	srv := httptest.NewServer(site)
	defer srv.Close()
	dir := t.TempDir()
	f, out := openDiskOutput(t, dir)
	defer f.Close()
	out.StartCommitter(ctx)
	var peak atomic.Int64
	sample := func() {
		if n := int64(f.uncommitted()); n > peak.Load() {
			peak.Store(n)
		}
	}
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Microsecond):
				sample()
			}
		}
	}()
	err := (&Crawler{MaxInFlight: conc, VisitWorkers: conc, Frontier: f}).Crawl(ctx, []string{srv.URL + "/p/0"}, func(p *Page) error {
		sample()
		return out.Write(p.URL, []byte(p.URL+"\n"))
	})
	close(stop)
	<-sampled
	must(t, err)
	must(t, out.Close(ctx))
	if unique, _ := site.Fetches(); unique != 2000 {
		t.Fatalf("%d pages fetched, want 2000", unique)
	}
	if p := peak.Load(); p > conc || p == 0 {
		t.Fatalf("at most %d URLs leased or uncommitted at once, want 1 to %d", p, conc)
	}
	t.Logf("peak %d leased or uncommitted at -c %d", peak.Load(), conc)
}

// TestCrawlResumedSkipsRobotsDenials stops a crawl with MaxPages on a
// DiskFrontier once robots.txt has denied three URLs, and resumes it: the
// denied URLs use up no place in the resumed crawl either, which fetches
// MaxPages pages across both, as one crawl does
// (TestMaxPagesSkipsRobotsDenials). The resumed crawl counted them, and
// fetched two.
func TestCrawlResumedSkipsRobotsDenials(t *testing.T) {
	srv := deniedSite()
	defer srv.Close()
	dir := t.TempDir()
	seeds := []string{srv.URL + "/"}
	const maxPages = 5
	fetched, denied := map[string]bool{}, map[string]bool{}
	visit := func(p *Page) error {
		switch {
		case errors.Is(p.Err, ErrRobots):
			denied[p.URL] = true
		case p.Err == nil:
			fetched[p.URL] = true
		default:
			t.Errorf("%s: %v", p.URL, p.Err)
		}
		return nil
	}
	stop := errors.New("stop")

	f := openDisk(t, dir, nil)
	err := (&Crawler{MaxInFlight: 1, MaxPages: maxPages, Frontier: f}).Crawl(context.Background(), seeds, func(p *Page) error {
		visit(p)
		if len(denied) == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Fatalf("first crawl: %v", err)
	}
	must(t, f.Close())
	if len(fetched) != 1 {
		t.Fatalf("first crawl fetched %v, want the seed alone", fetched)
	}

	f = openDisk(t, dir, nil)
	defer f.Close()
	if err := (&Crawler{MaxInFlight: 1, MaxPages: maxPages, Frontier: f}).Crawl(context.Background(), seeds, visit); err != nil {
		t.Fatal(err)
	}
	if len(fetched) != maxPages || len(denied) != 3 {
		t.Errorf("%d pages fetched and %d denied across the two crawls, want %d and 3", len(fetched), len(denied), maxPages)
	}
	if s, err := f.State(context.Background(), srv.URL+"/private/0"); err != nil || s != Failed {
		t.Errorf("a denied URL's state: %v, %v; want failed", s, err)
	}
}

// TestCrawlFrontierFails crawls on a DiskFrontier that is closed, and on
// one closed while the crawl runs: Crawl returns the frontier's error
// (it returned nil, as if the crawl had run to its end), every seed whose
// admission failed is still visited once, with that error, and no URL is
// visited twice (the links whose admission failed were each visited with
// it, a page's link back to its seed too).
func TestCrawlFrontierFails(t *testing.T) {
	site := crawltest.NewSite(1000, 8)
	srv := httptest.NewServer(site)
	defer srv.Close()
	seeds := []string{srv.URL + "/p/0", srv.URL + "/p/1"}
	for _, tc := range []struct {
		name        string
		closeBefore bool
	}{
		{"closed before the crawl", true},
		{"closed during the crawl", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := OpenDiskFrontier(t.TempDir(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.closeBefore {
				f.Close()
			}
			visited := map[string]int{}
			c := &Crawler{MaxInFlight: 4, Frontier: f}
			err = c.Crawl(context.Background(), seeds, func(p *Page) error {
				if visited[p.URL]++; len(visited) == 5 {
					f.Close()
				}
				return nil
			})
			f.Close()
			if err == nil || !strings.Contains(err.Error(), "frontier closed") {
				t.Fatalf("Crawl = %v, want the frontier's error", err)
			}
			for u, n := range visited {
				if n != 1 {
					t.Errorf("%s visited %d times", u, n)
				}
			}
			if tc.closeBefore && (len(visited) != len(seeds) || visited[seeds[0]] != 1) {
				t.Fatalf("visited %v, want each seed once", visited)
			}
		})
	}
}
