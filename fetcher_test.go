package sluice

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func newServer(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// peakServer returns a server whose answers take 5 ms, and the most
// requests it has had in hand at once.
func peakServer(t *testing.T) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var cur, peak atomic.Int32
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		n := cur.Add(1)
		defer cur.Add(-1)
		for old := peak.Load(); n > old && !peak.CompareAndSwap(old, n); old = peak.Load() {
		}
		time.Sleep(5 * time.Millisecond)
	})
	return srv, &peak
}

func TestFetchOK(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/redirect":
			http.Redirect(w, r, "/final", http.StatusFound)
		case "/missing":
			http.NotFound(w, r)
		default:
			fmt.Fprintf(w, "ua=%s x=%s", r.UserAgent(), r.Header.Get("X-Test"))
		}
	})
	f := &Fetcher{Header: http.Header{"X-Test": {"1"}}}
	defer f.Close()
	resp, err := f.Fetch(context.Background(), srv.URL+"/redirect")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.FinalURL != srv.URL+"/final" || resp.URL != srv.URL+"/redirect" || resp.Attempts != 1 {
		t.Fatalf("resp = %+v", resp)
	}
	if want := "ua=" + DefaultUserAgent + " x=1"; string(resp.Body) != want {
		t.Fatalf("body %q, want %q", resp.Body, want)
	}
	if resp.Timings.Total <= 0 || resp.Timings.FirstByte <= 0 || resp.Timings.FirstByte > resp.Timings.Total {
		t.Fatalf("timings %+v", resp.Timings)
	}
	resp, err = f.Fetch(context.Background(), srv.URL+"/missing")
	if err != nil || resp.StatusCode != 404 {
		t.Fatalf("404 fetch = %v, %v; a non-2xx status is not an error", resp, err)
	}
}

func TestFetchBadURLs(t *testing.T) {
	f := &Fetcher{}
	defer f.Close()
	for _, tc := range []struct{ in, want string }{
		{"", "empty URL"},
		{"   ", "empty URL"},
		{"ftp://example.com/x", `unsupported scheme "ftp"`},
		{"mailto:someone@example.com", `unsupported scheme "mailto"`},
		{"example.com/path", "missing scheme"},
		{"http://", "missing host"},
		{"http://[::1", "invalid URL"},
		{"http://exa mple.com/", "invalid URL"},
		{"http://%zz/", "invalid URL"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			_, err := f.Submit(tc.in).Result()
			var fe *FetchError
			if !errors.As(err, &fe) || fe.URL != tc.in || !errors.Is(err, ErrBadURL) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Submit(%q) error = %v; want a FetchError containing %q", tc.in, err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "sluice: fetch ") {
				t.Fatalf("error %q lacks the package prefix", err)
			}
		})
	}
}

func TestFetchFailures(t *testing.T) {
	endless := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		buf := make([]byte, 32<<10)
		for r.Context().Err() == nil {
			if _, err := w.Write(buf); err != nil {
				return
			}
		}
	}
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		fetcher func() *Fetcher
		check   func(t *testing.T, resp *Response, err error)
	}{
		{
			name: "timeout before headers",
			handler: func(w http.ResponseWriter, r *http.Request) {
				<-r.Context().Done()
			},
			fetcher: func() *Fetcher { return &Fetcher{Timeout: 50 * time.Millisecond} },
			check: func(t *testing.T, resp *Response, err error) {
				if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "attempt timed out after 50ms") {
					t.Fatalf("err = %v, want deadline exceeded, naming the Timeout", err)
				}
			},
		},
		{
			name: "slow body",
			handler: func(w http.ResponseWriter, r *http.Request) {
				for r.Context().Err() == nil {
					w.Write([]byte("x"))
					w.(http.Flusher).Flush()
					time.Sleep(5 * time.Millisecond)
				}
			},
			fetcher: func() *Fetcher { return &Fetcher{Timeout: 100 * time.Millisecond} },
			check: func(t *testing.T, resp *Response, err error) {
				if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "attempt timed out after 100ms") {
					t.Fatalf("err = %v, want deadline exceeded, naming the Timeout", err)
				}
			},
		},
		{
			name:    "endless body is cut",
			handler: endless,
			fetcher: func() *Fetcher { return &Fetcher{MaxBody: 100 << 10} },
			check: func(t *testing.T, resp *Response, err error) {
				if err != nil || !resp.Truncated || len(resp.Body) != 100<<10 {
					t.Fatalf("resp truncated=%v len=%d err=%v", resp != nil && resp.Truncated, len(resp.Body), err)
				}
			},
		},
		{
			name: "body at the limit is whole",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Write(make([]byte, 1000))
			},
			fetcher: func() *Fetcher { return &Fetcher{MaxBody: 1000} },
			check: func(t *testing.T, resp *Response, err error) {
				if err != nil || resp.Truncated || len(resp.Body) != 1000 {
					t.Fatalf("resp = %+v, %v", resp, err)
				}
			},
		},
		{
			name: "redirect loop",
			handler: func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, r.URL.Path, http.StatusFound)
			},
			fetcher: func() *Fetcher { return &Fetcher{MaxRedirects: 3} },
			check: func(t *testing.T, resp *Response, err error) {
				if !errors.Is(err, ErrTooManyRedirects) || !strings.Contains(err.Error(), "(3)") {
					t.Fatalf("err = %v", err)
				}
			},
		},
		{
			name: "redirects not followed",
			handler: func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "/elsewhere", http.StatusMovedPermanently)
			},
			fetcher: func() *Fetcher { return &Fetcher{MaxRedirects: -1} },
			check: func(t *testing.T, resp *Response, err error) {
				if err != nil || resp.StatusCode != 301 || resp.Header.Get("Location") != "/elsewhere" {
					t.Fatalf("resp = %+v, %v", resp, err)
				}
			},
		},
		{
			name: "connection reset",
			handler: func(w http.ResponseWriter, r *http.Request) {
				conn, _, err := w.(http.Hijacker).Hijack()
				if err != nil {
					return
				}
				conn.(*net.TCPConn).SetLinger(0)
				conn.Close()
			},
			fetcher: func() *Fetcher { return &Fetcher{Retries: 2} },
			check: func(t *testing.T, resp *Response, err error) {
				var fe *FetchError
				if !errors.As(err, &fe) || fe.Attempts != 3 {
					t.Fatalf("err = %#v; want a FetchError after 3 attempts", err)
				}
			},
		},
		{
			name: "429 storm ends with the last response",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "0")
				w.WriteHeader(http.StatusTooManyRequests)
			},
			fetcher: func() *Fetcher { return &Fetcher{Retries: 3, MaxRetryWait: 10 * time.Millisecond} },
			check: func(t *testing.T, resp *Response, err error) {
				if err != nil || resp.StatusCode != 429 || resp.Attempts != 4 {
					t.Fatalf("resp = %+v, %v", resp, err)
				}
			},
		},
		{
			name: "Retry-After beyond the cap is not waited for",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "3600")
				w.WriteHeader(http.StatusServiceUnavailable)
			},
			fetcher: func() *Fetcher { return &Fetcher{Retries: 3} },
			check: func(t *testing.T, resp *Response, err error) {
				if err != nil || resp.StatusCode != 503 || resp.Attempts != 1 {
					t.Fatalf("resp = %+v, %v", resp, err)
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, tc.handler)
			f := tc.fetcher()
			defer f.Close()
			resp, err := f.Fetch(context.Background(), srv.URL+"/x")
			tc.check(t, resp, err)
		})
	}
}

func TestFetchRetryThenSuccess(t *testing.T) {
	var calls atomic.Int32
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) < 3 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok")
	})
	f := &Fetcher{Retries: 5, MaxRetryWait: 20 * time.Millisecond}
	defer f.Close()
	resp, err := f.Fetch(context.Background(), srv.URL)
	if err != nil || resp.StatusCode != 200 || resp.Attempts != 3 || string(resp.Body) != "ok" {
		t.Fatalf("resp = %+v, %v", resp, err)
	}
}

func TestFetchPostIsNotRetried(t *testing.T) {
	var calls atomic.Int32
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	f := &Fetcher{Retries: 3, MaxRetryWait: time.Millisecond}
	defer f.Close()
	req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader("body"))
	resp, err := f.Do(context.Background(), req)
	if err != nil || resp.Attempts != 1 || calls.Load() != 1 {
		t.Fatalf("POST attempts = %d, server saw %d, err %v", resp.Attempts, calls.Load(), err)
	}
}

// TestFetchCaps checks that the server never sees more requests at once
// than MaxInFlight overall or PerHost for one host.
func TestFetchCaps(t *testing.T) {
	for _, tc := range []struct{ maxInFlight, perHost, want int }{
		{4, 0, 4},
		{10, 3, 3},
	} {
		t.Run(fmt.Sprintf("max%d_host%d", tc.maxInFlight, tc.perHost), func(t *testing.T) {
			srv, peak := peakServer(t)
			f := &Fetcher{MaxInFlight: tc.maxInFlight, PerHost: tc.perHost}
			var fs []*Future[*Response]
			for i := range 60 {
				fs = append(fs, f.Submit(fmt.Sprintf("%s/%d", srv.URL, i)))
			}
			if _, err := Gather(context.Background(), fs); err != nil {
				t.Fatal(err)
			}
			f.Close()
			if got := int(peak.Load()); got > tc.want || got < 2 {
				t.Fatalf("server saw %d at once; cap %d", got, tc.want)
			}
		})
	}
}

func TestFetcherShutdownCancels(t *testing.T) {
	release := make(chan struct{})
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	f := &Fetcher{MaxInFlight: 2, MaxQueue: 10}
	var fs []*Future[*Response]
	for i := range 8 {
		fs = append(fs, f.Submit(fmt.Sprintf("%s/%d", srv.URL, i)))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := f.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v", err)
	}
	cancelled, interrupted := countEnds(t, fs)
	if cancelled != 6 || interrupted != 2 {
		t.Fatalf("%d cancelled, %d interrupted; want 6 and 2", cancelled, interrupted)
	}
	if _, err := f.Submit(srv.URL).Result(); !errors.Is(err, ErrPoolClosed) {
		t.Fatalf("Submit after Shutdown: %v", err)
	}
}

func TestFetchContextCancels(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	f := &Fetcher{}
	defer f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if _, err := f.Fetch(ctx, srv.URL); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Fetch = %v", err)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	if _, err := f.SubmitRequest(req).Result(); err == nil {
		t.Fatal("request with an ended context succeeded")
	}
}

func TestFetchManyConcurrentSubmitters(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.URL.Path) })
	f := &Fetcher{MaxInFlight: 8, PerHost: 4, Rate: 5000}
	var wg sync.WaitGroup
	var bad atomic.Int32
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				p := fmt.Sprintf("/%d/%d", g, i)
				resp, err := f.Submit(srv.URL + p).Result()
				if err != nil || string(resp.Body) != p {
					bad.Add(1)
				}
			}
		})
	}
	wg.Wait()
	f.Close()
	if bad.Load() != 0 {
		t.Fatalf("%d fetches went wrong", bad.Load())
	}
}

// TestRedirectToBadURL checks that a redirect to a URL the Fetcher would
// refuse fails at once as a bad URL, on the attempt that met it: a port out
// of range was retried as a connect failure, an ftp Location failed as
// "other".
func TestRedirectToBadURL(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", r.URL.Query().Get("to"))
		w.WriteHeader(http.StatusFound)
	})
	f := &Fetcher{}
	defer f.Close()
	for _, to := range []string{"http://127.0.0.1:99999/", "ftp://127.0.0.1/x"} {
		_, err := f.Fetch(context.Background(), srv.URL+"/?to="+to)
		var fe *FetchError
		if !errors.As(err, &fe) || !errors.Is(err, ErrBadURL) || fe.Attempts != 1 {
			t.Errorf("redirect to %s: %v; want one attempt failing with ErrBadURL", to, err)
		}
	}
}

// TestHostHeader checks that a Host given as a header, the Fetcher's or the
// request's, is the Host sent, as curl -H 'Host: x' and sluice load do:
// net/http dropped it and sent the URL's host.
func TestHostHeader(t *testing.T) {
	hosts := make(chan string, 4)
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) { hosts <- r.Host })
	f := &Fetcher{Header: http.Header{"Host": {"vhost.test"}}}
	defer f.Close()
	if _, err := f.Fetch(context.Background(), srv.URL+"/"); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/", nil)
	req.Header.Set("Host", "other.test")
	if _, err := f.Do(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if a, b := <-hosts, <-hosts; a != "vhost.test" || b != "other.test" {
		t.Errorf("hosts sent %q and %q, want vhost.test and other.test", a, b)
	}
}

// TestFetchCancelWhileWaitingToRetry checks that a fetch whose first
// attempt was answered 429 ends as soon as it is cancelled, while it waits
// out the server's Retry-After or its host's pacing, and that Close then
// does not wait for the retry that will never be sent.
func TestFetchCancelWhileWaitingToRetry(t *testing.T) {
	for _, tc := range []struct {
		name       string
		retryAfter string
		hostRate   float64
		cancel     func(fut *Future[*Response], stop context.CancelFunc)
	}{
		{"Cancel during Retry-After", "60", 0, func(fut *Future[*Response], _ context.CancelFunc) { fut.Cancel() }},
		{"request context during Retry-After", "60", 0, func(_ *Future[*Response], stop context.CancelFunc) { stop() }},
		{"Cancel while the host is paced", "0", 0.001, func(fut *Future[*Response], _ context.CancelFunc) { fut.Cancel() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var hits atomic.Int32
			first := make(chan struct{})
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				if hits.Add(1) == 1 {
					defer close(first)
				}
				w.Header().Set("Retry-After", tc.retryAfter)
				w.WriteHeader(http.StatusTooManyRequests)
			})
			f := &Fetcher{HostRate: tc.hostRate, MaxRetryWait: time.Hour}
			ctx, stop := context.WithCancel(context.Background())
			defer stop()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
			fut := f.SubmitRequest(req)
			<-first
			time.Sleep(20 * time.Millisecond) // the job reaches the dispatcher's wait
			tc.cancel(fut, stop)
			wait, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if _, err := fut.Wait(wait); !errors.Is(err, context.Canceled) {
				t.Fatalf("cancelled fetch ended with %v, want context.Canceled", err)
			}
			var fe *FetchError
			if _, err := fut.Result(); !errors.As(err, &fe) || fe.Attempts != 1 {
				t.Fatalf("cancelled fetch: %v, want a *FetchError after 1 attempt", err)
			}
			closeWithin(t, f, 5*time.Second, "Close waited for the retry of a cancelled fetch")
			if n := hits.Load(); n != 1 {
				t.Fatalf("%d requests sent, want 1", n)
			}
		})
	}
}

// TestFetchCallerDeadline checks that a fetch ended by the deadline of
// the request's context fails with context.DeadlineExceeded (it said
// context.Canceled) and does not blame the Fetcher's Timeout.
func TestFetchCallerDeadline(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	f := &Fetcher{Timeout: time.Minute}
	defer f.Close()
	for _, tc := range []struct {
		name string
		do   func(req *http.Request) error
	}{
		{"SubmitRequest", func(req *http.Request) error { _, err := f.SubmitRequest(req).Result(); return err }},
		{"Attempt", func(req *http.Request) error { _, err := f.Attempt(req.Context(), req); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
			err := tc.do(req)
			var fe *FetchError
			if !errors.As(err, &fe) || !errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "timed out") {
				t.Fatalf("err = %v, want a *FetchError for the caller's deadline, not the Timeout", err)
			}
		})
	}
}

// TestFetchCallerDeadlineWhileQueued checks that a fetch whose request's
// deadline passes while it waits in its host's line, behind PerHost, fails
// as one cut by that deadline while it runs does: with a *FetchError
// wrapping context.DeadlineExceeded. It failed with ErrCancelled, as if
// the caller had cancelled it.
func TestFetchCallerDeadlineWhileQueued(t *testing.T) {
	release := make(chan struct{})
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hold" {
			<-release
		}
	})
	f := &Fetcher{PerHost: 1}
	defer f.Close()
	defer close(release) // before Close, which waits for the held fetch
	hold := f.Submit(srv.URL + "/hold")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/queued", nil)
	_, err := f.SubmitRequest(req).Result()
	var fe *FetchError
	if !errors.As(err, &fe) || !errors.Is(err, context.DeadlineExceeded) || fe.URL != srv.URL+"/queued" {
		t.Fatalf("err = %v, want a *FetchError for /queued wrapping context.DeadlineExceeded", err)
	}
	if hold.State() == FutureDone {
		t.Fatal("the held fetch ended first: the other did not wait in the line")
	}
}

// TestFetchPerHostOneHostManySpellings fetches one host spelt three ways
// (its port written out or left to the scheme, its name in another case):
// PerHost caps them together. Each spelling had a line and a cap of its
// own, so the host saw PerHost requests at once for each.
func TestFetchPerHostOneHostManySpellings(t *testing.T) {
	srv, peak := peakServer(t)
	// Every name dials the test server: site.test is one host on loopback.
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, srv.Listener.Addr().String())
	}}
	defer tr.CloseIdleConnections()
	f := &Fetcher{PerHost: 1, Client: &http.Client{Transport: tr}}
	var fs []*Future[*Response]
	for i := range 30 {
		spelling := []string{"http://site.test", "http://site.test:80", "http://SITE.test"}[i%3]
		fs = append(fs, f.Submit(fmt.Sprintf("%s/%d", spelling, i)))
	}
	if _, err := Gather(context.Background(), fs); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if got := peak.Load(); got != 1 {
		t.Fatalf("the host saw %d requests at once, want PerHost (1)", got)
	}
}

func TestHostKey(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"http://Example.COM/", "example.com"},
		{"http://example.com:80/", "example.com"},
		{"https://example.com:443/", "example.com"},
		{"https://example.com:80/", "example.com:80"},
		{"http://example.com:8080/", "example.com:8080"},
		{"http://[::1]:80/", "[::1]"},
		{"http://[::1]:8080/", "[::1]:8080"},
	} {
		u, err := ParseURL(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := hostKey(u); got != tc.want {
			t.Errorf("hostKey(%s) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestFetchCloseAfterQueuedCancelled cancels the fetches queued behind a
// held one on its host: once the held one ends, Close returns and none of
// the cancelled ones is sent. The dispatcher dropped two cancelled fetches
// of a line each time it looked, and looked again only when a request
// ended, so Close waited for ever behind three of them.
func TestFetchCloseAfterQueuedCancelled(t *testing.T) {
	var queuedSent atomic.Int32
	arrived, release := make(chan struct{}), make(chan struct{})
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/hold" {
			queuedSent.Add(1)
			return
		}
		close(arrived)
		<-release
	})
	f := &Fetcher{PerHost: 1}
	hold := f.Submit(srv.URL + "/hold")
	<-arrived
	for i := range 5 {
		fut := f.Submit(fmt.Sprintf("%s/q%d", srv.URL, i))
		fut.Cancel()
		if _, err := fut.Result(); !errors.Is(err, ErrCancelled) {
			t.Errorf("cancelled queued fetch: %v, want ErrCancelled", err)
		}
	}
	close(release)
	if _, err := hold.Result(); err != nil {
		t.Fatal(err)
	}
	closeWithin(t, f, 10*time.Second, "Close still waited 10 s after the only fetch not cancelled ended")
	if n := queuedSent.Load(); n != 0 {
		t.Fatalf("%d cancelled fetches sent", n)
	}
}

// TestFetchErrorText checks that a FetchError names the fetch once: with
// a cause of this package's it read "sluice: fetch URL: sluice: bad URL",
// as the Fetcher's godoc example showed.
func TestFetchErrorText(t *testing.T) {
	for _, tc := range []struct {
		url  string
		err  error
		want string
	}{
		{"ftp://x/", fmt.Errorf("%w: unsupported scheme \"ftp\"", ErrBadURL), `sluice: fetch ftp://x/: bad URL: unsupported scheme "ftp"`},
		{"http://x/", ErrHeaderTooLarge, "sluice: fetch http://x/: response header too large"},
		{"http://u:pw@x/", errors.New("dial tcp: connection refused"), "sluice: fetch http://u:xxxxx@x/: dial tcp: connection refused"},
	} {
		if got := (&FetchError{URL: tc.url, Err: tc.err}).Error(); got != tc.want {
			t.Errorf("%q, want %q", got, tc.want)
		}
	}
}

// TestFetchSubmitWhileCloseWaits submits to a Fetcher whose Close waits
// for a submitter blocked on the full queue: the submission fails at once
// with ErrPoolClosed, as the pool's does. It waited behind Close until a
// running fetch ended, SubmitCtx past its ctx.
func TestFetchSubmitWhileCloseWaits(t *testing.T) {
	srv, arrived, release := holdingServer(t)
	f := &Fetcher{MaxInFlight: 1, MaxQueue: 1}
	running := f.Submit(srv.URL + "/0")
	<-arrived
	const n = 8 // more than the queue holds: one of them blocks
	futs := make(chan *Future[*Response], n)
	go func() {
		defer close(futs)
		for i := range n {
			futs <- f.Submit(fmt.Sprintf("%s/%d", srv.URL, i+1))
		}
	}()
	time.Sleep(50 * time.Millisecond) // let a Submit block on the full queue
	closed := make(chan struct{})
	go func() { f.Close(); close(closed) }()
	for deadline := time.Now().Add(5 * time.Second); f.mu.TryRLock(); { // until Close waits for the lock
		f.mu.RUnlock()
		if time.Now().After(deadline) {
			close(release)
			t.Fatal("Close never waited for a blocked Submit")
		}
		runtime.Gosched()
	}
	late := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		fut, err := f.SubmitCtx(ctx, srv.URL+"/late")
		if err == nil {
			_, err = fut.Result()
		}
		late <- err
	}()
	select {
	case err := <-late:
		if !errors.Is(err, ErrPoolClosed) {
			t.Errorf("a submit while Close waits: %v, want ErrPoolClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("a submit while Close waits blocked until a running fetch ended")
	}
	close(release)
	<-closed
	if _, err := running.Result(); err != nil {
		t.Errorf("the running fetch: %v", err)
	}
	for fut := range futs { // each one fetched, or refused once Close began
		if _, err := fut.Result(); err != nil && !errors.Is(err, ErrPoolClosed) {
			t.Errorf("a fetch submitted around Close: %v", err)
		}
	}
}

// TestFetchMaxQueueExact fills a Fetcher's queue behind a fetch that
// holds its one slot: Submit returns for MaxQueue requests and blocks on
// the next, as MaxQueue says. Twice MaxQueue went in before it blocked:
// the intake's buffer held as many as the dispatcher's lines.
func TestFetchMaxQueueExact(t *testing.T) {
	for _, queue := range []int{1, 2, 5} {
		t.Run(fmt.Sprint(queue), func(t *testing.T) {
			srv, arrived, release := holdingServer(t)
			f := &Fetcher{MaxInFlight: 1, MaxQueue: queue}
			running := f.Submit(srv.URL + "/0")
			<-arrived
			var in atomic.Int32
			futs := make(chan *Future[*Response], 2*queue+1)
			go func() {
				defer close(futs)
				for i := range 2*queue + 1 {
					fut := f.Submit(fmt.Sprintf("%s/%d", srv.URL, i+1))
					in.Add(1)
					futs <- fut
				}
			}()
			time.Sleep(200 * time.Millisecond) // what Submit takes in, it takes in at once
			if got := int(in.Load()); got != queue {
				t.Errorf("MaxQueue %d: %d submissions returned while one fetch ran, want %d", queue, got, queue)
			}
			close(release)
			if _, err := running.Result(); err != nil {
				t.Error(err)
			}
			for fut := range futs {
				if _, err := fut.Result(); err != nil {
					t.Error(err)
				}
			}
			f.Close()
		})
	}
}

// closeWithin closes f, and fails the test with msg if Close has not
// returned within d (stopping f then, so that the test ends).
func closeWithin(t *testing.T, f *Fetcher, d time.Duration, msg string) {
	t.Helper()
	closed := make(chan struct{})
	go func() { f.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(d):
		f.Stop()
		<-closed
		t.Fatal(msg)
	}
}

// holdingServer serves requests that wait until release is closed;
// arrived gets a value when the first comes in.
func holdingServer(t *testing.T) (srv *httptest.Server, arrived <-chan struct{}, release chan struct{}) {
	in := make(chan struct{}, 1)
	release = make(chan struct{})
	srv = newServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case in <- struct{}{}:
		default:
		}
		<-release
	})
	return srv, in, release
}
