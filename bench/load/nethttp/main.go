// Command nethttp is the baseline that motivates sluice's HTTP/1.1 engine:
// a closed loop of -c goroutines sending GET requests back to back through
// one net/http client for -d, printing requests per second. Used by
// bench/load/compare.sh.
package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	conns := flag.Int("c", 50, "concurrent requests (connections)")
	dur := flag.Duration("d", 5*time.Second, "duration")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: nethttp [-c N] [-d D] URL")
		os.Exit(2)
	}
	url := flag.Arg(0)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *conns, MaxConnsPerHost: *conns}}
	var n, failed atomic.Int64
	stop := time.Now().Add(*dur)
	start := time.Now()
	var wg sync.WaitGroup
	for range *conns {
		wg.Go(func() {
			for time.Now().Before(stop) {
				resp, err := client.Get(url)
				if err != nil {
					failed.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				n.Add(1)
			}
		})
	}
	wg.Wait()
	fmt.Printf("requests/s: %.1f (failed %d)\n", float64(n.Load())/time.Since(start).Seconds(), failed.Load())
}
