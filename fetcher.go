// This file holds Fetcher: HTTP fetches as futures, under a Limiter, with
// retries that wait in a queue rather than in a worker.

package sluice

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// DefaultUserAgent is the User-Agent a [Fetcher] sends when none is set.
const DefaultUserAgent = "sluice/0.1 (+https://github.com/sluicehq/sluice)"

// Fetcher fetches URLs concurrently under limits and returns each result as
// a [Future]. Requests wait in a bounded queue, one line per host; a single
// dispatcher starts each one when the [Limiter] admits it, on one of
// MaxInFlight fixed workers. A request waiting for a token, a host slot or
// a retry backoff holds no worker and no in-flight slot.
//
// The zero value is ready to use with the defaults below. Set the fields
// before the first fetch and do not change them after. Call Close or
// Shutdown when done. A Fetcher is safe for concurrent use.
type Fetcher struct {
	// MaxInFlight caps requests in flight; 0 means 500. The transport's
	// connection limits are sized from it, so open sockets stay capped.
	MaxInFlight int
	// PerHost caps requests in flight per host; 0 means no cap beyond
	// MaxInFlight.
	PerHost int
	// Rate caps request starts per second overall; 0 means no cap.
	Rate float64
	// HostRate caps request starts per second per host; 0 means no cap.
	HostRate float64
	// Timeout bounds each attempt, body included; 0 means 30 seconds.
	Timeout time.Duration
	// Retries is how many times a failed attempt of an idempotent request
	// is retried (network errors, timeouts, 429, 500, 502, 503, 504);
	// 0 means none. Waits grow exponentially from 250 ms with jitter and
	// honour Retry-After on 429 and 503.
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
	// request already has.
	Header http.Header
	// MaxRedirects caps redirects followed; 0 means 10, negative means
	// none (the 3xx response is returned). Ignored when Client is set.
	MaxRedirects int
	// Client sends the requests; nil means a client of the Fetcher's own
	// whose transport is sized to MaxInFlight and PerHost.
	Client *http.Client

	once   sync.Once
	client *http.Client
	lim    Limiter

	mu      sync.RWMutex // held for reading while a submitter sends on in
	closed  bool
	in      chan *job
	done    chan *job
	work    chan *job
	abort   chan struct{}
	aborted sync.Once
	stopped chan struct{}
	workers sync.WaitGroup
}

// job is one fetch on its way through the dispatcher.
type job struct {
	fut      *Future[*Response]
	req      *http.Request
	url      string
	host     string
	attempts int
	first    time.Time
	retryAt  time.Time // set by a worker when the attempt should be retried
	release  func()
	stop     func() bool // detaches the request's context, if any
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

func (f *Fetcher) maxRetryWait() time.Duration {
	if f.MaxRetryWait > 0 {
		return f.MaxRetryWait
	}
	return 30 * time.Second
}

func (f *Fetcher) init() {
	f.once.Do(func() {
		n := f.maxInFlight()
		perHost := f.PerHost
		if perHost <= 0 || perHost > n {
			perHost = n
		}
		f.client = f.Client
		if f.client == nil {
			tr := http.DefaultTransport.(*http.Transport).Clone()
			tr.MaxConnsPerHost = perHost
			tr.MaxIdleConns = n
			tr.MaxIdleConnsPerHost = perHost
			f.client = &http.Client{Transport: tr, CheckRedirect: f.checkRedirect}
		}
		f.lim = Limiter{MaxInFlight: n, PerHost: f.PerHost, Rate: f.Rate, HostRate: f.HostRate}
		queue := f.MaxQueue
		if queue <= 0 {
			queue = n
		}
		f.in = make(chan *job, queue)
		f.done = make(chan *job, n)
		f.work = make(chan *job, n)
		f.abort = make(chan struct{})
		f.stopped = make(chan struct{})
		f.workers.Add(n)
		for range n {
			go f.worker()
		}
		go f.dispatch(queue)
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
		return fmt.Errorf("stopped after %d redirects", limit)
	}
	return nil
}

// ParseURL parses a URL to fetch: surrounding spaces are ignored, the scheme
// must be http or https and the host must not be empty.
func ParseURL(raw string) (*url.URL, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return nil, errors.New("empty URL")
	}
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("invalid URL: %w", err)
	}
	if err := checkURL(u); err != nil {
		return nil, err
	}
	return u, nil
}

func checkURL(u *url.URL) error {
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
	case "":
		return errors.New("missing scheme (want http:// or https://)")
	default:
		return fmt.Errorf("unsupported scheme %q (want http or https)", u.Scheme)
	}
	if u.Host == "" || u.Hostname() == "" {
		return errors.New("missing host")
	}
	return nil
}

// Submit queues a GET of rawURL and returns its future. It blocks while the
// queue is full. A bad URL gives a future already failed with a
// *[FetchError]; so does a Fetcher that is closed ([ErrPoolClosed]).
func (f *Fetcher) Submit(rawURL string) *Future[*Response] {
	u, err := ParseURL(rawURL)
	if err != nil {
		return failedFuture[*Response](&FetchError{URL: rawURL, Err: err})
	}
	req, err := http.NewRequest(http.MethodGet, u.String(), nil)
	if err != nil {
		return failedFuture[*Response](&FetchError{URL: rawURL, Err: err})
	}
	return f.submit(context.Background(), req, rawURL)
}

// SubmitCtx is like [Fetcher.Submit] but waits for queue space only until
// ctx ends; it then returns ctx's error and no future. ctx bounds only the
// wait for space, not the fetch.
func (f *Fetcher) SubmitCtx(ctx context.Context, rawURL string) (*Future[*Response], error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	u, err := ParseURL(rawURL)
	if err != nil {
		return failedFuture[*Response](&FetchError{URL: rawURL, Err: err}), nil
	}
	req, err := http.NewRequest(http.MethodGet, u.String(), nil)
	if err != nil {
		return failedFuture[*Response](&FetchError{URL: rawURL, Err: err}), nil
	}
	fut := f.submit(ctx, req, rawURL)
	if fut == nil {
		return nil, ctx.Err()
	}
	return fut, nil
}

// SubmitRequest queues req and returns its future, like [Fetcher.Submit].
// Cancelling req's context cancels the fetch. The Fetcher's UserAgent and
// Header are added to a copy; req is not modified.
func (f *Fetcher) SubmitRequest(req *http.Request) *Future[*Response] {
	return f.submit(context.Background(), req, req.URL.String())
}

// submit queues req; it returns nil if ctx ends before there is room.
func (f *Fetcher) submit(ctx context.Context, req *http.Request, rawURL string) *Future[*Response] {
	if err := checkURL(req.URL); err != nil {
		return failedFuture[*Response](&FetchError{URL: rawURL, Err: err})
	}
	f.init()
	req = req.Clone(req.Context())
	for k, vs := range f.Header {
		if _, ok := req.Header[k]; !ok {
			req.Header[k] = vs
		}
	}
	if req.Header.Get("User-Agent") == "" {
		ua := f.UserAgent
		if ua == "" {
			ua = DefaultUserAgent
		}
		req.Header.Set("User-Agent", ua)
	}
	j := &job{fut: newFuture[*Response](nil), req: req, url: rawURL, host: strings.ToLower(req.URL.Host)}
	if req.Context().Done() != nil {
		fut := j.fut
		j.stop = context.AfterFunc(req.Context(), func() { fut.Cancel() })
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.closed {
		j.fail(ErrPoolClosed)
		return j.fut
	}
	select {
	case f.in <- j:
		return j.fut
	case <-ctx.Done():
		if j.stop != nil {
			j.stop()
		}
		return nil
	}
}

// Fetch GETs rawURL through the Fetcher's limits and waits for the result.
// If ctx ends first the fetch is cancelled and ctx's error returned.
func (f *Fetcher) Fetch(ctx context.Context, rawURL string) (*Response, error) {
	return waitOrCancel(ctx, f.Submit(rawURL))
}

// Do sends req through the Fetcher's limits and waits for the result, like
// [Fetcher.Fetch].
func (f *Fetcher) Do(ctx context.Context, req *http.Request) (*Response, error) {
	return waitOrCancel(ctx, f.SubmitRequest(req))
}

func waitOrCancel(ctx context.Context, fut *Future[*Response]) (*Response, error) {
	resp, err := fut.Wait(ctx)
	if err != nil && ctx.Err() != nil && fut.State() < Done {
		fut.Cancel()
	}
	return resp, err
}

// Close stops intake, lets every queued and running fetch finish (retries
// included) and returns when the Fetcher's goroutines have exited. It is
// safe to call more than once; it returns nil.
func (f *Fetcher) Close() error {
	f.init()
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

// Shutdown is like [Fetcher.Close] but gives up waiting when ctx ends:
// queued fetches then fail with [ErrCancelled], running ones are cancelled,
// and Shutdown returns ctx's error once the goroutines have exited. Every
// future is done when it returns.
func (f *Fetcher) Shutdown(ctx context.Context) error {
	f.init()
	stop := context.AfterFunc(ctx, func() { f.aborted.Do(func() { close(f.abort) }) })
	f.stopIntake()
	<-f.stopped
	f.workers.Wait()
	f.closeIdle()
	if stop() {
		return nil
	}
	return ctx.Err()
}

func (f *Fetcher) stopIntake() {
	f.mu.Lock()
	if !f.closed {
		f.closed = true
		close(f.in)
	}
	f.mu.Unlock()
}

// fail completes the job's future with err wrapped in a FetchError.
func (j *job) fail(err error) {
	var elapsed time.Duration
	if !j.first.IsZero() {
		elapsed = time.Since(j.first)
	}
	if j.stop != nil {
		j.stop()
	}
	fe := &FetchError{URL: j.url, Attempts: j.attempts, Elapsed: elapsed, Err: err}
	if j.fut.state.CompareAndSwap(int32(Pending), int32(Cancelled)) {
		j.fut.complete(nil, fe, Cancelled)
		return
	}
	if j.fut.state.CompareAndSwap(int32(Running), int32(Done)) {
		j.fut.complete(nil, fe, Done)
	}
}

func (f *Fetcher) worker() {
	defer f.workers.Done()
	for j := range f.work {
		if j.first.IsZero() {
			j.first = time.Now()
		}
		j.attempts++
		resp, err := f.attempt(&j.fut.ctx, j.req)
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // FetchError already names the URL
		}
		if retry, after := retryable(resp, err); retry && j.attempts <= f.Retries && idempotent(j.req) &&
			j.fut.ctx.Err() == nil && after <= f.maxRetryWait() {
			j.retryAt = time.Now().Add(max(backoff(j.attempts, f.maxRetryWait()), after))
			f.done <- j
			continue
		}
		if err != nil {
			j.fail(err)
		} else {
			if j.stop != nil {
				j.stop()
			}
			resp.URL, resp.Attempts, resp.Elapsed = j.url, j.attempts, time.Since(j.first)
			j.fut.complete(resp, nil, Done)
		}
		f.done <- j
	}
}
