// This file holds the check of a frontier that outlives its crawl.

package frontiertest

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/crawler"
	"github.com/sluicehq/sluice/crawler/crawltest"
)

// StopAndResume checks a frontier that outlives its crawl (one kept on
// disk, or shared through a server): a crawl stopped with pages in flight
// and no grace left visits none of them with an error, which would record
// them as failed for good, and a crawl on the frontier opened again
// fetches them: every page of the site is visited once in all. open opens
// the same frontier each time it is called, and returns it with the
// function that closes it; the first is closed before the second is
// opened.
func StopAndResume(t *testing.T, open func(t *testing.T) (crawler.Frontier, func() error)) {
	site := crawltest.NewSite(200, 4)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var latency, visits atomic.Int64
	latency.Store(int64(100 * time.Millisecond))
	var mu sync.Mutex
	requested := map[string]bool{} // pages asked for in the first crawl
	var stop sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/p/") && latency.Load() > 0 {
			mu.Lock()
			requested[r.URL.Path] = true
			mu.Unlock()
			if visits.Load() >= 5 {
				stop.Do(cancel) // this page is in flight: the stop cuts it short
			}
		}
		time.Sleep(time.Duration(latency.Load()))
		site.ServeHTTP(w, r)
	}))
	defer srv.Close()
	seeds := []string{srv.URL + "/p/0"}
	visited := map[string]int{}

	f, closeFirst := open(t)
	err := (&crawler.Crawler{MaxInFlight: 8, Grace: time.Millisecond, Frontier: f}).Crawl(ctx, seeds, func(p *crawler.Page) error {
		if p.Err != nil {
			t.Errorf("%s visited with %v", p.URL, p.Err)
		}
		visited[p.URL]++
		visits.Add(1)
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("first crawl: %v", err)
	}
	must(t, closeFirst())
	latency.Store(0)
	mu.Lock()
	cut := 0
	for path := range requested {
		if visited[srv.URL+path] == 0 {
			cut++
		}
	}
	mu.Unlock()
	if cut == 0 {
		t.Fatal("no page was in flight when the first crawl stopped")
	}

	f, closeSecond := open(t)
	defer closeSecond()
	must(t, (&crawler.Crawler{MaxInFlight: 8, Frontier: f}).Crawl(context.Background(), seeds, func(p *crawler.Page) error {
		visited[p.URL]++
		return nil
	}))
	for u, n := range visited {
		if n != 1 {
			t.Errorf("%s visited %d times", u, n)
		}
	}
	if len(visited) != site.Pages() {
		t.Errorf("%d pages visited, want %d", len(visited), site.Pages())
	}
}
