package load

import (
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
