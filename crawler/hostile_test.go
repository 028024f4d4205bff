package crawler

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

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
			c := &Crawler{Timeout: time.Second, MaxBody: 1 << 20, MaxDepth: 1, Concurrency: 8}
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
