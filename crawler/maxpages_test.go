package crawler

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/sluicehq/sluice/crawler/crawltest"
)

// TestMaxPagesSkipsRobotsDenials checks that URLs robots.txt denies get
// their records without using up MaxPages: the pages found later are
// still fetched.
func TestMaxPagesSkipsRobotsDenials(t *testing.T) {
	srv := deniedSite()
	defer srv.Close()

	c := &Crawler{MaxInFlight: 1, MaxPages: 5}
	var mu sync.Mutex
	fetched, denied := 0, 0
	err := c.Crawl(context.Background(), []string{srv.URL + "/"}, func(p *Page) error {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case errors.Is(p.Err, ErrRobots):
			denied++
		case p.Err == nil:
			fetched++
		default:
			t.Errorf("%s: %v", p.URL, p.Err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if fetched != 5 || denied != 3 {
		t.Fatalf("%d pages fetched and %d denied, want 5 and 3", fetched, denied)
	}
}

// TestMaxPagesCountsLinksPast checks that the links not taken in because
// MaxPages was reached are counted as such, not as out of scope.
func TestMaxPagesCountsLinksPast(t *testing.T) {
	site := crawltest.NewSite(500, 10)
	srv := httptest.NewServer(site)
	defer srv.Close()
	c := &Crawler{MaxInFlight: 4, MaxPages: 50}
	pages, err := crawlAll(t, c, srv.URL+"/p/0")
	if err != nil {
		t.Fatal(err)
	}
	st := c.Stats()
	if len(pages) != 50 || st.OverMaxPages == 0 || st.OutOfScope != 0 {
		t.Fatalf("%d pages, %d links past MaxPages, %d out of scope; want 50, some, 0", len(pages), st.OverMaxPages, st.OutOfScope)
	}
}

// deniedSite serves a site whose robots.txt denies /private/: its home
// page links to three private pages and to /pub/0, and each /pub/k to
// /pub/k+1.
func deniedSite() *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/robots.txt", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "User-agent: *\nDisallow: /private/\n")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		if r.URL.Path == "/" {
			fmt.Fprint(w, `<a href="/private/0">x</a><a href="/private/1">x</a><a href="/private/2">x</a><a href="/pub/0">p</a>`)
			return
		}
		k, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/pub/"))
		fmt.Fprintf(w, `<a href="/pub/%d">next</a>`, k+1)
	})
	return httptest.NewServer(mux)
}
