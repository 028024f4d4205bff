package sluice

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
	"github.com/sluicehq/sluice/internal/hostile"
)

// encode applies the content coding c to b.
func encode(t testing.TB, c string, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w io.WriteCloser
	switch c {
	case "gzip", "x-gzip":
		w = gzip.NewWriter(&buf)
	case "deflate":
		w = zlib.NewWriter(&buf)
	case "raw deflate":
		w, _ = flate.NewWriter(&buf, flate.BestCompression)
	case "br":
		w = brotli.NewWriterLevel(&buf, brotli.DefaultCompression)
	case "zstd":
		zw, err := zstd.NewWriter(&buf, zstd.WithEncoderConcurrency(1))
		if err != nil {
			t.Fatal(err)
		}
		w = zw
	case "empty":
		return nil
	default:
		return b
	}
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestFetchContentEncodings fetches bodies in each content coding with the
// caller's own Accept-Encoding, as a browser's header given with -H sends:
// the transport then decodes none of them, and the Fetcher does.
func TestFetchContentEncodings(t *testing.T) {
	const page = "<html><title>coded</title><a href=/next>next</a></html>"
	for _, tc := range []struct {
		header  string   // Content-Encoding sent
		codings []string // applied in this order
		want    string
		coded   bool // the body is left coded, and its header kept
	}{
		{"gzip", []string{"gzip"}, page, false},
		{"x-gzip", []string{"gzip"}, page, false},
		{"deflate", []string{"deflate"}, page, false},
		{"Deflate", []string{"raw deflate"}, page, false},
		{"br", []string{"br"}, page, false},
		{"zstd", []string{"zstd"}, page, false},
		{"gzip, br", []string{"gzip", "br"}, page, false},
		{"identity", nil, page, false},
		{"compress", nil, page, true},
		{"gzip, empty body", []string{"empty"}, "", true},
		{"br, empty body", []string{"empty"}, "", true},
	} {
		t.Run(tc.header, func(t *testing.T) {
			body := []byte(page)
			for _, c := range tc.codings {
				body = encode(t, c, body)
			}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				enc, _, _ := strings.Cut(tc.header, ", empty")
				w.Header().Set("Content-Encoding", enc)
				w.Write(body)
			}))
			defer srv.Close()
			f := &Fetcher{Header: http.Header{"Accept-Encoding": {"gzip, deflate, br, zstd"}}}
			defer f.Close()
			resp, err := f.Fetch(context.Background(), srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			if string(resp.Body) != tc.want || resp.BodySize != int64(len(tc.want)) {
				t.Errorf("body %q (%d bytes), want %q", resp.Body, resp.BodySize, tc.want)
			}
			if got := resp.Header.Get("Content-Encoding"); (got != "") != tc.coded {
				t.Errorf("Content-Encoding %q left in the header", got)
			}
		})
	}
}

// TestFetchContentEncodingBroken fetches a body whose gzip header is
// garbage: the fetch fails, naming the coding.
func TestFetchContentEncodingBroken(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Write([]byte("not gzip at all"))
	}))
	defer srv.Close()
	f := &Fetcher{Header: http.Header{"Accept-Encoding": {"gzip"}}, Retries: -1}
	defer f.Close()
	_, err := f.Fetch(context.Background(), srv.URL)
	var fe *FetchError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "Content-Encoding gzip: ") {
		t.Fatalf("err = %v, want a *FetchError naming the coding", err)
	}
}

// TestFetchContentEncodingBombsBounded fetches bodies that inflate to
// 16 times MaxBody in each coding: each is cut at MaxBody, and the heap
// stays within a few bodies' worth.
func TestFetchContentEncodingBombsBounded(t *testing.T) {
	const maxBody = 1 << 20
	zeros := make([]byte, 16*maxBody)
	bombs := map[string][]byte{}
	for _, c := range []string{"gzip", "deflate", "br", "zstd"} {
		bombs[c] = encode(t, c, zeros)
	}
	zeros = nil
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := r.URL.Query().Get("c")
		w.Header().Set("Content-Encoding", c)
		w.Write(bombs[c])
	}))
	defer srv.Close()
	f := &Fetcher{Timeout: 20 * time.Second, MaxBody: maxBody, Header: http.Header{"Accept-Encoding": {"gzip, deflate, br, zstd"}}}
	defer f.Close()
	peak := hostile.HeapPeak(func() {
		var wg sync.WaitGroup
		for c := range bombs {
			wg.Go(func() {
				resp, err := f.Fetch(context.Background(), srv.URL+"/?c="+c)
				if err != nil || !resp.Truncated || resp.BodySize != maxBody {
					t.Errorf("%s: %v", c, err)
				}
			})
		}
		wg.Wait()
	})
	// A capped body may double once in its buffer; a zstd window is
	// at most zstdMaxWindow, and brotli's 16 MiB.
	if budget := uint64(len(bombs)*maxBody*4 + zstdMaxWindow + 16<<20); peak > budget {
		t.Fatalf("heap peak %d MiB, budget %d MiB", peak>>20, budget>>20)
	}
}
