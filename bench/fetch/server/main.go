// Command server is the loopback target of the fetch benchmarks. It counts
// request starts per wall-clock second and the peak number of requests in
// flight, and prints them as JSON when it receives SIGTERM or SIGINT.
//
//	server -addr 127.0.0.1:18080 -latency 20ms
package main

import (
	"encoding/json"
	"flag"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

type stats struct {
	Requests     int64   `json:"requests"`
	PeakInFlight int64   `json:"peak_in_flight"`
	FirstStart   string  `json:"first_start"`
	LastStart    string  `json:"last_start"`
	SpanSeconds  float64 `json:"span_s"`
	PerSecond    []int64 `json:"per_second"` // starts in each wall-clock second, first to last
	MaxPerSecond int64   `json:"max_per_second"`
	AchievedRate float64 `json:"achieved_rps"` // (requests-1) / span
}

func main() {
	addr := flag.String("addr", "127.0.0.1:18080", "listen address")
	latency := flag.Duration("latency", 0, "time each response is held")
	flag.Parse()

	var (
		mu          sync.Mutex
		perSec      = map[int64]int64{}
		first, last time.Time
		n, cur, pk  atomic.Int64
	)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		c := cur.Add(1)
		defer cur.Add(-1)
		for p := pk.Load(); c > p && !pk.CompareAndSwap(p, c); p = pk.Load() {
		}
		n.Add(1)
		mu.Lock()
		perSec[now.Unix()]++
		if first.IsZero() {
			first = now
		}
		last = now
		mu.Unlock()
		if *latency > 0 {
			time.Sleep(*latency)
		}
		w.Write([]byte("ok\n"))
	})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	<-sig
	srv.Close()
	mu.Lock()
	defer mu.Unlock()
	s := stats{Requests: n.Load(), PeakInFlight: pk.Load()}
	if !first.IsZero() {
		s.FirstStart, s.LastStart = first.Format(time.RFC3339Nano), last.Format(time.RFC3339Nano)
		s.SpanSeconds = last.Sub(first).Seconds()
		for sec := first.Unix(); sec <= last.Unix(); sec++ {
			s.PerSecond = append(s.PerSecond, perSec[sec])
			s.MaxPerSecond = max(s.MaxPerSecond, perSec[sec])
		}
		if s.SpanSeconds > 0 {
			s.AchievedRate = float64(s.Requests-1) / s.SpanSeconds
		}
	}
	json.NewEncoder(os.Stdout).Encode(s)
}
