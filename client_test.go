package sluice

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/sluicehq/sluice/internal/proxytest"
)

func TestFetcherProxy(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "target")
	}))
	defer target.Close()
	for _, tc := range []struct {
		name  string
		proxy func(testing.TB) *proxytest.Proxy
	}{{"http", proxytest.NewHTTP}, {"socks5", proxytest.NewSOCKS5}} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.proxy(t)
			u, _ := url.Parse(p.URL)
			f := &Fetcher{Proxy: u}
			defer f.Close()
			resp, err := f.Fetch(context.Background(), target.URL+"/x")
			if err != nil || string(resp.Body) != "target" {
				t.Fatalf("fetch through the proxy: %v", err)
			}
			if p.Requests.Load() == 0 {
				t.Fatal("the request did not go through the proxy")
			}
		})
	}
}

func TestFetcherJar(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/login" {
			http.SetCookie(w, &http.Cookie{Name: "session", Value: "s1", Path: "/"})
			return
		}
		c, _ := r.Cookie("session")
		if c != nil {
			io.WriteString(w, c.Value)
		}
	}))
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	for _, tc := range []struct {
		jar  http.CookieJar
		want string
	}{{nil, ""}, {jar, "s1"}} {
		f := &Fetcher{Jar: tc.jar}
		if _, err := f.Fetch(context.Background(), srv.URL+"/login"); err != nil {
			t.Fatal(err)
		}
		resp, err := f.Fetch(context.Background(), srv.URL+"/page")
		if err != nil || string(resp.Body) != tc.want {
			t.Errorf("jar %v: cookie %q (%v), want %q", tc.jar != nil, resp.Body, err, tc.want)
		}
		f.Close()
	}
}

// TestFetcherHTTP2 checks that a Fetcher's own client speaks HTTP/2 to a
// TLS server that offers it.
func TestFetcherHTTP2(t *testing.T) {
	var proto atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proto.Store(int32(r.ProtoMajor))
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	f := &Fetcher{TLSConfig: &tls.Config{RootCAs: roots}}
	defer f.Close()
	if _, err := f.Fetch(context.Background(), srv.URL); err != nil {
		t.Fatal(err)
	}
	if proto.Load() != 2 {
		t.Fatalf("HTTP/%d, want HTTP/2", proto.Load())
	}
}

// TestFetcherDefaultRetries checks that the zero value retries
// DefaultRetries times and a negative Retries not at all.
func TestFetcherDefaultRetries(t *testing.T) {
	for _, tc := range []struct {
		retries, attempts, status int
	}{{0, DefaultRetries + 1, 200}, {-1, 1, 503}, {1, 2, 503}} {
		var hits atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if hits.Add(1) <= int32(DefaultRetries) {
				w.Header().Set("Retry-After", "0")
				w.WriteHeader(http.StatusServiceUnavailable)
			}
		}))
		f := &Fetcher{Retries: tc.retries}
		resp, err := f.Fetch(context.Background(), srv.URL)
		f.Close()
		srv.Close()
		if err != nil || resp.Attempts != tc.attempts || resp.StatusCode != tc.status {
			t.Errorf("Retries %d: %v; want %d attempts ending in %d", tc.retries, err, tc.attempts, tc.status)
			continue
		}
	}
}
