package load

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// scrape fetches url and returns the body, asking for OpenMetrics.
func scrape(t *testing.T, url string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Accept", "application/openmetrics-text; version=1.0.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// sample returns the value of the first series matching re in text, or -1.
func sample(text, re string) float64 {
	m := regexp.MustCompile(`(?m)^` + re + ` ([0-9.e+]+)`).FindStringSubmatch(text)
	if m == nil {
		return -1
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

func TestMetricsScrapedDuringRun(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		okHandler(w, r)
	}))
	defer srv.Close()
	m := NewMetrics()
	ms := httptest.NewServer(m.Handler())
	defer ms.Close()
	var during []string
	cfg := Config{
		Targets:     []Target{{URL: srv.URL + "/ok"}, {URL: srv.URL + "/missing"}, {URL: "http://127.0.0.1:1/refused"}},
		Rate:        300,
		Duration:    2500 * time.Millisecond,
		MaxInFlight: 8,
		Metrics:     m,
		// Scrape from inside the run, as Prometheus would.
		OnSecond: func(Second) { during = append(during, scrape(t, ms.URL)) },
	}
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(during) < 2 {
		t.Fatalf("%d scrapes during the run", len(during))
	}
	first := during[0]
	ok := sample(first, `sluice_load_requests_total\{status="200",target="`+regexp.QuoteMeta(srv.URL)+`/ok"\}`)
	if ok < 50 || ok > 150 {
		t.Fatalf("after one second, %v requests to /ok (rate 100/s each); scrape:\n%s", ok, first)
	}
	for _, re := range []string{
		`sluice_load_requests_total\{status="404",target="[^"]+/missing"\}`,
		`sluice_load_requests_total\{status="error",target="[^"]+/refused"\}`,
		`sluice_load_errors_total\{kind="connect",target="[^"]+/refused"\}`,
		`sluice_load_response_seconds_count\{target="[^"]+/ok"\}`,
		`sluice_load_target_rps`,
		`sluice_load_achieved_rps`,
	} {
		if v := sample(first, re); v <= 0 {
			t.Errorf("%s = %v during the run; scrape:\n%s", re, v, first)
		}
	}
	if v := sample(first, `sluice_load_target_rps`); v != 300 {
		t.Errorf("target rate %v, want 300", v)
	}
	final := scrape(t, ms.URL)
	total := 0.0
	for _, code := range []string{"200", "404", "error"} {
		total += max(sample(final, `sluice_load_requests_total\{status="`+code+`",target="[^"]+"\}`), 0)
	}
	if int64(total) != rep.Requests || !strings.Contains(final, "# EOF") {
		t.Fatalf("metrics count %v requests, the report %d", total, rep.Requests)
	}
	// The fetcher's and crawler's kinds, which a load run cannot have,
	// are no series of zeros beside its own.
	for _, kind := range []string{"redirects", "robots", "bad-url", "blocked"} {
		if strings.Contains(final, `kind="`+kind+`"`) {
			t.Errorf("a series of errors of kind %q, which load never records", kind)
		}
	}
}
