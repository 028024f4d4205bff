package sluice

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/hostile"
)

// TestFetchHostile checks what a Fetcher does against each misbehaving
// endpoint of the hostile server: every fetch ends, with an error or a
// capped body, within its timeout.
func TestFetchHostile(t *testing.T) {
	srv := hostile.New(hostile.Config{})
	defer srv.Close()
	tlsSrv := hostile.NewTLS(hostile.Config{})
	defer tlsSrv.Close()
	f := &Fetcher{Timeout: 2 * time.Second, MaxBody: 1 << 20, MaxInFlight: 8}
	defer f.Close()
	for _, tc := range []struct {
		path      string
		wantErr   string // substring of the error; "" means a response
		truncated bool
	}{
		{"/slowloris?every=20ms", "deadline exceeded", false},
		{"/stall", "deadline exceeded", false},
		{"/endless", "", true},
		{"/lie?length=100000&send=10", "unexpected EOF", false},
		{"/reset", "reset", false},
		{"/gzip?size=1073741824", "", true},
		{"/statusline", "malformed HTTP status code", false},
		{"/badheader", "malformed MIME header", false},
		{"/loop", "redirects", false},
		{"tls:/ok", "certificate", false},
	} {
		t.Run(tc.path, func(t *testing.T) {
			u := srv.URL + tc.path
			if rest, ok := strings.CutPrefix(tc.path, "tls:"); ok {
				u = tlsSrv.URL + rest
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			resp, err := f.Fetch(ctx, u)
			if ctx.Err() != nil {
				t.Fatalf("fetch outlived its timeout: %v", err)
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				var fe *FetchError
				if !errors.As(err, &fe) {
					t.Fatalf("err is %T, want *FetchError", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if resp.Truncated != tc.truncated || int64(len(resp.Body)) != f.maxBody() {
				t.Fatalf("truncated %v, %d bytes; want %v, %d", resp.Truncated, len(resp.Body), tc.truncated, f.maxBody())
			}
		})
	}
}

// TestFetchGzipBombsBounded fetches gzip bombs of 1 GiB each, 16 at once:
// the heap stays within what 16 capped bodies take, whatever they inflate
// to.
func TestFetchGzipBombsBounded(t *testing.T) {
	srv := hostile.New(hostile.Config{})
	defer srv.Close()
	const n, maxBody = 16, 1 << 20
	f := &Fetcher{Timeout: 10 * time.Second, MaxBody: maxBody, MaxInFlight: n}
	defer f.Close()
	peak := hostile.HeapPeak(func() {
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				resp, err := f.Fetch(context.Background(), srv.URL+"/gzip?size=1073741824")
				if err != nil || !resp.Truncated {
					t.Errorf("fetch: %v", err)
				}
			})
		}
		wg.Wait()
	})
	// Each capped body is read through a buffer that may double once.
	if budget := uint64(n * maxBody * 4); peak > budget {
		t.Fatalf("heap peak %d MiB, budget %d MiB", peak>>20, budget>>20)
	}
	t.Logf("heap peak %.1f MiB for %d bombs", float64(peak)/(1<<20), n)
}
