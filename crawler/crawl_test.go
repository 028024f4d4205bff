package crawler

import (
	"context"
	"net/http/httptest"
	"sync"
	"testing"

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
	c := &Crawler{Concurrency: 20}
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
	if st.Pages != 2000 || st.Fetched != 2000 || st.Queued != 0 || st.InFlight != 0 {
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
