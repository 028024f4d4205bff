package load

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/hostile"
)

func TestHTMLSelfContained(t *testing.T) {
	rep := sampleReport(t)
	var b bytes.Buffer
	if err := rep.WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, bad := range []string{"<link", "src=\"http", "src='http", "@import", "url(http"} {
		if strings.Contains(page, bad) {
			t.Errorf("page loads an outside asset (%q)", bad)
		}
	}
	for _, id := range []string{"latency-chart", "spectrum-chart", "rate-chart", "report-data"} {
		if !strings.Contains(page, `id="`+id+`"`) {
			t.Errorf("page has no #%s", id)
		}
	}
}

// sampleReport runs a short open-model load with a few failures so every
// part of the report has data.
func sampleReport(t *testing.T) *Report {
	t.Helper()
	var n int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n++ // one connection: no race
		if n%50 == 0 {
			w.WriteHeader(500)
		}
		time.Sleep(time.Duration(n%7) * 100 * time.Microsecond)
	}))
	defer srv.Close()
	rep, err := Run(context.Background(), Config{
		Targets: []Target{{URL: srv.URL}}, MaxInFlight: 1,
		Stages: []Stage{{time.Second, 400}, {time.Second, 800}, {time.Second, 0}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestHTMLRendersInChromium loads the report in headless Chromium with the
// network off, lets its script run, and checks from the dumped DOM that
// every chart drew every series with all its points. Set
// SLUICE_SCREENSHOT=path to also save a screenshot.
func TestHTMLRendersInChromium(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium not on PATH (apt-get install chromium); skipping the rendering check")
	}
	rep := sampleReport(t)
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	f, err := os.Create(page)
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteHTML(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	dom := runChromium(t, chromium, dir, "--dump-dom", "file://"+page)

	charts := regexp.MustCompile(`<div class="chart" id="([a-z]+-chart)" data-points="(\d+)" data-drawn="yes">`).FindAllStringSubmatch(dom, -1)
	got := map[string]int{}
	for _, m := range charts {
		got[m[1]], _ = strconv.Atoi(m[2])
	}
	rows := len(rep.Seconds)
	want := map[string]int{
		"rate-chart":     4 * rows, // target, sent, ok, errors
		"spectrum-chart": len(rep.Spectrum),
	}
	lat := 0
	for _, s := range rep.Seconds {
		for _, v := range []float64{s.P50, s.P90, s.P99, s.Max} {
			if v > 0 {
				lat++
			}
		}
	}
	want["latency-chart"] = lat
	for id, n := range want {
		if n == 0 {
			t.Fatalf("%s: the sample report has no data", id)
		}
		if got[id] != n {
			t.Errorf("%s drew %d points, want %d (charts found: %v)", id, got[id], n, got)
		}
	}
	if lines := strings.Count(dom, "<polyline"); lines != 4+1+4 {
		t.Errorf("%d polylines drawn, want 9", lines)
	}
	if shot := os.Getenv("SLUICE_SCREENSHOT"); shot != "" {
		runChromium(t, chromium, dir, "--window-size=1200,1000", "--hide-scrollbars", "--screenshot="+shot, "file://"+page)
	}
}

func runChromium(t *testing.T, chromium, dir string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + filepath.Join(dir, "profile")}
	cmd := exec.CommandContext(ctx, chromium, append(base, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Dir = dir
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return stdout.String()
}

// TestReportWithoutResponses checks that a run in which no request got a
// response says so, in text and HTML, instead of a table of zeros.
func TestReportWithoutResponses(t *testing.T) {
	dead := hostile.RefusedURL(t)
	rep, err := Run(context.Background(), Config{Targets: []Target{{URL: dead}}, MaxInFlight: 2, Duration: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Requests == 0 || rep.Errors["connect"] != rep.Requests {
		t.Fatalf("requests %d, errors %v: want every request refused", rep.Requests, rep.Errors)
	}
	for name, out := range textAndHTML(t, rep) {
		if !strings.Contains(strings.ToLower(out), "none measured: no request got a response") {
			t.Errorf("%s report does not say no latency was measured:\n%s", name, out)
		}
		if strings.Contains(out, "p99.99") {
			t.Errorf("%s report prints a latency table without responses", name)
		}
	}
}

// TestReportOfTimeouts checks that a run in which every request timed out
// shows its latency table: a timeout counts at the time it waited, as the
// JSON report and the thresholds have it, and the text and HTML reports
// said no latency was measured.
func TestReportOfTimeouts(t *testing.T) {
	srv := hostile.New(hostile.Config{})
	defer srv.Close()
	rep := mustRun(t, Config{Targets: []Target{{URL: srv.URL + "/stall"}}, MaxInFlight: 2, Requests: 4, Timeout: 100 * time.Millisecond})
	if rep.Errors["timeout"] != 4 || rep.Latency.P50 < 100 {
		t.Fatalf("errors %v, p50 %v ms: want 4 timeouts at 100 ms or more", rep.Errors, rep.Latency.P50)
	}
	for name, out := range textAndHTML(t, rep) {
		if strings.Contains(strings.ToLower(out), "none measured") || !strings.Contains(out, "p99.99") {
			t.Errorf("%s report does not show the timeouts' latency:\n%s", name, out)
		}
	}
}

// textAndHTML returns rep's text and HTML reports.
func textAndHTML(t *testing.T, rep *Report) map[string]string {
	t.Helper()
	var text, page bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteHTML(&page); err != nil {
		t.Fatal(err)
	}
	return map[string]string{"text": text.String(), "html": page.String()}
}
