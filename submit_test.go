package sluice

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestFetcherStop(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	f := &Fetcher{MaxInFlight: 2, MaxQueue: 10}
	var fs []*Future[*Response]
	for i := range 6 {
		fs = append(fs, f.Submit(fmt.Sprintf("%s/%d", srv.URL, i)))
	}
	for fs[0].State() != FutureRunning || fs[1].State() != FutureRunning {
		time.Sleep(time.Millisecond)
	}
	f.Stop()
	cancelled, interrupted := countEnds(t, fs)
	if cancelled != 4 || interrupted != 2 {
		t.Fatalf("%d cancelled, %d interrupted; want 4 and 2", cancelled, interrupted)
	}
	f.Stop() // a second Stop is harmless
}

// TestFetchStopsWaitingForQueueSpace fills the queue and checks that
// Fetch, Do and the ctx forms of Submit give up when ctx ends.
func TestFetchStopsWaitingForQueueSpace(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	f := &Fetcher{MaxInFlight: 1, MaxQueue: 1}
	defer f.Stop()
	for { // fill the queue: submit until a submission has to wait
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		_, err := f.SubmitCtx(ctx, srv.URL)
		cancel()
		if err != nil {
			break
		}
	}
	tries := map[string]func(ctx context.Context) error{
		"Fetch": func(ctx context.Context) error { _, err := f.Fetch(ctx, srv.URL); return err },
		"Do": func(ctx context.Context) error {
			req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
			_, err := f.Do(ctx, req)
			return err
		},
		"SubmitCtx": func(ctx context.Context) error { _, err := f.SubmitCtx(ctx, srv.URL); return err },
		"SubmitRequestCtx": func(ctx context.Context) error {
			req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
			_, err := f.SubmitRequestCtx(ctx, req)
			return err
		},
	}
	for name, try := range tries {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- try(ctx) }()
			select {
			case err := <-done:
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("%s = %v, want the deadline", name, err)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("%s still waits for queue space after ctx ended", name)
			}
		})
	}
}

func TestAttempt(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, r.Header.Get("User-Agent"), "|", r.Header.Get("X-A"), "|", r.Header.Get("X-B"))
	})
	f := &Fetcher{UserAgent: "probe/1", Header: http.Header{"X-A": {"fetcher"}, "X-B": {"fetcher"}}}
	defer f.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/x", nil)
	req.Header.Set("X-B", "request")
	resp, err := f.Attempt(context.Background(), req)
	if err != nil || string(resp.Body) != "probe/1|fetcher|request" || resp.Attempts != 1 || resp.URL != srv.URL+"/x" || resp.FinalURL != srv.URL+"/x" {
		t.Fatalf("Attempt = %+v, %v", resp, err)
	}
	// The Fetcher's headers go on a copy: the caller's request is as it was.
	if len(req.Header) != 1 || req.Header.Get("X-B") != "request" {
		t.Fatalf("Attempt changed the request's header: %v", req.Header)
	}
	// A request with every header of its own is sent as it is.
	req.Header.Set("User-Agent", "mine/2")
	req.Header.Set("X-A", "mine")
	if resp, err := f.Attempt(context.Background(), req); err != nil || string(resp.Body) != "mine/2|mine|request" {
		t.Fatalf("Attempt with its own headers = %+v, %v", resp, err)
	}
	bad, _ := http.NewRequest(http.MethodGet, "ftp://x/", nil)
	var fe *FetchError
	if _, err := f.Attempt(context.Background(), bad); !errors.As(err, &fe) || !errors.Is(err, ErrBadURL) {
		t.Fatalf("Attempt(ftp) = %v", err)
	}
}

// countEnds waits for fs and counts those cancelled before they started
// and those interrupted while running.
func countEnds(t *testing.T, fs []*Future[*Response]) (cancelled, interrupted int) {
	t.Helper()
	for _, fut := range fs {
		_, err := fut.Result()
		switch {
		case errors.Is(err, ErrCancelled):
			cancelled++
		case errors.Is(err, context.Canceled):
			interrupted++
		default:
			t.Fatalf("future ended with %v", err)
		}
	}
	return cancelled, interrupted
}

// TestFetcherCloseUnstarted closes Fetchers that never queued a fetch:
// nothing is started just to be stopped, and later submissions fail.
func TestFetcherCloseUnstarted(t *testing.T) {
	for name, stop := range map[string]func(f *Fetcher){
		"Close":    func(f *Fetcher) { f.Close() },
		"Stop":     func(f *Fetcher) { f.Stop() },
		"Shutdown": func(f *Fetcher) { f.Shutdown(context.Background()) },
	} {
		t.Run(name, func(t *testing.T) {
			f := &Fetcher{}
			stop(f)
			if f.stopped != nil {
				t.Fatal("closing started the dispatcher")
			}
			if _, err := f.Submit("http://127.0.0.1:1/").Result(); !errors.Is(err, ErrPoolClosed) {
				t.Fatalf("Submit after %s: %v", name, err)
			}
			f.Close()
			f.Stop()
		})
	}
}

// TestSubmitRequestHeaders checks that a queued request gets the
// Fetcher's headers on a copy, its caller's request unchanged, and that a
// request built without a header map is sent with them too.
func TestSubmitRequestHeaders(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, r.Header.Get("User-Agent"), "|", r.Header.Get("X-A"))
	})
	f := &Fetcher{UserAgent: "probe/1", Header: http.Header{"X-A": {"fetcher"}}}
	defer f.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/x", nil)
	resp, err := f.SubmitRequest(req).Result()
	if err != nil || string(resp.Body) != "probe/1|fetcher" || len(req.Header) != 0 {
		t.Fatalf("SubmitRequest = %+v, %v; the request's header %v", resp, err, req.Header)
	}
	bare := &http.Request{Method: http.MethodGet, URL: req.URL}
	if resp, err := f.SubmitRequest(bare).Result(); err != nil || string(resp.Body) != "probe/1|fetcher" {
		t.Fatalf("SubmitRequest without a header map = %+v, %v", resp, err)
	}
}

// BenchmarkAttempt sends conditional GETs answered 304 over one kept-alive
// connection: the per-request cost of the Fetcher around net/http's
// client, as a recrawl pays it.
func BenchmarkAttempt(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotModified)
	}))
	defer srv.Close()
	f := &Fetcher{MaxInFlight: 1}
	defer f.Close()
	u := srv.URL + "/page"
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header["If-None-Match"] = []string{`"p1"`}
		resp, err := f.Attempt(context.Background(), req)
		if err != nil || resp.StatusCode != http.StatusNotModified {
			b.Fatal(resp, err)
		}
	}
}

// TestSubmitNilRequest checks that a nil request, or one without a URL,
// fails as a bad URL in every way into a Fetcher instead of panicking.
func TestSubmitNilRequest(t *testing.T) {
	f := &Fetcher{}
	defer f.Close()
	ctx := context.Background()
	for _, req := range []*http.Request{nil, {Method: http.MethodGet}} {
		for _, way := range []struct {
			name string
			call func() error
		}{
			{"SubmitRequest", func() error { _, err := f.SubmitRequest(req).Result(); return err }},
			{"SubmitRequestCtx", func() error {
				fut, err := f.SubmitRequestCtx(ctx, req)
				if err != nil {
					return fmt.Errorf("SubmitRequestCtx returned no future: %w", err)
				}
				_, err = fut.Result()
				return err
			}},
			{"Do", func() error { _, err := f.Do(ctx, req); return err }},
			{"Attempt", func() error { _, err := f.Attempt(ctx, req); return err }},
		} {
			t.Run(fmt.Sprintf("%s/nil request %v", way.name, req == nil), func(t *testing.T) {
				var fe *FetchError
				if err := way.call(); !errors.As(err, &fe) || !errors.Is(err, ErrBadURL) {
					t.Fatalf("error %v, want a *FetchError wrapping ErrBadURL", err)
				}
			})
		}
	}
}
