package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"time"
)

const demoUsage = `usage: sluice demo [flags]

Starts a synthetic site on loopback (no network needed) and fetches every
page of it through sluice's limits, with a progress bar on a terminal and a
summary at the end. Some pages are slow, some fail and some are missing, so
the summary shows each kind of outcome.

Flags:`

// demoSite serves n synthetic pages: /page/N is an HTML page linking to
// a few others; every 50th page is missing, every 97th fails with 503 and
// every 10th takes 20 ms.
func demoSite(n int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/page/"))
		if err != nil || id < 0 || id >= n || id%50 == 49 {
			http.NotFound(w, r)
			return
		}
		if id%97 == 96 {
			w.Header().Set("Retry-After", "0")
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		if id%10 == 0 {
			time.Sleep(20 * time.Millisecond)
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!doctype html><title>Page %d</title><h1>Page %d</h1><ul>", id, id)
		for k := 1; k <= 5; k++ {
			fmt.Fprintf(w, `<li><a href="/page/%d">page %d</a>`, (id*7+k)%n, (id*7+k)%n)
		}
		fmt.Fprint(w, "</ul>")
	})
}

func runDemo(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, demoUsage); fs.PrintDefaults() }
	pages := fs.Int("pages", 2000, "pages on the synthetic site")
	conc := fs.Int("c", 50, "requests in flight at most")
	rate := fs.Float64("rate", 0, "requests per second at most (0: no cap)")
	output := fs.String("o", "", "write the JSON records to this file (default: show the first few)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *pages < 1 || *conc < 1 || *rate < 0 {
		return usageErrorf("demo: -pages and -c must be at least 1, -rate not negative")
	}
	srv := httptest.NewServer(demoSite(*pages))
	defer srv.Close()
	fmt.Fprintf(stderr, "demo: synthetic site of %d pages at %s; fetching all of them with -c %d\n", *pages, srv.URL, *conc)

	urls := make([]string, *pages)
	for i := range urls {
		urls[i] = fmt.Sprintf("%s/page/%d", srv.URL, i)
	}
	o := fetchOptions{concurrency: *conc, perHost: *conc, rate: *rate, retries: 2,
		timeout: 10 * time.Second, grace: 5 * time.Second, maxBody: 1 << 20, userAgent: "sluice-demo"}

	var out io.Writer = &headWriter{w: stdout, lines: 5}
	if *output != "" {
		f, err := os.Create(*output)
		if err != nil {
			return err
		}
		defer f.Close()
		out = f
	} else {
		fmt.Fprintln(stdout, "first records (sluice fetch writes one JSON line per URL):")
	}
	sum, err := fetchAll(ctx, &o, urls, nil, out, stderr)
	if err != nil {
		return err
	}
	sum.print(stderr)
	if sum.records != *pages {
		return fmt.Errorf("demo: %d records for %d URLs", sum.records, *pages)
	}
	return nil
}

// headWriter passes on the first few lines and drops the rest.
type headWriter struct {
	w     io.Writer
	lines int
}

func (h *headWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 && h.lines > 0 {
		i := strings.IndexByte(string(p), '\n')
		if i < 0 {
			_, err := h.w.Write(p)
			return n, err
		}
		if _, err := h.w.Write(p[:i+1]); err != nil {
			return n, err
		}
		p = p[i+1:]
		h.lines--
	}
	return n, nil
}
