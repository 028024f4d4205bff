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
	"testing"
	"time"

	"github.com/sluicehq/sluice/crawler/crawltest"
)

func decodeCrawl(t *testing.T, out string) []crawlRecord {
	t.Helper()
	var recs []crawlRecord
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var r crawlRecord
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("bad record %q: %v", line, err)
		}
		recs = append(recs, r)
	}
	return recs
}

func TestDemo(t *testing.T) {
	code, out, errOut := runFetchCLI(context.Background(), "", "demo", "-pages", "300", "-c", "20")
	if code != 0 {
		t.Fatalf("demo exit %d: %s", code, errOut)
	}
	if !strings.Contains(errOut, "crawled 300 URLs") || !strings.Contains(errOut, "0 duplicate fetches") || !strings.Contains(out, `"status":200`) {
		t.Fatalf("demo output:\n%s\n%s", out, errOut)
	}
}

// TestDemoInterrupted stops a demo: it exits 130 and says the demo was
// interrupted, not a crawl the user never started.
func TestDemoInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	code, _, errOut := runFetchCLI(ctx, "", "demo", "-pages", "100000", "--rate", "200")
	if code != exitInterrupted || !strings.Contains(errOut, "sluice: demo: interrupted") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
}

func TestCrawlCLI(t *testing.T) {
	site := crawltest.NewSite(500, 10)
	srv := httptest.NewServer(site)
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "out.jsonl")
	code, _, errOut := runFetchCLI(context.Background(), "", "crawl", "-c", "8", "-o", out, srv.URL+"/p/0", "ftp://nope/")
	if code != 1 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	recs := decodeCrawl(t, string(data))
	if len(recs) != 501 {
		t.Fatalf("%d records, want 500 pages and 1 bad seed", len(recs))
	}
	byURL := map[string]crawlRecord{}
	for _, r := range recs {
		if _, dup := byURL[r.URL]; dup {
			t.Errorf("two records for %s", r.URL)
		}
		byURL[r.URL] = r
	}
	if r := byURL["ftp://nope/"]; !strings.Contains(r.Error, "bad URL") {
		t.Errorf("bad seed record: %+v", r)
	}
	home := byURL[srv.URL+"/p/0"]
	if home.Status != 200 || home.Title != "Page 0" || home.Links == 0 || home.ContentType != "text/html" || home.Bytes == 0 {
		t.Errorf("home record: %+v", home)
	}
	if r := byURL[srv.URL+"/p/1"]; r.Parent != srv.URL+"/p/0" || r.Depth != 1 {
		t.Errorf("page 1 record: %+v", r)
	}
	if _, dups := site.Fetches(); dups != 0 {
		t.Errorf("%d duplicate fetches", dups)
	}
	for _, want := range []string{"crawled 501 URLs", "500 pages fetched", "status: 200 500", "robots.txt: 1 fetched", "duplicates skipped", "peak queue", "failed: bad-url 1", "1 of 501 URLs failed"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("summary lacks %q:\n%s", want, errOut)
		}
	}
}

func TestCrawlCLIDepthAndMaxPages(t *testing.T) {
	srv := httptest.NewServer(crawltest.NewSite(500, 10))
	defer srv.Close()
	for _, tc := range []struct {
		args     []string
		maxDepth int
		records  int
	}{
		{[]string{"--depth", "1"}, 1, 0}, // the seed and its links
		{[]string{"--max-pages", "37"}, -1, 37},
	} {
		args := append([]string{"crawl", "-q"}, tc.args...)
		code, out, errOut := runFetchCLI(context.Background(), "", append(args, srv.URL+"/p/0")...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", tc.args, code, errOut)
		}
		recs := decodeCrawl(t, out)
		if tc.records == 0 && len(recs) > 0 {
			tc.records = 1 + recs[0].Links
		}
		if len(recs) != tc.records || len(recs) < 5 {
			t.Errorf("%v: %d records, want %d", tc.args, len(recs), tc.records)
		}
		for _, r := range recs {
			if tc.maxDepth >= 0 && r.Depth > tc.maxDepth {
				t.Errorf("%v: record at depth %d", tc.args, r.Depth)
			}
		}
	}
}

func TestCrawlUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"crawl"},
		{"crawl", "-c", "0", "http://x/"},
		{"crawl", "--scope", "planet", "http://x/"},
		{"crawl", "--allow", "(", "http://x/"},
		{"crawl", "--depth", "-1", "http://x/"},
		{"crawl", "--jitter", "2", "http://x/"},
		{"crawl", "--nope", "http://x/"},
	} {
		if code, _, errOut := runFetchCLI(context.Background(), "", args...); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, errOut)
		}
	}
}

func TestCrawlInterruptFlushes(t *testing.T) {
	site := crawltest.NewSite(100000, 10)
	site.Latency = 5 * time.Millisecond
	srv := httptest.NewServer(site)
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(500*time.Millisecond, cancel)
	code, out, errOut := runFetchCLI(ctx, "", "crawl", "-c", "20", "--grace", "5s", srv.URL+"/p/0")
	if code != 130 {
		t.Fatalf("exit %d, want 130: %s", code, errOut)
	}
	recs := decodeCrawl(t, out)
	unique, dups := site.Fetches()
	// Every page the server served was recorded: in-flight pages finished
	// within the grace period.
	if len(recs) != unique || dups != 0 || len(recs) == 0 {
		t.Errorf("%d records for %d pages served (%d duplicates)", len(recs), unique, dups)
	}
	if !strings.Contains(errOut, "still queued") {
		t.Errorf("summary does not say what was left:\n%s", errOut)
	}
}

// TestCrawlHostileSite crawls a site whose pages go wrong in every way a
// crawl meets, and checks that each linked URL gets one record.
func TestCrawlHostileSite(t *testing.T) {
	mux := http.NewServeMux()
	var srvURL string
	links := []string{"/ok", "/404", "/500", "/binary", "/huge", "/loop1", "/hang", "/reset", "/plain", "/latin1", "mailto:x@y", "javascript:alert(1)", "/private/x"}
	mux.HandleFunc("/robots.txt", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "User-agent: *\nDisallow: /private/\n")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<html><title>home</title>")
		for _, l := range links {
			fmt.Fprintf(w, `<a href="%s">x</a>`, l)
		}
	})
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "<a href=/>home</a>") })
	mux.HandleFunc("/404", http.NotFound)
	mux.HandleFunc("/500", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "x", 500) })
	mux.HandleFunc("/binary", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte{0, 1, 2, 0xff, 0xfe, '<', 'a', ' ', 'h', 'r', 'e', 'f', '=', '/', 'o', 'k', '>'})
	})
	mux.HandleFunc("/huge", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		chunk := []byte(strings.Repeat("<p>filler</p>", 1000))
		for range 2000 { // 26 MB, cut at --max-body
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("/loop1", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop2", http.StatusFound) })
	mux.HandleFunc("/loop2", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop1", http.StatusFound) })
	mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	mux.HandleFunc("/reset", func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	})
	mux.HandleFunc("/plain", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, `<a href="/not-followed">x</a>`)
	})
	mux.HandleFunc("/latin1", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=iso-8859-1")
		w.Write([]byte("<title>caf\xe9</title><a href=/ok>x</a>"))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	srvURL = srv.URL
	code, out, errOut := runFetchCLI(context.Background(), "", "crawl", "-c", "8", "--timeout", "300ms", "--retries", "1", "--max-body", "100000", srvURL+"/")
	if code != 1 { // a reset and a timeout are errors
		t.Fatalf("exit %d: %s", code, errOut)
	}
	recs := decodeCrawl(t, out)
	byPath := map[string]crawlRecord{}
	for _, r := range recs {
		p := strings.TrimPrefix(r.URL, srvURL)
		if _, dup := byPath[p]; dup {
			t.Errorf("two records for %s", p)
		}
		byPath[p] = r
	}
	check := func(path string, ok func(r crawlRecord) bool) {
		t.Helper()
		r, found := byPath[path]
		if !found {
			t.Errorf("no record for %s", path)
			return
		}
		if !ok(r) {
			t.Errorf("record for %s: %+v", path, r)
		}
	}
	check("/", func(r crawlRecord) bool { return r.Status == 200 && r.Title == "home" })
	check("/ok", func(r crawlRecord) bool { return r.Status == 200 })
	check("/404", func(r crawlRecord) bool { return r.Status == 404 && r.Error == "" })
	check("/500", func(r crawlRecord) bool { return r.Status == 500 })
	check("/binary", func(r crawlRecord) bool { return r.Status == 200 })
	check("/huge", func(r crawlRecord) bool { return r.Status == 200 && r.Bytes == 100000 && r.Truncated })
	check("/loop1", func(r crawlRecord) bool { return r.Status == 302 && r.Links == 1 })
	check("/loop2", func(r crawlRecord) bool { return r.Status == 302 && r.Links == 1 })
	check("/hang", func(r crawlRecord) bool {
		return strings.Contains(r.Error, "deadline") || strings.Contains(r.Error, "timeout")
	})
	check("/reset", func(r crawlRecord) bool { return r.Error != "" })
	check("/plain", func(r crawlRecord) bool { return r.Status == 200 && r.Links == 0 && r.ContentType == "text/plain" })
	check("/latin1", func(r crawlRecord) bool { return r.Title == "café" })
	check("/private/x", func(r crawlRecord) bool { return r.Skipped == "robots.txt" && r.Error == "" })
	if _, found := byPath["/not-followed"]; found {
		t.Error("followed a link of a text/plain page")
	}
	if len(recs) != 13 {
		t.Errorf("%d records, want 13:\n%s", len(recs), out)
	}
}

func TestCrawlStopsWhenOutputFails(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full")
	}
	site := crawltest.NewSite(5000, 10)
	srv := httptest.NewServer(site)
	defer srv.Close()
	code, _, errOut := runFetchCLI(context.Background(), "", "crawl", "-c", "4", "-o", "/dev/full", srv.URL+"/p/0")
	if code != 1 || !strings.Contains(errOut, "no space left") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if unique, _ := site.Fetches(); unique > 1000 {
		t.Errorf("went on to fetch %d pages after the output failed", unique)
	}
}

// TestCrawlSeedRedirectedOutOfScope crawls a seed that redirects to
// another host, as example.com to www.example.com: the crawl ends with the
// seed's record, and its summary names the redirect and what to do.
func TestCrawlSeedRedirectedOutOfScope(t *testing.T) {
	other := httptest.NewServer(crawltest.NewSite(10, 2))
	defer other.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/p/0", http.StatusMovedPermanently)
	}))
	defer srv.Close()
	code, out, errOut := runFetchCLI(context.Background(), "", "crawl", srv.URL+"/")
	want := "seed redirected out of scope: " + srv.URL + "/ -> " + other.URL + "/p/0 (give the target as the seed, or widen --scope)"
	if code != 0 || len(decodeCrawl(t, out)) != 1 || !strings.Contains(errOut, want) {
		t.Fatalf("exit %d: %s\n%s\nwant %q", code, out, errOut, want)
	}
	code, out, errOut = runFetchCLI(context.Background(), "", "crawl", "--scope", "any", srv.URL+"/")
	if code != 0 || len(decodeCrawl(t, out)) != 11 || strings.Contains(errOut, "seed redirected") {
		t.Fatalf("--scope any: exit %d: %d records\n%s", code, len(decodeCrawl(t, out)), errOut)
	}
}
