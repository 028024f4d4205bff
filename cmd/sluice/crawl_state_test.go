package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/crawler"
	"github.com/sluicehq/sluice/crawler/crawltest"
)

// TestCrawlStateResumeAndRecrawl crawls into a state dir: the same command
// again finds nothing left; a run with other flags is refused, naming the
// difference; a recrawl of the unchanged site records every page as a 304
// without a body. (Resumes after SIGKILL are tested in package crawler.)
func TestCrawlStateResumeAndRecrawl(t *testing.T) {
	site := crawltest.NewSite(300, 8)
	site.Validators = true
	srv := httptest.NewServer(site)
	defer srv.Close()
	dir := filepath.Join(t.TempDir(), "state")
	ctx := context.Background()
	seed := srv.URL + "/p/0"
	run := func(args ...string) (int, string) {
		code, _, errOut := runFetchCLI(ctx, "", append([]string{"crawl", "-c", "8", "--state", dir}, args...)...)
		return code, errOut
	}
	if code, errOut := run(seed); code != 0 {
		t.Fatalf("first run: exit %d: %s", code, errOut)
	}
	if code, errOut := run(seed); code != 0 || !strings.Contains(errOut, "crawled 0 URLs") || !strings.Contains(errOut, "had finished already") {
		t.Fatalf("second run: exit %d: %s", code, errOut)
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--scope", "domain", seed}, "--scope host (now domain)"},
		{[]string{srv.URL + "/p/1"}, "seeds"},
		{[]string{"-o", "-", seed}, "needs its records in a file"},
		{[]string{"--accept-changes", "-o", filepath.Join(t.TempDir(), "other.jsonl"), seed}, "the records file cannot change"},
	}
	for _, tc := range tests {
		if code, errOut := run(tc.args...); code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%q: exit %d, %q; want 2 and %q", tc.args, code, errOut, tc.want)
		}
	}
	if code, errOut := run("--recrawl", seed); code != 0 || !strings.Contains(errOut, "recrawl: 300 unchanged, 0 changed, 0 new, 0 gone") ||
		strings.Contains(errOut, "had finished already") {
		t.Fatalf("recrawl: exit %d: %s", code, errOut)
	}
	data, err := os.ReadFile(filepath.Join(dir, "pages.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	recs := decodeCrawl(t, string(data))
	seen := map[string]int{}
	unchanged := 0
	for _, r := range recs {
		seen[r.URL]++
		if r.Unchanged && r.Status == 304 && r.Bytes == 0 {
			unchanged++
		}
	}
	if len(recs) != 600 || len(seen) != 300 || unchanged != 300 {
		t.Fatalf("%d records of %d URLs, %d unchanged; want 600 of 300, 300", len(recs), len(seen), unchanged)
	}
	if site.NotModified() != 300 {
		t.Fatalf("site answered %d 304s, want 300", site.NotModified())
	}
}

// TestCrawlStateResumeSeedNotUTF8 runs a crawl with --state whose seed
// holds a byte that is not UTF-8 (a seed file in Latin-1) twice: the same
// command resumes. The stored seed, replaced by U+FFFD in the config's
// JSON, differed from the one given, and the second run was refused as
// another command.
func TestCrawlStateResumeSeedNotUTF8(t *testing.T) {
	srv := fetchServer(t)
	ctx := context.Background()
	args := []string{"crawl", "--depth", "0", "--state", filepath.Join(t.TempDir(), "state"), srv.URL + "/ok?q=caf\xe9"}
	for run := 1; run <= 2; run++ {
		if code, _, errOut := runFetchCLI(ctx, "", args...); code != 0 {
			t.Fatalf("run %d: exit %d: %s", run, code, errOut)
		}
	}
}

// TestFetchResume runs a fetch again with --resume over an output cut
// short mid-record: the lines recorded are skipped, the torn record is
// cut off, and every line ends with one record.
func TestFetchResume(t *testing.T) {
	srv := fetchServer(t)
	ctx := context.Background()
	dir := t.TempDir()
	in, out := filepath.Join(dir, "urls.txt"), filepath.Join(dir, "out.jsonl")
	var urls []string
	for i := range 20 {
		urls = append(urls, srv.URL+"/ok?i="+string(rune('a'+i)))
	}
	urls = append(urls, urls[0]) // a line listed twice gets two records
	if err := os.WriteFile(in, []byte(strings.Join(urls[:8], "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runFetchCLI(ctx, "", "fetch", "-i", in, "-o", out); code != 0 {
		t.Fatalf("first run: exit %d: %s", code, errOut)
	}
	f, err := os.OpenFile(out, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"url":"` + urls[9] + `","sta`) // a record torn by a kill
	f.Close()
	if err := os.WriteFile(in, []byte(strings.Join(urls, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runFetchCLI(ctx, "", "fetch", "--resume", "-i", in, "-o", out)
	if code != 0 || !strings.Contains(errOut, "resumed: 8 lines already recorded") {
		t.Fatalf("resume: exit %d: %s", code, errOut)
	}
	count := map[string]int{}
	for _, r := range recordsIn(t, out) {
		count[r.URL]++
	}
	for i, u := range urls[:20] {
		if want := 1 + map[bool]int{true: 1}[i == 0]; count[u] != want {
			t.Errorf("%s: %d records, want %d", u, count[u], want)
		}
	}
	if code, _, errOut := runFetchCLI(ctx, "", "fetch", "--resume", "-i", in); code != 2 || !strings.Contains(errOut, "needs -o FILE") {
		t.Fatalf("--resume to stdout: exit %d: %s", code, errOut)
	}
}

// TestFetchResumeExitCountsEarlierErrors resumes a fetch whose first run
// recorded an error: the resumed run, which fetches only good URLs, exits
// as the whole file asks (1 under --fail-on any, naming the error the run
// it resumed recorded), not as its own records alone do: it exited 0, and
// a script that ran the same command again after a kill missed the
// errors of the runs before. --fail-on all still passes a file with a
// result in it.
// TestFetchResumeNotRegular gives --resume a device as -o: it is refused
// as bad usage, naming it. /dev/full reads as endless zeros, which were
// read as one line until memory ran out; /dev/null failed to truncate.
func TestFetchResumeNotRegular(t *testing.T) {
	for _, dev := range []string{"/dev/null", "/dev/full"} {
		if _, err := os.Stat(dev); err != nil {
			t.Skipf("no %s", dev)
		}
		code, _, errOut := runFetchCLI(context.Background(), "", "fetch", "--resume", "-o", dev, "http://127.0.0.1:1/")
		if code != exitUsage || !strings.Contains(errOut, dev+" is not a regular file") {
			t.Errorf("--resume -o %s: exit %d, stderr %q", dev, code, errOut)
		}
	}
}

func TestFetchResumeExitCountsEarlierErrors(t *testing.T) {
	srv := fetchServer(t)
	ctx := context.Background()
	dir := t.TempDir()
	in, out := filepath.Join(dir, "urls.txt"), filepath.Join(dir, "out.jsonl")
	lines := []string{"not a url", srv.URL + "/ok?i=a", srv.URL + "/ok?i=b"}
	if err := os.WriteFile(in, []byte(lines[0]+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runFetchCLI(ctx, "", "fetch", "-i", in, "-o", out); code != exitFailed {
		t.Fatalf("first run: exit %d: %s", code, errOut)
	}
	if err := os.WriteFile(in, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runFetchCLI(ctx, "", "fetch", "--resume", "-i", in, "-o", out)
	if want := "1 of 3 URLs failed, 1 of them recorded by the runs this one resumed"; code != exitFailed || !strings.Contains(errOut, want) {
		t.Fatalf("resume: exit %d: %s\nwant exit %d naming %q", code, errOut, exitFailed, want)
	}
	if code, _, errOut := runFetchCLI(ctx, "", "fetch", "--resume", "--fail-on", "all", "-i", in, "-o", out); code != 0 {
		t.Fatalf("resume with --fail-on all: exit %d: %s", code, errOut)
	}
}

// TestFetchResumeLinesAsRecorded runs fetch --resume again over input
// lines whose records hold them changed: a URL with a password (redacted),
// one with bytes that are not UTF-8 (replaced in the JSON), and a line too
// long (cut, and failed without a fetch). The second run fetches nothing
// and appends nothing: it had fetched or failed each such line again and
// appended a second record, at every resume.
func TestFetchResumeLinesAsRecorded(t *testing.T) {
	srv := fetchServer(t)
	ctx := context.Background()
	host := strings.TrimPrefix(srv.URL, "http://")
	tests := []struct {
		name, line string
	}{
		{"password", "http://u:secret@" + host + "/ok"},
		{"not UTF-8", srv.URL + "/ok?q=caf\xe9"},
		{"too long", srv.URL + "/ok?q=" + strings.Repeat("a", maxLineBytes)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			in, out := filepath.Join(dir, "urls.txt"), filepath.Join(dir, "out.jsonl")
			if err := os.WriteFile(in, []byte(srv.URL+"/ok\n"+tc.line+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			args := []string{"fetch", "--resume", "--fail-on", "never", "-i", in, "-o", out}
			if code, _, errOut := runFetchCLI(ctx, "", args...); code != 0 {
				t.Fatalf("first run: exit %d: %s", code, errOut)
			}
			code, _, errOut := runFetchCLI(ctx, "", args...)
			if code != 0 || !strings.Contains(errOut, "resumed: 2 lines already recorded") {
				t.Errorf("second run: exit %d: %s", code, errOut)
			}
			if n := len(recordsIn(t, out)); n != 2 {
				t.Errorf("%d records of 2 lines", n)
			}
		})
	}
}

// FuzzRecordedURL checks that recordedURL gives what a record of the line
// holds once written and read back, which fetch --resume matches lines by.
func FuzzRecordedURL(f *testing.F) {
	for _, s := range []string{"http://a.example/", "http://u:p@a.example/x", "http://a.example/caf\xe9\xff", "\xed\xa0\x80", "http://u@h/\x00<>&"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		b, err := json.Marshal(fetchRecord{URL: sluice.RedactURL(line)})
		if err != nil {
			t.Fatal(err)
		}
		var back resumeLine
		if err := json.Unmarshal(b, &back); err != nil || back.URL == nil {
			t.Fatalf("%q: %v", b, err)
		}
		if got := recordedURL(line); got != *back.URL {
			t.Errorf("recordedURL(%q) = %q, the record holds %q", line, got, *back.URL)
		}
	})
}

// TestFetchResumeThroughLink resumes a fetch whose -o is a symbolic link
// to the records file, which holds a record a stop cut short: the file the
// link names loses that record and gains the new ones, and the link stays.
// The file rewritten without the record had been renamed over the link,
// and the records file it named kept the old record and none of the new.
func TestFetchResumeThroughLink(t *testing.T) {
	srv := fetchServer(t)
	ctx := context.Background()
	dir := t.TempDir()
	real, link := filepath.Join(dir, "real.jsonl"), filepath.Join(dir, "link.jsonl")
	a, b := srv.URL+"/ok?a", srv.URL+"/ok?b"
	old := `{"url":"` + a + `","status":200}` + "\n" + `{"url":"` + b + `","error":"cancelled","error_kind":"cancelled"}` + "\n"
	if err := os.WriteFile(real, []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runFetchCLI(ctx, a+"\n"+b+"\n", "fetch", "--resume", "-o", link); code != 0 {
		t.Fatalf("resume: exit %d: %s", code, errOut)
	}
	if fi, err := os.Lstat(link); err != nil {
		t.Fatal(err)
	} else if fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("-o is no longer a link, but a file of mode %v", fi.Mode())
	}
	recs := recordsIn(t, real)
	if len(recs) != 2 || recs[0].URL != a || recs[1].URL != b || recs[1].ErrorKind != "" {
		t.Fatalf("records file %+v, want %s as it was and %s fetched", recs, a, b)
	}
}

// TestFetchResumeRemovesStaleRewrite resumes a fetch beside the file that
// a resume killed while it rewrote the records file left: it is removed,
// and a file of another name is not.
func TestFetchResumeRemovesStaleRewrite(t *testing.T) {
	srv := fetchServer(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "out.jsonl")
	stale, other := out+".resume-123456", filepath.Join(dir, "out.jsonl.keep")
	for _, name := range []string{stale, other} {
		if err := os.WriteFile(name, []byte("half a rewrite\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if code, _, errOut := runFetchCLI(context.Background(), srv.URL+"/ok\n", "fetch", "--resume", "-o", out); code != 0 {
		t.Fatalf("resume: exit %d: %s", code, errOut)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("%s is still there (%v)", stale, err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("%s: %v", other, err)
	}
	if recs := recordsIn(t, out); len(recs) != 1 {
		t.Errorf("records %+v, want one", recs)
	}
}

// TestRecordsFileLocked runs fetch --resume, and the resume of a crawl
// --state, on a records file another run holds: each is refused, naming
// the file, and leaves it as it was.
func TestRecordsFileLocked(t *testing.T) {
	srv := fetchServer(t)
	ctx := context.Background()
	dir := t.TempDir()
	in := filepath.Join(dir, "urls.txt")
	if err := os.WriteFile(in, []byte(srv.URL+"/ok\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fetch := []string{"fetch", "--resume", "-i", in, "-o", filepath.Join(dir, "fetch.jsonl")}
	crawl := []string{"crawl", "--state", filepath.Join(dir, "state"), "-o", filepath.Join(dir, "crawl.jsonl"), srv.URL + "/ok"}
	for _, args := range [][]string{fetch, crawl} {
		out := args[len(args)-1]
		if args[0] == "crawl" {
			out = args[4]
		}
		if code, _, errOut := runFetchCLI(ctx, "", args...); code != 0 {
			t.Fatalf("%s: exit %d: %s", args[0], code, errOut)
		}
		before, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
			t.Fatal(err)
		}
		code, _, errOut := runFetchCLI(ctx, "", args...)
		if code != 1 || !strings.Contains(errOut, out) || !strings.Contains(errOut, "another") {
			t.Errorf("%s on a locked file: exit %d: %s", args[0], code, errOut)
		}
		if after, _ := os.ReadFile(out); string(after) != string(before) {
			t.Errorf("%s changed the locked file: %q, was %q", args[0], after, before)
		}
		f.Close() // the lock goes with it
		if code, _, errOut := runFetchCLI(ctx, "", args...); code != 0 {
			t.Errorf("%s once the file is free: exit %d: %s", args[0], code, errOut)
		}
	}
}

// TestFetchResumeAfterInterrupt stops a fetch with no grace left, so that
// the lines in flight and read ahead get records of their cancellation,
// then runs it again with --resume: those lines are fetched, their
// cancelled records dropped, and every line ends with one record.
func TestFetchResumeAfterInterrupt(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var hold atomic.Bool
	hold.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hold.Load() && strings.HasPrefix(r.URL.Path, "/hold") {
			cancel() // the fetch stops with this request in flight
			<-r.Context().Done()
			return
		}
		io.WriteString(w, r.URL.Path)
	}))
	defer srv.Close()
	dir := t.TempDir()
	in, out := filepath.Join(dir, "urls.txt"), filepath.Join(dir, "out.jsonl")
	var urls []string
	for i := range 30 {
		path := "/ok/"
		if i == 10 {
			path = "/hold/"
		}
		urls = append(urls, srv.URL+path+strconv.Itoa(i))
	}
	if err := os.WriteFile(in, []byte(strings.Join(urls, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"fetch", "--resume", "-c", "2", "--grace", "1ms", "-i", in, "-o", out}
	if code, _, errOut := runFetchCLI(ctx, "", args...); code != exitInterrupted || !strings.Contains(errOut, "cancelled") {
		t.Fatalf("first run: exit %d: %s", code, errOut)
	}
	hold.Store(false)
	if code, _, errOut := runFetchCLI(context.Background(), "", args...); code != 0 || !strings.Contains(errOut, "a stop cut short dropped") {
		t.Fatalf("resume: exit %d: %s", code, errOut)
	}
	count := map[string]int{}
	for _, r := range recordsIn(t, out) {
		if r.Error != "" {
			t.Errorf("%s: %s", r.URL, r.Error)
		}
		count[r.URL]++
	}
	for _, u := range urls {
		if count[u] != 1 {
			t.Errorf("%s: %d records, want 1", u, count[u])
		}
	}
}

// TestCrawlStateRecordPaths crawls with --state both ways a record reaches
// the records file: written by the visit itself, and, with --save, by the
// writer after it has saved the body. Each gives every page once, and
// counts every page in the summary.
func TestCrawlStateRecordPaths(t *testing.T) {
	site := crawltest.NewSite(200, 6)
	srv := httptest.NewServer(site)
	defer srv.Close()
	tests := []struct {
		name  string
		extra []string
		saved bool
	}{
		{"record written by the visit", nil, false},
		{"record written after --save", []string{"--save", "bodies"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tmp := t.TempDir()
			dir := filepath.Join(tmp, "state")
			args := []string{"crawl", "-c", "8", "--state", dir}
			for _, a := range tc.extra {
				if a == "bodies" {
					a = filepath.Join(tmp, a)
				}
				args = append(args, a)
			}
			code, _, errOut := runFetchCLI(context.Background(), "", append(args, srv.URL+"/p/0")...)
			if code != 0 || !strings.Contains(errOut, "crawled 200 URLs") {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			data, err := os.ReadFile(filepath.Join(dir, "pages.jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]int{}
			saved := 0
			for _, r := range decodeCrawl(t, string(data)) {
				seen[r.URL]++
				if r.Saved != "" {
					saved++
				}
			}
			if len(seen) != 200 {
				t.Fatalf("%d distinct URLs recorded, want 200", len(seen))
			}
			for u, n := range seen {
				if n != 1 {
					t.Errorf("%s recorded %d times", u, n)
				}
			}
			if want := map[bool]int{true: 200}[tc.saved]; saved != want {
				t.Errorf("%d records name a saved body, want %d", saved, want)
			}
		})
	}
}

// TestCrawlStateMoved resumes a state dir moved elsewhere (to another
// disk, or restored from a copy): the records file it keeps inside itself
// moves with it, so the same command on the new path is the same crawl.
// A dir that stored its records file's absolute path still resumes where
// it was made, and moved, with --accept-changes.
func TestCrawlStateMoved(t *testing.T) {
	site := crawltest.NewSite(50, 4)
	site.Validators = true
	srv := httptest.NewServer(site)
	defer srv.Close()
	ctx := context.Background()
	tests := []struct {
		name     string
		output   bool // -o DIR/pages.jsonl given
		absolute bool // the config names the records file by its absolute path
		moved    bool
		accept   bool // --accept-changes
	}{
		{"moved", false, false, true, false},
		{"moved, -o inside it", true, false, true, false},
		{"absolute path stored, not moved", false, true, false, false},
		{"absolute path stored, moved, --accept-changes", false, true, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tmp := t.TempDir()
			args := func(dir string) []string {
				a := []string{"crawl", "-q", "-c", "4", "--state", dir, srv.URL + "/p/0"}
				if tc.output {
					a = append(a, "-o", filepath.Join(dir, "pages.jsonl"))
				}
				if tc.accept && filepath.Base(dir) == "moved" {
					a = append(a, "--accept-changes")
				}
				return a
			}
			dir := filepath.Join(tmp, "state")
			if code, _, errOut := runFetchCLI(ctx, "", args(dir)...); code != 0 {
				t.Fatalf("first crawl: exit %d: %s", code, errOut)
			}
			if tc.absolute {
				setAbsoluteOutput(t, dir)
			}
			if tc.moved {
				moved := filepath.Join(tmp, "moved")
				if err := os.Rename(dir, moved); err != nil {
					t.Fatal(err)
				}
				dir = moved
			}
			code, _, errOut := runFetchCLI(ctx, "", append(args(dir), "--recrawl")...)
			if code != 0 {
				t.Fatalf("recrawl: exit %d: %s", code, errOut)
			}
			data, err := os.ReadFile(filepath.Join(dir, "pages.jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			if n := len(decodeCrawl(t, string(data))); n != 100 {
				t.Fatalf("%d records after the recrawl, want 100", n)
			}
		})
	}
}

// setAbsoluteOutput rewrites the config of the state dir dir to name its
// records file by its absolute path.
func setAbsoluteOutput(t *testing.T, dir string) {
	t.Helper()
	f, err := crawler.OpenDiskFrontier(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, _, err := f.Meta("config")
	if err != nil {
		t.Fatal(err)
	}
	var cfg crawlConfig
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs(filepath.Join(dir, "pages.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Output = abs
	if b, err = json.Marshal(cfg); err != nil {
		t.Fatal(err)
	}
	if err := f.SetMeta(context.Background(), "config", b); err != nil {
		t.Fatal(err)
	}
}

// TestCrawlConfigDiff checks that seeds and patterns are compared as sets:
// a resume that gives them in another order, or one twice, is the same
// crawl; another seed or pattern is not.
func TestCrawlConfigDiff(t *testing.T) {
	was := crawlConfig{Seeds: []string{"http://a/", "http://b/"}, Deny: []string{"x", "y"}, Robots: true}
	var many []string // 10 seeds, and an 11th
	for c := 'a'; c <= 'k'; c++ {
		many = append(many, "http://"+string(c)+"/")
	}
	wasMany := crawlConfig{Seeds: many[:10], Robots: true}
	tests := []struct {
		name string
		now  crawlConfig
		want string
	}{
		{"same", was, ""},
		{"seeds reordered and repeated", crawlConfig{Seeds: []string{"http://b/", "http://a/", "http://b/"}, Deny: []string{"y", "x"}, Robots: true}, ""},
		{"another seed", crawlConfig{Seeds: []string{"http://a/", "http://c/"}, Deny: []string{"x", "y"}, Robots: true}, "seeds [http://a/ http://b/] (now [http://a/ http://c/])"},
		{"a seed fewer", crawlConfig{Seeds: []string{"http://a/"}, Deny: []string{"x", "y"}, Robots: true}, "seeds [http://a/ http://b/] (now [http://a/])"},
		{"another pattern", crawlConfig{Seeds: was.Seeds, Deny: []string{"x"}, Robots: true}, "--deny [x y] (now [x])"},
		{"many seeds, one added", crawlConfig{Seeds: many, Robots: true}, "seeds: 10 (now 11), 1 [http://k/] added, none dropped"},
		{"many seeds, some dropped", crawlConfig{Seeds: many[5:10], Robots: true}, "seeds: 10 (now 5), none added, 5 [http://a/ http://b/ http://c/]… dropped"},
	}
	for _, tc := range tests {
		was := was
		if strings.HasPrefix(tc.name, "many") {
			was = wasMany // long lists: what changed, by name
		}
		if got := strings.Join(was.diff(tc.now), "; "); got != tc.want {
			t.Errorf("%s: diff %q, want %q", tc.name, got, tc.want)
		}
	}
}

// serveCancelling serves site, and calls cancel as its request number
// after comes in: a crawl run with cancel's context stops mid-way, as at a
// Ctrl+C.
func serveCancelling(t *testing.T, site http.Handler, after int64, cancel func()) *httptest.Server {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == after {
			cancel()
		}
		site.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestCrawlStateStoppedSaysResume stops a crawl with --state mid-way:
// its summary says that DIR keeps the URLs still queued and how to go on,
// and the same command does.
func TestCrawlStateStoppedSaysResume(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := serveCancelling(t, crawltest.NewSite(300, 8), 20, cancel)
	dir := filepath.Join(t.TempDir(), "state")
	args := []string{"crawl", "-c", "2", "--state", dir, srv.URL + "/p/0"}
	code, _, errOut := runFetchCLI(ctx, "", args...)
	if want := "  state: " + dir + " keeps them; the same command again, or sluice crawl --state " + dir + ", resumes the crawl\n"; code != exitInterrupted || !strings.Contains(errOut, "still queued") || !strings.Contains(errOut, want) {
		t.Fatalf("exit %d: %s\nwant %d and %q", code, errOut, exitInterrupted, want)
	}
	code, _, errOut = runFetchCLI(context.Background(), "", args...)
	if code != 0 || strings.Contains(errOut, "keeps them") {
		t.Fatalf("resumed: exit %d: %s", code, errOut)
	}
}

// TestCrawlStateOwnDir gives --state a directory that holds files of its
// own, as --state . in a project does: the store, lock and records went
// in among them. It is refused, and left as it was; an empty directory,
// or one holding only the crawl's records file, is a state dir.
func TestCrawlStateOwnDir(t *testing.T) {
	site := crawltest.NewSite(20, 4)
	srv := httptest.NewServer(site)
	defer srv.Close()
	for _, tc := range []struct {
		name  string
		files []string // made in the dir first
		out   string   // -o, in the dir; "" for DIR/pages.jsonl
		code  int
	}{
		{"files of its own", []string{"notes.txt", "main.go"}, "", 2},
		{"files of its own, -o in it", []string{"notes.txt"}, "rec.jsonl", 2},
		{"empty", nil, "", 0},
		{"the records file alone", []string{"pages.jsonl"}, "", 0},
		{"the -o file alone", []string{"rec.jsonl"}, "rec.jsonl", 0},
		{"a file system's lost+found", []string{"lost+found"}, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			args := []string{"crawl", "-q", "--state", dir, srv.URL + "/p/0"}
			if tc.out != "" {
				args = append(args, "-o", filepath.Join(dir, tc.out))
			}
			code, _, errOut := runFetchCLI(context.Background(), "", args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d: %s", code, tc.code, errOut)
			}
			if tc.code == 0 {
				return
			}
			if !strings.Contains(errOut, "the directory holds files of its own (main.go, notes.txt) and no crawl") &&
				!strings.Contains(errOut, "the directory holds files of its own (notes.txt) and no crawl") {
				t.Errorf("stderr %q", errOut)
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != len(tc.files) {
				t.Errorf("the dir holds %d entries after the refusal, want the %d it had", len(entries), len(tc.files))
			}
		})
	}
}

// TestCrawlStateFile gives --state a file: bad usage, exit 2, with or
// without seeds, and the file is left as it was. It exited 1 once the
// store was being made ("mkdir FILE: not a directory").
func TestCrawlStateFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(file, []byte("mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"crawl", "--state", file, "http://127.0.0.1:1/"}, {"crawl", "--state", file}, {"crawl", "--state", file, "--recrawl"}} {
		code, _, errOut := runFetchCLI(context.Background(), "", args...)
		if want := "--state " + file + " is a file, not a directory"; code != exitUsage || !strings.Contains(errOut, want) {
			t.Errorf("%v: exit %d: %s\nwant %d and %q", args, code, errOut, exitUsage, want)
		}
	}
	if data, err := os.ReadFile(file); err != nil || string(data) != "mine\n" {
		t.Fatalf("the file after the refusals: %q, %v", data, err)
	}
}

// TestShellQuote checks the quoting of a state dir in the command that
// resumes it: a path a shell takes as it is stays bare.
func TestShellQuote(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/tmp/crawl.d", "/tmp/crawl.d"},
		{"my crawl", "'my crawl'"},
		{"it's", `'it'\''s'`},
		{"$HOME/x", "'$HOME/x'"},
		{"", "''"},
	} {
		if got := shellQuote(tc.in); got != tc.want {
			t.Errorf("shellQuote(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
