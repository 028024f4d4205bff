package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/publicsuffix"
)

func TestCappedJar(t *testing.T) {
	u := func(s string) *url.URL {
		v, err := url.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	many := func(prefix string, n int) []*http.Cookie {
		cs := make([]*http.Cookie, n)
		for i := range cs {
			cs[i] = &http.Cookie{Name: fmt.Sprintf("%s%d", prefix, i), Value: "v", Path: "/"}
		}
		return cs
	}
	for _, tc := range []struct {
		name string
		set  func(j *cappedJar)
		at   string
		want int // cookies sent to at
	}{
		{"a site's cap", func(j *cappedJar) { j.SetCookies(u("http://a.example/"), many("c", 300)) }, "http://a.example/", maxSiteCookies},
		{"subdomains share their site's", func(j *cappedJar) {
			for i := range 10 {
				j.SetCookies(u(fmt.Sprintf("http://h%d.a.example/", i)), append(many(fmt.Sprint("h", i, "_"), 30), &http.Cookie{Name: fmt.Sprint("d", i), Value: "v", Domain: "a.example"}))
			}
		}, "http://h0.a.example/", 30 + 5}, // h0 to h4 fill 155 of the 180; h5 25 more, its domain cookie past the cap
		{"paths not given share it too", func(j *cappedJar) {
			for i := range 300 {
				j.SetCookies(u(fmt.Sprintf("http://a.example/%d/x", i)), []*http.Cookie{{Name: "c", Value: "v"}})
			}
		}, "http://a.example/0/x", 1},
		{"an update past the cap", func(j *cappedJar) {
			j.SetCookies(u("http://a.example/"), many("c", 300))
			j.SetCookies(u("http://a.example/"), []*http.Cookie{{Name: "c0", Value: "new", Path: "/"}})
		}, "http://a.example/", maxSiteCookies},
		{"a deletion makes room", func(j *cappedJar) {
			j.SetCookies(u("http://a.example/"), many("c", 300))
			j.SetCookies(u("http://a.example/"), []*http.Cookie{{Name: "c0", Path: "/", MaxAge: -1}, {Name: "late", Value: "v", Path: "/"}})
		}, "http://a.example/", maxSiteCookies},
		{"an oversized cookie", func(j *cappedJar) {
			j.SetCookies(u("http://a.example/"), []*http.Cookie{{Name: "big", Value: strings.Repeat("x", maxCookieBytes)}})
		}, "http://a.example/", 0},
		{"another site's domain takes no room", func(j *cappedJar) {
			for i := range 300 {
				j.SetCookies(u("http://evil.example/"), []*http.Cookie{{Name: fmt.Sprint("x", i), Value: "v", Domain: "b.example"}})
			}
			j.SetCookies(u("http://b.example/"), many("c", 10))
		}, "http://b.example/", 10},
		// Max-Age wins over Expires, as in the jar: such cookies were
		// taken for deletions, took no place and passed the cap.
		{"Max-Age with an Expires gone by", func(j *cappedJar) {
			cs := many("c", 300)
			for _, c := range cs {
				c.MaxAge, c.Expires = 3600, time.Unix(0, 0)
			}
			j.SetCookies(u("http://a.example/"), cs)
		}, "http://a.example/", maxSiteCookies},
		// Cookies that expired give their places back. The jar beneath
		// runs on the real clock, which has not moved: it still sends the
		// 180, and the one kept after them.
		{"expired cookies make room", func(j *cappedJar) {
			now := time.Now()
			j.now = func() time.Time { return now }
			cs := many("c", maxSiteCookies)
			for _, c := range cs {
				c.MaxAge = 60
			}
			j.SetCookies(u("http://a.example/"), cs)
			j.SetCookies(u("http://a.example/"), many("early", 1))
			now = now.Add(2 * time.Minute)
			j.SetCookies(u("http://a.example/"), many("late", 1))
		}, "http://a.example/", maxSiteCookies + 1},
		{"the jar's cap", func(j *cappedJar) {
			for i := range 40 {
				j.SetCookies(u(fmt.Sprintf("http://s%d.example/", i)), many("c", 100))
			}
		}, "http://s39.example/", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inner, err := cookiejar.New(&cookiejar.Options{PublicSuffixList: publicsuffix.List})
			if err != nil {
				t.Fatal(err)
			}
			j := newCappedJar(inner)
			tc.set(j)
			if got := len(j.Cookies(u(tc.at))); got != tc.want {
				t.Errorf("%d cookies sent to %s, want %d", got, tc.at, tc.want)
			}
			if j.n > maxCookiesInJar {
				t.Errorf("%d cookies kept, cap %d", j.n, maxCookiesInJar)
			}
		})
	}
}

// TestCrawlCookiesBounded crawls pages that each set 200 new cookies: the
// jar keeps a browser's share, and the Cookie header sent back stops
// growing.
func TestCrawlCookiesBounded(t *testing.T) {
	var mu sync.Mutex
	most := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		most = max(most, len(r.Cookies()))
		mu.Unlock()
		var n int
		fmt.Sscanf(r.URL.Path, "/p/%d", &n)
		for i := range 200 {
			w.Header().Add("Set-Cookie", fmt.Sprintf("c%d_%d=v; Path=/", n, i))
		}
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<a href="/p/%d">next</a>`, n+1)
	}))
	defer srv.Close()
	code, out, errOut := runFetchCLI(context.Background(), "", "crawl", "-q", "--robots=false", "--cookies", "--max-pages", "5", srv.URL+"/p/0")
	if code != 0 || strings.Count(out, "\n") != 5 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	if most != maxSiteCookies {
		t.Errorf("at most %d cookies sent back, want %d", most, maxSiteCookies)
	}
}
