// This file holds sluice crawl: its flags and its run.

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/sluicehq/sluice/crawler"
	"github.com/spf13/cobra"
)

// crawlOptions holds sluice crawl's flags; the crawler's own settings go
// straight into c.
type crawlOptions struct {
	c      crawler.Crawler
	http   httpFlags
	out    outputFlags
	keep   keepFlags
	inputs []string // -i files of seeds
	redis  redisFlags
	crawl  string        // --crawl: the shared crawl's name
	lease  time.Duration // --lease-ttl
	expect int           // --expected-urls
	scope  string
	robots bool
	label  string // progress line label
	state  stateFlags

	durable *durable // with --state, set by the run
}

func newCrawlCmd(e *env) *cobra.Command {
	o := &crawlOptions{label: "crawl"}
	cmd := &cobra.Command{
		Use:   "crawl [flags] URL... | -i FILE | --state DIR",
		Short: "Crawl sites from seed URLs, one JSON line per page",
		Long: `Crawl starts from the seed URLs, follows links in scope, and writes one
JSON line per URL taken in (fetched, denied by robots.txt, or failed):
  {"url","status","depth","parent","links","bytes","truncated","duration_ms",
   "content_type","title","skipped","error","error_kind"}
plus "saved" with --save DIR and "headers", "body" (or "body_base64") with
--include. Seeds come from the arguments and from -i files.
Each canonical URL is fetched once. robots.txt is obeyed unless --robots=false;
a URL it denies gets a record with "skipped":"robots.txt", which is neither a
page fetched nor an error. An HTTP status of 400 and above is a page, not an
error. On Ctrl+C or SIGTERM intake stops, pages in flight get --grace to
finish (a second signal cancels them), and their records are written.

With --state DIR the crawl is kept in DIR, and survives any stop (Ctrl+C,
SIGTERM, SIGKILL, a power loss): the same command again resumes it (as does
"sluice crawl --state DIR" with no seed, which takes the seeds, scope flags
and -o DIR was made with), and its records file (DIR/pages.jsonl, or -o FILE)
ends with every URL's record exactly once (pages a stop cuts short get none,
and are fetched by the run that resumes); --max-pages holds for all the runs
together, and so does the exit status (--fail-on counts the errors the runs
before recorded). A run with other seeds, scope flags or -o is refused (exit
2), naming each difference, unless --accept-changes is given; a DIR in use by
another crawl, of another format, corrupt, or on a full disk is an error (exit
1), never a fresh start. Once the crawl has ended, --recrawl fetches its URLs
again with If-None-Match / If-Modified-Since and appends their records: a 304,
or an answer the same as the last pass's (status and body, or a redirect's
Location: for a server that sends no validators), is recorded as
"unchanged":true, and the summary counts unchanged, changed, new and gone
pages.

With --redis and --crawl, every process given the same Redis and crawl name
works on one crawl, on one machine or many: one seen-set, one queue per
host, --host-rate, --per-host, Crawl-delay and --max-pages held for all of
them together, each robots.txt fetched once for all. Seeds may be given to
any of them (they are kept in Redis, so all share one scope), and one
without seeds is refused (exit 2) while no process has given the crawl any;
the scope flags must be the same in all: a process given others than the
first one's is refused (exit 2), naming each difference, unless
--accept-changes is given. Each process writes its own records, each naming
its "worker"; a process that dies loses its URLs to the others after
--lease-ttl; one stopped with pages in flight hands them back at once,
unrecorded. Every process exits when nothing is pending or in flight
anywhere.

` + exitHelp,
		Example: `  sluice crawl -c 50 --depth 3 -o pages.jsonl https://example.com/
  sluice crawl --per-host 4 --host-rate 2 --scope domain \
      --deny '/calendar/' https://example.com/
  sluice crawl --sitemaps --max-pages 10000 \
      -A 'mybot/1.0 (+https://me.example)' https://example.com/
  sluice crawl --state site.state https://example.com/  # again: resumes
  sluice crawl --state site.state --recrawl  # later: what changed since
  sluice crawl --redis redis://10.0.0.5:6379/0 --crawl site -c 20 \
      -o pages-$(hostname).jsonl https://example.com/`,
		RunE: runE(func(cmd *cobra.Command, args []string) error { return o.run(cmd, e, args) }),
	}
	o.addFlags(cmd)
	return cmd
}

// run checks the flags, reads the seeds and runs the crawl, with --state
// or without.
func (o *crawlOptions) run(cmd *cobra.Command, e *env, args []string) error {
	var made *crawler.DiskFrontier // the state dir, opened to learn its crawl
	if len(args) == 0 && len(o.inputs) == 0 && !o.redis.on() {
		if o.state.dir == "" {
			return &usageError{msg: "crawl: no seed URL given", cmd: cmd.CommandPath()}
		}
		f, seeds, err := openMade(o.state.dir, cmd.Flags())
		if err != nil {
			return err
		}
		made, args = f, seeds
	}
	if err := o.check(); err != nil {
		closeMade(made)
		return err
	}
	seeds, err := readSeeds(cmd.Context(), "crawl", args, o.inputs, e.stdin)
	if err != nil {
		closeMade(made)
		return err
	}
	if o.state.dir != "" {
		return crawlDurable(cmd.Context(), e, o, seeds, cmd.Flags().Changed("output"), made)
	}
	if o.state.recrawl {
		return usageErrorf("crawl: --recrawl needs --state DIR")
	}
	if o.state.accept && !o.redis.on() {
		return usageErrorf("crawl: --accept-changes needs --state DIR or --redis")
	}
	out, closeOut, err := e.output(o.out.output, "crawl: -o")
	if err != nil {
		return err
	}
	defer closeOut()
	if err := crawlRun(cmd.Context(), e, o, seeds, out); err != nil {
		return err
	}
	return closeOut()
}

func (o *crawlOptions) addFlags(cmd *cobra.Command) {
	fs := cmd.Flags()
	c := &o.c
	o.http.add(fs)
	o.out.add(fs, "records")
	o.state.add(fs)
	o.keep.add(fs)
	fs.StringArrayVarP(&o.inputs, "input", "i", nil, "file of seed URLs, one per line; - for standard input (repeatable)")
	fs.Float64Var(&c.Jitter, "jitter", 0, "spread each host's delay over ±this fraction of it")
	fs.IntVar(&c.MaxDepth, "depth", 0, "links followed from a seed at most (0: unlimited)")
	fs.IntVar(&c.MaxPages, "max-pages", 0, "URLs taken in at most, with --redis by all the processes together, with --state by all the runs of the crawl (0: unlimited)")
	fs.StringVar(&o.scope, "scope", "host", "hosts to follow links to: host (the seeds'), domain (theirs and subdomains) or any")
	fs.Var((*regexpsFlag)(&c.Allow), "allow", "follow only URLs matching this regular expression (repeatable)")
	fs.Var((*regexpsFlag)(&c.Deny), "deny", "do not follow URLs matching this regular expression (repeatable)")
	fs.BoolVar(&o.robots, "robots", true, "obey robots.txt (--robots=false ignores it)")
	fs.BoolVar(&c.Nofollow, "nofollow", false, "skip links marked rel=nofollow")
	fs.BoolVar(&c.Sitemaps, "sitemaps", false, "seed from the sitemaps in robots.txt and /sitemap.xml")
	fs.BoolVar(&c.SortQuery, "sort-query", false, "sort query parameters when comparing URLs")
	fs.BoolVar(&c.StripTracking, "strip-tracking", false, "drop tracking parameters (utm_*, gclid, …) when comparing URLs")
	fs.IntVar(&c.MaxLinks, "max-links", 10000, fmt.Sprintf("links taken from one page at most (up to %d; a page's links also stop at 4 MiB of URLs; links dropped are counted)", maxLinksFlag))
	fs.IntVar(&c.MaxQueue, "max-queue", 0, fmt.Sprintf("URLs kept pending at most; links found while full are counted, not admitted (0: %d for the in-memory frontier, none for a frontier on disk; -1: no cap)", crawler.DefaultMaxQueue))
	fs.DurationVar(&c.Grace, "grace", 10*time.Second, "on Ctrl+C, time pages in flight get to finish")
	o.redis.add(fs)
	fs.StringVar(&o.crawl, "crawl", "", "with --redis: the name of the crawl shared by the processes")
	fs.DurationVar(&o.lease, "lease-ttl", 30*time.Second, "with --redis: how long a silent process keeps its URLs before the others take them back")
	fs.IntVar(&o.expect, "expected-urls", 0, "with --redis: URLs the crawl is expected to admit, to size its seen-set in Redis (0: 4,000,000); the same in every process")
}

// maxLinksFlag bounds --max-links: past it the crawler's cap of 4 MiB of
// link URLs a page is what stops, so a larger count would be a promise
// the crawler does not keep.
const maxLinksFlag = 100_000

// check validates the options and fills in the crawler's fields.
func (o *crawlOptions) check() error {
	c, h := &o.c, &o.http
	scope, err := crawler.ParseScope(o.scope)
	if err != nil {
		return usageErrorf("crawl: --scope must be host, domain or any, got %q", o.scope)
	}
	if err := errors.Join(h.check("crawl"),
		checkNotNegative("crawl", "depth", c.MaxDepth),
		checkNotNegative("crawl", "max-pages", c.MaxPages),
		checkAtLeast1("crawl", "max-links", c.MaxLinks), // the crawler takes 0 as its default, 10,000
		checkAtMost("crawl", "max-links", c.MaxLinks, maxLinksFlag),
		checkNotNegative("crawl", "grace", c.Grace), o.keep.check("crawl")); err != nil {
		return err
	}
	if o.redis.on() != (o.crawl != "") {
		return usageErrorf("crawl: --redis and --crawl go together")
	}
	if o.redis.on() && o.state.dir != "" {
		return usageErrorf("crawl: --state and --redis do not go together: a shared crawl is kept in Redis, and survives its processes there")
	}
	if o.expect < 0 {
		return usageErrorf("crawl: --expected-urls must not be negative, got %d", o.expect)
	}
	if o.lease < time.Second {
		return usageErrorf("crawl: --lease-ttl must be at least 1s, got %v", o.lease)
	}
	if c.MaxQueue < -1 {
		return usageErrorf("crawl: --max-queue must be -1 (no cap) or more, got %d", c.MaxQueue)
	}
	if !(c.Jitter >= 0 && c.Jitter <= 1) { // NaN too
		return usageErrorf("crawl: --jitter must be between 0 and 1, got %v", c.Jitter)
	}
	c.Scope, c.IgnoreRobots = scope, !o.robots
	c.MaxInFlight, c.PerHost, c.Rate, c.HostRate = h.concurrency, h.perHost, h.rate, h.hostRate
	c.Timeout, c.Retries, c.MaxBody = h.timeout, libRetries(h.retries), h.maxBody
	client, err := h.client("crawl")
	if err != nil {
		return err
	}
	c.UserAgent, c.Header, c.Jar, c.Proxy, c.TLSConfig = h.userAgent, client.header, client.jar, client.proxy, client.tls
	c.HeaderAnyHost, c.MaxHeaderBytes, c.DenyPrivate = h.headerAnyHost, h.maxHeader, h.denyPrivate
	return nil
}

// crawlDurable runs a crawl kept in the state dir of --state; made is the
// dir, opened already, when the command named no seeds (see openMade).
func crawlDurable(ctx context.Context, e *env, o *crawlOptions, seeds []string, outputSet bool, made *crawler.DiskFrontier) error {
	d, err := openDurable(ctx, o, seeds, outputSet, made)
	if err != nil {
		return err
	}
	o.durable = d
	err = crawlRun(ctx, e, o, seeds, io.Discard)
	if cerr := d.close(context.WithoutCancel(ctx)); err == nil {
		err = cerr
	}
	return err
}
