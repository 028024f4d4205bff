// This file holds the fetches of the files a crawl reads beside pages:
// robots.txt and sitemaps.

package crawler

import (
	"bytes"
	"compress/gzip"
	"encoding/xml"
	"io"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice"
)

const (
	// robotsMaxBytes is the part of a robots.txt parsed (RFC 9309 §2.5).
	robotsMaxBytes = 500 << 10
	// robotsMaxRedirects is the redirects followed to a robots.txt or a
	// sitemap (RFC 9309 §2.3.1.2).
	robotsMaxRedirects = 5
	// sitemapMaxURLs is the URLs taken from one sitemap (the sitemap
	// protocol's own limit).
	sitemapMaxURLs = 50000
)

// fetchRobots fetches and parses a host's robots.txt.
func (p *pipeline) fetchRobots(j *job) *result {
	p.c.update(func(st *Stats) { st.RobotsFetched++ })
	resp, err := p.fetchFollowing(j.url)
	r := &result{j: j}
	switch {
	case err != nil:
		r.robots, r.note = disallowRobots(), "robots.txt unreachable: "+errKind(err)
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		// More than five redirects: unavailable, as a 4xx.
		r.robots = allowRobots()
	case resp.StatusCode >= 500:
		r.robots, r.note = disallowRobots(), "robots.txt status "+strconv.Itoa(resp.StatusCode)
	case resp.StatusCode >= 400:
		r.robots = allowRobots()
	default:
		body := resp.Body[:min(len(resp.Body), robotsMaxBytes)]
		r.robots = parseRobots(body, p.ua)
		for _, u := range r.robots.sitemaps() {
			if c, err := p.cz.resolve(j.url, u); err == nil {
				r.sitemaps = append(r.sitemaps, c)
			}
		}
	}
	return r
}

// fetchFollowing GETs u, following up to five redirects; past them it
// returns the last redirect response.
func (p *pipeline) fetchFollowing(u string) (*sluice.Response, error) {
	for i := 0; ; i++ {
		resp, err := p.fetcher.Fetch(p.fetchCtx, u)
		if err != nil {
			return nil, err
		}
		loc := resp.Header.Get("Location")
		if resp.StatusCode < 300 || resp.StatusCode >= 400 || loc == "" || i == robotsMaxRedirects {
			return resp, nil
		}
		next, err := p.cz.resolve(u, loc)
		if err != nil {
			return resp, nil
		}
		u = next
	}
}

// fetchSitemap fetches a sitemap or sitemap index and returns the URLs in
// scope that it lists.
func (p *pipeline) fetchSitemap(j *job) *result {
	r := &result{j: j}
	resp, err := p.fetchFollowing(j.url)
	if err != nil || resp.StatusCode/100 != 2 {
		return r
	}
	pages, sitemaps := parseSitemap(resp.Body, sitemapMaxURLs)
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
// a gzipped body is read to parseBudget bytes at most.
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
	d := xml.NewDecoder(r)
	d.Strict = false
	var inSitemap, inLoc bool
	var loc strings.Builder
	for len(pages) < limit && len(sitemaps) < limit {
		tok, err := d.Token()
		if err != nil {
			break
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "sitemap":
				inSitemap = true
			case "loc":
				inLoc = true
				loc.Reset()
			}
		case xml.CharData:
			if inLoc && loc.Len() < maxURLLen {
				loc.Write(t[:min(len(t), maxURLLen)])
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "sitemap":
				inSitemap = false
			case "loc":
				inLoc = false
				v := strings.TrimSpace(loc.String())
				switch {
				case v == "":
				case inSitemap:
					sitemaps = append(sitemaps, v)
				default:
					pages = append(pages, v)
				}
			}
		}
	}
	return pages, sitemaps
}
