package crawler

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/sluicehq/sluice/crawler/crawltest"
)

// TestCrawlResumesFromDisk stops a crawl on a DiskFrontier, closes it,
// opens the directory again and crawls on: every page is visited once, and
// only the pages in flight at the stop are fetched twice. A third crawl of
// the finished directory fetches nothing.
func TestCrawlResumesFromDisk(t *testing.T) {
	site := crawltest.NewSite(1000, 8)
	srv := httptest.NewServer(site)
	defer srv.Close()
	dir := t.TempDir()
	seeds := []string{srv.URL + "/p/0"}
	visited := map[string]int{}
	visit := func(p *Page) error { visited[p.URL]++; return nil }
	stop := errors.New("stop")

	f := openDisk(t, dir, nil)
	err := (&Crawler{MaxInFlight: 8, Frontier: f}).Crawl(context.Background(), seeds, func(p *Page) error {
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
		if err := (&Crawler{MaxInFlight: 8, Frontier: f}).Crawl(context.Background(), seeds, visit); err != nil {
			t.Fatal(err)
		}
		must(t, f.Close())
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
