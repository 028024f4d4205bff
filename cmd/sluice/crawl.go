// This file holds sluice crawl: flags, the record writer, the progress
// line and the summary.

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/crawler"
	"github.com/sluicehq/sluice/internal/failure"
	"golang.org/x/term"
)

const crawlUsage = `usage: sluice crawl [flags] URL...

Crawls from the seed URLs, following links in scope, and writes one JSON
line per URL taken in (fetched or failed):
  {"url","status","depth","parent","links","bytes","duration_ms","content_type","title","error","error_kind"}
Each canonical URL is fetched once. robots.txt is obeyed unless --robots=false.
On Ctrl+C intake stops, pages in flight get --grace to finish (a second
Ctrl+C cancels them), and their records are written.

Flags:`

// crawlRecord is one output line of sluice crawl.
type crawlRecord struct {
	URL         string  `json:"url"`
	Status      int     `json:"status,omitempty"`
	Depth       int     `json:"depth"`
	Parent      string  `json:"parent,omitempty"`
	Links       int     `json:"links"`
	Bytes       int     `json:"bytes"`
	DurationMS  float64 `json:"duration_ms"`
	ContentType string  `json:"content_type,omitempty"`
	Title       string  `json:"title,omitempty"`
	Error       string  `json:"error,omitempty"`
	ErrorKind   string  `json:"error_kind,omitempty"`
}

// regexpsFlag is a repeatable flag of regular expressions.
type regexpsFlag []*regexp.Regexp

func (f *regexpsFlag) String() string { return fmt.Sprint(*f) }
func (f *regexpsFlag) Set(s string) error {
	re, err := regexp.Compile(s)
	if err != nil {
		return err
	}
	*f = append(*f, re)
	return nil
}

type crawlOptions struct {
	c      crawler.Crawler
	scope  string
	robots bool
	output string
	quiet  bool
	label  string // progress bar label
}

func crawlFlags(fs *flag.FlagSet, o *crawlOptions) {
	c := &o.c
	for _, name := range []string{"c", "concurrency"} {
		fs.IntVar(&c.Concurrency, name, 50, "requests in flight at most")
	}
	fs.IntVar(&c.PerHost, "per-host", 0, "requests in flight per host at most (0: as -c)")
	fs.Float64Var(&c.Rate, "rate", 0, "request starts per second at most, all hosts together (0: no cap)")
	fs.Float64Var(&c.HostRate, "host-rate", 0, "request starts per second per host at most (0: no cap)")
	fs.Float64Var(&c.Jitter, "jitter", 0, "spread each host's delay over ±this fraction of it")
	fs.IntVar(&c.MaxDepth, "depth", 0, "links followed from a seed at most (0: unlimited)")
	fs.IntVar(&c.MaxPages, "max-pages", 0, "URLs taken in at most (0: unlimited)")
	fs.StringVar(&o.scope, "scope", "host", "hosts to follow links to: host (the seeds'), domain (theirs and subdomains) or any")
	fs.Var((*regexpsFlag)(&c.Allow), "allow", "follow only URLs matching this regular expression (repeatable)")
	fs.Var((*regexpsFlag)(&c.Deny), "deny", "do not follow URLs matching this regular expression (repeatable)")
	fs.BoolVar(&o.robots, "robots", true, "obey robots.txt")
	fs.BoolVar(&c.Nofollow, "nofollow", false, "skip links marked rel=nofollow")
	fs.BoolVar(&c.Sitemaps, "sitemaps", false, "seed from the sitemaps in robots.txt and /sitemap.xml")
	fs.BoolVar(&c.SortQuery, "sort-query", false, "sort query parameters when comparing URLs")
	fs.BoolVar(&c.StripTracking, "strip-tracking", false, "drop tracking parameters (utm_*, gclid, …) when comparing URLs")
	fs.IntVar(&c.MaxLinks, "max-links", 10000, "links taken from one page at most")
	for _, name := range []string{"A", "user-agent"} {
		fs.StringVar(&c.UserAgent, name, sluice.DefaultUserAgent, "User-Agent header; its product token picks the robots.txt group")
	}
	fs.DurationVar(&c.Timeout, "timeout", 30*time.Second, "time limit of each request, body included")
	fs.IntVar(&c.Retries, "retries", 2, "retries of a page after a network error, timeout, 429 or 5xx")
	fs.Int64Var(&c.MaxBody, "max-body", 10<<20, "bytes of a page read at most; longer pages are cut")
	fs.DurationVar(&c.Grace, "grace", 10*time.Second, "on Ctrl+C, time pages in flight get to finish")
	fs.StringVar(&o.output, "o", "", "write records to this file instead of standard output")
	fs.BoolVar(&o.quiet, "q", false, "no progress bar and no summary")
}

func runCrawl(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	o := crawlOptions{label: "crawl"}
	var headers headerFlag
	fs := flag.NewFlagSet("crawl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, crawlUsage); fs.PrintDefaults() }
	crawlFlags(fs, &o)
	fs.Var(&headers, "H", "header 'Key: Value' to send (repeatable)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	o.c.Header = headers.Header()
	if err := o.check(); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return usageErrorf("crawl: no seed URL given")
	}
	out := stdout
	if o.output != "" {
		f, err := os.Create(o.output)
		if err != nil {
			return fmt.Errorf("crawl: %w", err)
		}
		defer f.Close()
		out = f
	}
	return crawlRun(ctx, &o, fs.Args(), out, stderr)
}

// check validates the options and fills in the crawler's derived fields.
func (o *crawlOptions) check() error {
	c := &o.c
	scope, err := crawler.ParseScope(o.scope)
	if err != nil {
		return usageErrorf("crawl: --scope must be host, domain or any")
	}
	c.Scope = scope
	c.IgnoreRobots = !o.robots
	switch {
	case c.Concurrency < 1:
		return usageErrorf("crawl: -c must be at least 1")
	case c.PerHost < 0, c.MaxDepth < 0, c.MaxPages < 0, c.Retries < 0, c.MaxLinks < 0:
		return usageErrorf("crawl: --per-host, --depth, --max-pages, --retries and --max-links must not be negative")
	case c.Rate < 0, c.HostRate < 0, c.Jitter < 0 || c.Jitter > 1:
		return usageErrorf("crawl: --rate and --host-rate must not be negative; --jitter is between 0 and 1")
	case c.Timeout <= 0, c.MaxBody <= 0:
		return usageErrorf("crawl: --timeout and --max-body must be positive")
	}
	return nil
}

// errOutputFailed stops a crawl whose records cannot be written.
var errOutputFailed = errors.New("crawl: output failed")

// crawlRun crawls from seeds, writing records through a single writer.
func crawlRun(ctx context.Context, o *crawlOptions, seeds []string, out, stderr io.Writer) error {
	c := &o.c
	c.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	records := make(chan *crawlRecord, 256)
	writeErr := make(chan error, 1)
	writeFailed := make(chan struct{}) // closed when the output fails
	go func() {
		w := newJSONLines(out)
		for r := range records {
			err := w.write(r)
			if len(records) == 0 {
				err = w.flush()
			}
			if err != nil && writeFailed != nil {
				close(writeFailed) // stop the crawl: its records have nowhere to go
				writeFailed = nil
			}
		}
		writeErr <- w.flush()
	}()

	stopBar := o.progress(stderr)
	// A second Ctrl+C cuts the grace period short.
	again := make(chan os.Signal, 1)
	crawlDone := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		select {
		case <-ctx.Done():
		case <-crawlDone:
			return
		}
		signal.Notify(again, os.Interrupt)
		select {
		case <-again:
			c.Abort()
		case <-crawlDone:
		}
	}()

	failed := writeFailed
	err := c.Crawl(ctx, seeds, func(p *crawler.Page) error {
		select {
		case <-failed:
			return errOutputFailed
		default:
		}
		records <- toCrawlRecord(p)
		return nil
	})
	close(crawlDone)
	<-watched
	signal.Stop(again)
	close(records)
	werr := <-writeErr
	stopBar()
	st := c.Stats()
	if !o.quiet {
		printCrawlSummary(stderr, &st, c)
	}
	switch {
	case werr != nil:
		return fmt.Errorf("crawl: writing records: %w", werr)
	case errors.Is(err, context.Canceled):
		return &exitError{code: 130, err: errors.New("crawl: interrupted")}
	case err != nil:
		return fmt.Errorf("crawl: %w", err)
	}
	return nil
}

func toCrawlRecord(p *crawler.Page) *crawlRecord {
	r := &crawlRecord{URL: p.URL, Depth: p.Depth, Parent: p.Parent, Links: len(p.Links),
		DurationMS: durMS(p.Duration), ContentType: p.ContentType, Title: p.Title}
	if p.Response != nil {
		r.Status, r.Bytes = p.Response.StatusCode, len(p.Response.Body)
	}
	if p.Err != nil {
		r.Error, r.ErrorKind = p.Err.Error(), failure.Classify(p.Err).String()
	}
	return r
}

// progress shows a live line on a terminal and returns the function that
// ends it.
func (o *crawlOptions) progress(stderr io.Writer) func() {
	f, ok := stderr.(*os.File)
	if !ok || o.quiet || !term.IsTerminal(int(f.Fd())) {
		return func() {}
	}
	bar := progressbar.NewOptions64(-1, progressbar.OptionSetWriter(stderr),
		progressbar.OptionSetDescription(o.label), progressbar.OptionShowCount(),
		progressbar.OptionShowIts(), progressbar.OptionSetItsString("pages"),
		progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		var last int64
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			st := o.c.Stats()
			errs := int64(0)
			for _, n := range st.Errors {
				errs += n
			}
			bar.Describe(fmt.Sprintf("%s: %d queued, %d in flight, %d errors", o.label, st.Queued, st.InFlight, errs))
			bar.Add64(st.Pages - last)
			last = st.Pages
		}
	}()
	return func() { close(done); <-finished; bar.Finish() }
}

func printCrawlSummary(w io.Writer, st *crawler.Stats, c *crawler.Crawler) {
	secs := st.Elapsed.Seconds()
	var errs int64
	for _, n := range st.Errors {
		errs += n
	}
	fmt.Fprintf(w, "crawled %d pages in %.2fs (%.1f pages/s): %d fetched, %d errors, %s\n",
		st.Pages, secs, float64(st.Pages)/max(secs, 1e-9), st.Fetched, errs, humanBytes(st.Bytes))
	if len(st.StatusCodes) > 0 {
		codes := make([]int, 0, len(st.StatusCodes))
		for code := range st.StatusCodes {
			codes = append(codes, code)
		}
		sort.Ints(codes)
		parts := make([]string, 0, len(codes))
		for _, code := range codes {
			parts = append(parts, fmt.Sprintf("%d %d", code, st.StatusCodes[code]))
		}
		fmt.Fprintln(w, "  status:", strings.Join(parts, ", "))
	}
	if len(st.Errors) > 0 {
		fmt.Fprintln(w, "  errors:", byCount(st.Errors))
	}
	fmt.Fprintf(w, "  robots.txt: %d fetched, %d URLs denied; duplicates skipped %d; out of scope %d; peak queue %d\n",
		st.RobotsFetched, st.RobotsDenied, st.Duplicates, st.OutOfScope, st.PeakQueue)
	if st.LinksDropped > 0 || st.Retries > 0 {
		fmt.Fprintf(w, "  links past the per-page cap %d; retries %d\n", st.LinksDropped, st.Retries)
	}
	fmt.Fprintf(w, "  time in visit callbacks %s (%d slow)\n", st.VisitTime.Round(time.Millisecond), st.SlowVisits)
	if st.Queued > 0 {
		fmt.Fprintf(w, "  stopped with %d URLs still queued\n", st.Queued)
	}
}
