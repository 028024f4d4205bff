// This file holds the flag types and flag groups the subcommands share.

package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/sluicehq/sluice"
	"github.com/spf13/pflag"
)

// headerFlag collects repeatable -H 'Key: Value' flags.
type headerFlag struct{ h http.Header }

func (f *headerFlag) String() string {
	if f == nil || f.h == nil {
		return ""
	}
	var b strings.Builder
	for k, vs := range f.h {
		for _, v := range vs {
			fmt.Fprintf(&b, "%s: %s; ", k, v)
		}
	}
	return strings.TrimSuffix(b.String(), "; ")
}

func (f *headerFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, ":")
	k = strings.TrimSpace(k)
	if !ok || k == "" || strings.ContainsAny(k, " \t\r\n") {
		return fmt.Errorf("header %q: want 'Key: Value'", s)
	}
	if f.h == nil {
		f.h = make(http.Header)
	}
	f.h.Add(k, strings.TrimSpace(v))
	return nil
}

func (f *headerFlag) Type() string { return "'Key: Value'" }

// Header returns the collected headers; nil if none were given.
func (f *headerFlag) Header() http.Header { return f.h }

// regexpsFlag is a repeatable flag of regular expressions.
type regexpsFlag []*regexp.Regexp

func (f *regexpsFlag) String() string {
	if len(*f) == 0 {
		return ""
	}
	return fmt.Sprint(*f)
}
func (f *regexpsFlag) Type() string { return "regexp" }
func (f *regexpsFlag) Set(s string) error {
	re, err := regexp.Compile(s)
	if err != nil {
		return err
	}
	*f = append(*f, re)
	return nil
}

// httpFlags are the request flags fetch and crawl share.
type httpFlags struct {
	concurrency, perHost, retries int
	rate, hostRate                float64
	timeout                       time.Duration
	maxBody, maxHeader            int64
	userAgent                     string
	headers                       headerFlag
	headerAnyHost, denyPrivate    bool
	cookies                       cookieOptions
	proxy                         string
	insecure                      bool
}

// clientOptions are the request settings the flags resolve to, for a
// sluice.Fetcher or a crawler.Crawler.
type clientOptions struct {
	header http.Header
	jar    http.CookieJar
	proxy  *url.URL
	tls    *tls.Config
}

func (h *httpFlags) add(fs *pflag.FlagSet) {
	fs.IntVarP(&h.concurrency, "concurrency", "c", 50, "requests in flight at most")
	fs.IntVar(&h.perHost, "per-host", 0, "requests in flight per host at most (0: no cap beyond -c)")
	fs.Float64Var(&h.rate, "rate", 0, "request starts per second at most, all hosts together (0: no cap)")
	fs.Float64Var(&h.hostRate, "host-rate", 0, "request starts per second per host at most (0: no cap)")
	fs.DurationVar(&h.timeout, "timeout", 30*time.Second, "time limit of each attempt, body included")
	fs.IntVar(&h.retries, "retries", sluice.DefaultRetries, "retries of a failed attempt (network errors, timeouts, 408, 429, 500, 502, 503, 504); 0 for none")
	fs.Int64Var(&h.maxBody, "max-body", 10<<20, "bytes of a body read at most; longer bodies are cut")
	fs.Int64Var(&h.maxHeader, "max-header", 1<<20, "bytes of a response's header read at most; a longer one fails with kind too-large")
	fs.VarP(&h.headers, "header", "H", "header to send (repeatable), to the origins (scheme, host, port) of the URLs given only")
	fs.BoolVar(&h.headerAnyHost, "header-any-host", false, "send -H headers to every host, after redirects and links too")
	fs.BoolVar(&h.denyPrivate, "deny-private", false, "refuse loopback, private, link-local (cloud metadata) and other non-public addresses, checked after DNS at connect time")
	fs.StringVarP(&h.userAgent, "user-agent", "A", userAgent(), "User-Agent header; its product token picks the robots.txt group")
	fs.BoolVar(&h.cookies.jar, "cookies", false, "keep the cookies servers set and send them back")
	fs.StringArrayVarP(&h.cookies.cookies, "cookie", "b", nil, "NAME=VALUE[; NAME=VALUE] to send with every request, or a Netscape cookies.txt FILE to load; implies --cookies (repeatable)")
	fs.StringVar(&h.proxy, "proxy", "", "send requests through this proxy: http://, https://, socks5:// or socks5h://HOST:PORT")
	fs.BoolVarP(&h.insecure, "insecure", "k", false, "skip TLS certificate verification")
}

// client resolves the flags that need more than a check: cookies, proxy,
// TLS and headers.
func (h *httpFlags) client(cmd string) (*clientOptions, error) {
	o := &clientOptions{header: h.headers.Header()}
	jar, cookie, err := h.cookies.build(cmd)
	if err != nil {
		return nil, err
	}
	o.jar = jar
	if cookie != "" {
		o.header = o.header.Clone()
		if o.header == nil {
			o.header = http.Header{}
		}
		o.header.Add("Cookie", cookie)
	}
	if h.proxy != "" {
		u, err := url.Parse(h.proxy)
		if err != nil || u.Host == "" {
			return nil, usageErrorf("%s: bad value %q for --proxy: want SCHEME://HOST:PORT", cmd, h.proxy)
		}
		switch u.Scheme {
		case "http", "https", "socks5", "socks5h":
		default:
			return nil, usageErrorf("%s: bad value %q for --proxy: unsupported scheme %q (want http, https, socks5 or socks5h)", cmd, h.proxy, u.Scheme)
		}
		o.proxy = u
	}
	if h.insecure {
		o.tls = &tls.Config{InsecureSkipVerify: true}
	}
	return o, nil
}

// libRetries is the library's Retries setting for --retries n, where 0
// means none rather than the default.
func libRetries(n int) int {
	if n == 0 {
		return -1
	}
	return n
}

// maxConcurrency bounds -c and --per-host: each request in flight is a
// worker, a socket and buffers, so a count far past any machine's file
// descriptors would take gigabytes before the first request.
const maxConcurrency = 10_000

// check validates the request flags of command cmd.
func (h *httpFlags) check(cmd string) error {
	return errors.Join(
		checkAtLeast1(cmd, "concurrency", h.concurrency),
		checkAtMost(cmd, "concurrency", h.concurrency, maxConcurrency),
		checkNotNegative(cmd, "per-host", h.perHost),
		checkAtMost(cmd, "per-host", h.perHost, maxConcurrency),
		checkNotNegative(cmd, "rate", h.rate),
		checkNotNegative(cmd, "host-rate", h.hostRate),
		checkNotNegative(cmd, "retries", h.retries),
		checkPositive(cmd, "timeout", h.timeout),
		checkPositive(cmd, "max-body", h.maxBody),
		checkPositive(cmd, "max-header", h.maxHeader),
	)
}

// outputFlags are the flags of commands that write records.
type outputFlags struct {
	output string
	quiet  bool
	failOn failOn
}

func (o *outputFlags) add(fs *pflag.FlagSet, what string) {
	fs.StringVarP(&o.output, "output", "o", "-", "write "+what+" to this file; - for standard output")
	fs.BoolVarP(&o.quiet, "quiet", "q", false, "no progress line and no summary")
	addFailOn(fs, &o.failOn)
}

// checkAtLeast1 is the one message for a count flag below 1.
func checkAtLeast1(cmd, flag string, v int) error {
	if v < 1 {
		return usageErrorf("%s: --%s must be at least 1, got %d", cmd, flag, v)
	}
	return nil
}

// checkAtMost is the one message for a count flag above its bound.
func checkAtMost(cmd, flag string, v, limit int) error {
	if v > limit {
		return usageErrorf("%s: --%s must be at most %d, got %d", cmd, flag, limit, v)
	}
	return nil
}

// firstErr returns the first of errs that is not nil: the checks of flags
// that name one mistake at a time.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// checkNotNegative is the one message for a flag below 0; for a float it
// also refuses NaN and infinity, which no rate or duration means.
func checkNotNegative[N int | int64 | float64 | time.Duration](cmd, flag string, v N) error {
	if f := float64(v); f != f || math.IsInf(f, 0) {
		return usageErrorf("%s: --%s must be a number, got %v", cmd, flag, v)
	}
	if v < 0 {
		return usageErrorf("%s: --%s must not be negative, got %v", cmd, flag, v)
	}
	return nil
}

// checkPositive is the one message for a flag that must be above 0.
func checkPositive[N int | int64 | float64 | time.Duration](cmd, flag string, v N) error {
	if !(v > 0) { // NaN too
		return usageErrorf("%s: --%s must be positive, got %v", cmd, flag, v)
	}
	return nil
}
