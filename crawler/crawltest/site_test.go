package crawltest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestSite(t *testing.T) {
	site := NewSite(100, 10)
	srv := httptest.NewServer(site)
	defer srv.Close()
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := get("/p/7")
	if code != 200 || !strings.Contains(body, "<title>Page 7</title>") || strings.Count(body, "<a href=") != 10 {
		t.Fatalf("page 7: %d\n%s", code, body)
	}
	get("/p/7")
	get("/p/8")
	for _, p := range []string{"/p/100", "/p/-1", "/p/x", "/p/1?x=1", "/nope"} {
		if code, _ := get(p); code != 404 {
			t.Errorf("%s: status %d, want 404", p, code)
		}
	}
	if code, body := get("/robots.txt"); code != 200 || !strings.Contains(body, "Disallow: /private/") {
		t.Errorf("robots.txt: %d %q", code, body)
	}
	if code, body := get("/sitemap.xml"); code != 200 || strings.Count(body, "<loc>") != 100 {
		t.Errorf("sitemap: %d, %d locs", code, strings.Count(body, "<loc>"))
	}
	if u, d := site.Fetches(); u != 2 || d != 1 {
		t.Errorf("fetches: %d unique, %d duplicates; want 2 and 1", u, d)
	}
	if site.PeakInFlight() < 1 {
		t.Error("peak in flight not counted")
	}
	if site.Link(5, 0) != 6 || site.Link(99, 0) != 0 {
		t.Error("link 0 is not the next page")
	}
}

func TestSiteFiller(t *testing.T) {
	for _, n := range []int{0, 1, 30000} {
		site := NewSite(10, 3)
		site.Filler = n
		srv := httptest.NewServer(site)
		resp, err := http.Get(srv.URL + "/p/1")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		srv.Close()
		body := string(b)
		start, end := strings.Index(body, "<p>"), strings.Index(body, "</p>")
		want := n
		if n == 0 {
			want = 30 * len(loremSentence)
		}
		if start < 0 || end-start-3 != want || strings.Count(body, "<a href=") != 3 {
			t.Errorf("Filler %d: paragraph of %d bytes, want %d\n%.300s", n, end-start-3, want, body)
		}
	}
}
