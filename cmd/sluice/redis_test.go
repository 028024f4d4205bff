package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/crawler/crawltest"
	"github.com/sluicehq/sluice/internal/redistest"
)

// TestCrawlRedisCLI runs two crawls of one name on one Redis, seeds given
// to one only: together they write each page once, each record naming its
// worker.
func TestCrawlRedisCLI(t *testing.T) {
	rs := redistest.Start(t)
	site := crawltest.NewSite(400, 10)
	// Slow enough (400 pages, 4 at a time per process: 0.2 s or more)
	// that the process started second finds work left: without it, one
	// process sometimes crawled the whole site before the other began.
	site.Latency = 2 * time.Millisecond
	srv := httptest.NewServer(site)
	defer srv.Close()
	dir := t.TempDir()
	var wg sync.WaitGroup
	for _, w := range []string{"A", "B"} {
		wg.Go(func() {
			// Both get the seed: admission is idempotent.
			args := []string{"crawl", "--redis", rs.URL(0), "--crawl", "cli", "--worker", w, "-c", "4", "-q", "-o", filepath.Join(dir, w), srv.URL + "/p/0"}
			if code, _, errOut := runFetchCLI(context.Background(), "", args...); code != 0 {
				t.Errorf("worker %s exit %d: %s", w, code, errOut)
			}
		})
	}
	wg.Wait()
	// A crawl of the same name without seeds finds everything done.
	code, _, errOut := runFetchCLI(context.Background(), "", "crawl", "--redis", rs.URL(0), "--crawl", "cli", "--worker", "C", "-q", "-o", filepath.Join(dir, "C"))
	if code != 0 {
		t.Fatalf("third crawl exit %d: %s", code, errOut)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "C")); len(data) != 0 {
		t.Fatalf("a crawl joining a finished one wrote:\n%s", data)
	}
	seen := map[string]string{}
	per := map[string]int{}
	for _, w := range []string{"A", "B"} {
		data, err := os.ReadFile(filepath.Join(dir, w))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range decodeCrawl(t, string(data)) {
			if prev, dup := seen[r.URL]; dup {
				t.Errorf("%s written by %s and %s", r.URL, prev, r.Worker)
			}
			if r.Worker != w {
				t.Errorf("record of %s names worker %q, want %q", r.URL, r.Worker, w)
			}
			seen[r.URL] = r.Worker
			per[w]++
		}
	}
	if per["A"] == 0 || per["B"] == 0 {
		t.Errorf("work split %v: one crawl did nothing", per)
	}
	if len(seen) != 400 {
		t.Fatalf("%d pages recorded, want 400", len(seen))
	}
	if _, dups := site.Fetches(); dups != 0 {
		t.Errorf("%d duplicate fetches", dups)
	}
}

func TestCrawlRedisUsageErrors(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out.jsonl")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"crawl", "--redis", "redis://127.0.0.1:1/0", "http://a.example/"}, "--redis and --crawl go together"},
		{[]string{"crawl", "--crawl", "x", "http://a.example/"}, "--redis and --crawl go together"},
		{[]string{"crawl", "--redis", "nope://x", "--crawl", "x"}, "--redis"},
		{[]string{"crawl", "--redis", "redis://127.0.0.1:1/0", "--crawl", "x", "--state", "dir", "http://a.example/"}, "--state and --redis do not go together"},
		{[]string{"fetch", "--queue", "q"}, "--redis and --queue go together"},
		{[]string{"fetch", "--redis", "redis://127.0.0.1:1/0", "--queue", "q", "http://a.example/"}, "not from arguments"},
		// A URL skipped for its record went back to the queue and was
		// fetched again: 13 records of 10 URLs.
		{[]string{"fetch", "--redis", "redis://127.0.0.1:1/0", "--queue", "q", "--resume", "-o", out}, "--resume does not go with --queue"},
		{[]string{"queue", "push", "--queue", "q"}, "--redis and --queue are required"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, _, errOut := runFetchCLI(context.Background(), "", tt.args...)
			if code != 2 || !strings.Contains(errOut, tt.want) {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", code, errOut, tt.want)
			}
		})
	}
}

// TestFetchQueueCLI fills a queue with sluice queue push and drains it with
// two sluice fetch --queue workers.
func TestFetchQueueCLI(t *testing.T) {
	rs := redistest.Start(t)
	site := crawltest.NewSite(300, 2)
	srv := httptest.NewServer(site)
	defer srv.Close()
	var in strings.Builder
	for i := range 300 {
		fmt.Fprintf(&in, "%s/p/%d\n", srv.URL, i)
	}
	ctx := context.Background()
	if code, _, errOut := runFetchCLI(ctx, in.String(), "queue", "push", "--redis", rs.URL(0), "--queue", "jobs"); code != 0 || !strings.Contains(errOut, "pushed 300 URLs") {
		t.Fatalf("push exit %d: %s", code, errOut)
	}
	dir := t.TempDir()
	var wg sync.WaitGroup
	for _, w := range []string{"A", "B"} {
		wg.Go(func() {
			code, _, errOut := runFetchCLI(ctx, "", "fetch", "--redis", rs.URL(0), "--queue", "jobs", "--worker", w, "-c", "4", "-q", "-o", filepath.Join(dir, w))
			if code != 0 {
				t.Errorf("worker %s exit %d: %s", w, code, errOut)
			}
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, w := range []string{"A", "B"} {
		data, _ := os.ReadFile(filepath.Join(dir, w))
		for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			var r fetchRecord
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatalf("bad record %q: %v", line, err)
			}
			if seen[r.URL] || r.Worker != w || r.Status != 200 {
				t.Errorf("record %+v from %s: twice, or not its worker's, or failed", r, w)
			}
			seen[r.URL] = true
		}
	}
	if len(seen) != 300 {
		t.Fatalf("%d URLs recorded, want 300", len(seen))
	}
	code, out, errOut := runFetchCLI(ctx, "", "queue", "stats", "--redis", rs.URL(0), "--queue", "jobs")
	var st queueStats
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil {
		t.Fatalf("stats exit %d: %s %s", code, out, errOut)
	}
	if st.Queued != 0 || st.Taken != 0 || len(st.Consumers) != 0 {
		t.Fatalf("stats after the workers left: %+v", st)
	}
}

// TestFetchQueueInterruptLeavesUnfetched interrupts a queue worker whose
// requests hang: the URLs it took and had not fetched in full, cut short in
// flight or never sent, get no record from it and are not acknowledged, so
// a second worker takes them over and fetches them, one record a URL in all.
func TestFetchQueueInterruptLeavesUnfetched(t *testing.T) {
	rs := redistest.Start(t)
	var hang atomic.Bool
	var started atomic.Int32
	hang.Store(true)
	ctx := context.Background()
	// The worker is interrupted once its second request has started.
	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if started.Add(1) == 2 {
			cancel()
		}
		if hang.Load() {
			<-r.Context().Done()
			return
		}
		fmt.Fprint(w, "ok")
	}))
	defer srv.Close()
	var in strings.Builder
	for i := range 30 {
		fmt.Fprintf(&in, "%s/%d\n", srv.URL, i)
	}
	if code, _, errOut := runFetchCLI(ctx, in.String(), "queue", "push", "--redis", rs.URL(0), "--queue", "stop"); code != 0 {
		t.Fatalf("push exit %d: %s", code, errOut)
	}
	dir := t.TempDir()
	code, _, errOut := runFetchCLI(actx, "", "fetch", "--redis", rs.URL(0), "--queue", "stop", "--worker", "A", "-c", "2", "--grace", "100ms", "-o", filepath.Join(dir, "A"))
	if code != exitInterrupted || !strings.Contains(errOut, "stay in the queue for another worker") {
		t.Fatalf("interrupted worker: exit %d, stderr %s", code, errOut)
	}
	hang.Store(false)
	code, _, errOut = runFetchCLI(ctx, "", "fetch", "--redis", rs.URL(0), "--queue", "stop", "--worker", "B", "--claim-idle", "1s", "-q", "-o", filepath.Join(dir, "B"))
	if code != 0 {
		t.Fatalf("second worker: exit %d: %s", code, errOut)
	}
	seen := map[string]int{}
	for _, w := range []string{"A", "B"} {
		data, _ := os.ReadFile(filepath.Join(dir, w))
		for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			if line == "" {
				continue
			}
			var r fetchRecord
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatalf("bad record %q: %v", line, err)
			}
			if r.Status != 200 {
				t.Errorf("%s: record from %s without its page: %q", r.URL, r.Worker, r.Error)
			}
			seen[r.URL]++
		}
	}
	for u, n := range seen {
		if n != 1 {
			t.Errorf("%s: %d records", u, n)
		}
	}
	if len(seen) != 30 {
		t.Errorf("%d URLs recorded, want 30", len(seen))
	}
}

// TestFetchQueueSlowWorkerKeepsItsURLs runs one worker at -c 1 on a site
// answering in 300 ms: the URLs it took wait their turn for longer than
// --claim-idle, and stay its own, each fetched and recorded once.
func TestFetchQueueSlowWorkerKeepsItsURLs(t *testing.T) {
	rs := redistest.Start(t)
	site := crawltest.NewSite(20, 2)
	site.Latency = 300 * time.Millisecond
	srv := httptest.NewServer(site)
	defer srv.Close()
	var in strings.Builder
	for i := range 10 {
		fmt.Fprintf(&in, "%s/p/%d\n", srv.URL, i)
	}
	ctx := context.Background()
	if code, _, errOut := runFetchCLI(ctx, in.String(), "queue", "push", "--redis", rs.URL(0), "--queue", "slow"); code != 0 {
		t.Fatalf("push exit %d: %s", code, errOut)
	}
	code, out, errOut := runFetchCLI(ctx, "", "fetch", "--redis", rs.URL(0), "--queue", "slow", "--claim-idle", "1s", "-c", "1", "-q")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	recs := decodeRecords(t, out)
	seen := map[string]int{}
	for _, r := range recs {
		seen[r.URL]++
	}
	if _, dups := site.Fetches(); len(recs) != 10 || len(seen) != 10 || dups != 0 {
		t.Errorf("%d records of %d URLs, %d fetched twice; want 10, 10, 0", len(recs), len(seen), dups)
	}
}

// TestCrawlRedisJoinWithoutSeeds starts a process without seeds on a
// crawl name no process has given seeds to: refused, exit 2, and its flags
// are not kept as the crawl's, so the process that starts the crawl is not
// refused for its own.
func TestCrawlRedisJoinWithoutSeeds(t *testing.T) {
	rs := redistest.Start(t)
	srv := httptest.NewServer(crawltest.NewSite(20, 3))
	defer srv.Close()
	ctx := context.Background()
	code, _, errOut := runFetchCLI(ctx, "", "crawl", "--redis", rs.URL(0), "--crawl", "shpo", "-q")
	if want := `crawl "shpo" has no seeds in Redis`; code != exitUsage || !strings.Contains(errOut, want) {
		t.Fatalf("exit %d, stderr %q; want %d and %q", code, errOut, exitUsage, want)
	}
	code, out, errOut := runFetchCLI(ctx, "", "crawl", "--redis", rs.URL(0), "--crawl", "shpo", "--depth", "1", "-q", srv.URL+"/p/0")
	if code != 0 || len(decodeCrawl(t, out)) == 0 {
		t.Fatalf("the crawl's first seeds: exit %d, %d records: %s", code, len(decodeCrawl(t, out)), errOut)
	}
}

// TestCrawlRedisExpectedURLsDiffer joins a crawl with another
// --expected-urls, which sizes the seen-set in Redis: refused before it
// crawls, exit 2, naming the flag, with no record written.
func TestCrawlRedisExpectedURLsDiffer(t *testing.T) {
	rs := redistest.Start(t)
	srv := httptest.NewServer(crawltest.NewSite(20, 3))
	defer srv.Close()
	ctx := context.Background()
	if code, _, errOut := runFetchCLI(ctx, "", "crawl", "--redis", rs.URL(0), "--crawl", "sized", "-q", srv.URL+"/p/0"); code != 0 {
		t.Fatalf("first process: exit %d: %s", code, errOut)
	}
	code, out, errOut := runFetchCLI(ctx, "", "crawl", "--redis", rs.URL(0), "--crawl", "sized", "--expected-urls", "100000000", "-q", srv.URL+"/p/0")
	if code != exitUsage || !strings.Contains(errOut, "another --expected-urls") || out != "" {
		t.Fatalf("exit %d, stderr %q, records %q; want %d, the flag named, none", code, errOut, out, exitUsage)
	}
}

// TestQueueNotInRedis names a queue nothing was pushed to: queue stats and
// a fetch worker are refused, exit 2, and neither creates it.
func TestQueueNotInRedis(t *testing.T) {
	rs := redistest.Start(t)
	ctx := context.Background()
	for _, args := range [][]string{
		{"queue", "stats", "--redis", rs.URL(0), "--queue", "jbos"},
		{"fetch", "--redis", rs.URL(0), "--queue", "jbos", "-q"},
		{"queue", "stats", "--redis", rs.URL(0), "--queue", "jbos"},
	} {
		code, _, errOut := runFetchCLI(ctx, "", args...)
		if code != exitUsage || !strings.Contains(errOut, `queue "jbos" is not in Redis`) {
			t.Errorf("%s: exit %d, stderr %q; want %d, the queue named", strings.Join(args[:2], " "), code, errOut, exitUsage)
		}
	}
}

// TestCrawlRedisSettings joins a crawl shared through Redis with other
// scope flags: refused, naming them, unless --accept-changes makes them the
// crawl's. Seeds and -o may differ: each process adds its own.
func TestCrawlRedisSettings(t *testing.T) {
	rs := redistest.Start(t)
	srv := httptest.NewServer(crawltest.NewSite(50, 3))
	defer srv.Close()
	dir := t.TempDir()
	ctx := context.Background()
	crawl := func(name string, flags ...string) (int, string) {
		args := append([]string{"crawl", "--redis", rs.URL(0), "--crawl", "shared", "-q", "-o", filepath.Join(dir, name)}, flags...)
		code, _, errOut := runFetchCLI(ctx, "", args...)
		return code, errOut
	}
	if code, errOut := crawl("a", "--depth", "1", srv.URL+"/p/0"); code != 0 {
		t.Fatalf("first process: exit %d: %s", code, errOut)
	}
	if code, errOut := crawl("b", "--depth", "1", srv.URL+"/p/1"); code != 0 {
		t.Fatalf("same flags, another seed: exit %d: %s", code, errOut)
	}
	code, errOut := crawl("c", "--depth", "2", "--sort-query")
	if want := "--depth 1 (now 2), --sort-query false (now true)"; code != exitUsage || !strings.Contains(errOut, want) {
		t.Fatalf("other flags: exit %d: %s\nwant %q", code, errOut, want)
	}
	if code, errOut := crawl("d", "--depth", "2", "--sort-query", "--accept-changes"); code != 0 {
		t.Fatalf("--accept-changes: exit %d: %s", code, errOut)
	}
	if code, errOut := crawl("e", "--depth", "1"); code != exitUsage || !strings.Contains(errOut, "--depth 2 (now 1)") {
		t.Fatalf("the flags --accept-changes stored: exit %d: %s", code, errOut)
	}
}
