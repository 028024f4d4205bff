package crawler_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/crawler"
	"github.com/sluicehq/sluice/crawler/crawltest"
	"github.com/sluicehq/sluice/internal/redistest"
)

// TestRedisCrawlSharesRobots checks that the crawls sharing a RedisFrontier
// fetch a host's robots.txt once between them, and all keep its rules.
func TestRedisCrawlSharesRobots(t *testing.T) {
	srv := redistest.Start(t)
	site := crawltest.NewSite(300, 10)
	site.Latency = 2 * time.Millisecond
	var robots atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/robots.txt", func(w http.ResponseWriter, r *http.Request) {
		robots.Add(1)
		time.Sleep(50 * time.Millisecond) // the others ask meanwhile
		fmt.Fprint(w, "User-agent: *\nDisallow: /private/\n")
	})
	mux.HandleFunc("/private/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("%s fetched though robots.txt denies it", r.URL.Path)
	})
	mux.Handle("/", site)
	hs := httptest.NewServer(mux)
	defer hs.Close()
	crawlers := []*crawler.Crawler{{MaxInFlight: 4}, {MaxInFlight: 4}, {MaxInFlight: 4}}
	seeds := []string{hs.URL + "/private/a", hs.URL + "/p/0"}
	seen, _ := crawlShared(t, srv, "robots", crawlers, seeds)
	if n := robots.Load(); n != 1 {
		t.Errorf("robots.txt fetched %d times by three crawls, want once", n)
	}
	var fetched int64
	for _, c := range crawlers {
		fetched += c.Stats().RobotsFetched
	}
	if fetched != 1 {
		t.Errorf("Stats.RobotsFetched add up to %d, want 1", fetched)
	}
	pages := 0
	for u := range seen {
		if !strings.Contains(u, "/private/") {
			pages++
		}
	}
	if pages != 300 {
		t.Errorf("%d pages visited, want 300", pages)
	}
}
