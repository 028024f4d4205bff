// This file holds the parse workers: they take the title and the links of
// HTML pages, resolved and checked against the scope.

package crawler

import (
	"net/http"
	"strings"
)

// parseWorker extracts the links of HTML pages.
func (p *pipeline) parseWorker() {
	for w := range p.parseCh {
		p.parseSafely(w)
		p.toVisit(w)
	}
}

// parseSafely parses w, turning a panic into the page's error.
func (p *pipeline) parseSafely(w *pageWork) {
	defer func() {
		if v := recover(); v != nil {
			w.page.Err, w.state, w.follow = panicError(v), Failed, nil
		}
	}()
	p.parse(w)
}

// parse fills in the page's title and links and picks those to follow.
func (p *pipeline) parse(w *pageWork) {
	page := w.page
	pl := extractLinks(page.Response.Body, page.Response.Header.Get("Content-Type"), p.cfg.maxLinks)
	page.Title = pl.title
	if pl.dropped > 0 {
		p.c.update(func(st *Stats) { st.LinksDropped += int64(pl.dropped) })
	}
	base := page.URL
	if pl.base != "" {
		if b, err := p.cz.resolve(page.URL, pl.base); err == nil {
			base = b
		}
	}
	page.base = base
	if len(pl.links) > 0 {
		page.Links = make([]string, 0, len(pl.links))
		w.follow = make([]string, 0, len(pl.links))
	}
	var seen map[string]bool
	if len(pl.links) > 16 {
		seen = make(map[string]bool, len(pl.links))
	}
	size := 0
	for i, l := range pl.links {
		u, err := p.cz.resolve(base, l.href)
		if err != nil || u == page.URL {
			continue
		}
		// Short links against a long <base href> resolve to long URLs:
		// the bytes kept per page are capped as well as their number.
		if size += len(u); size > maxLinkBytes {
			dropped := len(pl.links) - i
			p.c.update(func(st *Stats) { st.LinksDropped += int64(dropped) })
			break
		}
		if seen != nil {
			if seen[u] {
				continue
			}
			seen[u] = true
		} else if contains(page.Links, u) {
			continue
		}
		page.Links = append(page.Links, u)
		if p.c.Nofollow && l.nofollow {
			p.c.update(func(st *Stats) { st.OutOfScope++ })
			continue
		}
		if p.inScope(u) {
			w.follow = append(w.follow, u)
		} else {
			p.c.update(func(st *Stats) { st.OutOfScope++ })
		}
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// mediaType returns the media type of a Content-Type header, lower case
// and without parameters, as mime.ParseMediaType gives it (which also
// checks the parameters, not needed here); when there is none, it is
// sniffed from the body. A response without either (a 304 Not Modified, a
// 204) has none: sniffing an empty body says text/plain.
func mediaType(ct string, body []byte) string {
	if ct == "" {
		if len(body) == 0 {
			return ""
		}
		ct = http.DetectContentType(body)
	}
	mt, _, _ := strings.Cut(ct, ";")
	return strings.ToLower(strings.TrimSpace(mt))
}
