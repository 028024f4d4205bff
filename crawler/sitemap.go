// This file holds sitemaps: their fetch and their parsing.

package crawler

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/xml"
	"io"
	"strings"
)

// fetchSitemap fetches a sitemap or sitemap index and returns the URLs in
// scope that it lists.
func (p *pipeline) fetchSitemap(ctx context.Context, j *job) *result {
	r := &result{j: j}
	resp, err := p.fetchFollowing(ctx, j.url)
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
