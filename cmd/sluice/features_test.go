package main

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/proxytest"
)

// featureServer serves the pages the library-feature tests fetch.
func featureServer(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "session", Value: "s1", Path: "/"})
	})
	mux.HandleFunc("/cookies", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Header.Get("Cookie"))
	})
	mux.HandleFunc("/binary", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte{0xff, 0xfe, 0})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Path", r.URL.Path)
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, "<title>%s</title>", r.URL.Path)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestFetchCrawlProxy(t *testing.T) {
	srv := featureServer(t)
	for _, kind := range []struct {
		name string
		new  func(testing.TB) *proxytest.Proxy
	}{{"http", proxytest.NewHTTP}, {"socks5", proxytest.NewSOCKS5}} {
		for _, cmd := range []string{"fetch", "crawl"} {
			t.Run(kind.name+"/"+cmd, func(t *testing.T) {
				p := kind.new(t)
				code, out, errOut := runFetchCLI(context.Background(), "", cmd, "-q", "--proxy", p.URL, srv.URL+"/page")
				if code != 0 || !strings.Contains(out, `"status":200`) || p.Requests.Load() == 0 {
					t.Fatalf("exit %d, %d through the proxy\n%s%s", code, p.Requests.Load(), out, errOut)
				}
			})
		}
	}
	code, _, errOut := runFetchCLI(context.Background(), "", "fetch", "--proxy", "ftp://127.0.0.1:1", srv.URL)
	if code != 2 || !strings.Contains(errOut, `bad value "ftp://127.0.0.1:1" for --proxy: unsupported scheme "ftp"`) {
		t.Errorf("bad proxy: exit %d: %s", code, errOut)
	}
}

func TestCookies(t *testing.T) {
	srv := featureServer(t)
	jarFile := filepath.Join(t.TempDir(), "cookies.txt")
	host := strings.TrimPrefix(srv.URL, "http://")
	host = host[:strings.IndexByte(host, ':')]
	os.WriteFile(jarFile, []byte("# Netscape HTTP Cookie File\n"+
		host+"\tFALSE\t/\tFALSE\t0\tfromfile\tf1\n"+
		"#HttpOnly_"+host+"\tFALSE\t/\tFALSE\t0\thidden\th1\n"+
		host+"\tFALSE\t/\tFALSE\t1\texpired\tx\n"), 0o600)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no jar", []string{srv.URL + "/login", srv.URL + "/cookies"}, `"body":""`},
		{"--cookies", []string{"--cookies", srv.URL + "/login", srv.URL + "/cookies"}, `"body":"session=s1"`},
		{"-b name=value", []string{"-b", "a=1; b=2", srv.URL + "/cookies"}, `"body":"a=1; b=2"`},
		{"-b file", []string{"-b", jarFile, srv.URL + "/cookies"}, `"body":"fromfile=f1; hidden=h1"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"fetch", "-q", "-c", "1", "--ordered", "--include", "body"}, tc.args...)
			code, out, errOut := runFetchCLI(context.Background(), "", args...)
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if code != 0 || !strings.Contains(lines[len(lines)-1], tc.want) {
				t.Fatalf("exit %d; last record lacks %s:\n%s%s", code, tc.want, out, errOut)
			}
		})
	}
	code, _, errOut := runFetchCLI(context.Background(), "", "crawl", "-b", filepath.Join(t.TempDir(), "none"), srv.URL)
	if code != 2 || !strings.Contains(errOut, "--cookie") {
		t.Errorf("missing cookie file: exit %d: %s", code, errOut)
	}
}

func TestCrawlSeedsFromFile(t *testing.T) {
	srv := featureServer(t)
	seeds := filepath.Join(t.TempDir(), "seeds.txt")
	os.WriteFile(seeds, []byte(srv.URL+"/a\n# comment\n\n"+srv.URL+"/b\nnot-a-url\n"), 0o644)
	code, out, errOut := runFetchCLI(context.Background(), srv.URL+"/c\n", "crawl", "-i", seeds, "-i", "-", srv.URL+"/d")
	recs := decodeCrawl(t, out)
	got := map[string]bool{}
	for _, r := range recs {
		got[strings.TrimPrefix(r.URL, srv.URL)] = true
	}
	if code != 1 || len(recs) != 5 || !got["/a"] || !got["/b"] || !got["/c"] || !got["/d"] || !got["not-a-url"] {
		t.Fatalf("exit %d, records %v\n%s", code, got, errOut)
	}
}

func TestSaveAndInclude(t *testing.T) {
	srv := featureServer(t)
	dir := filepath.Join(t.TempDir(), "saved")
	urls := []string{srv.URL + "/", srv.URL + "/a/b.html", srv.URL + "/a", srv.URL + "/q?x=1&y=/../z", srv.URL + "/%2e%2e/%2e%2e/escape", srv.URL + "/binary",
		srv.URL + "/c/d", srv.URL + "/c%2Fd", srv.URL + "/r?s", srv.URL + "/r%3Fs"}
	code, out, errOut := runFetchCLI(context.Background(), "", append([]string{"fetch", "-q", "-c", "1", "--ordered", "--save", dir, "--include", "headers,body"}, urls...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	recs := decodeRecords(t, out)
	if len(recs) != len(urls) {
		t.Fatalf("%d records", len(recs))
	}
	for _, r := range recs {
		rel, err := filepath.Rel(dir, r.Saved)
		if err != nil || !filepath.IsLocal(rel) {
			t.Errorf("%s saved outside %s: %q", r.URL, dir, r.Saved)
			continue
		}
		data, err := os.ReadFile(r.Saved)
		if err != nil || len(data) != r.Bytes {
			t.Errorf("%s: saved %d bytes (%v), record says %d", r.URL, len(data), err, r.Bytes)
		}
		switch {
		case strings.HasSuffix(r.URL, "/binary"):
			if b, _ := base64.StdEncoding.DecodeString(r.BodyBase64); string(b) != string(data) || r.Body != nil {
				t.Errorf("binary body: %q / %v", r.BodyBase64, r.Body)
			}
		case r.Body == nil || *r.Body != string(data) || r.Headers.Get("X-Path") == "":
			t.Errorf("%s: included body %v, headers %v", r.URL, r.Body, r.Headers)
		}
	}
	// /a/b.html made a directory of a, so /a goes under %23, by a hash;
	// so do /c%2Fd and /r%3Fs, which would take the names of /c/d and /r?s.
	want := map[string]bool{"index.html": true, "a/b.html": true, "q%3Fx%3D1%26y%3D%2F..%2Fz": true, "%2E%2E/%2E%2E/escape": true, "binary": true,
		"c/d": true, "r%3Fs": true}
	found := map[string]bool{}
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, path)
			_, rest, _ := strings.Cut(rel, string(filepath.Separator))
			found[filepath.ToSlash(rest)] = true
		}
		return nil
	})
	for name := range want {
		if !found[name] {
			t.Errorf("no file %s; files %v", name, found)
		}
	}
	if len(found) != len(urls) {
		t.Errorf("%d files for %d URLs: %v", len(found), len(urls), found)
	}

	// crawl --save writes every page it fetched.
	crawlDir := t.TempDir()
	code, out, errOut = runFetchCLI(context.Background(), "", "crawl", "-q", "--save", crawlDir, srv.URL+"/p")
	if code != 0 || !strings.Contains(out, `"saved":"`+filepath.Join(crawlDir, strings.ReplaceAll(strings.TrimPrefix(srv.URL, "http://"), ":", "_"), "p")) {
		t.Fatalf("crawl --save: exit %d\n%s%s", code, out, errOut)
	}
}

func FuzzSaveName(f *testing.F) {
	for _, s := range []string{"http://h/", "http://h:80/a/../../b", "http://h/%2e%2e/x", "http://h/a?b=/../c", "http://H/./.", "http://h/" + strings.Repeat("x", 300), "http://h/a%2F..%2F..%2Fb", "http://h/a%3Fb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		name, err := saveName(raw)
		if err != nil {
			return
		}
		if !filepath.IsLocal(name) || strings.Contains(name, "..") && strings.Contains(name, string(filepath.Separator)+".."+string(filepath.Separator)) {
			t.Fatalf("saveName(%q) = %q escapes", raw, name)
		}
		for _, seg := range strings.Split(name, string(filepath.Separator)) {
			if seg == "" || seg == "." || seg == ".." || len(seg) > 200 {
				t.Fatalf("saveName(%q) = %q has segment %q", raw, name, seg)
			}
		}
	})
}

func FuzzNetscapeCookies(f *testing.F) {
	f.Add(".example.com\tTRUE\t/\tFALSE\t0\tn\tv\n#HttpOnly_h\tFALSE\t/p\tTRUE\t99999999999\tsid\t\n")
	f.Add("h\tFALSE\t/\tFALSE\tx\tn\tv\n")
	f.Fuzz(func(t *testing.T, in string) {
		cs, err := parseNetscapeCookies(strings.NewReader(in), time.Unix(1e9, 0))
		if err != nil {
			return
		}
		for _, c := range cs {
			if c.cookie.Name == "" || c.domain == "" || strings.HasPrefix(c.domain, ".") {
				t.Fatalf("cookie %+v from %q", c, in)
			}
		}
	})
}

// TestFetchHTTP2AndRetries checks that fetch speaks HTTP/2 over TLS by
// default and retries the library's default number of times.
func TestFetchHTTP2AndRetries(t *testing.T) {
	var proto, hits atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proto.Store(int32(r.ProtoMajor))
		if r.URL.Path == "/busy" {
			hits.Add(1)
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	srv.EnableHTTP2 = true
	srv.TLS = &tls.Config{}
	srv.StartTLS()
	defer srv.Close()
	code, out, errOut := runFetchCLI(context.Background(), "", "fetch", "-q", "-k", srv.URL+"/")
	if code != 0 || proto.Load() != 2 {
		t.Fatalf("exit %d, HTTP/%d\n%s%s", code, proto.Load(), out, errOut)
	}
	for _, tc := range []struct {
		args     []string
		attempts int
	}{{nil, 3}, {[]string{"--retries", "0"}, 1}} {
		hits.Store(0)
		_, out, _ := runFetchCLI(context.Background(), "", append(append([]string{"fetch", "-q", "-k"}, tc.args...), srv.URL+"/busy")...)
		if recs := decodeRecords(t, out); len(recs) != 1 || recs[0].Attempts != tc.attempts || int(hits.Load()) != tc.attempts {
			t.Errorf("%v: records %+v, %d hits; want %d attempts", tc.args, recs, hits.Load(), tc.attempts)
		}
	}
}

// TestCrawlSaveStrayPercent crawls, with --save, a link with a "%" that
// starts no escape: the page is fetched and saved, and the crawl goes on.
func TestCrawlSaveStrayPercent(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		if r.URL.Path == "/" {
			io.WriteString(w, `<a href="/100%">1</a>`)
			return
		}
		io.WriteString(w, r.RequestURI)
	}))
	defer srv.Close()
	dir := t.TempDir()
	code, out, errOut := runFetchCLI(context.Background(), "", "crawl", "-q", "--robots=false", "--save", dir, srv.URL+"/")
	recs := decodeCrawl(t, out)
	if code != 0 || len(recs) != 2 {
		t.Fatalf("exit %d, %d records\n%s%s", code, len(recs), out, errOut)
	}
	for _, r := range recs {
		if data, err := os.ReadFile(r.Saved); err != nil || strings.HasSuffix(r.URL, "/100%") && string(data) != "/100%25" {
			t.Errorf("%s: saved %q (%v)", r.URL, data, err)
		}
	}
}
