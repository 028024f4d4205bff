package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/hostile"
)

// repeatReader yields n bytes of b without holding them.
type repeatReader struct {
	b byte
	n int64
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	k := int(min(int64(len(p)), r.n))
	for i := range k {
		p[i] = r.b
	}
	r.n -= int64(k)
	return k, nil
}

// TestInputLineCap feeds a line far longer than the cap between two good
// ones, with a byte order mark before the first: the long line gets one
// "line too long" record showing its first bytes, the others are fetched.
func TestInputLineCap(t *testing.T) {
	srv := fetchServer(t)
	in := "\ufeff" + srv.URL + "/first\n" + strings.Repeat("x", 1<<20) + "\n" + srv.URL + "/last\n"
	code, stdout, stderr := runFetchCLI(context.Background(), in, "fetch", "-q")
	recs := decodeRecords(t, stdout)
	if code != exitFailed || len(recs) != 3 {
		t.Fatalf("exit %d, %d records; want %d and 3\n%s\n%s", code, len(recs), exitFailed, stdout, stderr)
	}
	byURL := map[string]fetchRecord{}
	for _, r := range recs {
		byURL[r.URL] = r
	}
	for _, u := range []string{srv.URL + "/first", srv.URL + "/last"} {
		if r, ok := byURL[u]; !ok || r.Status != 200 {
			t.Errorf("%s: %+v", u, r)
		}
	}
	long := byURL[strings.Repeat("x", lineHead)]
	if !strings.Contains(long.Error, "line too long") {
		t.Errorf("long line: %+v", long)
	}
}

// TestInputLineBoundedMemory reads a 64 MiB line without a newline: the
// reader holds the cap, not the line.
func TestInputLineBoundedMemory(t *testing.T) {
	var got []inputLine
	peak := hostile.HeapPeak(func() {
		out := make(chan inputLine, 4)
		readInputs(context.Background(), nil, nil, &repeatReader{b: 'x', n: 64 << 20}, false, out, make(chan error, 1))
		for ln := range out {
			got = append(got, ln)
		}
	})
	if len(got) != 1 || !errors.Is(got[0].err, errLineTooLong) || len(got[0].text) != lineHead {
		t.Fatalf("lines %+v", got)
	}
	if peak > 8<<20 {
		t.Fatalf("heap peak %d MiB reading a 64 MiB line; budget 8 MiB", peak>>20)
	}
}

// failingWriter accepts n bytes, then fails every write.
type failingWriter struct{ n int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.n -= len(p); w.n < 0 {
		return 0, errors.New("no space left on device")
	}
	return len(p), nil
}

// TestFetchStopsAtOutputFailure writes records to an output that fails at
// once: the run ends with the error and sends few of its requests.
func TestFetchStopsAtOutputFailure(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		time.Sleep(20 * time.Millisecond)
	}))
	defer srv.Close()
	var in strings.Builder
	for i := range 300 {
		fmt.Fprintf(&in, "%s/%d\n", srv.URL, i)
	}
	var stderr bytes.Buffer
	code := Main(context.Background(), []string{"fetch", "-q", "-c", "2"}, strings.NewReader(in.String()), &failingWriter{}, &stderr)
	if code != exitFailed || !strings.Contains(stderr.String(), "no space left") {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
	if n := hits.Load(); n > 30 {
		t.Fatalf("%d of 300 requests sent after the output failed", n)
	}
}

// linesWriter accepts n bytes, then fails every write; it counts the
// lines it accepted.
type linesWriter struct {
	n     int
	lines int
}

func (w *linesWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		return 0, errors.New("no space left on device")
	}
	w.n -= len(p)
	w.lines += bytes.Count(p, []byte("\n"))
	return len(p), nil
}

// TestFetchOutputFailureCounts fills the output part way: the error says
// how many records were written in full and that the input's other URLs
// have none, so that none is lost without a word.
func TestFetchOutputFailureCounts(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	var in strings.Builder
	for i := range 2000 {
		fmt.Fprintf(&in, "%s/%d\n", srv.URL, i)
	}
	var stderr bytes.Buffer
	out := &linesWriter{n: 100 << 10}
	code := Main(context.Background(), []string{"fetch", "-q", "-c", "2"}, strings.NewReader(in.String()), out, &stderr)
	want := fmt.Sprintf("%d records written in full", out.lines)
	if code != exitFailed || out.lines == 0 || !strings.Contains(stderr.String(), want) ||
		!strings.Contains(stderr.String(), "the input's other URLs have no record") {
		t.Fatalf("exit %d, %d lines written, stderr %q; want %q", code, out.lines, stderr.String(), want)
	}
}

// TestOrderedInterrupt interrupts an --ordered run: the records of the
// lines not fetched keep their place, so every record is in input order.
func TestOrderedInterrupt(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) == 8 { // the second round of 4 is in flight
			cancel()
		}
		time.Sleep(100 * time.Millisecond)
	}))
	defer srv.Close()
	var in strings.Builder
	const n = 120
	for i := range n {
		fmt.Fprintf(&in, "%s/%d\n", srv.URL, i)
	}
	code, stdout, stderr := runFetchCLI(ctx, in.String(), "fetch", "-q", "--ordered", "-c", "4")
	if code != exitInterrupted {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	// Lines read get their records; the reader stops at the interruption.
	recs := decodeRecords(t, stdout)
	unfetched := 0
	for i, r := range recs {
		if want := fmt.Sprintf("%s/%d", srv.URL, i); r.URL != want {
			t.Fatalf("record %d is %s (%s), want %s", i, r.URL, r.Error, want)
		}
		if strings.Contains(r.Error, "not fetched") {
			unfetched++
		}
	}
	if unfetched == 0 {
		t.Fatal("no line was left unfetched; the interruption came too late to test anything")
	}
}

// TestNonsenseFlags checks that values no run can mean fail with exit 2.
func TestNonsenseFlags(t *testing.T) {
	dir := t.TempDir()
	list := filepath.Join(dir, "urls.txt")
	const content = "http://127.0.0.1:1/\n"
	if err := os.WriteFile(list, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"fetch", "--rate", "NaN", "http://127.0.0.1:1/"},
		{"fetch", "--host-rate", "+Inf", "http://127.0.0.1:1/"},
		{"fetch", "-c", "100000000", "http://127.0.0.1:1/"},
		{"fetch", "--per-host", "100000000", "http://127.0.0.1:1/"},
		{"fetch", "-i", list, "-o", list},
		{"crawl", "--rate", "NaN", "http://127.0.0.1:1/"},
		{"crawl", "-c", "100000000", "http://127.0.0.1:1/"},
		{"crawl", "--max-links", "2000000", "http://127.0.0.1:1/"},
		{"load", "--rate", "NaN", "-d", "1s", "http://127.0.0.1:1/"},
		{"load", "-c", "100000000", "-d", "1s", "http://127.0.0.1:1/"},
		{"load", "--stages", "2562047h:1,2562047h:1", "http://127.0.0.1:1/"},
	} {
		code, _, stderr := runFetchCLI(context.Background(), "", args...)
		if code != exitUsage {
			t.Errorf("%q: exit %d, want %d\n%s", args, code, exitUsage, stderr)
		}
	}
	if b, _ := os.ReadFile(list); string(b) != content {
		t.Errorf("-i f -o f changed the input to %q", b)
	}
}

// TestSIGTERMLosesNoRecord runs fetch and crawl in child processes and
// stops each with one SIGTERM, as containers and systemd do: the process
// exits 130 after the grace period's work, every line it wrote is a whole
// record, fetch has written one record per line it read, and every page
// the server answered has its record.
func TestSIGTERMLosesNoRecord(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := testBinary(t)
	var (
		mu       sync.Mutex
		answered = map[string]bool{}
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" {
			http.NotFound(w, r)
			return
		}
		time.Sleep(50 * time.Millisecond)
		w.Header().Set("Content-Type", "text/html")
		for i := range 10 { // a crawl's pages link on without end
			fmt.Fprintf(w, `<a href="%s/%d">x</a>`, strings.TrimSuffix(r.URL.Path, "/"), i)
		}
		mu.Lock()
		answered[r.URL.Path] = true
		mu.Unlock()
	}))
	defer srv.Close()
	var urls strings.Builder
	const n = 2000
	for i := range n {
		fmt.Fprintf(&urls, "%s/f%d\n", srv.URL, i)
	}
	for _, args := range [][]string{{"fetch", "-c", "20", "--grace", "1m"}, {"crawl", "-c", "20", "--grace", "1m", srv.URL + "/c"}} {
		t.Run(args[0], func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			cmd := exec.Command(bin, args...)
			cmd.Stdin = strings.NewReader(urls.String())
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// Signal once the child has answered pages: it has set up its
			// signal handling by then, and has many lines left to read.
			for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
				n := 0
				mu.Lock()
				for path := range answered {
					if strings.HasPrefix(path, "/"+args[0][:1]) {
						n++
					}
				}
				mu.Unlock()
				if n >= 20 {
					break
				}
				if time.Now().After(deadline) {
					cmd.Process.Kill()
					cmd.Wait()
					t.Fatalf("%d pages answered in 30 s\n%s", n, stderr.String())
				}
			}
			cmd.Process.Signal(syscall.SIGTERM)
			sigAt := time.Now()
			err := cmd.Wait()
			// The requests in flight take 50 ms: the grace is not waited out.
			if d := time.Since(sigAt); d > 30*time.Second {
				t.Errorf("exit %v after SIGTERM, with a grace of 1m for requests of 50 ms", d)
			}
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != exitInterrupted {
				t.Fatalf("exit %v, want %d\n%s", err, exitInterrupted, stderr.String())
			}
			seen, unfetched := map[string]int{}, 0
			for _, line := range strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n") {
				var r struct{ URL, Error string }
				if err := json.Unmarshal([]byte(line), &r); err != nil {
					t.Fatalf("cut record %q: %v", line, err)
				}
				seen[strings.TrimPrefix(r.URL, srv.URL)]++
				if strings.Contains(r.Error, "not fetched") {
					unfetched++
				}
			}
			mu.Lock()
			defer mu.Unlock()
			for path := range answered {
				if seen[path] == 0 && strings.HasPrefix(path, "/"+args[0][:1]) {
					t.Errorf("%s was answered but has no record", path)
				}
			}
			for path, k := range seen {
				if k != 1 {
					t.Errorf("%s has %d records", path, k)
				}
			}
			if args[0] == "fetch" {
				// Lines are read in order: the records cover a prefix.
				for i := range len(seen) {
					if seen[fmt.Sprintf("/f%d", i)] != 1 {
						t.Fatalf("line %d of the %d read has no record", i+1, len(seen))
					}
				}
				if unfetched == 0 {
					t.Fatal("every line read was fetched; the signal came too late to test anything")
				}
			}
		})
	}
}

// TestFetchHostileFlags runs fetch against the hostile server with the
// protection flags: -H headers stay with the URL's origin, passwords are
// redacted, --deny-private blocks loopback, -k accepts a self-signed
// certificate and --max-header bounds headers, each failure by its kind.
func TestFetchHostileFlags(t *testing.T) {
	srv := hostile.New(hostile.Config{})
	defer srv.Close()
	other := hostile.New(hostile.Config{})
	defer other.Close()
	tlsSrv := hostile.NewTLS(hostile.Config{})
	defer tlsSrv.Close()
	withPassword := strings.Replace(srv.URL, "http://", "http://user:SECRET@", 1) + "/ok"
	for _, tc := range []struct {
		args []string
		want string // status or error kind of the one record
	}{
		{[]string{"-H", "Authorization: Bearer SECRET", "-H", "X-Api-Key: SECRET", srv.URL + "/redirect?to=" + other.URL + "/ok"}, "200"},
		{[]string{withPassword}, "200"},
		{[]string{"--deny-private", srv.URL + "/ok"}, "blocked"},
		{[]string{tlsSrv.URL + "/ok"}, "tls"},
		{[]string{"-k", tlsSrv.URL + "/ok"}, "200"},
		{[]string{srv.URL + "/headers?size=2000000"}, "too-large"},
		{[]string{"--max-header", "4000000", srv.URL + "/headers?size=2000000"}, "200"},
		{[]string{srv.URL + "/gzip?size=100000000"}, "200"},
	} {
		_, stdout, stderr := runFetchCLI(context.Background(), "", append([]string{"fetch", "-q", "--retries", "0"}, tc.args...)...)
		recs := decodeRecords(t, stdout)
		if len(recs) != 1 {
			t.Fatalf("%q: %d records\n%s", tc.args, len(recs), stderr)
		}
		r := recs[0]
		if got := cmp.Or(r.ErrorKind, strconv.Itoa(r.Status)); got != tc.want {
			t.Errorf("%q: %s (%s), want %s", tc.args, got, r.Error, tc.want)
		}
		if strings.Contains(stdout, "SECRET") {
			t.Errorf("%q: a password in the record: %s", tc.args, stdout)
		}
	}
	if n := other.Requests("Authorization") + other.Requests("X-Api-Key"); n != 0 || len(other.Hits()) != 1 {
		t.Errorf("the other port saw the headers %d times in %v", n, other.Hits())
	}
	if srv.Requests("X-Api-Key") != 1 {
		t.Errorf("the origin saw X-Api-Key %d times, want 1", srv.Requests("X-Api-Key"))
	}
}

// TestFetchSlowHostDoesNotStarve fetches 200 URLs of a host that never
// answers, then 200 of a healthy one, with a cap of 2 per host: the healthy
// URLs are read, fetched and recorded while the stalled ones wait, long
// before the first stalled request times out.
func TestFetchSlowHostDoesNotStarve(t *testing.T) {
	stall := hostile.New(hostile.Config{})
	defer stall.Close()
	healthy := hostile.New(hostile.Config{})
	defer healthy.Close()
	var in strings.Builder
	for i := range 200 {
		fmt.Fprintf(&in, "%s/stall?i=%d\n", stall.URL, i)
	}
	for i := range 200 {
		fmt.Fprintf(&in, "%s/ok?i=%d\n", healthy.URL, i)
	}
	// The run is cut after 3 s, far short of the 60 s timeout: the healthy
	// records must have come by then.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, stdout, stderr := runFetchCLI(ctx, in.String(), "fetch", "-q", "-c", "10", "--per-host", "2", "--timeout", "60s", "--grace", "0s")
	ok := 0
	for _, r := range decodeRecords(t, stdout) {
		if strings.HasPrefix(r.URL, healthy.URL) && r.Status == 200 {
			ok++
		}
	}
	if ok != 200 {
		t.Fatalf("%d of 200 healthy URLs fetched while a slow host stalled\n%s", ok, stderr)
	}
}

func TestHostRoom(t *testing.T) {
	r := newHostRoom(4) // a share of 2
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	for _, host := range []string{"a", "a", "b"} {
		if !r.acquire(ctx, host) {
			t.Fatalf("room refused to %s below the share", host)
		}
	}
	if r.acquire(ctx, "a") {
		t.Fatal("a third URL of a host got in past its share")
	}
	r.release("a")
	if !r.acquire(context.Background(), "a") {
		t.Fatal("released room not given")
	}
}
