package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/crawler"
	"github.com/sluicehq/sluice/crawler/crawltest"
)

// changingSite is a site of ten pages, each linking to the next, with an
// ETag per page; version 2 changes page 1, removes page 2 and makes page 3
// link to a new page 10.
type changingSite struct{ version atomic.Int32 }

func (s *changingSite) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var id int
	if _, err := fmt.Sscanf(r.URL.Path, "/p/%d", &id); err != nil || id < 0 || id > 10 {
		http.NotFound(w, r)
		return
	}
	v2 := s.version.Load() == 2
	if id == 2 && v2 || id == 10 && !v2 {
		http.NotFound(w, r)
		return
	}
	etag := `"1"`
	if v2 && (id == 1 || id == 3) {
		etag = `"2"`
	}
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "text/html")
	fmt.Fprintf(w, `<a href="/p/%d">next</a>`, (id+1)%10)
	if v2 && id == 1 {
		fmt.Fprint(w, `<p>news</p>`)
	}
	if v2 && id == 3 {
		fmt.Fprint(w, `<a href="/p/10">new</a>`)
	}
}

// TestCrawlStateRecrawlCounts recrawls a site that changed: the summary
// counts each page once as unchanged, changed, new or gone; then again,
// once nothing changed.
func TestCrawlStateRecrawlCounts(t *testing.T) {
	site := &changingSite{}
	site.version.Store(1)
	_, dir, args, _ := crawlToRecrawl(t, site)
	site.version.Store(2)
	ctx := context.Background()
	code, _, errOut := runFetchCLI(ctx, "", append(args, "--recrawl")...)
	// Pages 0 and 4-9 are unchanged; 1 and 3 changed; 10 is new; 2 gone.
	if want := "recrawl: 7 unchanged, 2 changed, 1 new, 1 gone"; !strings.Contains(errOut, want) {
		t.Fatalf("recrawl: exit %d: %s\nwant %q", code, errOut, want)
	}
	unchanged := 0
	for _, r := range stateRecords(t, dir) {
		if r.Unchanged {
			unchanged++
			// A 304 has no body, so no type to sniff from one.
			if r.Status != http.StatusNotModified || r.ContentType != "" || r.Bytes != 0 {
				t.Errorf("unchanged record %+v", r)
			}
		}
	}
	if unchanged != 7 {
		t.Errorf("%d unchanged records, want 7", unchanged)
	}
	// Nothing changed since: page 2, gone in the last pass, is gone still.
	code, _, errOut = runFetchCLI(ctx, "", append(args, "--recrawl")...)
	if want := "recrawl: 11 unchanged, 0 changed, 0 new, 0 gone"; !strings.Contains(errOut, want) {
		t.Fatalf("second recrawl: exit %d: %s\nwant %q", code, errOut, want)
	}
	// Its 11 URLs were all queued before it began, and it found none.
	if want := "peak queue 11\n"; !strings.Contains(errOut, want) {
		t.Errorf("second recrawl: %s\nwant %q", errOut, want)
	}
}

// TestCrawlStateRecrawlResumedCounts stops a recrawl at page 5 and runs it
// again: each run's summary counts its own pages, the second saying that
// its pass began in an earlier run, and the two add up to the pass.
func TestCrawlStateRecrawlResumedCounts(t *testing.T) {
	site := &changingSite{}
	site.version.Store(1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var block atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if block.Load() && r.URL.Path == "/p/5" {
			cancel() // the recrawl stops with page 5 in flight
			<-r.Context().Done()
			return
		}
		site.ServeHTTP(w, r)
	}))
	defer srv.Close()
	dir := filepath.Join(t.TempDir(), "state")
	args := []string{"crawl", "-c", "1", "--grace", "1ms", "--state", dir, srv.URL + "/p/0"}
	if code, _, errOut := runFetchCLI(context.Background(), "", args...); code != 0 {
		t.Fatalf("first crawl: exit %d: %s", code, errOut)
	}
	site.version.Store(2)
	block.Store(true)
	var sum [4]int
	code, _, errOut := runFetchCLI(ctx, "", append(args, "--recrawl")...)
	if code != exitInterrupted || !addRecrawlCounts(&sum, errOut) {
		t.Fatalf("stopped recrawl: exit %d: %s", code, errOut)
	}
	block.Store(false)
	code, _, errOut = runFetchCLI(context.Background(), "", append(args, "--recrawl")...)
	if code != 0 || !addRecrawlCounts(&sum, errOut) || !strings.Contains(errOut, "gone in this run, which resumed") {
		t.Fatalf("resumed recrawl: exit %d: %s", code, errOut)
	}
	// Pages 0 and 4-9 are unchanged; 1 and 3 changed; 10 is new; 2 gone.
	if want := [4]int{7, 2, 1, 1}; sum != want {
		t.Fatalf("the two runs counted %v, want %v", sum, want)
	}
}

// plainSite is a site whose server sends no validators: pages /p/0 to
// /p/5, each linking to the next, and /p/0 to two redirects. Version 2
// changes the text of /p/1 and sends /r/a elsewhere; /r/b goes where it
// went.
type plainSite struct{ version atomic.Int32 }

func (s *plainSite) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	v2 := s.version.Load() == 2
	switch r.URL.Path {
	case "/r/a":
		to := "/p/2"
		if v2 {
			to = "/p/3"
		}
		http.Redirect(w, r, to, http.StatusMovedPermanently)
		return
	case "/r/b":
		http.Redirect(w, r, "/p/4", http.StatusMovedPermanently)
		return
	}
	var id int
	if _, err := fmt.Sscanf(r.URL.Path, "/p/%d", &id); err != nil || id < 0 || id > 5 {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html")
	fmt.Fprintf(w, `<a href="/p/%d">next</a>`, (id+1)%6)
	if id == 0 {
		fmt.Fprint(w, `<a href="/r/a">a</a><a href="/r/b">b</a>`)
	}
	if id == 1 && v2 {
		fmt.Fprint(w, `<p>news</p>`)
	}
}

// TestCrawlStateRecrawlWithoutValidators recrawls a site that sends no
// ETag or Last-Modified, so that each page answers 200 again: a page whose
// body is the same is unchanged, and recorded so; one whose body changed,
// or a redirect whose Location did, is changed.
func TestCrawlStateRecrawlWithoutValidators(t *testing.T) {
	site := &plainSite{}
	site.version.Store(1)
	srv, dir, args, summary := crawlToRecrawl(t, site)
	if !strings.Contains(summary, "8 pages") {
		t.Fatalf("first crawl: %s", summary)
	}
	site.version.Store(2)
	ctx := context.Background()
	code, _, errOut := runFetchCLI(ctx, "", append(args, "--recrawl")...)
	// /p/1 and /r/a changed; the other four pages and /r/b did not.
	if want := "recrawl: 6 unchanged, 2 changed, 0 new, 0 gone"; !strings.Contains(errOut, want) {
		t.Fatalf("recrawl: exit %d: %s\nwant %q", code, errOut, want)
	}
	unchanged := map[string]bool{}
	for _, r := range stateRecords(t, dir)[8:] { // the recrawl's records
		unchanged[strings.TrimPrefix(r.URL, srv.URL)] = r.Unchanged
	}
	want := map[string]bool{"/p/0": true, "/p/1": false, "/p/2": true, "/p/3": true,
		"/p/4": true, "/p/5": true, "/r/a": false, "/r/b": true}
	if fmt.Sprint(unchanged) != fmt.Sprint(want) {
		t.Errorf("recrawl records unchanged %v, want %v", unchanged, want)
	}
	code, _, errOut = runFetchCLI(ctx, "", append(args, "--recrawl")...)
	if want := "recrawl: 8 unchanged, 0 changed, 0 new, 0 gone"; !strings.Contains(errOut, want) {
		t.Fatalf("second recrawl: exit %d: %s\nwant %q", code, errOut, want)
	}
}

// crawlToRecrawl serves site and crawls it with --state from /p/0,
// returning the server, the state dir, the crawl's arguments (to recrawl
// with) and its summary.
func crawlToRecrawl(t *testing.T, site http.Handler) (srv *httptest.Server, dir string, args []string, summary string) {
	t.Helper()
	srv = httptest.NewServer(site)
	t.Cleanup(srv.Close)
	dir = filepath.Join(t.TempDir(), "state")
	args = []string{"crawl", "-c", "4", "--state", dir, srv.URL + "/p/0"}
	code, _, summary := runFetchCLI(context.Background(), "", args...)
	if code != 0 {
		t.Fatalf("first crawl: exit %d: %s", code, summary)
	}
	return srv, dir, args, summary
}

// recordURLs returns the URLs of the records in the file path, sorted.
func recordURLs(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var urls []string
	for _, r := range decodeCrawl(t, string(data)) {
		urls = append(urls, r.URL)
	}
	slices.Sort(urls)
	return urls
}

// stateRecords returns the records of the crawl kept in dir.
func stateRecords(t *testing.T, dir string) []crawlRecord {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "pages.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	return decodeCrawl(t, string(data))
}

// addRecrawlCounts adds the counts of the recrawl line of summary to sum,
// and reports whether it found the line.
func addRecrawlCounts(sum *[4]int, summary string) bool {
	_, line, ok := strings.Cut(summary, "recrawl: ")
	if !ok {
		return false
	}
	var n [4]int
	if _, err := fmt.Sscanf(line, "%d unchanged, %d changed, %d new, %d gone", &n[0], &n[1], &n[2], &n[3]); err != nil {
		return false
	}
	for i := range n {
		sum[i] += n[i]
	}
	return true
}

// TestCrawlStateRecrawlFailedPage recrawls a crawl in which a seed failed
// (its server is gone): failing again, it is unchanged, not new, and its
// record says so, as the summary counts it: every record the summary
// counts unchanged is marked "unchanged":true.
func TestCrawlStateRecrawlFailedPage(t *testing.T) {
	site := &changingSite{}
	site.version.Store(1)
	srv := httptest.NewServer(site)
	defer srv.Close()
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	dir := filepath.Join(t.TempDir(), "state")
	ctx := context.Background()
	args := []string{"crawl", "-c", "4", "--retries", "0", "--state", dir, srv.URL + "/p/0", dead.URL + "/x"}
	if code, _, errOut := runFetchCLI(ctx, "", args...); code != exitFailed || !strings.Contains(errOut, "1 failed") {
		t.Fatalf("first crawl: exit %d: %s", code, errOut)
	}
	code, _, errOut := runFetchCLI(ctx, "", append(args, "--recrawl")...)
	if want := "recrawl: 11 unchanged, 0 changed, 0 new, 0 gone"; !strings.Contains(errOut, want) {
		t.Fatalf("recrawl: exit %d: %s\nwant %q", code, errOut, want)
	}
	recs := stateRecords(t, dir)
	if len(recs) != 22 {
		t.Fatalf("%d records, want 11 a pass", len(recs))
	}
	for _, r := range recs[11:] {
		if !r.Unchanged {
			t.Errorf("recrawl counted %s unchanged, and its record is not marked so: %+v", r.URL, r)
		}
	}
}

// TestDurableVisitKeepsValidatorsOfRecordedPage visits a page whose record
// a killed run committed before its Finish: its record is not written
// again, but its validators are kept, so that a later recrawl counts it as
// changed or unchanged, not new.
func TestDurableVisitKeepsValidatorsOfRecordedPage(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	const u = "http://a.example/p"
	f, err := crawler.OpenDiskFrontier(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { f.Close() }()
	out, err := crawler.OpenOutput(f, filepath.Join(dir, "out"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Admit(ctx, []crawler.Entry{{URL: u}}); err != nil {
		t.Fatal(err)
	}
	e, _, err := f.Pop(ctx, "http://a.example")
	if err != nil {
		t.Fatal(err)
	}
	if err := out.Write(u, []byte("{}\n")); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(ctx); err != nil { // the record is committed, not the Finish
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	if f, err = crawler.OpenDiskFrontier(dir, nil); err != nil {
		t.Fatal(err)
	}
	e, _, err = f.Pop(ctx, "http://a.example")
	if err != nil || e.URL != u {
		t.Fatalf("pop: %v, %q", err, e.URL)
	}
	d := &durable{f: f}
	page := &crawler.Page{URL: u, Response: &sluice.Response{StatusCode: 200, Header: http.Header{"Etag": {`"x"`}}}}
	if r, err := d.visit(ctx, page); r != nil || err != nil {
		t.Fatalf("visit: %v, %v; want no record", r, err)
	}
	if err := f.Finish(ctx, e, crawler.Done); err != nil {
		t.Fatal(err)
	}
	v, ok, err := f.Validators(ctx, u)
	if err != nil || !ok || v.ETag != `"x"` {
		t.Fatalf("validators %+v, %v, %v; want the ETag kept", v, ok, err)
	}
}

// TestCrawlRecrawlMissingDir asks for a recrawl of a state dir that does
// not exist (a mistyped path): a usage error that names it, and no
// directory left behind.
func TestCrawlRecrawlMissingDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nope")
	code, _, errOut := runFetchCLI(context.Background(), "", "crawl", "--state", dir, "--recrawl", "http://127.0.0.1:1/")
	if code != exitUsage || !strings.Contains(errOut, "state dir "+dir+" does not exist") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("the state dir was created: %v", err)
	}
}

// TestCrawlStateNoSeeds runs a first crawl of a state dir with an input
// of no URLs: refused, and no state dir is made, which would have refused
// the seeds of the next run as another crawl's. An empty dir made
// beforehand stays empty.
func TestCrawlStateNoSeeds(t *testing.T) {
	for _, made := range []bool{false, true} {
		dir := filepath.Join(t.TempDir(), "state")
		if made {
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		code, _, errOut := runFetchCLI(context.Background(), "", "crawl", "--state", dir, "-i", os.DevNull)
		if code != exitUsage || !strings.Contains(errOut, "no seed URL given") {
			t.Fatalf("made %v: exit %d: %s", made, code, errOut)
		}
		entries, err := os.ReadDir(dir)
		if made && (err != nil || len(entries) > 0) || !made && !os.IsNotExist(err) {
			t.Fatalf("made %v: state dir holds %v (%v)", made, entries, err)
		}
	}
}

// TestDurableRecordedPageWithPassword writes and commits the record of a
// page whose URL has a password (redacted in the record), as a run killed
// before the page's Finish leaves it: fetched again by the next run, the
// page gets no second record. The state dir had marked the record under
// the redacted URL, which no page matched, and a crawl of such a site
// killed 15 times held 8 pages twice.
func TestDurableRecordedPageWithPassword(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	const u, host = "http://u:secret@a.example/p", "http://u:secret@a.example"
	f, err := crawler.OpenDiskFrontier(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { f.Close() }()
	if _, err := f.Admit(ctx, []crawler.Entry{{URL: u}}); err != nil {
		t.Fatal(err)
	}
	pop := func() {
		t.Helper()
		if e, ok, err := f.Pop(ctx, host); err != nil || !ok || e.URL != u {
			t.Fatalf("pop: %v, %v, %q", err, ok, e.URL)
		}
	}
	pop()
	page := &crawler.Page{URL: u, Response: &sluice.Response{StatusCode: 200, Header: http.Header{}}}
	d := openTestDurable(t, f, filepath.Join(dir, "out"))
	r, err := d.visit(ctx, page)
	if err != nil || r == nil {
		t.Fatalf("first visit: %v, %v", r, err)
	}
	if err := d.write(r); err != nil {
		t.Fatal(err)
	}
	if err := d.out.Close(ctx); err != nil { // the record is committed, not the Finish
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	if f, err = crawler.OpenDiskFrontier(dir, nil); err != nil {
		t.Fatal(err)
	}
	pop()
	d = openTestDurable(t, f, filepath.Join(dir, "out"))
	defer d.out.Close(ctx)
	if r, err := d.visit(ctx, page); r != nil || err != nil {
		t.Fatalf("visit again: %+v, %v; want no record", r, err)
	}
}

// openTestDurable returns a durable on f whose records go to path.
func openTestDurable(t *testing.T, f *crawler.DiskFrontier, path string) *durable {
	t.Helper()
	out, err := crawler.OpenOutput(f, path)
	if err != nil {
		t.Fatal(err)
	}
	d := &durable{f: f, out: out}
	d.enc = json.NewEncoder(&d.buf)
	return d
}

// TestCrawlStateWithoutSeeds runs `sluice crawl --state DIR` and
// `--state DIR --recrawl` with no seed, as the usage gives them: each goes
// on with the crawl DIR holds, with the scope flags and -o it was made
// with (a run stopped mid-way resumes to every URL once; the recrawl
// fetches the same URLs again). A scope flag given that differs is refused
// by name; a DIR that holds no crawl is refused and left as it was. These
// commands had been refused for want of a seed.
func TestCrawlStateWithoutSeeds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := serveCancelling(t, crawltest.NewSite(200, 6), 15, cancel)
	dir := filepath.Join(t.TempDir(), "state")
	out := filepath.Join(t.TempDir(), "pages.jsonl")
	scope := []string{"--max-links", "4", "--deny", "/p/1[0-9]$", "--robots=false", srv.URL + "/p/0", srv.URL + "/p/7"}
	made := append([]string{"crawl", "-q", "-c", "2", "--state", dir, "-o", out}, scope...)
	if code, _, errOut := runFetchCLI(ctx, "", made...); code != exitInterrupted {
		t.Fatalf("first run: exit %d: %s", code, errOut)
	}
	if code, _, errOut := runFetchCLI(context.Background(), "", "crawl", "-q", "--state", dir); code != 0 {
		t.Fatalf("resumed with no seed: exit %d: %s", code, errOut)
	}
	ref := filepath.Join(t.TempDir(), "ref")
	if code, _, errOut := runFetchCLI(context.Background(), "", append([]string{"crawl", "-q", "--state", ref}, scope...)...); code != 0 {
		t.Fatalf("crawl run to its end: exit %d: %s", code, errOut)
	}
	first, want := recordURLs(t, out), recordURLs(t, filepath.Join(ref, "pages.jsonl"))
	if !slices.Equal(first, want) {
		t.Fatalf("resumed with no seed: %d records, want those of the crawl run to its end (%d)", len(first), len(want))
	}
	code, _, errOut := runFetchCLI(context.Background(), "", "crawl", "--state", dir, "--recrawl")
	if want := fmt.Sprintf("recrawl: %d unchanged", len(first)); code != 0 || !strings.Contains(errOut, want) {
		t.Fatalf("recrawl with no seed: exit %d: %s\nwant %q", code, errOut, want)
	}
	if got := recordURLs(t, out); len(got) != 2*len(first) {
		t.Fatalf("recrawl wrote %d records to %s, want %d", len(got)-len(first), out, len(first))
	}
	code, _, errOut = runFetchCLI(context.Background(), "", "crawl", "--state", dir, "--max-links", "5")
	if code != exitUsage || !strings.Contains(errOut, "--max-links 4 (now 5)") {
		t.Fatalf("another --max-links: exit %d: %s", code, errOut)
	}
	other := t.TempDir() // a dir of the user's files
	if err := os.WriteFile(filepath.Join(other, "notes.txt"), []byte("mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"--state", filepath.Join(t.TempDir(), "nope")}, {"--state", t.TempDir()}, {"--state", other}, {"--state", filepath.Join(t.TempDir(), "nope"), "--recrawl"}} {
		before, _ := os.ReadDir(args[1])
		code, _, errOut := runFetchCLI(context.Background(), "", append([]string{"crawl"}, args...)...)
		after, err := os.ReadDir(args[1])
		if code != exitUsage || !strings.Contains(errOut, "no seed URL given") && !strings.Contains(errOut, "does not exist") || len(after) != len(before) || err != nil && !os.IsNotExist(err) {
			t.Fatalf("%v: exit %d: %s; dir holds %v, had %v (%v)", args, code, errOut, after, before, err)
		}
	}
}

// TestCrawlStateExitCountsEarlierErrors runs a crawl with a seed that is
// no URL, then the same command again: the second run, which finds the
// crawl finished, exits as the first did (1 under --fail-on any), naming
// the error the first run recorded, as a run resumed after a kill does:
// it exited 0, so a crawl killed and resumed exited 0 where one left to
// run exited 1. A recrawl counts only its own pass.
func TestCrawlStateExitCountsEarlierErrors(t *testing.T) {
	site := &changingSite{}
	site.version.Store(1)
	srv := httptest.NewServer(site)
	defer srv.Close()
	dir := filepath.Join(t.TempDir(), "state")
	ctx := context.Background()
	args := []string{"crawl", "-c", "4", "--state", dir, srv.URL + "/p/0", "notaurl"}
	if code, _, errOut := runFetchCLI(ctx, "", args...); code != exitFailed {
		t.Fatalf("first run: exit %d: %s", code, errOut)
	}
	code, _, errOut := runFetchCLI(ctx, "", args...)
	if want := "1 of 11 URLs failed, 1 of them recorded by the runs this one resumed"; code != exitFailed || !strings.Contains(errOut, want) {
		t.Fatalf("run again: exit %d: %s\nwant exit %d naming %q", code, errOut, exitFailed, want)
	}
	if code, _, errOut := runFetchCLI(ctx, "", append(args, "--recrawl")...); code != 0 {
		t.Fatalf("recrawl: exit %d: %s", code, errOut)
	}
	if code, _, errOut := runFetchCLI(ctx, "", args...); code != 0 {
		t.Fatalf("run again after the recrawl: exit %d: %s", code, errOut)
	}
}
