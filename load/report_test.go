package load

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestTextReportFitsTerminal checks that the text report of a plain run
// fits 80 columns: the note under the latency table was one line of 300
// characters, which a terminal broke mid-word.
func TestTextReportFitsTerminal(t *testing.T) {
	lat := Latency{P50: 20.99, P90: 21.5, P95: 22, P99: 25.7, P999: 38.2, P9999: 38.2, Max: 38.2, Mean: 21.3}
	for _, model := range []string{"closed", "open"} {
		rep := &Report{Model: model, Connections: 10, Duration: 2.13, Requests: 1000, Success: 1000,
			StatusCodes: map[string]int64{"200": 1000}, Latency: lat, Service: lat, Lateness: lat}
		var b strings.Builder
		if err := rep.WriteText(&b); err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(b.String(), "\n") {
			if utf8.RuneCountInString(line) > 80 {
				t.Errorf("%s model: a line of %d characters:\n%s", model, utf8.RuneCountInString(line), line)
			}
		}
		if !strings.Contains(strings.Join(strings.Fields(b.String()), " "), LatencyNote) {
			t.Errorf("%s model: the latency note is not all there:\n%s", model, b.String())
		}
	}
}

// TestBusyTextReportFitsTerminal writes the text report of a run with
// everything to say: big counts, drops, requests cut off at the end,
// failures with samples, a plan missed, a dead worker among many, and
// targets. Every line fits 80 columns (the requests line ran to 150, a
// target's to 120) and every figure is still there.
func TestBusyTextReportFitsTerminal(t *testing.T) {
	lat := Latency{P50: 20.99, P90: 21.5, P95: 22, P99: 25.7, P999: 38.2, P9999: 38.2, Max: 100000, Mean: 21.3}
	rep := &Report{Model: "open", Connections: 10000, Duration: 3600, Interrupted: true,
		Requests: 1234567890, Success: 1234000000, Failed: 567890, Dropped: 9876543210, Cancelled: 123456, CancelledWait: 99999,
		RPS: 342935.5, SuccessRPS: 342777.8, TargetRPS: 10000000, BytesRead: 1 << 45, BytesWritten: 1 << 44,
		ConnsOpened: 1234567890, ConnsReused: 9876543210,
		StatusCodes:  map[string]int64{"200": 1234000000, "404": 300000, "500": 200000, "503": 67890},
		Errors:       map[string]int64{"refused": 12345, "timeout": 67890, "reset": 1111},
		ErrorSamples: map[string]string{"refused": "dial tcp 127.0.0.1:8080: connect: connection refused, and then a long tail of words that goes on past the end of a line"},
		Seconds:      []Second{{T: 0, Target: 10000000, Sent: 9000000}, {T: 1, Target: 10000000, Sent: 9000000}, {T: 2, Target: 10000000, Sent: 9999999}},
		Latency:      lat, Service: lat, Lateness: lat,
		Targets: []TargetSummary{{Method: "DELETE", URL: "http://a-rather-long-host-name.example:8080/api/v1/items", Requests: 123456789, Failed: 123456, P50: 99.99, P99: 99999, Max: 100000}},
	}
	for i := range 12 {
		rep.Workers = append(rep.Workers, WorkerState{Name: fmt.Sprintf("worker-%02d", i), State: stateDone, Requests: 102880657})
	}
	rep.Workers[3].State, rep.Workers[3].LastSecond = stateDead, 1234
	var b strings.Builder
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(b.String(), "\n") {
		if utf8.RuneCountInString(line) > 80 {
			t.Errorf("a line of %d characters:\n%s", utf8.RuneCountInString(line), line)
		}
	}
	words := strings.Join(strings.Fields(b.String()), " ")
	for _, want := range []string{
		"requests 1234567890 (1234000000 ok, 567890 failed) 9876543210 dropped (in-flight cap, or still unsent when the plan ended) 123456 cancelled in flight at the end, the longest after 100.0s",
		"rate 342935.5 req/s (342777.8 ok/s), target 10000000.0 req/s",
		"plan worst second 9000000/10000000 sent; 1 of 2 full seconds more than 1% off plan",
		"transfer 32768.00 GiB read, 16384.00 GiB written; connections 1234567890 opened, 9876543210 reused",
		"failed 567890: 486544 with status 400 and above, 81346 without a response (refused: 12345, reset: 1111, timeout: 67890)",
		"refused: " + rep.ErrorSamples["refused"],
		"workers 12: worker-00 (done, 102880657 req) worker-01",
		"worker-03 (dead, 102880657 req)",
		"MISSING worker worker-03 stopped reporting after second 1234: its 1/12 share of the load after that is missing; its earlier seconds count here with response times only (no status codes, service times or bytes)",
		"DELETE http://a-rather-long-host-name.example:8080/api/v1/items 123456789 req 123456 failed p50 99.99ms p99 100.0s max 100.0s",
		LatencyNote,
	} {
		if !strings.Contains(words, want) {
			t.Errorf("the report lacks %q:\n%s", want, b.String())
		}
	}
}
