package crawler

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/crawler/crawltest"
)

// TestDiskFrontierKeepsRobots stops a crawl on a DiskFrontier and resumes
// it from the directory: the resumed crawl takes the host's robots.txt
// from the state dir while it is fresh, and fetches it again once it is
// older than robotsTTL.
func TestDiskFrontierKeepsRobots(t *testing.T) {
	ctx := context.Background()
	site := crawltest.NewSite(400, 8)
	srv := httptest.NewServer(site)
	defer srv.Close()
	seeds := []string{srv.URL + "/p/0"}
	stop := errors.New("stop")
	tests := []struct {
		name           string
		age            time.Duration // of the kept robots.txt at the resume; 0: as kept
		fetched, cache int64
	}{
		{"fresh", 0, 0, 1},
		{"stale", robotsTTL + time.Minute, 1, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			f := openDisk(t, dir, nil)
			c := &Crawler{MaxInFlight: 4, Frontier: f}
			n := 0
			err := c.Crawl(ctx, seeds, func(*Page) error {
				if n++; n == 50 {
					return stop
				}
				return nil
			})
			if !errors.Is(err, stop) || c.Stats().RobotsFetched != 1 {
				t.Fatalf("first run: %v, robots fetched %d", err, c.Stats().RobotsFetched)
			}
			if tc.age > 0 {
				rec, ok, _, err := f.getRobots(ctx, HostKey(srv.URL+"/"))
				if !ok || err != nil {
					t.Fatalf("no robots.txt kept: %v", err)
				}
				rec.fetched = time.Now().Add(-tc.age)
				must(t, f.putRobots(ctx, HostKey(srv.URL+"/"), rec))
			}
			must(t, f.Close())

			f = openDisk(t, dir, nil)
			defer f.Close()
			c = &Crawler{MaxInFlight: 4, Frontier: f}
			must(t, c.Crawl(ctx, seeds, nil))
			st := c.Stats()
			if st.RobotsFetched != tc.fetched || st.RobotsCached != tc.cache {
				t.Errorf("resume: robots fetched %d, from the state dir %d; want %d, %d", st.RobotsFetched, st.RobotsCached, tc.fetched, tc.cache)
			}
			if n+int(st.Pages) < 400 {
				t.Errorf("%d pages in two runs, want at least 400", n+int(st.Pages))
			}
		})
	}
}

// TestDiskFrontierKeepsNoUnreachableRobots crawls on a DiskFrontier a host
// whose robots.txt answers a status read as unreachable, then resumes with
// another seed once robots.txt answers: the resumed crawl asks for it
// again instead of keeping the host disallowed for a day.
func TestDiskFrontierKeepsNoUnreachableRobots(t *testing.T) {
	for _, status := range []int{http.StatusTooManyRequests, http.StatusServiceUnavailable} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			ctx := context.Background()
			var up atomic.Bool
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/robots.txt" && !up.Load() {
					w.WriteHeader(status)
				}
			}))
			defer srv.Close()
			dir := t.TempDir()
			f := openDisk(t, dir, nil)
			c := &Crawler{Frontier: f, Retries: -1}
			must(t, c.Crawl(ctx, []string{srv.URL + "/a"}, nil))
			if st := c.Stats(); st.RobotsFetched != 1 || st.Fetched != 0 || st.Pages != 1 {
				t.Fatalf("first run: robots fetched %d, pages fetched %d of %d; want 1, 0 of 1", st.RobotsFetched, st.Fetched, st.Pages)
			}
			must(t, f.Close())

			up.Store(true)
			f = openDisk(t, dir, nil)
			defer f.Close()
			c = &Crawler{Frontier: f, Retries: -1}
			must(t, c.Crawl(ctx, []string{srv.URL + "/b"}, nil))
			if st := c.Stats(); st.RobotsFetched != 1 || st.RobotsCached != 0 || st.Fetched != 1 {
				t.Errorf("resume: robots fetched %d, from the state dir %d, pages fetched %d; want 1, 0, 1", st.RobotsFetched, st.RobotsCached, st.Fetched)
			}
		})
	}
}
