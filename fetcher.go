// This file holds Fetcher: HTTP fetches as futures, under the host
// scheduler's limits, with retries that wait in a queue rather than in a
// worker.

package sluice

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/sluicehq/sluice/internal/buildinfo"
	"github.com/sluicehq/sluice/internal/netguard"
)

// DefaultUserAgent is the User-Agent a [Fetcher] (and a crawler.Crawler)
// sends when none is set: "sluice/VERSION (+https://github.com/sluicehq/sluice)",
// where VERSION is the version of this module the program was built with
// (as the Go toolchain recorded it; "devel" when unknown), the one
// `sluice --version` prints. It is computed once at start and is meant to
// be read, not changed: set [Fetcher.UserAgent] instead.
var DefaultUserAgent = buildinfo.UserAgent()

// DefaultRetries is how many times a [Fetcher] (and a crawler.Crawler)
// retries a failed attempt when its Retries field is 0. The sluice command
// uses it as the default of --retries.
const DefaultRetries = 2

// ResolveRetries returns the retries a Retries setting means: 0 means
// DefaultRetries, a negative number none.
func ResolveRetries(n int) int {
	switch {
	case n == 0:
		return DefaultRetries
	case n < 0:
		return 0
	}
	return n
}

// Fetcher fetches URLs concurrently under limits and returns each result as
// a [Future]. Requests wait in a bounded queue, one line per host; a single
// dispatcher starts each one when the host scheduler (the one the crawler
// uses too) lets its host start, on one of MaxInFlight fixed workers. A
// request waiting for its host's turn, the global rate or a retry backoff
// holds no worker and no in-flight slot. While several hosts have work,
// none holds more than its share of the slots.
//
// The zero value is ready to use with the defaults below. Set the fields
// before the first fetch and do not change them after. Call Close or
// Shutdown when done. A Fetcher is safe for concurrent use.
type Fetcher struct {
	// MaxInFlight caps requests in flight; 0 means 500. The transport's
	// connection limits are sized from it, so open sockets stay capped.
	MaxInFlight int
	// PerHost caps requests in flight per host; 0 means no cap beyond
	// MaxInFlight. A host is its name in any case, with its port unless
	// that is the scheme's default: http://a.example/ and
	// http://A.example:80/ share one cap, as they share HostRate.
	PerHost int
	// Rate caps request starts per second overall; 0 means no cap.
	Rate float64
	// HostRate paces each host: its starts are spaced 1/HostRate seconds
	// apart, measured from one start to the next, as in the crawler;
	// 0 means no pacing.
	HostRate float64
	// Timeout bounds each attempt (one request, body included; a retry is
	// a new attempt); 0 means 30 seconds.
	Timeout time.Duration
	// Retries is how many times a failed attempt of an idempotent
	// request is retried after a transient failure (connection refused
	// or reset, a response cut short, a timeout) or a status of 408,
	// 429, 500, 502, 503 or 504; 0 means DefaultRetries (2), negative
	// means none. TLS failures, malformed responses and bad URLs are not
	// retried. Waits are drawn uniformly up to a ceiling that doubles
	// from 250 ms (full jitter) and honour Retry-After on 429 and 503.
	Retries int
	// MaxRetryWait caps the wait before a retry; a Retry-After longer than
	// it ends the fetch with the response instead. 0 means 30 seconds.
	MaxRetryWait time.Duration
	// MaxBody caps the bytes of a body kept; 0 means 10 MiB. A longer
	// body is cut, Response.Truncated is set and the connection is closed
	// rather than drained.
	MaxBody int64
	// MaxQueue caps requests submitted and not yet started; Submit blocks
	// while it is full. 0 means MaxInFlight.
	MaxQueue int
	// UserAgent is sent unless the request has one; "" means
	// DefaultUserAgent.
	UserAgent string
	// Header is added to every request, without replacing what the
	// request already has. It goes to the request's own origin (scheme,
	// host and port): on a redirect to another origin it is removed, with
	// Authorization, Cookie and Proxy-Authorization, unless HeaderAnyHost
	// is set. A Host in it (or in a request's header) is the Host sent.
	Header http.Header
	// HeaderAnyHost keeps Header, Authorization and Cookie on redirects to
	// other origins. Ignored when Client is set.
	HeaderAnyHost bool
	// MaxRedirects caps redirects followed; 0 means 10, negative means
	// none (the 3xx response is returned). Ignored when Client is set.
	MaxRedirects int
	// MaxHeaderBytes caps the bytes of a response's header; 0 means 1 MiB.
	// A longer header fails the attempt with [ErrHeaderTooLarge]. Ignored
	// when Client is set.
	MaxHeaderBytes int64
	// DiscardBody makes the Fetcher count each body, up to MaxBody bytes,
	// while reading it, and keep none of it: Response.Body is nil and
	// Response.BodySize has the count. Memory then does not grow with
	// MaxBody.
	DiscardBody bool
	// DenyPrivate refuses connections to loopback, private, link-local
	// (169.254.0.0/16, where cloud metadata services answer),
	// unique-local, unspecified and other non-public addresses. The
	// address is checked at dial time, after DNS resolution, so neither
	// a redirect nor a name resolving to an internal address gets around
	// it; a refused request fails with an error of kind "blocked".
	// Proxies from the environment are not used when it is set; with
	// Proxy set, it is the proxy's address that is checked, and the
	// proxy that must refuse the rest. Set it when fetching URLs that
	// others choose. Ignored when Client is set.
	DenyPrivate bool
	// InsecureSkipVerify accepts any TLS certificate, as curl -k does.
	// Ignored when Client is set.
	InsecureSkipVerify bool
	// Client sends the requests; nil means a client of the Fetcher's own
	// whose transport is sized to MaxInFlight and PerHost, set up by the
	// fields above, and speaks HTTP/2 over TLS where the server offers it,
	// HTTP/1.1 otherwise.
	Client *http.Client
	// Jar keeps the cookies responses set and sends them back; nil means
	// cookies are not kept. Ignored when Client is set.
	Jar http.CookieJar
	// Proxy is the proxy every request goes through: an http, https,
	// socks5 or socks5h URL. nil means the proxy the environment names
	// (HTTP_PROXY, HTTPS_PROXY, NO_PROXY), as net/http's default transport
	// does. Ignored when Client is set.
	Proxy *url.URL
	// TLSConfig configures TLS connections; nil means net/http's defaults.
	// Ignored when Client is set.
	TLSConfig *tls.Config

	clientOnce sync.Once
	client     *http.Client
	userAgent  []string  // the User-Agent header's value, shared by every request
	once       sync.Once // starts the dispatcher

	mu      sync.RWMutex // held for reading while a submitter sends on in
	closed  bool
	in      chan *job
	done    chan *job
	work    chan *job
	abort   chan struct{}
	kick    chan struct{} // a waiting job's context ended
	aborted sync.Once
	stopped chan struct{}
	workers sync.WaitGroup
}

func (f *Fetcher) maxInFlight() int {
	if f.MaxInFlight > 0 {
		return f.MaxInFlight
	}
	return 500
}

func (f *Fetcher) timeout() time.Duration {
	if f.Timeout > 0 {
		return f.Timeout
	}
	return 30 * time.Second
}

func (f *Fetcher) maxBody() int64 {
	if f.MaxBody > 0 {
		return f.MaxBody
	}
	return 10 << 20
}

func (f *Fetcher) maxHeaderBytes() int64 {
	if f.MaxHeaderBytes > 0 {
		return f.MaxHeaderBytes
	}
	return 1 << 20
}

func (f *Fetcher) maxRetryWait() time.Duration {
	if f.MaxRetryWait > 0 {
		return f.MaxRetryWait
	}
	return 30 * time.Second
}

// setup makes the Fetcher's client, once.
func (f *Fetcher) setup() {
	f.clientOnce.Do(func() {
		ua := f.UserAgent
		if ua == "" {
			ua = DefaultUserAgent
		}
		f.userAgent = []string{ua}
		f.client = f.Client
		if f.client != nil {
			return
		}
		n := f.maxInFlight()
		perHost := f.PerHost
		if perHost <= 0 || perHost > n {
			perHost = n
		}
		tr := http.DefaultTransport.(*http.Transport).Clone() // ForceAttemptHTTP2 is set
		tr.MaxConnsPerHost = perHost
		tr.MaxIdleConns = n
		tr.MaxIdleConnsPerHost = perHost
		tr.MaxResponseHeaderBytes = f.maxHeaderBytes()
		if f.DenyPrivate {
			d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
			tr.DialContext = (&netguard.Guard{}).Dialer(d).DialContext
			tr.Proxy = nil // a proxy from the environment would reach the addresses for us
		}
		if f.Proxy != nil {
			tr.Proxy = http.ProxyURL(f.Proxy)
		}
		if f.TLSConfig != nil {
			tr.TLSClientConfig = f.TLSConfig.Clone()
		}
		if f.InsecureSkipVerify {
			if tr.TLSClientConfig == nil {
				tr.TLSClientConfig = &tls.Config{}
			}
			tr.TLSClientConfig.InsecureSkipVerify = true
		}
		f.client = &http.Client{Transport: tr, CheckRedirect: f.checkRedirect, Jar: f.Jar}
	})
}

// init starts the dispatcher and the workers, once.
func (f *Fetcher) init() {
	f.setup()
	f.once.Do(func() {
		n := f.maxInFlight()
		queue := f.MaxQueue
		if queue <= 0 {
			queue = n
		}
		// The intake's buffer and the dispatcher's lines share the cap:
		// a buffer of MaxQueue on top of lines of MaxQueue let twice
		// MaxQueue wait before Submit blocked.
		buf := queue / 2
		f.in = make(chan *job, buf)
		f.done = make(chan *job, n)
		f.work = make(chan *job, n)
		f.abort = make(chan struct{})
		f.kick = make(chan struct{}, 1)
		f.stopped = make(chan struct{})
		f.workers.Add(n)
		for range n {
			go f.worker()
		}
		go f.dispatch(queue - buf)
	})
}

func (f *Fetcher) checkRedirect(req *http.Request, via []*http.Request) error {
	limit := f.MaxRedirects
	if limit < 0 {
		return http.ErrUseLastResponse
	}
	if limit == 0 {
		limit = 10
	}
	if len(via) > limit {
		return fmt.Errorf("%w (%d)", ErrTooManyRedirects, limit)
	}
	// A Location the Fetcher would refuse as a URL fails as one, not as
	// the dial or transport error it would become (a port out of range
	// was retried as a connect failure).
	if err := checkURL(req.URL); err != nil {
		return fmt.Errorf("redirect to %s: %w", RedactURL(req.URL.String()), err)
	}
	if !f.HeaderAnyHost && !sameOrigin(req.URL, via[0].URL) {
		// The client copies the first request's headers to each redirect
		// and drops credentials only for another domain, not another port.
		for _, k := range credentialHeaders {
			req.Header.Del(k)
		}
		for k := range f.Header {
			req.Header.Del(k)
		}
	}
	return nil
}

// credentialHeaders never follow a redirect to another origin.
var credentialHeaders = []string{"Authorization", "Cookie", "Proxy-Authorization"}

// Close stops intake, lets every queued and running fetch finish (retries
// included) and returns when the Fetcher's goroutines have exited. It is
// safe to call more than once; it returns nil.
func (f *Fetcher) Close() error {
	if f.closeUnstarted() {
		return nil
	}
	f.stopIntake()
	<-f.stopped
	f.workers.Wait()
	f.closeIdle()
	return nil
}

// closeIdle closes the idle connections of the Fetcher's own client.
func (f *Fetcher) closeIdle() {
	if f.Client == nil {
		f.client.CloseIdleConnections()
	}
}

// Shutdown is like [Fetcher.Close] but gives up waiting when ctx ends: it
// then stops the Fetcher as [Fetcher.Stop] does and returns ctx's error
// once the goroutines have exited. Every future is done when it returns.
func (f *Fetcher) Shutdown(ctx context.Context) error {
	if f.closeUnstarted() {
		return nil
	}
	stop := context.AfterFunc(ctx, f.abortAll)
	f.Close()
	if stop() {
		return nil
	}
	return ctx.Err()
}

// Stop stops the Fetcher at once: intake stops, queued fetches and those
// waiting to be retried fail with [ErrCancelled], running ones are
// cancelled, and Stop returns when the Fetcher's goroutines have exited.
// Every future is done when it returns. It is safe to call more than once
// and after Close.
func (f *Fetcher) Stop() {
	if f.closeUnstarted() {
		return
	}
	f.abortAll()
	f.Close()
}

// closeUnstarted closes a Fetcher whose dispatcher never started (one used
// only through Attempt, or not at all) without starting it, and reports
// whether the Fetcher is such a one. Submissions after it fail with
// ErrPoolClosed.
func (f *Fetcher) closeUnstarted() bool {
	f.setup()
	f.once.Do(func() {
		f.mu.Lock()
		f.closed = true
		f.mu.Unlock()
	})
	if f.stopped != nil {
		return false
	}
	f.closeIdle()
	return true
}

// kickDispatcher tells the dispatcher that a waiting job's context ended;
// kicks that come while one is pending are one.
func (f *Fetcher) kickDispatcher() {
	select {
	case f.kick <- struct{}{}:
	default:
	}
}

// abortAll tells the dispatcher to fail what waits and cancel what runs.
func (f *Fetcher) abortAll() { f.aborted.Do(func() { close(f.abort) }) }

func (f *Fetcher) stopIntake() {
	f.mu.Lock()
	if !f.closed {
		f.closed = true
		close(f.in)
	}
	f.mu.Unlock()
}
