package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/hostile"
	"github.com/sluicehq/sluice/load"
)

func runCLI(ctx context.Context, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = Main(ctx, args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestLoadUsageErrors(t *testing.T) {
	dir := t.TempDir()
	badTargets := filepath.Join(dir, "bad.txt")
	if err := os.WriteFile(badTargets, []byte("GET http://127.0.0.1/\nno header here\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	goodTargets := filepath.Join(dir, "good.txt")
	if err := os.WriteFile(goodTargets, []byte("GET http://127.0.0.1/\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no url", []string{"load"}, "no URL given"},
		{"mistyped subcommand", []string{"load", "mrege"}, `unknown command "mrege" for "sluice load" (did you mean merge?)`},
		{"body with targets", []string{"load", "-n", "1", "--targets", goodTargets, "--body", "x"}, "--body and --method go with a URL"},
		{"method with targets", []string{"load", "-n", "1", "--targets", goodTargets, "-m", "POST"}, "--body and --method go with a URL"},
		{"two urls", []string{"load", "http://127.0.0.1/", "http://127.0.0.1/"}, "one URL expected"},
		{"bad scheme", []string{"load", "ftp://127.0.0.1/"}, `unsupported scheme "ftp"`},
		{"no scheme", []string{"load", "127.0.0.1:8080"}, "missing scheme"},
		{"bad flag", []string{"load", "-c", "many", "http://127.0.0.1/"}, `bad value "many" for --concurrency`},
		{"unknown flag", []string{"load", "--bogus", "http://127.0.0.1/"}, "unknown flag: --bogus"},
		// These gave the engine's messages, naming no flag ("connections
		// and max in-flight must be at most 100000", "rate and stages
		// are mutually exclusive"), and a directory named no flag either.
		{"count with rate", []string{"load", "--rate", "10", "-n", "5", "http://127.0.0.1/"},
			"load: -n/--requests counts the requests of the closed model; with --rate or --stages, give -d/--duration"},
		{"count with stages", []string{"load", "--stages", "1s:10", "-n", "5", "http://127.0.0.1/"}, "with --rate or --stages, give -d/--duration"},
		{"rate with stages", []string{"load", "--rate", "10", "--stages", "1s:10", "http://127.0.0.1/"}, "load: --rate and --stages do not go together"},
		{"too many connections", []string{"load", "-c", "200000", "http://127.0.0.1/"}, "load: --concurrency must be at most 100000, got 200000"},
		{"max-inflight too high", []string{"load", "--rate", "5", "--max-inflight", "200000", "http://127.0.0.1/"}, "load: --max-inflight must be at most 100000, got 200000"},
		{"json to a directory", []string{"load", "-n", "1", "--json", dir, "http://127.0.0.1/"}, "load: --json: open " + dir},
		{"html to a directory", []string{"load", "-n", "1", "--html", dir, "http://127.0.0.1/"}, "load: --html: open " + dir},
		{"bad stages", []string{"load", "--stages", "10s", "http://127.0.0.1/"}, "want DURATION:RATE"},
		{"empty stages", []string{"load", "--stages=", "http://127.0.0.1/"}, "load: --stages is empty"},
		{"empty threshold", []string{"load", "--threshold=", "-n", "1", "http://127.0.0.1/"}, "load: --threshold is empty"},
		{"bad threshold", []string{"load", "--threshold", "p99<fast", "http://127.0.0.1/"}, "want a duration"},
		{"bad header", []string{"load", "-H", "nocolon", "http://127.0.0.1/"}, "want 'Key: Value'"},
		{"bad method", []string{"load", "-m", "GE T", "http://127.0.0.1/"}, "bad method"},
		{"missing body file", []string{"load", "--body", "@" + filepath.Join(dir, "nope"), "http://127.0.0.1/"}, "body:"},
		{"missing targets", []string{"load", "--targets", filepath.Join(dir, "nope")}, "targets:"},
		// Each prefix once: it was "load: --targets: load: targets line 2".
		{"bad targets", []string{"load", "--targets", badTargets}, "sluice: load: --targets: targets line 2: want 'Key: Value'"},
		{"url and targets", []string{"load", "--targets", badTargets, "http://127.0.0.1/"}, "not both"},
		{"json in missing dir", []string{"load", "--json", filepath.Join(dir, "no", "r.json"), "http://127.0.0.1/"}, "no such file"},
		{"inflight closed", []string{"load", "--max-inflight", "5", "http://127.0.0.1/"}, "open model only"},
		{"zero duration", []string{"load", "-d", "0", "http://127.0.0.1/"}, "--duration must be positive, got 0s"},
		{"zero requests", []string{"load", "-n", "0", "http://127.0.0.1/"}, "--requests must be positive, got 0"},
		{"zero timeout", []string{"load", "--timeout", "0", "-n", "1", "http://127.0.0.1/"}, "--timeout must be positive, got 0s"},
		{"negative rate", []string{"load", "--rate", "-5", "http://127.0.0.1/"}, "--rate must not be negative, got -5"},
		{"zero find-max step", []string{"load", "--find-max", "p99<50ms", "--step", "0", "http://127.0.0.1/"}, "--step must be positive, got 0s"},
		{"zero find-max min", []string{"load", "--find-max", "p99<50ms", "--min", "0", "http://127.0.0.1/"}, "--min must be positive, got 0"},
		{"negative find-max max", []string{"load", "--find-max", "p99<50ms", "--max", "-1", "http://127.0.0.1/"}, "--max must not be negative, got -1"},
		{"negative max-inflight", []string{"load", "--rate", "5", "--max-inflight", "-1", "http://127.0.0.1/"}, "--max-inflight must not be negative, got -1"},
		// Each prefix once: it was "load: --find-max: load: slo: load: threshold".
		{"bad find-max condition", []string{"load", "--find-max", "p99<xx", "http://127.0.0.1/"}, `sluice: load: --find-max: threshold "p99<xx": want a duration`},
		{"bad threshold", []string{"load", "--threshold", "p99<xx", "http://127.0.0.1/"}, `sluice: load: --threshold: threshold "p99<xx": want a duration`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCLI(context.Background(), tt.args...)
			if code != 2 || !strings.Contains(stderr, tt.want) {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", code, stderr, tt.want)
			}
		})
	}
}

func TestLoadReports(t *testing.T) {
	var posts atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Method == "POST" && string(b) == "payload" && r.Header.Get("X-Test") == "yes" {
			posts.Add(1)
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	bodyFile := filepath.Join(dir, "body.txt")
	if err := os.WriteFile(bodyFile, []byte("payload"), 0o644); err != nil {
		t.Fatal(err)
	}
	jsonFile, htmlFile := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.html")
	code, stdout, stderr := runCLI(context.Background(), "load", "-n", "40", "-c", "2", "-m", "post", "-H", "X-Test: yes",
		"--body", "@"+bodyFile, "--json", jsonFile, "--html", htmlFile, "--threshold", "errors<1%,p99<10s", srv.URL)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if posts.Load() != 40 {
		t.Fatalf("server saw %d well-formed posts, want 40", posts.Load())
	}
	for _, want := range []string{"requests   40 (40 ok, 0 failed)", "response", "service", "response time counts from when each request was due", "200: 40"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("text report lacks %q:\n%s", want, stdout)
		}
	}
	var rep map[string]any
	b, err := os.ReadFile(jsonFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"schema", "requests", "duration_s", "rps", "success", "status_codes", "errors", "latency_ms", "service_ms", "target_rps"} {
		if _, ok := rep[k]; !ok {
			t.Errorf("JSON report lacks %q", k)
		}
	}
	lat := rep["latency_ms"].(map[string]any)
	for _, k := range []string{"p50", "p90", "p95", "p99", "p999", "max", "mean"} {
		if _, ok := lat[k]; !ok {
			t.Errorf("latency_ms lacks %q", k)
		}
	}
	if rep["schema"].(float64) != load.SchemaVersion || rep["requests"].(float64) != 40 {
		t.Errorf("schema %v requests %v", rep["schema"], rep["requests"])
	}
	if h, err := os.ReadFile(htmlFile); err != nil || !bytes.Contains(h, []byte(`id="latency-chart"`)) {
		t.Errorf("HTML report missing or incomplete: %v", err)
	}
}

func TestLoadTargetsFile(t *testing.T) {
	var a, b atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch {
		case r.URL.Path == "/a":
			a.Add(1)
		case r.URL.Path == "/b" && string(body) == "{}":
			b.Add(1)
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "b.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	targets := filepath.Join(dir, "targets.txt")
	content := "GET " + srv.URL + "/a\n\nPOST " + srv.URL + "/b\nContent-Type: application/json\n@b.json\n"
	if err := os.WriteFile(targets, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(context.Background(), "load", "-n", "20", "-c", "1", "--targets", targets)
	if code != 0 || a.Load() != 10 || b.Load() != 10 {
		t.Fatalf("exit %d, /a %d, /b %d: %s", code, a.Load(), b.Load(), stderr)
	}
	if !strings.Contains(stdout, "per target") || !strings.Contains(stdout, srv.URL+"/b") {
		t.Fatalf("no per-target breakdown:\n%s", stdout)
	}
}

func TestLoadThresholdViolated(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }))
	defer srv.Close()
	code, _, stderr := runCLI(context.Background(), "load", "-n", "10", "--threshold", "errors<1%", srv.URL)
	if code != 1 || !strings.Contains(stderr, "threshold violated: errors<1%: was 100.00%") {
		t.Fatalf("exit %d, stderr %q; want 1 and the violation", code, stderr)
	}
}

// TestLoadNothingCompleted runs against a server that answers nothing
// within the run: with the default timeout as long as the default run,
// every request is cut off in flight at the end and none fails, and such
// a run exited 0 with its thresholds held.
func TestLoadNothingCompleted(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer srv.Close()
	for _, model := range [][]string{{"-c", "2"}, {"--rate", "20"}} {
		args := append([]string{"load", "-d", "300ms", "--threshold", "errors<1%"}, model...)
		code, stdout, stderr := runCLI(context.Background(), append(args, srv.URL)...)
		if code != 1 || !strings.Contains(stderr, "load: no request completed") || !strings.Contains(stdout, "cancelled in flight at the end") {
			t.Errorf("%v: exit %d, stderr %q; want 1 and no request completed\n%s", model, code, stderr, stdout)
		}
		code, _, _ = runCLI(context.Background(), append(append(args, "--fail-on", "never"), srv.URL)...)
		if code != 0 {
			t.Errorf("%v --fail-on never: exit %d, want 0", model, code)
		}
	}
}

func TestLoadTargetDown(t *testing.T) {
	url := hostile.RefusedURL(t)
	jsonFile := filepath.Join(t.TempDir(), "r.json")
	code, stdout, stderr := runCLI(context.Background(), "load", "-n", "5", "--json", jsonFile, url)
	if code != 1 || !strings.Contains(stderr, "5 of 5 requests failed") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "connect: 5") || !strings.Contains(stdout, "connection refused") {
		t.Fatalf("report does not count the refused dials:\n%s", stdout)
	}
	if _, err := os.Stat(jsonFile); err != nil {
		t.Fatal(err)
	}
}

func TestLoadInterrupted(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	dir := t.TempDir()
	jsonFile, htmlFile := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.html")
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	code, stdout, stderr := runCLI(ctx, "load", "--rate", "100", "-d", "1m", "--json", jsonFile, "--html", htmlFile, srv.URL)
	if code != 130 || !strings.Contains(stderr, "interrupted") {
		t.Fatalf("exit %d, stderr %q; want 130 and a note", code, stderr)
	}
	if !strings.Contains(stdout, "interrupted: partial results") {
		t.Fatalf("text report not marked partial:\n%s", stdout)
	}
	var rep struct {
		Interrupted bool  `json:"interrupted"`
		Requests    int64 `json:"requests"`
	}
	b, err := os.ReadFile(jsonFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil || !rep.Interrupted || rep.Requests < 50 || rep.Requests > 200 {
		t.Fatalf("partial JSON report: %+v %v", rep, err)
	}
	if _, err := os.Stat(htmlFile); err != nil {
		t.Fatal(err)
	}
}

func TestLoadFlags(t *testing.T) {
	var bodies atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if b, _ := io.ReadAll(r.Body); string(b) == "hi" {
			bodies.Add(1)
		}
		time.Sleep(time.Millisecond)
	})
	srv := httptest.NewServer(h)
	defer srv.Close()
	h2 := httptest.NewUnstartedServer(h)
	h2.EnableHTTP2 = true
	h2.StartTLS()
	defer h2.Close()
	tests := []struct {
		name string
		args []string
		want []string
		plan int // an open model's requests: answered, cut off in flight at the end, or left unsent by a late sender
	}{
		{"stages", []string{"--stages", "500ms:200,500ms:0", srv.URL}, []string{"open model", "target 100.0 req/s"}, 100},
		{"rate with warmup", []string{"--rate", "200", "-d", "500ms", "--warmup", "200ms", srv.URL}, nil, 100},
		{"max in-flight", []string{"--rate", "2000", "-d", "500ms", "--max-inflight", "1", srv.URL}, []string{"dropped (in-flight cap"}, 0},
		{"no keep-alive", []string{"-n", "10", "-c", "1", "--keepalive=false", srv.URL}, []string{"connections 10 opened, 0 reused"}, 0},
		{"http2", []string{"-n", "10", "--http2", "-k", h2.URL}, []string{"requests   10 (10 ok"}, 0},
		{"string body", []string{"-n", "5", "-c", "1", "-m", "PUT", "--body", "hi", srv.URL}, []string{"requests   5 (5 ok"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(context.Background(), append([]string{"load"}, tt.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("output lacks %q:\n%s", w, stdout)
				}
			}
			if tt.plan > 0 {
				// A sender that falls behind on a busy machine leaves the
				// last requests unsent when the plan ends: they are
				// dropped, still part of the plan.
				if ok, cut, unsent := openModelPlan(t, stdout); ok+cut+unsent != tt.plan || cut > 1 || ok < tt.plan/2 {
					t.Errorf("%d answered ok, %d cut off at the end and %d unsent, want %d in all, most of them answered:\n%s",
						ok, cut, unsent, tt.plan, stdout)
				}
			}
		})
	}
	if bodies.Load() != 5 {
		t.Errorf("server saw %d string bodies, want 5", bodies.Load())
	}
}

func TestLiveLine(t *testing.T) {
	got := liveLine(load.Second{T: 4, Target: 1000, Sent: 998, Done: 990, Errors: 2, Dropped: 3, P50: 1.234, P99: 45.6, Max: 1000})
	want := "   5s  sent 998/1000  done 990  errors 2  dropped 3  p50 1.23ms  p99 45.6ms  max 1s"
	if got != want {
		t.Fatalf("liveLine =\n%q, want\n%q", got, want)
	}
}

// openModelPlan reads a load report's requests answered, all of them ok,
// those cancelled in flight at the end and those dropped.
func openModelPlan(t *testing.T, report string) (ok, cut, dropped int) {
	t.Helper()
	m := regexp.MustCompile(`requests +(\d+) \((\d+) ok, 0 failed\)\n(?: +(\d+) dropped .*\n)?(?: +(\d+) cancelled in flight at the end.*\n)?`).FindStringSubmatch(report)
	if m == nil || m[1] != m[2] {
		t.Fatalf("no requests line with all of them ok:\n%s", report)
	}
	ok, _ = strconv.Atoi(m[2])
	dropped, _ = strconv.Atoi(m[3])
	cut, _ = strconv.Atoi(m[4])
	return ok, cut, dropped
}

// TestLoadReportWriteFails writes the JSON and HTML reports of a run, and
// of a merge, to a full device: each error says "load" once, where it
// said "load: writing the report: load: write json: ...".
func TestLoadReportWriteFails(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	rep := filepath.Join(t.TempDir(), "r.json")
	if code, _, errOut := runCLI(context.Background(), "load", "-n", "5", "-c", "1", "--json", rep, srv.URL); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"load", "-n", "5", "-c", "1", "--json", "/dev/full", srv.URL}, "sluice: load: writing the report: write json: write /dev/full: no space left on device\n"},
		{[]string{"load", "-n", "5", "-c", "1", "--html", "/dev/full", srv.URL}, "sluice: load: writing the report: write html: write /dev/full: no space left on device\n"},
		{[]string{"load", "merge", "-o", "/dev/full", rep}, "sluice: load merge: writing the report: write json: write /dev/full: no space left on device\n"},
	} {
		code, _, errOut := runCLI(context.Background(), tc.args...)
		if code != exitFailed || !strings.HasSuffix(errOut, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want it to end %q", tc.args, code, errOut, tc.want)
		}
	}
}
