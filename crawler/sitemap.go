// This file holds sitemaps: their fetch and their parsing.

package crawler

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/xml"
	"io"
	"strings"

	"golang.org/x/net/html/charset"
)

// fetchSitemap fetches a sitemap or sitemap index and returns the URLs in
// scope that it lists.
func (p *pipeline) fetchSitemap(ctx context.Context, j *job) *result {
	r := &result{j: j}
	resp, err := p.fetchFollowing(ctx, j.url)
	if err != nil || resp.StatusCode/100 != 2 {
		return r
	}
	// The body and the parse's working set count in the crawl's byte
	// budget, with the pages waiting to be parsed and visited.
	release := p.charge(int64(len(resp.Body)) + 4*sitemapMaxRun)
	pages, sitemaps := parseSitemap(resp.Body, sitemapMaxURLs)
	release()
	for _, loc := range sitemaps {
		if u, err := p.cz.resolve(j.url, loc); err == nil {
			r.sitemaps = append(r.sitemaps, u)
		}
	}
	for _, loc := range pages {
		if u, err := p.cz.resolve(j.url, loc); err == nil && p.inScope(u) {
			r.locs = append(r.locs, u)
		}
	}
	return r
}

// parseSitemap reads a sitemap (<urlset>) or sitemap index
// (<sitemapindex>), plain or gzipped, and returns the <loc> values of its
// pages and of the sitemaps it lists, at most limit of each, as written
// but trimmed. Malformed XML ends the reading, keeping what came before;
// a gzipped body is read to parseBudget bytes at most. Memory does not grow
// with what the body inflates to: runs of text or markup longer than
// sitemapMaxRun are cut before the decoder sees them, so no token it
// builds is larger.
func parseSitemap(body []byte, limit int) (pages, sitemaps []string) {
	var r io.Reader = bytes.NewReader(body)
	if bytes.HasPrefix(body, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, nil
		}
		defer zr.Close()
		r = io.LimitReader(zr, parseBudget)
	}
	d := xml.NewDecoder(&runCapReader{r: r, max: sitemapMaxRun})
	d.Strict = false
	// The protocol wants UTF-8, but sitemaps declared ISO-8859-1 or
	// windows-1252 are out there, and without a CharsetReader the decoder
	// stops at their declaration.
	d.CharsetReader = charset.NewReaderLabel
	var s sitemapReader
	for len(s.pages) < limit && len(s.sitemaps) < limit {
		tok, err := d.Token()
		if err != nil {
			break
		}
		s.token(tok)
	}
	return s.pages, s.sitemaps
}

// sitemapReader takes the <loc> values out of a sitemap's tokens. Only a
// <loc> right inside a <url> or <sitemap> counts: the extensions nest
// their own, such as an image sitemap's <image:image><image:loc>, which
// name images, not pages.
type sitemapReader struct {
	pages, sitemaps []string
	depth           int  // elements open
	entry           int  // depth of the <url> or <sitemap> open, 0 if none
	inSitemap       bool // that entry is a <sitemap>
	inLoc           bool // in a <loc> of the entry
	loc             strings.Builder
}

// token reads one token.
func (s *sitemapReader) token(tok xml.Token) {
	switch t := tok.(type) {
	case xml.StartElement:
		s.depth++
		switch {
		case s.entry == 0 && (t.Name.Local == "url" || t.Name.Local == "sitemap"):
			s.entry, s.inSitemap = s.depth, t.Name.Local == "sitemap"
		case s.entry > 0 && s.depth == s.entry+1 && t.Name.Local == "loc":
			s.inLoc = true
			s.loc.Reset()
		}
	case xml.CharData:
		if s.inLoc && s.loc.Len() < maxURLLen {
			s.loc.Write(t[:min(len(t), maxURLLen)])
		}
	case xml.EndElement:
		if s.inLoc && s.depth == s.entry+1 {
			s.inLoc = false
			switch v := strings.TrimSpace(s.loc.String()); {
			case v == "":
			case s.inSitemap:
				s.sitemaps = append(s.sitemaps, v)
			default:
				s.pages = append(s.pages, v)
			}
		}
		if s.depth == s.entry {
			s.entry = 0
		}
		s.depth--
	}
}

// sitemapMaxRun bounds the bytes between two markup delimiters (< or >)
// that a sitemap's decoder sees: a <loc> holds at most maxURLLen bytes, so
// anything longer is padding, such as the gigabytes of whitespace a
// sitemap bomb inflates to.
const sitemapMaxRun = 2 * maxURLLen

// runCapReader passes r through, dropping the bytes of any run between
// markup delimiters past max.
type runCapReader struct {
	r   io.Reader
	max int
	run int
}

func (c *runCapReader) Read(p []byte) (int, error) {
	for {
		n, err := c.r.Read(p)
		k := 0 // bytes kept, moved to the front of p
		for i := 0; i < n; {
			end := n
			if j := bytes.IndexAny(p[i:n], "<>"); j >= 0 {
				end = i + j
			}
			keep := max(0, min(end-i, c.max-c.run))
			k += copy(p[k:], p[i:i+keep])
			c.run += end - i
			if end < n { // a delimiter: kept, and a new run begins
				p[k] = p[end]
				k++
				c.run = 0
			}
			i = end + 1
		}
		if k > 0 || err != nil {
			return k, err
		}
	}
}

// charge takes n bytes (at most the whole budget) from the crawl's byte
// budget, waiting for them, and returns the function that gives them back.
func (p *pipeline) charge(n int64) (release func()) {
	n = min(n, parseBudget)
	if p.budget.Acquire(context.Background(), n) != nil {
		return func() {}
	}
	return func() { p.budget.Release(n) }
}
