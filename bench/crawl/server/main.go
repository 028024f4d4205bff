// Command server serves a synthetic crawltest site for the crawl
// benchmarks. It prints its base URL on standard output once it is
// listening and reports what the site served at GET /__stats as JSON:
//
//	{"unique": pages fetched at least once,
//	 "duplicates": fetches beyond the first of a page,
//	 "peak_in_flight": most requests served at once,
//	 "peak_starts_per_second": most requests begun in any one-second
//	                           window, robots.txt included}
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
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sluicehq/sluice/crawler/crawltest"
)

type stats struct {
	Unique       int   `json:"unique"`
	Duplicates   int   `json:"duplicates"`
	PeakInFlight int   `json:"peak_in_flight"`
	PeakStarts   int   `json:"peak_starts_per_second"`
	NotModified  int   `json:"not_modified"`
	BodyBytes    int64 `json:"body_bytes"`
}

// starts keeps the start times of requests over the last second, to find
// the most begun in any one-second window.
type starts struct {
	mu     sync.Mutex
	window []time.Time // within one second of the newest
	peak   int
}

func (s *starts) add(t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.window = append(s.window, t)
	i := 0
	for t.Sub(s.window[i]) >= time.Second {
		i++
	}
	s.window = s.window[i:]
	s.peak = max(s.peak, len(s.window))
}

func (s *starts) max() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak
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
	validators := fs.Bool("validators", false, "give pages an ETag and Last-Modified and answer conditional requests with 304")
	filler := fs.Int("filler", 0, "bytes of text on each page before its links (0: 1,710)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	raiseFileLimit()

	site := crawltest.NewSite(*pages, *links)
	site.Validators = *validators
	site.Filler = *filler
	mux := http.NewServeMux()
	var inFlight, peak atomic.Int64
	var begun starts
	mux.HandleFunc("GET /__stats", func(w http.ResponseWriter, r *http.Request) {
		var s stats
		s.Unique, s.Duplicates = site.Fetches()
		s.PeakInFlight = int(peak.Load())
		s.NotModified, s.BodyBytes = site.NotModified(), site.BodyBytes()
		s.PeakStarts = begun.max()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(s)
	})
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Counted here, around the latency, not only in the site.
		begun.add(time.Now())
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		preciseLatency(*latency, site).ServeHTTP(w, r)
	}))

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

// preciseLatency holds each response for d before h serves it. It sleeps in
// nanosleep(2), which blocks the thread, rather than in time.Sleep: with 50
// sleepers and the server pinned to one core, the runtime's timers woke
// responses late, and hey -c 50 measured 21.4 ms a request for a 20 ms
// latency (2,319 requests/s where 2,500 is the bound).
func preciseLatency(d time.Duration, h http.Handler) http.Handler {
	if d <= 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ts := syscall.NsecToTimespec(d.Nanoseconds())
		for syscall.Nanosleep(&ts, &ts) == syscall.EINTR {
		}
		h.ServeHTTP(w, r)
	})
}
