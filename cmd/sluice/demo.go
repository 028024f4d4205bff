// This file holds sluice demo: a synthetic site on loopback, crawled end
// to end.

package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/crawler/crawltest"
	"github.com/spf13/cobra"
)

// demoOptions holds sluice demo's flags.
type demoOptions struct {
	pages, concurrency int
	rate               float64
	output             string
}

func newDemoCmd(e *env) *cobra.Command {
	o := &demoOptions{}
	cmd := &cobra.Command{
		Use:   "demo [flags]",
		Short: "Crawl an embedded synthetic site on loopback (no network needed)",
		Long: `Demo starts a synthetic site on loopback (no network needed) and crawls it
end to end from its home page, with a status line on a terminal and a summary
at the end. The pages link to each other in several equivalent spellings, so
the crawl shows each page fetched once; some pages are slow, some missing
(404) and some busy (503), so the summary shows each kind of outcome.

` + exitHelp,
		Args: exactArgs(0),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			return runDemo(cmd, e, o)
		}),
	}
	fs := cmd.Flags()
	fs.IntVar(&o.pages, "pages", 5000, "pages on the synthetic site (up to 1000000)")
	fs.IntVarP(&o.concurrency, "concurrency", "c", 50, "requests in flight at most")
	fs.Float64Var(&o.rate, "rate", 0, "requests per second at most (0: no cap)")
	fs.StringVarP(&o.output, "output", "o", "", "write the JSON records to this file; - for standard output (default: show the first few)")
	return cmd
}

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

// maxDemoPages bounds --pages: the site keeps a counter per page, and the
// crawl's in-memory frontier holds at most a million URLs pending. A
// hundred billion pages ended the process with the runtime's "fatal
// error: out of memory".
const maxDemoPages = 1_000_000

func runDemo(cmd *cobra.Command, e *env, o *demoOptions) error {
	if err := errors.Join(checkAtLeast1("demo", "pages", o.pages), checkAtMost("demo", "pages", o.pages, maxDemoPages),
		checkAtLeast1("demo", "concurrency", o.concurrency), checkAtMost("demo", "concurrency", o.concurrency, maxConcurrency),
		checkNotNegative("demo", "rate", o.rate)); err != nil {
		return err
	}
	site := crawltest.NewSite(o.pages, 10)
	srv := httptest.NewServer(demoSite(site))
	defer srv.Close()
	fmt.Fprintf(e.stderr, "demo: synthetic site of %d pages at %s; crawling it from /p/0 with -c %d\n", o.pages, srv.URL, o.concurrency)

	co := crawlOptions{robots: true, label: "demo"}
	co.out.failOn = failOnNever // the site's 404s and 503s are responses, and the demo checks its own counts
	co.c.MaxInFlight, co.c.Rate, co.c.Retries = o.concurrency, o.rate, 1
	co.c.Timeout, co.c.Grace, co.c.MaxBody, co.c.UserAgent = 10*time.Second, 5*time.Second, 1<<20, "sluice-demo"

	// The first records are shown after the crawl, when the status line is
	// gone, so the two never mix on a terminal.
	head := &headWriter{lines: 5}
	out := io.Writer(head)
	if o.output != "" {
		w, closeOut, err := e.output(o.output, "demo: -o")
		if err != nil {
			return err
		}
		defer closeOut()
		out = w
	}
	err := crawlRun(cmd.Context(), e, &co, []string{srv.URL + "/p/0"}, out)
	if head.buf.Len() > 0 {
		fmt.Fprintln(e.stdout, "first records (sluice crawl writes one JSON line per page):")
		e.stdout.Write(head.buf.Bytes())
	}
	if err != nil {
		return err
	}
	unique, dups := site.Fetches()
	fmt.Fprintf(e.stderr, "demo: the site served %s and %d duplicate fetches\n", plural(unique, "distinct page"), dups)
	if st := co.c.Stats(); dups != 0 || int(st.Pages) != o.pages {
		return fmt.Errorf("demo: %d records and %d duplicate fetches for a site of %d pages", st.Pages, dups, o.pages)
	}
	return nil
}

// headWriter keeps the first few lines and drops the rest.
type headWriter struct {
	buf   bytes.Buffer
	lines int
}

func (h *headWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 && h.lines > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			h.buf.Write(p)
			return n, nil
		}
		h.buf.Write(p[:i+1])
		p = p[i+1:]
		h.lines--
	}
	return n, nil
}
