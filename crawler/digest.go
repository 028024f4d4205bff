// This file holds the digest a recrawl tells an unchanged page by when
// its server sends no validators.

package crawler

import (
	"net/http"

	"github.com/zeebo/xxh3"
)

// PageDigest returns a 64-bit hash (XXH3) of what p's server answered:
// its body, or for a redirect its Location. Two fetches of a page that
// answer alike have the same digest, so a recrawl can tell that a page
// unchanged though its server sends no ETag or Last-Modified, or ignores
// them. It returns 0 for a page with no answer, for a 304 (which has no
// body) and for a body that was not kept.
func PageDigest(p *Page) uint64 {
	resp := p.Response
	if resp == nil || resp.StatusCode == http.StatusNotModified {
		return 0
	}
	var d uint64
	switch loc := resp.Header.Get("Location"); {
	case resp.StatusCode/100 == 3 && loc != "":
		d = xxh3.HashString(loc)
	case len(resp.Body) == 0 && resp.BodySize > 0:
		return 0 // not kept
	default:
		d = xxh3.Hash(resp.Body)
	}
	if d == 0 {
		d = 1 // 0 means none
	}
	return d
}
