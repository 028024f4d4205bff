package load

import (
	"bytes"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// mergeFixtures runs two real loads: A against two fast targets, B against
// a slower one sharing A's first target, so B's latencies sit above A's.
func mergeFixtures(t *testing.T) (a, b *Report) {
	t.Helper()
	fast := httptest.NewServer(http.HandlerFunc(okHandler))
	t.Cleanup(fast.Close)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(2 * time.Millisecond)
		okHandler(w, r)
	}))
	t.Cleanup(slow.Close)
	a = mustRun(t, Config{Targets: []Target{{URL: fast.URL + "/a"}, {URL: fast.URL + "/b"}}, MaxInFlight: 4, Requests: 2000})
	b = mustRun(t, Config{Targets: []Target{{URL: fast.URL + "/a"}, {URL: slow.URL + "/c"}}, MaxInFlight: 4, Requests: 400})
	return a, b
}

func mustMerge(t *testing.T, rs ...*Report) *Report {
	t.Helper()
	m, err := Merge(rs...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// roundTrip writes r as JSON and reads it back, as `sluice load merge` does.
func roundTrip(t *testing.T, r *Report) *Report {
	t.Helper()
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := ReadReport(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return back
}

func latencies(r *Report) []Latency { return []Latency{r.Latency, r.Service, r.Lateness} }

func TestMergeSelfKeepsPercentiles(t *testing.T) {
	a, _ := mergeFixtures(t)
	a = roundTrip(t, a)
	m := mustMerge(t, a, a)
	for i, l := range latencies(m) {
		if l != latencies(a)[i] {
			t.Errorf("histogram %d: merged %+v, want %+v", i, l, latencies(a)[i])
		}
	}
	// Twice the count reaches further into the tail, so the merged
	// spectrum may have more points; those they share are equal.
	if len(m.Spectrum) < len(a.Spectrum) || m.Spectrum[len(m.Spectrum)-1] != a.Spectrum[len(a.Spectrum)-1] {
		t.Fatalf("spectrum %v, want it to extend %v", m.Spectrum, a.Spectrum)
	}
	for i := range a.Spectrum[:len(a.Spectrum)-1] {
		if m.Spectrum[i] != a.Spectrum[i] {
			t.Errorf("spectrum point %d: %+v, want %+v", i, m.Spectrum[i], a.Spectrum[i])
		}
	}
	if m.Requests != 2*a.Requests || m.Success != 2*a.Success || m.StatusCodes["200"] != 2*a.StatusCodes["200"] ||
		m.BytesRead != 2*a.BytesRead || m.Connections != 2*a.Connections || m.Cancelled != 2*a.Cancelled || m.Dropped != 2*a.Dropped {
		t.Errorf("counts not doubled: %d/%d requests, %v", m.Requests, a.Requests, m.StatusCodes)
	}
	// Reports keep durations to the millisecond, so a merged rate worked
	// out from the kept duration may differ from twice A's by that
	// rounding (0.3% on the fixture's 0.16 s run).
	tol := (0.0005/a.Duration + 0.001) * m.RPS
	if m.Duration != a.Duration || math.Abs(m.RPS-2*a.RPS) > tol || m.MergedFrom != 2 {
		t.Errorf("duration %v rps %v merged_from %d; want %v, %v, 2", m.Duration, m.RPS, m.MergedFrom, a.Duration, 2*a.RPS)
	}
	if len(m.Seconds) != len(a.Seconds) {
		t.Fatalf("%d rows, want %d", len(m.Seconds), len(a.Seconds))
	}
	for i, s := range m.Seconds {
		want := a.Seconds[i]
		if s.Done != 2*want.Done || s.P50 != want.P50 || s.P99 != want.P99 || s.Max != want.Max {
			t.Errorf("second %d: %+v, want doubled %+v", i, s, want)
		}
	}
	for i, ts := range m.Targets {
		want := a.Targets[i]
		if ts.Requests != 2*want.Requests || ts.P50 != want.P50 || ts.P99 != want.P99 || ts.Max != want.Max {
			t.Errorf("target %d: %+v, want doubled %+v", i, ts, want)
		}
	}
}

func TestMergeTwoRunsLiesBetween(t *testing.T) {
	a, b := mergeFixtures(t)
	m := mustMerge(t, a, b)
	if m.Requests != a.Requests+b.Requests || m.Failed != a.Failed+b.Failed {
		t.Fatalf("requests %d, want %d", m.Requests, a.Requests+b.Requests)
	}
	for i, l := range latencies(m) {
		la, lb := latencies(a)[i], latencies(b)[i]
		if l.Max != max(la.Max, lb.Max) {
			t.Errorf("histogram %d: max %v, want %v", i, l.Max, max(la.Max, lb.Max))
		}
		for j, v := range []float64{l.P50, l.P90, l.P95, l.P99, l.P999, l.P9999} {
			va := []float64{la.P50, la.P90, la.P95, la.P99, la.P999, la.P9999}[j]
			vb := []float64{lb.P50, lb.P90, lb.P95, lb.P99, lb.P999, lb.P9999}[j]
			if v < min(va, vb) || v > max(va, vb) {
				t.Errorf("histogram %d percentile %d: %v not within [%v, %v]", i, j, v, min(va, vb), max(va, vb))
			}
		}
	}
	// Targets combine by method and URL: /a is in both runs.
	if len(m.Targets) != 3 || m.Targets[0].Requests != a.Targets[0].Requests+b.Targets[0].Requests {
		t.Fatalf("targets %+v", m.Targets)
	}
}

func TestMergeMerged(t *testing.T) {
	a, b := mergeFixtures(t)
	ab := roundTrip(t, mustMerge(t, a, b))
	abab := mustMerge(t, ab, ab)
	flat := mustMerge(t, a, b, a, b)
	if abab.Latency != flat.Latency || abab.Service != flat.Service || abab.Requests != flat.Requests {
		t.Fatalf("merge of merges %+v differs from flat merge %+v", abab.Latency, flat.Latency)
	}
	if abab.MergedFrom != 4 || abab.Latency != ab.Latency {
		t.Fatalf("merged_from %d, latency %+v want %+v", abab.MergedFrom, abab.Latency, ab.Latency)
	}
}

func TestMergeAlignsWallClock(t *testing.T) {
	a, _ := mergeFixtures(t)
	later := *a
	later.Start = a.Start.Add(3 * time.Second)
	m := mustMerge(t, a, &later)
	if math.Abs(m.Duration-(a.Duration+3)) > 0.0005 { // durations are rounded to the millisecond
		t.Fatalf("duration %v, want %v", m.Duration, a.Duration+3)
	}
	byT := map[int]int64{}
	for _, s := range m.Seconds {
		byT[s.T] += s.Done
	}
	for _, s := range a.Seconds {
		if byT[s.T+3] < s.Done {
			t.Fatalf("second %d of the later run not at %d: %v", s.T, s.T+3, byT)
		}
	}
}

func TestReadReportRejects(t *testing.T) {
	a, _ := mergeFixtures(t)
	var buf bytes.Buffer
	if err := a.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	good := buf.String()
	bad := *a
	bad.Histograms.Response = a.Histograms.Service[:len(a.Histograms.Service)/2]
	var badBuf bytes.Buffer
	_ = bad.WriteJSON(&badBuf)
	miscount := *a
	miscount.Requests = 1
	var miscountBuf bytes.Buffer
	_ = miscount.WriteJSON(&miscountBuf)
	for _, tc := range []struct {
		name, in, want string
		is             error
	}{
		{"schema 1", `{"schema": 1, "requests": 3, "latency_ms": {"p50": 1}}`, "cannot be merged exactly", ErrNoHistograms},
		{"newer schema", strings.Replace(good, `"schema": 2`, `"schema": 3`, 1), "schema 3", nil},
		{"not json", "requests: 3", "not a JSON load report", nil},
		{"no schema", `{"requests": 3}`, "no schema field", nil},
		{"unknown field", strings.Replace(good, `"schema": 2,`, `"schema": 2, "bogus": 1,`, 1), "corrupt report", nil},
		{"truncated histogram", badBuf.String(), "response histogram: corrupt histogram", nil},
		{"count mismatch", miscountBuf.String(), "response histogram holds", nil},
		{"not base64", strings.Replace(good, a.Histograms.Service, "!!!", 1), "service histogram: corrupt", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadReport(strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want one containing %q", err, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Fatalf("err %v is not %v", err, tc.is)
			}
		})
	}
	if _, err := Merge(a, &Report{Schema: 1}); !errors.Is(err, ErrNoHistograms) || !strings.Contains(err.Error(), "report 2") ||
		strings.Count(err.Error(), "load:") != 1 {
		t.Fatalf("mixed versions: %v", err)
	}
	if _, err := Merge(a, &bad); err == nil || strings.Count(err.Error(), "load:") != 1 {
		t.Fatalf("merge with a corrupt histogram: %v; want an error saying load: once", err)
	}
}

func FuzzReadReport(f *testing.F) {
	f.Add(`{"schema": 2, "histograms": {"response": "HISTFAAAACl4nJNpmSzMwMDAxQABzFCaEUoz2X+AsQA/WwHr"}}`)
	f.Add(`{"schema": 1}`)
	f.Fuzz(func(t *testing.T, in string) {
		r, err := ReadReport(strings.NewReader(in))
		if err != nil {
			return
		}
		if _, err := Merge(r, r); err != nil {
			t.Fatalf("a report ReadReport accepts does not merge: %v", err)
		}
	})
}
