package load_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/sluicehq/sluice/load"
)

// A closed-model run: 4 connections send 100 requests back to back.
func ExampleRun() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "ok")
	}))
	defer srv.Close()

	rep, err := load.Run(context.Background(), load.Config{
		Targets:     []load.Target{{URL: srv.URL}},
		MaxInFlight: 4,
		Requests:    100,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(rep.Model, rep.Requests, rep.StatusCodes["200"], len(rep.Errors))
	// Output: closed 100 100 0
}

// An open-model run at 500 requests/s for one second, failing a CI job
// when p99 or the error rate goes over budget.
func ExampleReport_Check() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()

	rep, err := load.Run(context.Background(), load.Config{
		Targets:  []load.Target{{URL: srv.URL}},
		Rate:     500,
		Duration: time.Second,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ths, _ := load.ParseThresholds("p99<5s,errors<1%")
	// Every planned request is accounted for: completed, dropped, or cut
	// off in flight when the second ended.
	fmt.Println(rep.Requests+rep.Dropped+rep.Cancelled, rep.Check(ths))
	// Output: 500 []
}

// A targets file: blocks of "METHOD URL", optional headers and an
// optional @file body; a blank line or the next "METHOD URL" ends a block.
func ExampleParseTargets() {
	file := `# two endpoints
GET http://127.0.0.1:8080/items

POST http://127.0.0.1:8080/items
Content-Type: application/json
@item.json
`
	read := func(name string) ([]byte, error) { return []byte(`{"name":"x"}`), nil }
	ts, err := load.ParseTargets(strings.NewReader(file), read)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, t := range ts {
		fmt.Println(strings.TrimSpace(fmt.Sprintln(t.Method, t.URL, t.Header.Get("Content-Type"), string(t.Body))))
	}
	// Output:
	// GET http://127.0.0.1:8080/items
	// POST http://127.0.0.1:8080/items application/json {"name":"x"}
}

// A ramp: up to 100 requests/s over 10 s, hold for 30 s, down over 10 s.
func ExampleParseStages() {
	st, err := load.ParseStages("10s:100,30s:100,10s:0")
	fmt.Println(st, err)
	// Output: [{10s 100} {30s 100} {10s 0}] <nil>
}
