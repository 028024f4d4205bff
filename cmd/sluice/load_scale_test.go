package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/redistest"
	"github.com/sluicehq/sluice/load"
)

func TestLoadScaleUsageErrors(t *testing.T) {
	u := "http://127.0.0.1:1/"
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"step alone", []string{"load", "--step", "1s", u}, "go with --find-max"},
		{"bad slo", []string{"load", "--find-max", "p99<fast", u}, "want a duration"},
		{"slo on rate", []string{"load", "--find-max", "rps>10", u}, "search sets the rate"},
		{"find-max with threshold", []string{"load", "--find-max", "p99<1s", "--threshold", "p99<1s", u}, "drop --threshold"},
		{"find-max with rate", []string{"load", "--find-max", "p99<1s", "--rate", "5", u}, "drop rate"},
		{"find-max with redis", []string{"load", "--find-max", "p99<1s", "--redis", "redis://127.0.0.1:1/0", "--run", "x", "--workers", "2", u}, "drop --redis"},
		{"run without redis", []string{"load", "--run", "x", u}, "go with --redis"},
		{"redis without run", []string{"load", "--redis", "redis://127.0.0.1:1/0", u}, "needs --run NAME and --workers N"},
		{"bad redis url", []string{"load", "--redis", "http://x", "--run", "x", "--workers", "2", u}, "--redis:"},
		{"bad metrics addr", []string{"load", "--metrics", "nohost:port:x", "-n", "1", u}, "--metrics:"},
		{"merge nothing", []string{"load", "merge"}, "merge: want at least 1 argument(s), got 0"},
		{"merge missing file", []string{"load", "merge", "/nonexistent.json"}, "no such file"},
		{"watch without run", []string{"load", "watch", "--redis", "redis://127.0.0.1:1/0"}, "are required"},
		// The report file is created before the watch: it failed only
		// once the run it followed had ended.
		{"watch report to a directory", []string{"load", "watch", "--redis", "redis://127.0.0.1:1/0", "--run", "x", "--json", os.TempDir()},
			"sluice: load watch: --json: open " + os.TempDir()},
		{"watch flag error names the command", []string{"load", "watch", "--bogus"}, "sluice: load watch: unknown flag: --bogus"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(context.Background(), tc.args...)
			if code != 2 || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", code, stderr, tc.want)
			}
		})
	}
}

func TestLoadMerge(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") }))
	defer srv.Close()
	dir := t.TempDir()
	a, b, m := filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json"), filepath.Join(dir, "m.json")
	for _, f := range []string{a, b} {
		if code, _, stderr := runCLI(context.Background(), "load", "-q", "-n", "300", "-c", "2", "--json", f, srv.URL); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
	}
	code, stdout, stderr := runCLI(context.Background(), "load", "merge", "-o", m, "--html", filepath.Join(dir, "m.html"), a, b)
	if code != 0 || !strings.Contains(stdout, "requests   600 (600 ok, 0 failed)") || !strings.Contains(stdout, "merged     2 runs") {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	f, err := os.Open(m)
	if err != nil {
		t.Fatal(err)
	}
	merged, err := load.ReadReport(f)
	f.Close()
	if err != nil || merged.Requests != 600 || merged.MergedFrom != 2 {
		t.Fatalf("merged report: %v, %+v", err, merged)
	}
	// Merging a merge with one of its parts.
	if code, stdout, _ := runCLI(context.Background(), "load", "merge", m, a); code != 0 || !strings.Contains(stdout, "requests   900") {
		t.Fatalf("merge of a merge: exit %d\n%s", code, stdout)
	}
	// -o may name one of the reports: a running total. A file that
	// cannot be created fails before any report is written; it was
	// "merge: --output" after the whole text report.
	total := filepath.Join(dir, "total.json")
	data, _ := os.ReadFile(a)
	_ = os.WriteFile(total, data, 0o644)
	if code, stdout, stderr := runCLI(context.Background(), "load", "merge", "-o", total, total, b); code != 0 || !strings.Contains(stdout, "requests   600") {
		t.Fatalf("merge into one of its reports: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, stdout, stderr := runCLI(context.Background(), "load", "merge", "-o", dir, a); code != 2 || stdout != "" ||
		!strings.Contains(stderr, "sluice: load merge: -o: open "+dir) {
		t.Fatalf("merge -o DIR: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if code, _, stderr := runCLI(context.Background(), "load", "merge", dir); code != 2 || !strings.Contains(stderr, "load merge: "+dir+": read report: ") {
		t.Fatalf("merge DIR: exit %d, stderr %q", code, stderr)
	}
	old, corrupt, newer := filepath.Join(dir, "old.json"), filepath.Join(dir, "corrupt.json"), filepath.Join(dir, "newer.json")
	_ = os.WriteFile(old, []byte(`{"schema": 1, "requests": 5}`), 0o644)
	_ = os.WriteFile(corrupt, data[:len(data)/2], 0o644)
	_ = os.WriteFile(newer, []byte(strings.Replace(string(data), `"schema": 2`, `"schema": 3`, 1)), 0o644)
	for _, tc := range []struct{ file, want string }{
		{old, "cannot be merged exactly"},
		{corrupt, "not a JSON load report"},
		{newer, "schema 3"},
	} {
		code, _, stderr := runCLI(context.Background(), "load", "merge", a, tc.file)
		if code != 2 || !strings.Contains(stderr, tc.want) || !strings.Contains(stderr, filepath.Base(tc.file)) {
			t.Errorf("%s: exit %d, %q; want 2 and %q", tc.file, code, stderr, tc.want)
		}
	}
}

func TestLoadFindMax(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { time.Sleep(30 * time.Millisecond) }))
	defer slow.Close()
	code, stdout, stderr := runCLI(context.Background(), "load", "--find-max", "p99<5ms", "--step", "300ms", "--min", "20", slow.URL)
	if code != 1 || !strings.Contains(stdout, "unreachable") || !strings.Contains(stdout, "FAIL p99<5ms") {
		t.Fatalf("unreachable SLO: exit %d\n%s\n%s", code, stdout, stderr)
	}
	fast := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer fast.Close()
	dir := t.TempDir()
	jsonFile := filepath.Join(dir, "max.json")
	code, stdout, stderr = runCLI(context.Background(), "load", "--find-max", "p99<1s,errors<1%", "--step", "300ms", "--min", "20", "--max", "40",
		"--json", jsonFile, "--html", filepath.Join(dir, "max.html"), fast.URL)
	if code != 0 || !strings.Contains(stdout, "the highest rate allowed") {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	var res struct {
		MaxRPS float64 `json:"max_rps"`
		Steps  []struct {
			Rate float64 `json:"rate"`
			Pass bool    `json:"pass"`
		} `json:"steps"`
	}
	b, _ := os.ReadFile(jsonFile)
	if err := json.Unmarshal(b, &res); err != nil || res.MaxRPS != 40 || len(res.Steps) != 2 || !res.Steps[1].Pass {
		t.Fatalf("JSON %s: %v", b, err)
	}
}

func TestLoadMetricsEndpoint(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	var (
		wg   sync.WaitGroup
		code int
	)
	wg.Go(func() {
		code, _, _ = runCLI(context.Background(), "load", "-q", "--rate", "200", "-d", "2s", "--metrics", addr, srv.URL)
	})
	defer wg.Wait()
	var body string
	for deadline := time.Now().Add(1800 * time.Millisecond); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if body = string(b); strings.Contains(body, `sluice_load_requests_total{status="200"`) {
			break
		}
	}
	if !strings.Contains(body, `sluice_load_requests_total{status="200",target="`+srv.URL+`"}`) {
		t.Fatalf("no request counts scraped during the run:\n%s", body)
	}
	wg.Wait()
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
}

// TestLoadRedisRefusesMismatch starts a worker of a two-worker run, then a
// second with another rate and connection count: the second is refused at
// the barrier with exit status 2, naming both differences.
func TestLoadRedisRefusesMismatch(t *testing.T) {
	rs := redistest.Start(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first := make(chan int, 1)
	go func() {
		code, _, _ := runCLI(ctx, "load", "-q", "--redis", rs.URL(0), "--run", "mm", "--workers", "2", "--rate", "100", "-d", "1s", srv.URL)
		first <- code
	}()
	// The first sets the run's flags; a fixed sleep here let a first
	// worker slowed by a loaded machine arrive second.
	rdb := rs.Client(t)
	for deadline := time.Now().Add(10 * time.Second); rdb.Exists(ctx, "sluice:load:mm:config").Val() == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the first worker set no flags within 10s")
		}
	}
	code, _, stderr := runCLI(context.Background(), "load", "-q", "--redis", rs.URL(0), "--run", "mm", "--workers", "2",
		"--rate", "200", "-c", "10", "-d", "1s", srv.URL)
	if code != 2 || !strings.Contains(stderr, "refused at the barrier") ||
		!strings.Contains(stderr, "rate 200 here, 100 in the run") || !strings.Contains(stderr, "connections 10 here, 50 in the run") {
		t.Fatalf("second worker: exit %d, want 2 naming the rate and connections\n%s", code, stderr)
	}
	cancel()
	if code := <-first; code != 130 {
		t.Errorf("first worker, interrupted at the barrier: exit %d, want 130", code)
	}
}
