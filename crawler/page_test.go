package crawler

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// TestPageFollow adds URLs from visit that are not links of the page: they
// go through scope, robots.txt and the seen-set like links do.
func TestPageFollow(t *testing.T) {
	var mu sync.Mutex
	served := map[string]int{}
	mux := http.NewServeMux()
	mux.HandleFunc("/robots.txt", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "User-agent: *\nDisallow: /private/\n")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		served[r.URL.Path]++
		mu.Unlock()
		w.Header().Set("Content-Type", "text/html")
		switch r.URL.Path {
		case "/":
			fmt.Fprint(w, `<base href="/dir/"><div data-next="next">no links here</div><a href="linked">l</a>`)
		default:
			fmt.Fprint(w, `<title>leaf</title>`)
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	var errs []error
	var kept *Page
	got := map[string]*Page{}
	c := &Crawler{MaxInFlight: 2}
	err := c.Crawl(context.Background(), []string{srv.URL + "/"}, func(p *Page) error {
		got[p.URL] = p
		if p.URL != srv.URL+"/" {
			return nil
		}
		kept = p
		doc, err := p.Document()
		if err != nil {
			return err
		}
		next, _ := doc.Find("div").Attr("data-next")
		errs = append(errs,
			p.Follow(next),                        // /dir/next, against <base href>
			p.Follow("next#again"),                // the same URL: fetched once
			p.Enqueue(srv.URL+"/dir/next"),        // and again
			p.Enqueue(srv.URL+"/private/x"),       // admitted, then denied by robots.txt
			p.Follow("http://elsewhere.example/"), // out of scope
			p.Enqueue("relative"),                 // not absolute
		)
		return SkipLinks // the page's own links are skipped; the follows are not
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []error{nil, nil, nil, nil, ErrOutOfScope, ErrBadURL} {
		if want == nil && errs[i] != nil || want != nil && !errors.Is(errs[i], want) {
			t.Errorf("call %d: %v, want %v", i, errs[i], want)
		}
	}
	if err := kept.Follow("later"); err == nil {
		t.Error("Follow after visit returned was accepted")
	}
	next := got[srv.URL+"/dir/next"]
	if next == nil || next.Depth != 1 || next.Parent != srv.URL+"/" || next.Title != "leaf" {
		t.Fatalf("followed page: %+v", next)
	}
	if p := got[srv.URL+"/private/x"]; p == nil || !errors.Is(p.Err, ErrRobots) {
		t.Errorf("enqueued private page: %+v", p)
	}
	if _, ok := got[srv.URL+"/dir/linked"]; ok {
		t.Error("a link of a page whose visit returned SkipLinks was followed")
	}
	if served["/dir/next"] != 1 || served["/private/x"] != 0 || len(got) != 3 {
		t.Errorf("served %v; visited %d pages", served, len(got))
	}
}

func TestPageResolve(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<base href="https://cdn.example/a/b/">`)
	}))
	defer srv.Close()
	var got []string
	err := Crawl(context.Background(), []string{srv.URL + "/x/y"}, func(p *Page) error {
		for _, h := range []string{"c", "../d?q=1#frag", "/e", "HTTPS://Other.Example:443/f"} {
			u, err := p.Resolve(h)
			if err != nil {
				return err
			}
			got = append(got, u)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"https://cdn.example/a/b/c", "https://cdn.example/a/d?q=1", "https://cdn.example/e", "https://other.example/f"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("resolved %q, want %q", got, want)
	}
	// A Page made by hand resolves against its URL.
	if u, err := (&Page{URL: "http://h.example/a/b"}).Resolve("c#x"); err != nil || u != "http://h.example/a/c" {
		t.Errorf("hand-made page: %q, %v", u, err)
	}
}

// TestDocumentCharset checks that Document decodes an ISO-8859-1 page to
// UTF-8 and carries the page's URL.
func TestDocumentCharset(t *testing.T) {
	for _, tc := range []struct{ name, ct, body string }{
		{"header", "text/html; charset=iso-8859-1", "<title>caf\xe9</title><p>na\xefve</p>"},
		{"meta", "text/html", "<meta charset=iso-8859-1><title>caf\xe9</title><p>na\xefve</p>"},
		{"utf-8", "text/html; charset=utf-8", "<title>café</title><p>naïve</p>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tc.ct)
				fmt.Fprint(w, tc.body)
			}))
			defer srv.Close()
			err := Crawl(context.Background(), []string{srv.URL + "/p"}, func(p *Page) error {
				doc, err := p.Document()
				if err != nil {
					return err
				}
				title, para := doc.Find("title").Text(), doc.Find("p").Text()
				if title != "café" || para != "naïve" || !utf8.ValidString(title) || p.Title != "café" {
					t.Errorf("title %q, p %q, Page.Title %q", title, para, p.Title)
				}
				if doc.Url == nil || doc.Url.String() != srv.URL+"/p" {
					t.Errorf("document Url %v", doc.Url)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestPageResolveAfterVisit resolves hrefs on a page during visit, on a
// goroutine visit started, and after Crawl has returned: all three give
// the crawl's answer (its SortQuery and StripTracking applied). After visit
// returned, Resolve used net/url's rules instead, and a goroutine's call
// raced with the crawl.
func TestPageResolveAfterVisit(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<title>x</title>`)
	}))
	defer srv.Close()
	const href = "../d/./e?utm_source=x&b=2&a=1#frag"
	want := srv.URL + "/d/e?a=1&b=2"
	var (
		page   *Page
		during string
		later  = make(chan string, 1)
	)
	c := &Crawler{SortQuery: true, StripTracking: true}
	err := c.Crawl(context.Background(), []string{srv.URL + "/x/y"}, func(p *Page) error {
		page = p
		var err error
		during, err = p.Resolve(href)
		go func() {
			time.Sleep(10 * time.Millisecond) // after visit has returned
			u, _ := p.Resolve(href)
			later <- u
		}()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	after, err := page.Resolve(href)
	if err != nil {
		t.Fatal(err)
	}
	if got := []string{during, <-later, after}; got[0] != want || got[1] != want || got[2] != want {
		t.Fatalf("resolved during visit, on its goroutine and after Crawl: %q; want %q each time", got, want)
	}
}
