// Command ratelimit fetches a list of URLs at no more than 20 requests per
// second and 2 at a time per host, printing one line per URL as results
// complete. Give URLs as arguments; with none it serves 50 pages of its own
// on loopback so that it runs anywhere.
package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"time"

	"github.com/sluicehq/sluice"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	urls := os.Args[1:]
	if len(urls) == 0 {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "<h1>%s</h1>", r.URL.Path)
		}))
		defer srv.Close()
		for i := range 50 {
			urls = append(urls, fmt.Sprintf("%s/page/%d", srv.URL, i))
		}
	}

	f := &sluice.Fetcher{
		Rate:    20, // requests per second, all hosts together
		PerHost: 2,  // at most 2 requests in flight per host
		Timeout: 10 * time.Second,
		Retries: 2,
	}
	defer func() {
		// On Ctrl+C cancel what is left at once; otherwise drain.
		if ctx.Err() != nil {
			expired, cancel := context.WithCancel(context.Background())
			cancel()
			f.Shutdown(expired)
			return
		}
		f.Close()
	}()

	futures := make([]*sluice.Future[*sluice.Response], len(urls))
	for i, u := range urls {
		futures[i] = f.Submit(u)
	}
	start := time.Now()
	for fut := range sluice.AsCompleted(ctx, futures) {
		resp, err := fut.Result()
		if err != nil {
			fmt.Println("error:", err)
			continue
		}
		fmt.Printf("%6.2fs %d %6d bytes %s\n", time.Since(start).Seconds(), resp.StatusCode, len(resp.Body), resp.URL)
	}
}
