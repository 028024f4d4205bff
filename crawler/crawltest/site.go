// Package crawltest serves synthetic web sites for testing and measuring
// crawlers, in the manner of net/http/httptest: a Site is an http.Handler
// whose pages link to each other in several equivalent spellings, and
// which counts every fetch so that a test can tell duplicate fetches from
// unique ones.
package crawltest

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Site is a synthetic site of Pages pages at /p/0 … /p/{Pages-1}. Page 0
// is the home page; every page links to the next one, so all are reachable
// from /p/0, and to Links-1 others picked by a fixed hash. Each link is
// written in one of several spellings that a browser resolves to the same
// URL (absolute, scheme-relative, relative, with dot segments, a fragment,
// an upper-case scheme or host, surrounding spaces, character references),
// so a crawler that does not canonicalise links fetches pages twice.
//
// The site also serves /robots.txt (which disallows /private/ and lists
// /sitemap.xml) and /sitemap.xml (the first 1,000 pages).
//
// Create a Site with NewSite; its methods are safe for concurrent use.
type Site struct {
	// Latency is added to every response. Zero means none.
	Latency time.Duration
	// Validators gives each page an ETag and a Last-Modified, and answers
	// a request that presents either (If-None-Match, If-Modified-Since)
	// with 304 Not Modified and no body, as a site that has not changed.
	Validators bool
	// Filler is the length in bytes of the paragraph of plain text each
	// page has before its links; 0 means 1,710 bytes (a page of about
	// 2.3 KB with 10 links). Set it before the site serves.
	Filler int

	pages, links int
	filler       string
	fillerOnce   sync.Once
	fetches      []atomic.Uint32
	other        atomic.Int64
	notModified  atomic.Int64
	bodyBytes    atomic.Int64
	inFlight     atomic.Int64
	peak         atomic.Int64
}

// NewSite returns a site of pages pages with links links each (at least 1).
func NewSite(pages, links int) *Site {
	pages = max(pages, 1)
	links = max(links, 1)
	return &Site{
		pages:   pages,
		links:   links,
		filler:  strings.Repeat(loremSentence, 30),
		fetches: make([]atomic.Uint32, pages),
	}
}

const loremSentence = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. "

// paragraph returns the text of every page's paragraph.
func (s *Site) paragraph() string {
	s.fillerOnce.Do(func() {
		if s.Filler > 0 {
			s.filler = strings.Repeat(loremSentence, s.Filler/len(loremSentence)+1)[:s.Filler]
		}
	})
	return s.filler
}

// Pages returns the number of pages of the site.
func (s *Site) Pages() int { return s.pages }

// Fetches reports how many page fetches the site has served: unique counts
// pages fetched at least once, duplicates counts fetches beyond the first of
// a page. Fetches of robots.txt, the sitemap and unknown paths are not
// counted.
func (s *Site) Fetches() (unique, duplicates int) {
	for i := range s.fetches {
		if n := int(s.fetches[i].Load()); n > 0 {
			unique++
			duplicates += n - 1
		}
	}
	return unique, duplicates
}

// PeakInFlight returns the largest number of requests the site was serving
// at once.
func (s *Site) PeakInFlight() int { return int(s.peak.Load()) }

// Link returns the target of the k-th link of page id.
func (s *Site) Link(id, k int) int {
	if k == 0 {
		return (id + 1) % s.pages
	}
	h := uint64(id)*0x9E3779B97F4A7C15 + uint64(k)*0xBF58476D1CE4E5B9
	h ^= h >> 31
	return int(h % uint64(s.pages))
}

// ServeHTTP serves the site.
func (s *Site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	for p := s.peak.Load(); n > p && !s.peak.CompareAndSwap(p, n); p = s.peak.Load() {
	}
	if s.Latency > 0 {
		time.Sleep(s.Latency)
	}
	switch r.URL.Path {
	case "/robots.txt":
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "User-agent: *\nDisallow: /private/\n\nSitemap: http://%s/sitemap.xml\n", r.Host)
		return
	case "/sitemap.xml":
		w.Header().Set("Content-Type", "application/xml")
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">`)
		for i := range min(s.pages, 1000) {
			fmt.Fprintf(w, "<url><loc>http://%s/p/%d</loc></url>\n", r.Host, i)
		}
		fmt.Fprint(w, "</urlset>\n")
		return
	}
	id, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/p/"))
	if !strings.HasPrefix(r.URL.Path, "/p/") || err != nil || id < 0 || id >= s.pages || r.URL.RawQuery != "" {
		s.other.Add(1)
		http.NotFound(w, r)
		return
	}
	s.fetches[id].Add(1)
	if s.Validators && s.validate(w, r, id) {
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	var b strings.Builder
	text := s.paragraph()
	b.Grow(len(text) + 2048)
	fmt.Fprintf(&b, "<!DOCTYPE html>\n<html><head><title>Page %d</title></head>\n<body><h1>Page %d</h1>\n<p>%s</p>\n<ul>\n", id, id, text)
	for k := range s.links {
		t := s.Link(id, k)
		fmt.Fprintf(&b, "<li><a href=\"%s\">page %d</a></li>\n", s.spell(r.Host, t, id+k), t)
	}
	b.WriteString("</ul>\n</body></html>\n")
	s.bodyBytes.Add(int64(b.Len()))
	w.Write([]byte(b.String()))
}

// lastModified is the Last-Modified of every page of a Site with
// Validators.
const lastModified = "Mon, 02 Jan 2006 15:04:05 GMT"

// validate sets page id's validators and answers 304 if the request
// presents them, reporting whether it did.
func (s *Site) validate(w http.ResponseWriter, r *http.Request, id int) bool {
	etag := `"p` + strconv.Itoa(id) + `"`
	w.Header().Set("ETag", etag)
	w.Header().Set("Last-Modified", lastModified)
	inm, ims := r.Header.Get("If-None-Match"), r.Header.Get("If-Modified-Since")
	if inm == etag || inm == "" && ims == lastModified {
		s.notModified.Add(1)
		w.WriteHeader(http.StatusNotModified)
		return true
	}
	return false
}

// NotModified returns the number of 304 Not Modified answers served.
func (s *Site) NotModified() int { return int(s.notModified.Load()) }

// BodyBytes returns the bytes of page bodies served.
func (s *Site) BodyBytes() int64 { return s.bodyBytes.Load() }

// spell writes a link to page t from a page under /p/ in the v-th spelling.
func (s *Site) spell(host string, t, v int) string {
	switch v % 10 {
	case 0:
		return "/p/" + strconv.Itoa(t)
	case 1:
		return "http://" + host + "/p/" + strconv.Itoa(t)
	case 2:
		return strconv.Itoa(t) // relative to /p/
	case 3:
		return "../p/" + strconv.Itoa(t)
	case 4:
		return "/p/" + strconv.Itoa(t) + "#section-2"
	case 5:
		return "//" + host + "/p/" + strconv.Itoa(t)
	case 6:
		return "/x/../p/./" + strconv.Itoa(t)
	case 7:
		return "HTTP://" + strings.ToUpper(host) + "/p/" + strconv.Itoa(t)
	case 8:
		return " /p/" + strconv.Itoa(t) + "\t"
	default:
		return "&#47;p&#x2F;" + strconv.Itoa(t)
	}
}
