package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func fetchServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case r.URL.Path == "/busy":
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
		case r.URL.Path == "/huge":
			w.Write(bytes.Repeat([]byte("x"), 1<<20))
		case r.URL.Path == "/hang":
			<-r.Context().Done()
		case strings.HasPrefix(r.URL.Path, "/slow"):
			time.Sleep(20 * time.Millisecond)
			io.WriteString(w, r.URL.Path)
		default:
			io.WriteString(w, r.URL.Path)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// recordsIn reads and decodes the fetch records of the file path.
func recordsIn(t *testing.T, path string) []fetchRecord {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return decodeRecords(t, string(data))
}

func decodeRecords(t *testing.T, out string) []fetchRecord {
	t.Helper()
	var recs []fetchRecord
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var r fetchRecord
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("bad output line: %v\n%s", err, out)
		}
		recs = append(recs, r)
	}
	return recs
}

func runFetchCLI(ctx context.Context, stdin string, args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = Main(ctx, args, strings.NewReader(stdin), &o, &e)
	return code, o.String(), e.String()
}

// TestFetchEveryLineGetsOneRecord feeds good and bad input and checks that
// each URL line comes out exactly once with the expected outcome.
func TestFetchEveryLineGetsOneRecord(t *testing.T) {
	srv := fetchServer(t)
	u := srv.URL
	want := map[string]string{ // URL -> "status N" or an error fragment
		u + "/a":                     "status 200",
		u + "/slow/1":                "status 200",
		u + "/loop":                  "redirects",
		u + "/busy":                  "status 429",
		u + "/huge":                  "truncated",
		u + "/hang":                  "deadline exceeded",
		"ftp://example.com":          `unsupported scheme "ftp"`,
		"no-scheme.example":          "missing scheme",
		"http://":                    "missing host",
		"http://[::1":                "missing ']' in host",
		"http://127.0.0.1:1/refused": "connection refused",
	}
	var in strings.Builder
	for k := range want {
		fmt.Fprintf(&in, "%s\n\n   \n# comment\n", k)
	}
	code, out, errOut := runFetchCLI(context.Background(), in.String(), "fetch", "--retries", "1", "--timeout", "300ms", "--max-body", "1000")
	if code != 1 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	seen := map[string]int{}
	for _, r := range decodeRecords(t, out) {
		seen[r.URL]++
		exp, ok := want[r.URL]
		if !ok {
			t.Errorf("record for unexpected URL %q", r.URL)
			continue
		}
		var got string
		switch {
		case r.Error != "":
			got = r.Error
		case r.Truncated:
			got = fmt.Sprintf("truncated status %d bytes %d", r.Status, r.Bytes)
		default:
			got = fmt.Sprintf("status %d", r.Status)
		}
		if !strings.Contains(got, exp) {
			t.Errorf("%s: got %q, want %q", r.URL, got, exp)
		}
	}
	for k := range want {
		if seen[k] != 1 {
			t.Errorf("%s: %d records, want 1", k, seen[k])
		}
	}
	if !strings.Contains(errOut, fmt.Sprintf("fetched %d URLs", len(want))) || !strings.Contains(errOut, "skipped") {
		t.Errorf("summary: %s", errOut)
	}
}

func TestFetchOrderedToFile(t *testing.T) {
	srv := fetchServer(t)
	out := filepath.Join(t.TempDir(), "out.jsonl")
	var args []string
	for i := range 40 {
		p := "/a"
		if i%3 == 0 {
			p = "/slow"
		}
		args = append(args, fmt.Sprintf("%s%s/%d", srv.URL, p, i))
	}
	code, stdout, errOut := runFetchCLI(context.Background(), "", append([]string{"fetch", "-q", "--ordered", "-c", "8", "-o", out}, args...)...)
	if code != 0 || stdout != "" || errOut != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, errOut)
	}
	recs := recordsIn(t, out)
	if len(recs) != len(args) {
		t.Fatalf("%d records for %d URLs", len(recs), len(args))
	}
	for i, r := range recs {
		if r.URL != args[i] || r.Status != 200 {
			t.Fatalf("record %d = %+v, want %s", i, r, args[i])
		}
	}
}

func TestFetchInputFilesAndFollow(t *testing.T) {
	srv := fetchServer(t)
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.txt"), filepath.Join(dir, "b.txt")
	os.WriteFile(a, []byte(srv.URL+"/1\n"+srv.URL+"/2\n"), 0o644)
	os.WriteFile(b, []byte(srv.URL+"/3"), 0o644) // no final newline

	code, out, errOut := runFetchCLI(context.Background(), "", "fetch", "-q", "-i", a, "-i", b)
	if code != 0 || len(decodeRecords(t, out)) != 3 {
		t.Fatalf("exit %d, %d records, %s", code, len(decodeRecords(t, out)), errOut)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	outFile := filepath.Join(dir, "out.jsonl")
	done := make(chan int)
	go func() {
		code, _, _ := runFetchCLI(ctx, "", "fetch", "-q", "--follow", "-i", a, "-o", outFile, "--grace", "2s")
		done <- code
	}()
	waitRecords := func(n int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			data, _ := os.ReadFile(outFile)
			if strings.Count(string(data), "\n") >= n {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("fewer than %d records written", n)
	}
	waitRecords(2)
	f, _ := os.OpenFile(a, os.O_APPEND|os.O_WRONLY, 0)
	fmt.Fprintf(f, "%s/4\n%s/5\n", srv.URL, srv.URL)
	f.Close()
	waitRecords(4)
	cancel()
	if code := <-done; code != 130 {
		t.Fatalf("interrupted follow exited %d, want 130", code)
	}
	data, _ := os.ReadFile(outFile)
	if recs := decodeRecords(t, string(data)); len(recs) != 4 {
		t.Fatalf("%d records after follow, want 4", len(recs))
	}
}

// TestFetchInterruptKeepsEveryRecord interrupts a run whose requests hang:
// the grace period ends them, and every line read still gets its record.
func TestFetchInterruptKeepsEveryRecord(t *testing.T) {
	var started atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started.Add(1)
		<-r.Context().Done()
	}))
	defer srv.Close()
	var in strings.Builder
	for i := range 30 {
		fmt.Fprintf(&in, "%s/%d\n", srv.URL, i)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for started.Load() < 4 {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
	}()
	code, out, errOut := runFetchCLI(ctx, in.String(), "fetch", "-c", "4", "--grace", "100ms", "--timeout", "1m")
	if code != 130 {
		t.Fatalf("exit %d, want 130: %s", code, errOut)
	}
	recs := decodeRecords(t, out)
	seen := map[string]bool{}
	for _, r := range recs {
		if r.Error == "" || seen[r.URL] {
			t.Fatalf("bad or repeated record %+v", r)
		}
		seen[r.URL] = true
	}
	if len(recs) == 0 || !strings.Contains(errOut, "every line read has its record") {
		t.Fatalf("%d records; stderr %s", len(recs), errOut)
	}
	// Lines the reader never reached have no record; every one it did has one.
	if len(recs) > 30 {
		t.Fatalf("%d records for 30 lines", len(recs))
	}
}

func TestFetchUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"fetch", "-c", "0"},
		{"fetch", "--rate", "-1"},
		{"fetch", "--timeout", "0s"},
		{"fetch", "--follow"},
		{"fetch", "-i", "/does/not/exist"},
		{"fetch", "-H", "no colon"},
		{"fetch", "--bogus"},
		{"nosuchcommand"},
		{},
	} {
		code, _, errOut := runFetchCLI(context.Background(), "", args...)
		if code != 2 || errOut == "" {
			t.Errorf("%q: exit %d, stderr %q; want 2 and a message", args, code, errOut)
		}
	}
}

func FuzzInputLines(f *testing.F) {
	f.Add("http://a.example/\n\n# c\nftp://x\r\nhttp://b.example/ \n")
	f.Add("no newline")
	f.Fuzz(func(t *testing.T, in string) {
		out := make(chan inputLine, 1024)
		skipped := readInputs(context.Background(), nil, nil, strings.NewReader(in), false, out, make(chan error, 1))
		n := 0
		for ln := range out {
			n++
			if ln.n != n || ln.text == "" || ln.text != strings.TrimSpace(ln.text) {
				t.Fatalf("line %d = %+v", n, ln)
			}
		}
		lines := strings.Split(strings.TrimSuffix(in, "\n"), "\n")
		if in == "" {
			lines = nil
		}
		if n+*skipped != len(lines) {
			t.Fatalf("%d lines emitted + %d skipped != %d lines in", n, *skipped, len(lines))
		}
	})
}
