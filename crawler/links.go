// Link extraction: one streaming pass over a fetched page that pulls out the
// URLs the crawler may follow, plus the <base> and <title> it needs to resolve
// and label them.

package crawler

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/charset"
	"golang.org/x/text/encoding"
)

// maxTitleBytes bounds pageLinks.title so that a hostile page cannot make the
// records built from it large.
const maxTitleBytes = 300

// rawLink is one link found in a page, as written (not yet resolved).
type rawLink struct {
	href     string // attribute value as written (entities decoded by the tokenizer), less the outer spaces and inner tabs and newlines that browsers strip too
	nofollow bool   // rel contains "nofollow" (a, area, link), or the page has <meta name="robots" content="nofollow"> (then all links are nofollow)
}

// pageLinks is what extractLinks found in a page.
type pageLinks struct {
	links   []rawLink
	base    string // the href of the first <base> element that has one, "" if none
	title   string // text of the first <title>, whitespace collapsed and trimmed, at most 300 bytes (cut on a rune boundary), valid UTF-8 (decoded from the page's charset when it is not UTF-8)
	dropped int    // links not returned because maxLinks was reached (counted, not stored)
}

// extractLinks scans an HTML body with the streaming x/net/html tokenizer (no
// DOM is built) and returns its links in document order: a and area href, link
// href when rel is canonical, next, prev or alternate (but not stylesheet),
// frame and iframe src, and the target of <meta http-equiv="refresh">. Empty
// hrefs are left out: they name the page itself.
//
// contentType is the Content-Type header (used for the charset). maxLinks <= 0
// means no cap; links past the cap are counted in dropped but not stored, so
// memory stays proportional to the cap. Any body, however malformed, is safe.
func extractLinks(body []byte, contentType string, maxLinks int) pageLinks {
	s := linkScanner{max: maxLinks, body: body, contentType: contentType}
	body, _ = bytes.CutPrefix(body, []byte("\xEF\xBB\xBF"))
	z := html.NewTokenizer(bytes.NewReader(body))
	for {
		tt := z.Next()
		if s.title == titleNext && tt != html.TextToken {
			s.title = titleDone // "<title></title>": the first title is empty
		}
		switch tt {
		case html.ErrorToken: // io.EOF: the tokenizer reports nothing else without SetMaxBuf
			if s.nofollowAll {
				for i := range s.out.links {
					s.out.links[i].nofollow = true
				}
			}
			return s.out
		case html.TextToken:
			if s.title == titleNext {
				s.takeTitle(z)
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			s.tag(z)
		}
	}
}

// isHTML reports whether a Content-Type header value denotes HTML (text/html
// or application/xhtml+xml, any parameters, any case). An empty Content-Type
// is not sniffed here: the caller decides.
func isHTML(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	mt = strings.Trim(mt, " \t")
	return strings.EqualFold(mt, "text/html") || strings.EqualFold(mt, "application/xhtml+xml")
}

// linkScanner is the state of one extractLinks pass.
type linkScanner struct {
	out         pageLinks
	max         int               // maxLinks
	body        []byte            // the page, for its charset
	contentType string            // the Content-Type header, for its charset
	baseSeen    bool              // a <base href> was seen; later ones do not count
	nofollowAll bool              // <meta name=robots content=nofollow> was seen
	title       int               // titleNone, then titleNext after the first <title>, then titleDone
	enc         encoding.Encoding // the page's charset, found by charsetOf on first need
	encName     string            // its name, such as "utf-8" or "windows-1252"
}

// The title is the text token that follows the first <title> start tag: the
// tokenizer reads a title's content as a single RCDATA token.
const (
	titleNone = iota
	titleNext
	titleDone
)

// tag handles one start tag. It matches the name on z.Raw rather than
// z.TagName, which copies every tag's name: on BenchmarkExtractLinks that
// saves 59 of 279 allocations and a fifth of the time. Only the tags that
// matter pay for reading attributes.
func (s *linkScanner) tag(z *html.Tokenizer) {
	raw := z.Raw()[1:] // after '<'
	n := 0
	for n < len(raw) && !isHTMLSpace(raw[n]) && raw[n] != '/' && raw[n] != '>' {
		n++
	}
	switch name := raw[:n]; {
	case foldEq(name, "a"), foldEq(name, "area"):
		a := readLinkAttrs(z)
		s.add(a.href, hasToken(a.rel, ' ', "nofollow"))
	case foldEq(name, "link"):
		a := readLinkAttrs(z)
		if hasToken(a.rel, ' ', "canonical", "next", "prev", "alternate") && !hasToken(a.rel, ' ', "stylesheet") {
			s.add(a.href, hasToken(a.rel, ' ', "nofollow"))
		}
	case foldEq(name, "frame"), foldEq(name, "iframe"):
		s.add(readLinkAttrs(z).src, false)
	case foldEq(name, "base"):
		if a := readLinkAttrs(z); !s.baseSeen && a.hasHref {
			s.baseSeen, s.out.base = true, cleanURL(s.decodeHref(a.href))
		}
	case foldEq(name, "meta"):
		s.meta(readLinkAttrs(z))
	case foldEq(name, "title"):
		if s.title == titleNone {
			s.title = titleNext
		}
	case foldEq(name, "noscript"):
		// The crawler runs no scripts, so it sees what a browser with
		// scripting off sees: markup, not the raw text the tokenizer assumes.
		z.NextIsNotRawText()
	}
}

// meta handles a <meta> tag: robots directives and refresh targets.
func (s *linkScanner) meta(a linkAttrs) {
	switch {
	case foldEq(a.name, "robots"):
		s.nofollowAll = s.nofollowAll || hasToken(a.content, ',', "nofollow", "none")
	case foldEq(a.httpEquiv, "refresh"):
		s.add(refreshURL(a.content), false)
	}
}

// add records a link, or counts it as dropped once the cap is reached.
func (s *linkScanner) add(v []byte, nofollow bool) {
	if len(trimC0(v)) == 0 {
		return
	}
	if s.max > 0 && len(s.out.links) >= s.max {
		s.out.dropped++
		return
	}
	s.out.links = append(s.out.links, rawLink{href: cleanURL(s.decodeHref(v)), nofollow: nofollow})
}

// charsetOf returns the page's charset and its name: that of a byte order
// mark, the header or a <meta> tag, else windows-1252, as browsers do. It
// is looked for once, when a title or a link first needs it.
func (s *linkScanner) charsetOf() (encoding.Encoding, string) {
	if s.enc == nil {
		s.enc, s.encName, _ = charset.DetermineEncoding(s.body, s.contentType)
	}
	return s.enc, s.encName
}

// decodeHref returns the link v of a page whose charset is not UTF-8 as a
// browser reads it (the URL standard's encoding override): the text before
// the query is decoded from the page's charset, and the bytes of the query
// past ASCII are percent-encoded as they are, in the page's charset. Read
// as UTF-8, each such byte would be U+FFFD, and "/café" and "/cafè" one
// wrong URL. As for the title, v is kept as it is when it is valid UTF-8.
func (s *linkScanner) decodeHref(v []byte) []byte {
	if utf8.Valid(v) {
		return v
	}
	enc, name := s.charsetOf()
	if name == "utf-8" {
		return v
	}
	q := len(v)
	if i := bytes.IndexAny(v, "?#"); i >= 0 {
		q = i
	}
	out, err := enc.NewDecoder().Bytes(v[:q])
	if err != nil {
		return v
	}
	for _, c := range v[q:] {
		if c < utf8.RuneSelf {
			out = append(out, c)
		} else {
			out = appendEscaped(out, c)
		}
	}
	return out
}

// appendEscaped appends c to b percent-encoded, as %XX.
func appendEscaped(b []byte, c byte) []byte {
	const hex = "0123456789ABCDEF"
	return append(b, '%', hex[c>>4], hex[c&15])
}

// takeTitle sets the title from the current text token.
func (s *linkScanner) takeTitle(z *html.Tokenizer) {
	s.title = titleDone
	// A title that is valid UTF-8 is read as it is: ASCII reads the same in
	// every charset the web uses, and other text that happens to be valid
	// UTF-8 is all but always UTF-8.
	if raw := z.Raw(); !utf8.Valid(raw) {
		// The tokenizer decodes entities into UTF-8, so the source is
		// transcoded before unescaping. 8 KiB of source covers any real
		// title.
		raw = raw[:min(len(raw), 8<<10)]
		enc, _ := s.charsetOf()
		if dec, err := enc.NewDecoder().Bytes(raw); err == nil {
			// NUL becomes U+FFFD, as the tokenizer makes it in UTF-8 text.
			dec = bytes.ReplaceAll(dec, []byte{0}, []byte("\uFFFD"))
			s.out.title = clipTitle([]byte(html.UnescapeString(string(dec))))
			return
		}
	}
	s.out.title = clipTitle(z.Text())
}

// clipTitle collapses ASCII whitespace, replaces invalid UTF-8 and cuts the
// result to maxTitleBytes on a rune boundary.
func clipTitle(b []byte) string {
	// The spare UTFMax bytes keep whole any rune that straddles the cut, so
	// the cut below drops it cleanly rather than as U+FFFD.
	var buf [maxTitleBytes + utf8.UTFMax]byte
	n, space := 0, false
	for _, c := range b {
		if isHTMLSpace(c) {
			space = n > 0
			continue
		}
		if space && n < len(buf) {
			buf[n], n = ' ', n+1
		}
		if space = false; n == len(buf) {
			break
		}
		buf[n], n = c, n+1
	}
	t := buf[:n]
	if !utf8.Valid(t) {
		t = bytes.ToValidUTF8(t, []byte("\uFFFD"))
	}
	if len(t) > maxTitleBytes {
		i := maxTitleBytes
		for !utf8.RuneStart(t[i]) {
			i--
		}
		t = t[:i]
	}
	return string(bytes.TrimRight(t, " "))
}

// linkAttrs holds the attributes of a tag that extractLinks looks at.
type linkAttrs struct {
	href, src, rel, name, content, httpEquiv []byte
	hasHref                                  bool
}

// readLinkAttrs reads the current tag's attributes. The tokenizer lower-cases
// keys, decodes entities in values and drops repeated attributes, so the first
// one wins as in browsers.
func readLinkAttrs(z *html.Tokenizer) (a linkAttrs) {
	for more := true; more; {
		var k, v []byte
		k, v, more = z.TagAttr()
		switch string(k) {
		case "href":
			a.href, a.hasHref = v, true
		case "src":
			a.src = v
		case "rel":
			a.rel = v
		case "name":
			a.name = v
		case "content":
			a.content = v
		case "http-equiv":
			a.httpEquiv = v
		}
	}
	return a
}

// hasToken reports whether list, split at ASCII whitespace and sep, holds any
// of tokens in any case.
func hasToken(list []byte, sep byte, tokens ...string) bool {
	for i := 0; i < len(list); i++ {
		j := i
		for j < len(list) && list[j] != sep && !isHTMLSpace(list[j]) {
			j++
		}
		for _, t := range tokens {
			if foldEq(list[i:j], t) {
				return true
			}
		}
		i = j
	}
	return false
}

// refreshURL returns the target of a <meta http-equiv=refresh> content value,
// empty when it only reloads the page. It follows the HTML standard's shared
// declarative refresh steps, so it takes what browsers take: "0;url=x",
// "0; URL='x'", "0, url=x", `5; url = "x"` and "0; x"; a bare "5" or a value
// with no delay, such as "url=x", is not a link.
func refreshURL(s []byte) []byte {
	i := skipHTMLSpace(s, 0)
	j := i
	for j < len(s) && '0' <= s[j] && s[j] <= '9' {
		j++
	}
	if j == i && (j == len(s) || s[j] != '.') {
		return nil
	}
	for j < len(s) && ('0' <= s[j] && s[j] <= '9' || s[j] == '.') {
		j++
	}
	if j == len(s) || s[j] != ';' && s[j] != ',' && !isHTMLSpace(s[j]) {
		return nil
	}
	if i = skipHTMLSpace(s, j); i < len(s) && (s[i] == ';' || s[i] == ',') {
		i++
	}
	if i = skipHTMLSpace(s, i); i < len(s) && s[i]|0x20 == 'u' {
		// "url =" is optional: a "u" that does not start it starts the URL.
		if i+3 > len(s) || s[i+1]|0x20 != 'r' || s[i+2]|0x20 != 'l' {
			return s[i:]
		}
		k := skipHTMLSpace(s, i+3)
		if k == len(s) || s[k] != '=' {
			return s[i:]
		}
		i = skipHTMLSpace(s, k+1)
	}
	if s = s[i:]; len(s) > 0 && (s[0] == '"' || s[0] == '\'') {
		if k := bytes.IndexByte(s[1:], s[0]); k >= 0 {
			return s[1 : k+1]
		}
		return s[1:]
	}
	return s
}

// trimC0 strips the leading and trailing C0 controls and spaces that the URL
// standard ignores.
func trimC0(v []byte) []byte {
	return bytes.TrimFunc(v, func(r rune) bool { return r <= ' ' })
}

// cleanURL returns v as a string, trimmed by trimC0 and without the tabs and
// newlines that the URL standard also ignores (and net/url rejects).
func cleanURL(v []byte) string {
	if v = trimC0(v); !bytes.ContainsAny(v, "\t\n\r") {
		return string(v)
	}
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return -1
		}
		return r
	}, string(v))
}

// foldEq reports whether b equals the lower-case ASCII string s in any case.
func foldEq[T string | []byte](b T, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(s) {
		if c := b[i]; c != s[i] && !('A' <= c && c <= 'Z' && c+'a'-'A' == s[i]) {
			return false
		}
	}
	return true
}

// isHTMLSpace reports whether c is ASCII whitespace as HTML defines it.
func isHTMLSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'
}

// skipHTMLSpace returns the index of the first byte at or after i in b that
// is not ASCII whitespace.
func skipHTMLSpace[T string | []byte](b T, i int) int {
	for i < len(b) && isHTMLSpace(b[i]) {
		i++
	}
	return i
}
