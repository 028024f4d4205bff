package crawler_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/crawler"
	"github.com/sluicehq/sluice/crawler/crawltest"
	"github.com/sluicehq/sluice/internal/redistest"
)

// TestRedisCrawlMaxPagesAcrossProcesses checks that MaxPages caps the URLs
// taken in by all the crawls sharing a RedisFrontier together, not by each,
// and that URLs robots.txt denies do not use it up.
func TestRedisCrawlMaxPagesAcrossProcesses(t *testing.T) {
	srv := redistest.Start(t)
	site := crawltest.NewSite(600, 10)
	site.Latency = 2 * time.Millisecond
	mux := http.NewServeMux()
	mux.HandleFunc("/robots.txt", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "User-agent: *\nDisallow: /private/\n")
	})
	mux.HandleFunc("/private/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("%s fetched though robots.txt denies it", r.URL.Path)
	})
	mux.Handle("/", site)
	hs := httptest.NewServer(mux)
	defer hs.Close()
	tests := []struct {
		name     string
		crawlers int
		max      int
	}{
		{"one", 1, 40},
		{"three", 3, 40},
		{"three, cap above the site", 3, 700},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var crawlers []*crawler.Crawler
			for range tt.crawlers {
				crawlers = append(crawlers, &crawler.Crawler{MaxInFlight: 4, MaxPages: tt.max})
			}
			seeds := []string{hs.URL + "/private/a", hs.URL + "/private/b", hs.URL + "/p/0"}
			seen, _ := crawlShared(t, srv, fmt.Sprint("max", i), crawlers, seeds)
			pages, denied := 0, 0
			for u, n := range seen {
				if n != 1 {
					t.Errorf("%s visited %d times", u, n)
				}
				if strings.Contains(u, "/private/") {
					denied++
				} else {
					pages++
				}
			}
			want := min(tt.max, 600)
			if pages != want || denied != 2 {
				t.Errorf("%d pages and %d denied URLs visited, want %d and 2", pages, denied, want)
			}
		})
	}
}
