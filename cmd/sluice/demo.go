// This file holds sluice demo: a synthetic site on loopback, crawled end
// to end.

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

	"github.com/sluicehq/sluice/crawler/crawltest"
)

const demoUsage = `usage: sluice demo [flags]

Starts a synthetic site on loopback (no network needed) and crawls it end to
end from its home page, with a progress bar on a terminal and a summary at
the end. The pages link to each other in several equivalent spellings, so
the crawl shows each page fetched once; some pages are slow, some missing
and some fail, so the summary shows each kind of outcome.

Flags:`

// demoSite wraps a synthetic site: every 50th page is missing, every 97th
// fails with 503 and every 10th takes 20 ms.
func demoSite(site *crawltest.Site) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/p/")); err == nil && id > 0 {
			switch {
			case id%50 == 49:
				http.NotFound(w, r)
				return
			case id%97 == 96:
				http.Error(w, "busy", http.StatusServiceUnavailable)
				return
			case id%10 == 0:
				time.Sleep(20 * time.Millisecond)
			}
		}
		site.ServeHTTP(w, r)
	})
}

func runDemo(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, demoUsage); fs.PrintDefaults() }
	pages := fs.Int("pages", 5000, "pages on the synthetic site")
	conc := fs.Int("c", 50, "requests in flight at most")
	rate := fs.Float64("rate", 0, "requests per second at most (0: no cap)")
	output := fs.String("o", "", "write the JSON records to this file (default: show the first few)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *pages < 1 || *conc < 1 || *rate < 0 {
		return usageErrorf("demo: -pages and -c must be at least 1, -rate not negative")
	}
	site := crawltest.NewSite(*pages, 10)
	srv := httptest.NewServer(demoSite(site))
	defer srv.Close()
	fmt.Fprintf(stderr, "demo: synthetic site of %d pages at %s; crawling it from /p/0 with -c %d\n", *pages, srv.URL, *conc)

	o := crawlOptions{robots: true, label: "demo"}
	o.c.Concurrency, o.c.Rate, o.c.Retries = *conc, *rate, 1
	o.c.Timeout, o.c.Grace, o.c.MaxBody, o.c.UserAgent = 10*time.Second, 5*time.Second, 1<<20, "sluice-demo"

	var out io.Writer = &headWriter{w: stdout, lines: 5}
	if *output != "" {
		f, err := os.Create(*output)
		if err != nil {
			return err
		}
		defer f.Close()
		out = f
	} else {
		fmt.Fprintln(stdout, "first records (sluice crawl writes one JSON line per page):")
	}
	if err := crawlRun(ctx, &o, []string{srv.URL + "/p/0"}, out, stderr); err != nil {
		return err
	}
	unique, dups := site.Fetches()
	fmt.Fprintf(stderr, "demo: the site served %d distinct pages and %d duplicate fetches\n", unique, dups)
	if st := o.c.Stats(); dups != 0 || int(st.Pages) != *pages {
		return fmt.Errorf("demo: %d records and %d duplicate fetches for a site of %d pages", st.Pages, dups, *pages)
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
