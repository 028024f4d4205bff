package load_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
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
		Connections: 4,
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
	fmt.Println(rep.Requests, rep.Check(ths))
	// Output: 500 []
}
