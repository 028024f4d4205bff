package crawler

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/hostile"
)

// robotsSite serves a home page linking to /a, /b and /private/c, and the
// given robots.txt handler.
func robotsSite(t *testing.T, robots http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var robotsHits atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/robots.txt", func(w http.ResponseWriter, r *http.Request) {
		robotsHits.Add(1)
		robots(w, r)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<a href="/a">a</a><a href="/b">b</a><a href="/private/c">c</a>`)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, &robotsHits
}

func TestCrawlRobots(t *testing.T) {
	redirects := func(n int, final http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			var i int
			fmt.Sscan(r.URL.Query().Get("r"), &i)
			if i < n {
				http.Redirect(w, r, fmt.Sprintf("/robots.txt?r=%d", i+1), http.StatusFound)
				return
			}
			final(w, r)
		}
	}
	disallowPrivate := func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "User-agent: *\nDisallow: /private/\n")
	}
	for _, tc := range []struct {
		name     string
		robots   http.HandlerFunc
		ua       string
		denied   []string // paths recorded as denied
		note     string   // in the denial's message
		timeout  time.Duration
		fetches  int64 // robots.txt fetches by the crawler; 0 means 1
		requests int32 // robots.txt requests the server saw; 0 means fetches
	}{
		{name: "disallow", robots: disallowPrivate, denied: []string{"/private/c"}},
		{name: "disallow with lower-case escapes", robots: func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, "User-agent: *\nDisallow: /%70rivate%2f\n")
		}, denied: []string{"/private/c"}},
		{name: "404 allows all", robots: http.NotFound},
		{name: "410 allows all", robots: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusGone) }},
		{name: "503 disallows all", robots: func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusServiceUnavailable) },
			denied: []string{"/"}, note: "503", fetches: 2}, // with one retry
		// 429 asks the crawler to slow down: Google reads it as a 5xx.
		{name: "429 disallows all", robots: func(w http.ResponseWriter, r *http.Request) { http.Error(w, "slow down", http.StatusTooManyRequests) },
			denied: []string{"/"}, note: "429", fetches: 2}, // with one retry
		{name: "503 once, then rules", robots: func() http.HandlerFunc {
			var n atomic.Int32
			return func(w http.ResponseWriter, r *http.Request) {
				if n.Add(1) == 1 {
					http.Error(w, "down", http.StatusServiceUnavailable)
					return
				}
				disallowPrivate(w, r)
			}
		}(), denied: []string{"/private/c"}, fetches: 2},
		{name: "hang disallows all", timeout: 200 * time.Millisecond,
			robots: func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() },
			denied: []string{"/"}, note: "timeout", fetches: 2},
		{name: "five redirects followed", robots: redirects(5, disallowPrivate), denied: []string{"/private/c"}, requests: 6},
		{name: "six redirects: unavailable, allow all", robots: redirects(6, disallowPrivate), requests: 6},
		{name: "group by product token", ua: "FooBot/2.1 (+http://foo.example)",
			robots: func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprint(w, "User-agent: *\nDisallow: /a\n\nUser-agent: foobot\nDisallow: /b\n")
			}, denied: []string{"/b"}},
		// Lines that do not parse are skipped; the rest still count, as
		// Google's parser reads them ("User-agent *" lacks only a colon).
		{name: "garbage", robots: func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("\x00\xff<html>Disallow: /a\nUser-agent *\n:::\nDisallow: /private/\n"))
		}, denied: []string{"/private/c"}},
		{name: "huge", robots: func(w http.ResponseWriter, r *http.Request) {
			// 2 MiB: the rules past 500 KiB are not read.
			fmt.Fprint(w, "User-agent: *\nDisallow: /private/\n")
			w.Write([]byte(strings.Repeat("# filler\n", 2<<20/9)))
			fmt.Fprint(w, "Disallow: /a\n")
		}, denied: []string{"/private/c"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, hits := robotsSite(t, tc.robots)
			c := &Crawler{UserAgent: tc.ua, Timeout: tc.timeout, Retries: 1}
			pages, err := crawlAll(t, c, srv.URL+"/")
			if err != nil {
				t.Fatal(err)
			}
			var denied []string
			for u, p := range pages {
				if errors.Is(p.Err, ErrRobots) {
					denied = append(denied, strings.TrimPrefix(u, srv.URL))
					if !strings.Contains(p.Err.Error(), tc.note) {
						t.Errorf("%s: error %q lacks %q", u, p.Err, tc.note)
					}
				} else if p.Err != nil {
					t.Errorf("%s: %v", u, p.Err)
				}
			}
			sort.Strings(denied)
			if fmt.Sprint(denied) != fmt.Sprint(tc.denied) {
				t.Errorf("denied %v, want %v", denied, tc.denied)
			}
			want := 4
			if len(tc.denied) > 0 && tc.denied[0] == "/" {
				want = 1 // the seed is denied, so its links are never seen
			}
			if len(pages) != want {
				t.Errorf("%d pages, want %d", len(pages), want)
			}
			fetches := max(tc.fetches, 1)
			requests := tc.requests
			if requests == 0 {
				requests = int32(fetches)
			}
			if st := c.Stats(); st.RobotsFetched != fetches || st.RobotsDenied != int64(len(tc.denied)) {
				t.Errorf("robots fetched %d times, %d denials", st.RobotsFetched, st.RobotsDenied)
			}
			if n := hits.Load(); n != requests {
				t.Errorf("robots.txt requested %d times, want %d", n, requests)
			}
		})
	}
}

func TestCrawlDelay(t *testing.T) {
	for _, tc := range []struct {
		name     string
		max      time.Duration
		min, lim time.Duration // bounds on the crawl's duration
	}{
		{"honoured", 0, 3 * 90 * time.Millisecond, time.Hour},
		{"capped", 10 * time.Millisecond, 0, 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			delay := "0.1"
			if tc.max > 0 {
				delay = "100"
			}
			srv, _ := robotsSite(t, func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprintf(w, "User-agent: *\nCrawl-delay: %s\n", delay)
			})
			c := &Crawler{MaxCrawlDelay: tc.max}
			start := time.Now()
			pages, err := crawlAll(t, c, srv.URL+"/")
			took := time.Since(start)
			if err != nil || len(pages) != 4 {
				t.Fatalf("%d pages, err %v", len(pages), err)
			}
			// robots.txt, then 4 pages: at least 3 full delays between
			// page starts.
			if took < tc.min || took > tc.lim {
				t.Errorf("crawl took %v, want between %v and %v", took, tc.min, tc.lim)
			}
		})
	}
}

func TestCrawlSitemapFromRobots(t *testing.T) {
	mux := http.NewServeMux()
	var srvURL string
	mux.HandleFunc("/robots.txt", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "Sitemap: %s/maps/index.xml\n", srvURL)
	})
	mux.HandleFunc("/maps/index.xml", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<sitemapindex><sitemap><loc>%s/maps/one.xml</loc></sitemap><sitemap><loc>%s/maps/index.xml</loc></sitemap></sitemapindex>`, srvURL, srvURL)
	})
	mux.HandleFunc("/maps/one.xml", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<urlset><url><loc>%s/x</loc></url><url><loc> %s/y </loc></url><url><loc>mailto:a@b</loc></url></urlset>`, srvURL, srvURL)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "page") })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	srvURL = srv.URL
	pages, err := crawlAll(t, &Crawler{Sitemaps: true}, srv.URL+"/")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/", "/x", "/y"} {
		if pages[srv.URL+p] == nil {
			t.Errorf("no record for %s", p)
		}
	}
	if len(pages) != 3 {
		t.Errorf("%d pages, want 3", len(pages))
	}
}

func TestCrawlRobotsOnceForManyPages(t *testing.T) {
	srv, hits := robotsSite(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "User-agent: *\nAllow: /\n") })
	c := &Crawler{MaxInFlight: 50}
	if _, err := crawlAll(t, c, srv.URL+"/", srv.URL+"/a", srv.URL+"/b"); err != nil {
		t.Fatal(err)
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("robots.txt fetched %d times", n)
	}
}

// TestRobotsUnanswered crawls a host that refuses connections: each
// robots.txt fetch that gets no response is counted as unanswered, and the
// seed is denied with the reason.
func TestRobotsUnanswered(t *testing.T) {
	seed := hostile.RefusedURL(t)
	c := &Crawler{Retries: 1}
	pages, err := crawlAll(t, c, seed)
	if err != nil {
		t.Fatal(err)
	}
	if p := pages[seed]; p == nil || !errors.Is(p.Err, ErrRobots) || !strings.Contains(p.Err.Error(), "unreachable") {
		t.Fatalf("seed page %+v, want denied as robots.txt unreachable", p)
	}
	st := c.Stats()
	if st.RobotsFetched == 0 || st.RobotsUnanswered != st.RobotsFetched {
		t.Fatalf("robots.txt fetched %d, unanswered %d: want every fetch unanswered", st.RobotsFetched, st.RobotsUnanswered)
	}
}

// TestRobotsBlockedNotRetried crawls a loopback host with DenyPrivate: its
// robots.txt is refused at dial time, which no retry mends, so it is asked
// for once, as a page would be, not Retries+1 times.
func TestRobotsBlockedNotRetried(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	c := &Crawler{Retries: 2, DenyPrivate: true}
	pages, err := crawlAll(t, c, srv.URL+"/")
	if err != nil {
		t.Fatal(err)
	}
	if p := pages[srv.URL+"/"]; p == nil || !errors.Is(p.Err, ErrRobotsUnreachable) || !strings.Contains(p.Err.Error(), "blocked") {
		t.Fatalf("seed page %+v, want denied as robots.txt unreachable: blocked", p)
	}
	if st := c.Stats(); st.RobotsFetched != 1 {
		t.Errorf("robots.txt fetched %d times, want 1", st.RobotsFetched)
	}
}
