// This file holds what visit can do with a Page beyond reading its fields:
// parse it into a document, resolve its links, and add URLs to the crawl.

package crawler

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"

	"github.com/PuerkitoBio/goquery"
	"golang.org/x/net/html/charset"
)

// ErrOutOfScope is the error of [Page.Follow] and [Page.Enqueue] for a URL
// that the crawl's Scope, Allow or Deny excludes.
var ErrOutOfScope = errors.New("crawler: out of scope")

// errNotVisiting is the error of Follow and Enqueue outside visit.
var errNotVisiting = errors.New("crawler: Follow and Enqueue work only while visit runs")

// Document parses the page into a goquery document for CSS selectors,
// decoded from the page's charset (Content-Type header, byte order mark or
// <meta charset>) to UTF-8, with the document's Url set to the page's URL.
// It is built on the first call only, so pages whose visit does not ask for
// it cost no DOM. It is not safe for concurrent use.
func (p *Page) Document() (*goquery.Document, error) {
	if p.doc == nil && p.docErr == nil {
		if p.Response == nil {
			p.docErr = errors.New("crawler: no response for " + p.URL)
			return nil, p.docErr
		}
		body := p.Response.Body
		var r io.Reader = bytes.NewReader(body)
		if dec, err := charset.NewReader(r, p.Response.Header.Get("Content-Type")); err == nil {
			r = dec
		}
		p.doc, p.docErr = goquery.NewDocumentFromReader(r)
		if p.docErr == nil {
			p.doc.Url, _ = url.Parse(p.URL)
		}
	}
	return p.doc, p.docErr
}

// Resolve returns href made absolute against the page, as the crawl
// resolves the page's own links: against its <base href> if it has one,
// by the WHATWG URL rules, canonicalised (fragment dropped, case and
// default ports normalised, and the crawl's SortQuery and StripTracking
// applied). It gives the same answer after visit returns, and is safe to
// call from any goroutine.
func (p *Page) Resolve(href string) (string, error) {
	base := p.base
	if base == "" {
		base = p.URL
	}
	if p.cz != nil {
		// Not p.pl, which the crawl clears when visit returns: a Resolve
		// then, or on another goroutine, fell back to net/url's rules.
		u, err := p.cz.resolve(base, href)
		if err != nil {
			return "", fmt.Errorf("%w %q: %w", ErrBadURL, href, err)
		}
		return u, nil
	}
	return resolvePlain(base, href)
}

// resolvePlain resolves with net/url, for a Page not made by a crawl.
func resolvePlain(base, href string) (string, error) {
	b, err := url.Parse(base)
	if err == nil {
		var r *url.URL
		if r, err = url.Parse(href); err == nil {
			u := b.ResolveReference(r)
			u.Fragment, u.RawFragment = "", ""
			return u.String(), nil
		}
	}
	return "", fmt.Errorf("%w %q: %w", ErrBadURL, href, err)
}

// Follow adds href, resolved against the page (see [Page.Resolve]), to the
// crawl as a link of this page: one level deeper, with this page as its
// parent. It is admitted when visit returns (nil or SkipLinks) through the
// same rules as the page's own links: Scope, Allow and Deny (checked now:
// ErrOutOfScope), MaxDepth, MaxPages, robots.txt, and the seen-set, so a
// URL already taken in is not fetched again. It works only while visit
// runs, on visit's goroutine.
func (p *Page) Follow(href string) error {
	if p.pl == nil {
		return errNotVisiting
	}
	u, err := p.Resolve(href)
	if err != nil {
		return err
	}
	return p.add(u)
}

// Enqueue is [Page.Follow] for an absolute URL, for example one built
// from data on the page; a relative URL is an error.
func (p *Page) Enqueue(rawURL string) error {
	if p.pl == nil {
		return errNotVisiting
	}
	if u, err := url.Parse(rawURL); err != nil || !u.IsAbs() {
		return fmt.Errorf("%w %q: not an absolute URL", ErrBadURL, rawURL)
	}
	u, err := p.pl.cz.resolve("", rawURL)
	if err != nil {
		return fmt.Errorf("%w %q: %w", ErrBadURL, rawURL, err)
	}
	return p.add(u)
}

func (p *Page) add(u string) error {
	if !p.pl.inScope(u) {
		p.pl.c.update(func(st *Stats) { st.OutOfScope++ })
		return fmt.Errorf("%w: %s", ErrOutOfScope, u)
	}
	p.follows = append(p.follows, u)
	return nil
}
