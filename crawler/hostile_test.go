package crawler

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/failure"
	"github.com/sluicehq/sluice/internal/hostile"
)

// crawlHostile crawls seeds on c and returns the records by URL.
func crawlHostile(t *testing.T, c *Crawler, seeds ...string) map[string]*Page {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var mu sync.Mutex
	pages := map[string]*Page{}
	err := c.Crawl(ctx, seeds, func(p *Page) error {
		mu.Lock()
		defer mu.Unlock()
		if _, dup := pages[p.URL]; dup {
			t.Errorf("two records for %s", p.URL)
		}
		pages[p.URL] = p
		return nil
	})
	if err != nil {
		t.Fatalf("crawl: %v", err)
	}
	return pages
}

// TestCrawlHostile crawls the misbehaving endpoints of the hostile server:
// each seed gets its one record, with an error or a capped page, and the
// crawl ends.
func TestCrawlHostile(t *testing.T) {
	for _, robots := range []string{"", "junk", "endless"} {
		t.Run("robots="+robots, func(t *testing.T) {
			srv := hostile.New(hostile.Config{Robots: robots})
			defer srv.Close()
			c := &Crawler{Timeout: time.Second, MaxBody: 1 << 20, MaxDepth: 1, MaxInFlight: 8}
			want := map[string]string{ // path → error substring, "" for a page
				"/slowloris?every=20ms": "deadline exceeded",
				"/stall":                "deadline exceeded",
				"/endless":              "",
				"/gzip?size=1073741824": "",
				"/reset":                "reset",
				"/statusline":           "malformed",
				"/ok":                   "",
			}
			var seeds []string
			for p := range want {
				seeds = append(seeds, srv.URL+p)
			}
			pages := crawlHostile(t, c, seeds...)
			for p, wantErr := range want {
				page := pages[srv.URL+p]
				switch {
				case page == nil:
					t.Errorf("%s: no record", p)
				case wantErr == "" && page.Err != nil:
					t.Errorf("%s: %v", p, page.Err)
				case wantErr == "" && int64(len(page.Response.Body)) > c.MaxBody:
					t.Errorf("%s: %d bytes kept, cap %d", p, len(page.Response.Body), c.MaxBody)
				case wantErr != "" && (page.Err == nil || !strings.Contains(page.Err.Error(), wantErr)):
					t.Errorf("%s: err %v, want %q", p, page.Err, wantErr)
				}
			}
		})
	}
}

// TestCrawlHeadersStayWithTheSeeds crawls, in scope "any", a seed whose
// links, redirect and <base href> lead to another port: the Header goes to
// the seed's origin (its robots.txt included) and nowhere else, unless
// HeaderAnyHost is set.
func TestCrawlHeadersStayWithTheSeeds(t *testing.T) {
	for _, anyHost := range []bool{false, true} {
		seed := hostile.New(hostile.Config{})
		other := hostile.New(hostile.Config{})
		q := url.Values{"to": {other.URL + "/ok?via=link", seed.URL + "/redirect?to=" + url.QueryEscape(other.URL+"/ok?via=redirect"), seed.URL + "/base?to=" + url.QueryEscape(other.URL+"/dir/")}}
		c := &Crawler{Scope: ScopeAny, MaxDepth: 3, HeaderAnyHost: anyHost,
			Header: http.Header{"Authorization": {"Bearer SECRET"}, "X-Api-Key": {"SECRET"}}}
		crawlHostile(t, c, seed.URL+"/links?"+q.Encode())
		seed.Close()
		other.Close()
		hits := other.Hits()
		if len(hits) < 4 { // robots.txt, two /ok, /dir/ok
			t.Fatalf("the other port served %v; the test reaches too little", hits)
		}
		for _, h := range []string{"Authorization", "X-Api-Key"} {
			if !slices.Contains(seed.Saw(h), "/robots.txt") {
				t.Errorf("the seed's robots.txt came without %s: %v", h, seed.Saw(h))
			}
			got := other.Saw(h)
			if anyHost && len(got) != len(hits) || !anyHost && len(got) != 0 {
				t.Errorf("HeaderAnyHost %v: the other port saw %s on %v of %v", anyHost, h, got, hits)
			}
		}
	}
}

// TestCrawlDenyPrivate crawls a loopback seed with DenyPrivate: its record
// is a blocked failure and nothing reaches the server.
func TestCrawlDenyPrivate(t *testing.T) {
	srv := hostile.New(hostile.Config{})
	defer srv.Close()
	pages := crawlHostile(t, &Crawler{DenyPrivate: true, Retries: 2, IgnoreRobots: true}, srv.URL+"/ok")
	p := pages[srv.URL+"/ok"]
	if p == nil || failure.Classify(p.Err) != failure.Blocked {
		t.Fatalf("page %+v", p)
	}
	if n := len(srv.Hits()); n != 0 {
		t.Fatalf("the server was reached %d times", n)
	}
}

// TestCrawlSitemapBombsBounded crawls a host whose robots.txt lists a
// sitemap index of ten gzip sitemaps, each inflating to 16 MiB of
// whitespace: the sitemaps are read one at a time and none is held whole,
// so the heap stays far below what they inflate to.
func TestCrawlSitemapBombsBounded(t *testing.T) {
	srv := hostile.New(hostile.Config{Sitemaps: true, SitemapQuery: "n=10&size=16777216"})
	defer srv.Close()
	c := &Crawler{Sitemaps: true, MaxInFlight: 20, MaxDepth: 0, Timeout: 30 * time.Second}
	peak := hostile.HeapPeak(func() { crawlHostile(t, c, srv.URL+"/ok") })
	var sitemaps int
	for _, h := range srv.Hits() {
		if strings.HasPrefix(h, "/sitemap/") {
			sitemaps++
		}
	}
	if sitemaps != 10 {
		t.Fatalf("%d sitemaps fetched, want 10", sitemaps)
	}
	if budget := uint64(32 << 20); peak > budget {
		t.Fatalf("heap peak %d MiB for ten 16 MiB sitemap bombs, budget %d MiB", peak>>20, budget>>20)
	}
	t.Logf("heap peak %.1f MiB", float64(peak)/(1<<20))
}

// TestCrawlEndlessTreeQueueCap crawls an endless tree (ten new links a
// page) with MaxQueue 1,000: the pending URLs never pass the cap, the URLs
// turned away are counted, and the crawl goes on.
func TestCrawlEndlessTreeQueueCap(t *testing.T) {
	srv := hostile.New(hostile.Config{})
	defer srv.Close()
	var logs strings.Builder
	c := &Crawler{MaxQueue: 1000, MaxInFlight: 8, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	pages := 0
	err := c.Crawl(context.Background(), []string{srv.URL + "/tree"}, func(p *Page) error {
		if pages++; pages == 400 {
			return SkipAll
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	st := c.Stats()
	if st.PeakQueue > 1000 || st.QueueFull == 0 {
		t.Fatalf("peak queue %d (cap 1000), %d not admitted", st.PeakQueue, st.QueueFull)
	}
	if strings.Count(logs.String(), "frontier full") != 1 {
		t.Fatalf("want one warning, got:\n%s", logs.String())
	}
}
