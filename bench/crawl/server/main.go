// Command server serves a synthetic crawltest site for the crawl
// benchmarks. It prints its base URL on standard output once it is
// listening and reports what the site served at GET /__stats as JSON:
//
//	{"unique": pages fetched at least once,
//	 "duplicates": fetches beyond the first of a page,
//	 "peak_in_flight": most requests served at once}
//
// Requests to /__stats are not counted.
//
//	server -addr 127.0.0.1:0 -pages 20000 -links 10 -latency 20ms
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sluicehq/sluice/crawler/crawltest"
)

type stats struct {
	Unique       int `json:"unique"`
	Duplicates   int `json:"duplicates"`
	PeakInFlight int `json:"peak_in_flight"`
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	pages := fs.Int("pages", 20000, "pages of the site")
	links := fs.Int("links", 10, "links on each page")
	latency := fs.Duration("latency", 0, "time added to every response")
	if err := fs.Parse(args); err != nil {
		return err
	}
	raiseFileLimit()

	site := crawltest.NewSite(*pages, *links)
	site.Latency = *latency
	mux := http.NewServeMux()
	mux.HandleFunc("GET /__stats", func(w http.ResponseWriter, r *http.Request) {
		var s stats
		s.Unique, s.Duplicates = site.Fetches()
		s.PeakInFlight = site.PeakInFlight()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(s)
	})
	mux.Handle("/", site)

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	fmt.Printf("http://%s\n", ln.Addr())

	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(shutdownCtx)
	<-done
	return nil
}

// raiseFileLimit lifts the soft limit on open files to the hard limit, so
// that a crawler with many connections is not refused.
func raiseFileLimit() {
	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) == nil && l.Cur < l.Max {
		l.Cur = l.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
}
