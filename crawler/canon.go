// URL canonicalisation: links are resolved the way a browser resolves them,
// then reduced to one spelling per page and fingerprinted for the seen-set.

package crawler

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/nlnwa/whatwg-url/url"
	"github.com/zeebo/xxh3"

	"github.com/sluicehq/sluice/internal/urlcheck"
)

// canonOptions selects the optional canonicalisation steps. The zero value
// applies none of them, so the result is the URL a browser would request.
type canonOptions struct {
	// sortQuery sorts query parameters by their raw key, keeping the order of
	// equal keys, so that ?b=1&a=2 and ?a=2&b=1 are one page.
	sortQuery bool
	// stripTracking drops the parameters that [isTracking] reports.
	stripTracking bool
}

// baseSlots sizes the base cache: a worker resolves a page's links against
// one base, so a slot per worker is plenty, and a collision costs a parse.
const baseSlots = 64

// canonicalizer resolves links to canonical absolute http(s) URLs. Create
// one with [newCanonicalizer]; it is safe for concurrent use.
type canonicalizer struct {
	opts   canonOptions
	parser url.Parser // the WHATWG parser with no options; read-only
	// bases caches recently parsed bases, direct-mapped by hash, so that the
	// links of a page do not each re-parse the page's URL: BenchmarkResolve
	// "naive" (base parsed per link) takes 5.6 µs/op, "parser" 1.55 µs/op.
	bases [baseSlots]atomic.Pointer[parsedBase]
}

// parsedBase is a parsed base URL and the pieces of its canonical form that
// the fast path splices links into; immutable once published.
type parsedBase struct {
	raw    string // the string the caller passed
	href   string // canonical, without fragment
	origin string // scheme://[userinfo@]host[:port]
	path   string // path, from "/" up to the query
	dir    string // path up to and including its last "/"

	// u is raw parsed, handed to the parser as a base (which clones it)
	// for the links fast cannot resolve. A base already canonical, as
	// every page URL the crawler made is, is parsed only then.
	once sync.Once
	u    *url.Url
	err  error
}

// parsed returns b's URL parsed by p, parsing it on first use.
func (b *parsedBase) parsed(p url.Parser) (*url.Url, error) {
	b.once.Do(func() {
		if b.u, b.err = p.Parse(b.raw); b.err == nil {
			// The parser clones its base, and Clone fills the query
			// parameters in lazily: fill them now so that concurrent
			// clones only read.
			b.u.SearchParams()
		}
	})
	return b.u, b.err
}

// newCanonicalizer returns a canonicalizer that applies the steps o selects.
func newCanonicalizer(o canonOptions) *canonicalizer {
	return &canonicalizer{opts: o, parser: url.NewParser()}
}

// resolve resolves ref against base exactly as a browser resolves a link,
// following the WHATWG URL standard, and returns the canonical absolute URL:
// leading and trailing C0 controls and spaces are stripped, tabs and newlines
// removed anywhere, backslashes read as slashes, dot segments removed, bytes
// percent-encoded as the browser does, scheme and host lowercased (IDNA hosts
// in punycode), default ports dropped, an empty path made "/" and the
// fragment dropped; then the percent-encodings of path and query are
// normalized ([normalizeEscapes]) and the query steps of the options are
// applied.
//
// base must be an absolute http(s) URL, normally already canonical: the
// page's URL, or its <base href> resolved through resolve. With base == ""
// ref must be absolute. resolve fails when the result does not parse, when
// its scheme is not http or https (mailto:, javascript:, data:, ftp: ...),
// when it has no host, or when ref or the result is over [maxURLLen] bytes.
// resolve is safe for concurrent use.
func (c *canonicalizer) resolve(base, ref string) (out string, err error) {
	if err = checkLen(ref); err != nil {
		return "", err
	}
	var b *parsedBase
	ok := false
	if base != "" {
		if b, err = c.base(base); err != nil {
			return "", err
		}
		out, ok = b.fast(ref)
	}
	if !ok {
		if out, err = c.full(b, ref); err != nil {
			return "", err
		}
	}
	if c.opts.sortQuery || c.opts.stripTracking {
		out = c.cleanQuery(out)
	}
	if err = checkLen(out); err != nil { // so that every result is a valid input
		return "", err
	}
	return out, nil
}

// maxURLLen bounds the links resolve takes and returns: the parser takes
// time quadratic in the number of path segments, 5 s for a 200 KB link but
// at most 5 ms for 8 KiB, and common servers refuse longer request lines.
const maxURLLen = 8 << 10

// checkLen fails if s is over maxURLLen bytes.
func checkLen(s string) error {
	if len(s) > maxURLLen {
		return fmt.Errorf("crawler: URL of %d bytes is over the limit of %d", len(s), maxURLLen)
	}
	return nil
}

// full resolves ref against b, or parses it as absolute if b is nil, with
// the WHATWG parser.
func (c *canonicalizer) full(b *parsedBase, ref string) (string, error) {
	var bu *url.Url
	if b != nil {
		var err error
		if bu, err = b.parsed(c.parser); err != nil {
			return "", fmt.Errorf("crawler: cannot parse base %q: %w", b.raw, err)
		}
	}
	u, err := c.parser.BasicParser(ref, bu, nil, url.NoState)
	if err != nil {
		return "", fmt.Errorf("crawler: cannot parse link %q: %w", ref, err)
	}
	return webHref(u, ref)
}

// webHref returns u without its fragment, or an error naming in if the
// crawler cannot fetch u.
func webHref(u *url.Url, in string) (string, error) {
	if s := u.Scheme(); s != "http" && s != "https" {
		return "", fmt.Errorf("crawler: unsupported scheme %q in %q", s, in)
	}
	if u.Hostname() == "" { // WHATWG rejects these already; this is a backstop
		return "", fmt.Errorf("crawler: no host in %q", in)
	}
	return normalizeEscapes(u.Href(true)), nil
}

// normalizeEscapes returns the href h with the percent-encodings of its
// path and query normalized as RFC 3986 §6.2.2 says: an encoded unreserved
// character (ALPHA, DIGIT, "-", ".", "_", "~") is decoded, and the hex
// digits of any other are upper-cased, so that /a%7e, /a%7E and /a~ are one
// page. Chrome decodes the same characters in paths; the WHATWG parser,
// Firefox and Safari keep every spelling, so this is the one step past
// what a browser requests. Everything else stays encoded: %2F is not "/",
// nor %3F "?", nor %25 "%". The parser has already removed the dot
// segments "%2e" spells, so decoding makes none. Userinfo and host are
// left to the parser.
//
// A hex digit that would follow a "%" starting no escape (the stray "%"
// of "/%%34%31") stays encoded, or a second pass would decode the escape
// the first had made ("%41", then "A"): the result is its own canonical
// form.
func normalizeEscapes(h string) string {
	n := strings.Index(h, "://") + len("://")
	p := n + strings.IndexByte(h[n:], '/') // after userinfo and host
	i := strings.IndexByte(h[p:], '%')
	if i < 0 {
		return h
	}
	i += p
	var b []byte
	for ; i < len(h); i++ {
		if h[i] != '%' || i+2 >= len(h) || !urlcheck.IsHex(h[i+1]) || !urlcheck.IsHex(h[i+2]) {
			if b != nil {
				b = append(b, h[i])
			}
			continue
		}
		c := unhex(h[i+1])<<4 | unhex(h[i+2])
		decode := unreserved(c)
		if decode && urlcheck.IsHex(c) {
			// The output so far ends in the "%" or "%X" of a stray "%"
			// when one of its last two bytes is a "%". (It holds at least
			// the scheme and host, so it has two.)
			last, prev := h[i-1], h[i-2]
			if b != nil {
				last, prev = b[len(b)-1], b[len(b)-2]
			}
			decode = last != '%' && prev != '%'
		}
		if b == nil {
			if !decode && !isLowerHex(h[i+1]) && !isLowerHex(h[i+2]) {
				i += 2
				continue // already canonical
			}
			b = append(make([]byte, 0, len(h)), h[:i]...)
		}
		if decode {
			b = append(b, c)
		} else {
			b = append(b, '%', upperHex(h[i+1]), upperHex(h[i+2]))
		}
		i += 2
	}
	if b == nil {
		return h
	}
	return string(b)
}

// unreserved reports whether c is an RFC 3986 unreserved character.
func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// isLowerHex reports whether c is a hex digit "a" to "f".
func isLowerHex(c byte) bool { return 'a' <= c && c <= 'f' }

// upperHex returns the hex digit c in upper case.
func upperHex(c byte) byte {
	if isLowerHex(c) {
		return c - 'a' + 'A'
	}
	return c
}

// base returns raw parsed, from the cache when the same base was seen last
// in its slot.
func (c *canonicalizer) base(raw string) (*parsedBase, error) {
	slot := &c.bases[xxh3.HashString(raw)%baseSlots]
	if b := slot.Load(); b != nil && b.raw == raw {
		return b, nil
	}
	b, err := c.newBase(raw)
	if err != nil {
		return nil, err
	}
	slot.Store(b)
	return b, nil
}

// newBase splits raw into the parts fast splices links into. A raw URL
// that fast gives back unchanged is canonical and is split as it is (a
// WHATWG parse per page was 7% of a crawl's CPU); any other is parsed.
func (c *canonicalizer) newBase(raw string) (*parsedBase, error) {
	b := &parsedBase{raw: raw}
	href, ok := b.fast(raw)
	if !ok || href != raw || !(strings.HasPrefix(raw, "http://") || strings.HasPrefix(raw, "https://")) {
		u, err := b.parsed(c.parser)
		if err != nil {
			return nil, fmt.Errorf("crawler: cannot parse base %q: %w", raw, err)
		}
		if href, err = webHref(u, raw); err != nil {
			return nil, err
		}
	}
	b.href = href
	b.origin, b.path, b.dir = splitHref(href)
	return b, nil
}

// splitHref splits a canonical href into its origin, its path and the
// path's directory. Neither userinfo (which encodes "/") nor host holds a
// "/", so the first one after "scheme://" starts the path; the path
// encodes "?".
func splitHref(href string) (origin, path, dir string) {
	n := strings.Index(href, "://") + len("://")
	i := n + strings.IndexByte(href[n:], '/')
	path, _, _ = strings.Cut(href[i:], "?")
	return href[:i], path, path[:strings.LastIndexByte(path, '/')+1]
}

// fast resolves, by splicing them into b, the common links whose result the
// parser's steps fix without judgement, and reports whether ref was one:
// absolute http(s) URLs and scheme-relative ones with a plain host (ASCII
// letters, digits, "-" and "." in non-empty labels, no "xn--" label, the
// last label all letters, or a canonical dotted quad) and an
// optional port; absolute paths; "?" queries; and relative paths without a
// scheme. Their paths may hold only RFC 3986 unreserved, sub-delim, ":" and
// "@" bytes, with "." and ".." segments removed as the parser removes them;
// their queries the same less "'" plus "/" and "?". So no "%", "\" or
// non-ASCII byte, which the parser rewrites or encodes. Surrounding C0
// controls and spaces are stripped and tabs and newlines removed first, and
// the fragment cut: the parser does the same. TestFastMatchesParser and
// FuzzFastPath hold it to the parser.
//
// BenchmarkResolve, twelve links of which four need the parser: 1.55 µs/op
// and 35 allocs/op with the parser alone (base cached), 0.62 µs/op and
// 10 allocs/op with the first fast path (paths and queries only). Crawling
// the synthetic site, whose links come in ten spellings, resolve was 22% of
// the crawler's CPU with that one; absolute and scheme-relative URLs and dot
// segments were added for it, and BenchmarkResolve went to 0.19-0.33 µs/op
// and 2 allocs/op.
func (b *parsedBase) fast(ref string) (string, bool) {
	ref = trimLink(ref)
	ref, _, _ = strings.Cut(ref, "#")
	var origin, path string
	switch {
	case ref == "":
		return b.href, true
	case ref[0] == '?':
		if !validQuery(ref[1:]) {
			return "", false
		}
		return b.origin + b.path + ref, true
	case hasPrefixFold(ref, "http://"), hasPrefixFold(ref, "https://"):
		i := strings.IndexByte(ref, ':')
		scheme := strings.ToLower(ref[:i])
		var ok bool
		if origin, path, ok = splitAuthority(scheme, ref[i+3:]); !ok {
			return "", false
		}
	case strings.HasPrefix(ref, "//"):
		scheme, _, _ := strings.Cut(b.origin, ":")
		var ok bool
		if origin, path, ok = splitAuthority(scheme, ref[2:]); !ok {
			return "", false
		}
	case ref[0] == '/':
		origin, path = b.origin, ref
	default:
		if i := strings.IndexAny(ref, ":/?"); i >= 0 && ref[i] == ':' {
			return "", false // a scheme, or a colon the parser may read as one
		}
		origin, path = b.origin, b.dir+ref
	}
	path, query, hasQuery := strings.Cut(path, "?")
	if hasQuery && !validQuery(query) {
		return "", false
	}
	dots := false
	for i := 0; i < len(path); i++ {
		if ch := path[i]; ch != '/' && !pathByte(ch) {
			return "", false
		} else if ch == '.' {
			dots = true
		}
	}
	if dots {
		path = removeDots(path)
	}
	if hasQuery {
		return origin + path + "?" + query, true
	}
	return origin + path, true
}

// trimLink strips leading and trailing C0 controls and spaces and removes
// tabs and newlines, as the URL parser does before anything else.
func trimLink(s string) string {
	s = strings.TrimFunc(s, func(r rune) bool { return r <= ' ' })
	if strings.ContainsAny(s, "\t\n\r") {
		s = strings.NewReplacer("\t", "", "\n", "", "\r", "").Replace(s)
	}
	return s
}

// hasPrefixFold reports whether s starts with the lower-case prefix in any
// case.
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// validQuery reports whether the parser leaves every byte of q alone.
func validQuery(q string) bool {
	for i := 0; i < len(q); i++ {
		if ch := q[i]; ch == '\'' || !(pathByte(ch) || ch == '/' || ch == '?') {
			return false
		}
	}
	return true
}

// splitAuthority splits rest, what follows "scheme://", into the canonical
// origin and the path with query ("/" if empty). It reports false for any
// authority the parser would rewrite beyond lower-casing and dropping a
// default port: userinfo, IDNA, IP forms other than a dotted quad, odd ports.
func splitAuthority(scheme, rest string) (origin, path string, ok bool) {
	end := strings.IndexAny(rest, "/?")
	if end < 0 {
		end = len(rest)
	}
	host, port, hasPort := strings.Cut(rest[:end], ":")
	path = rest[end:]
	if path == "" || path[0] == '?' {
		path = "/" + path
	}
	if !plainHost(host) {
		return "", "", false
	}
	if hasPort {
		if port == "" || port[0] < '1' || port[0] > '9' || len(port) > 5 {
			return "", "", false
		}
		n := 0
		for i := 0; i < len(port); i++ {
			if port[i] < '0' || port[i] > '9' {
				return "", "", false
			}
			n = n*10 + int(port[i]-'0')
		}
		if n > 65535 {
			return "", "", false
		}
		if scheme == "http" && n == 80 || scheme == "https" && n == 443 {
			hasPort = false
		}
	}
	origin = scheme + "://" + strings.ToLower(host)
	if hasPort {
		origin += ":" + port
	}
	return origin, path, true
}

// plainHost reports whether the parser's host steps only lower-case h: a
// domain name of ASCII labels whose last is all letters, or a canonical
// dotted quad.
func plainHost(h string) bool {
	if h == "" || h[len(h)-1] == '.' {
		return false
	}
	labels := strings.Split(h, ".")
	for _, l := range labels {
		if l == "" || hasPrefixFold(l, "xn--") {
			return false
		}
		for i := 0; i < len(l); i++ {
			ch := l[i] | 0x20
			if !('a' <= ch && ch <= 'z' || '0' <= l[i] && l[i] <= '9' || l[i] == '-') {
				return false
			}
		}
	}
	// Top-level labels are letters. Any other last label may be read as a
	// number, making the host IPv4, which the parser rewrites in every form
	// but the canonical dotted quad.
	last := labels[len(labels)-1]
	letters := true
	for i := 0; i < len(last); i++ {
		letters = letters && 'a' <= last[i]|0x20 && last[i]|0x20 <= 'z'
	}
	if letters {
		return true
	}
	if len(labels) != 4 {
		return false
	}
	for _, l := range labels {
		if len(l) > 3 || len(l) > 1 && l[0] == '0' {
			return false
		}
		n := 0
		for i := 0; i < len(l); i++ {
			if l[i] < '0' || l[i] > '9' {
				return false
			}
			n = n*10 + int(l[i]-'0')
		}
		if n > 255 {
			return false
		}
	}
	return true
}

// removeDots removes "." and ".." segments from an absolute path as the
// parser does: ".." drops the segment before it (never the root), and a
// dot segment at the end leaves a trailing "/".
func removeDots(path string) string {
	segs := strings.Split(path[1:], "/")
	out := make([]string, 0, len(segs))
	for i, seg := range segs {
		last := i == len(segs)-1
		switch seg {
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
			if last {
				out = append(out, "")
			}
		case ".":
			if last {
				out = append(out, "")
			}
		default:
			out = append(out, seg)
		}
	}
	return "/" + strings.Join(out, "/")
}

// pathByte reports whether ch is an RFC 3986 pchar other than "%", all of
// which the WHATWG parser leaves alone in a path.
func pathByte(ch byte) bool {
	return 'a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z' || '0' <= ch && ch <= '9' ||
		strings.IndexByte("-._~!$&'()*+,;=:@", ch) >= 0
}

// cleanQuery applies the query steps of c's options to the canonical URL s.
// It splits on raw "&" and compares raw keys, without decoding, so that the
// parameters it keeps are byte for byte those the server would have seen.
// Empty parameters go too, and so does a query left empty.
func (c *canonicalizer) cleanQuery(s string) string {
	q := strings.IndexByte(s, '?')
	if q < 0 {
		return s
	}
	params := strings.Split(s[q+1:], "&")
	kept := params[:0]
	for _, p := range params {
		if p != "" && !(c.opts.stripTracking && isTracking(queryKey(p))) {
			kept = append(kept, p)
		}
	}
	if c.opts.sortQuery {
		slices.SortStableFunc(kept, func(a, b string) int {
			return strings.Compare(queryKey(a), queryKey(b))
		})
	}
	if len(kept) == 0 {
		return s[:q]
	}
	return s[:q+1] + strings.Join(kept, "&")
}

// queryKey returns the raw key of the query parameter p.
func queryKey(p string) string {
	k, _, _ := strings.Cut(p, "=")
	return k
}

// isTracking reports whether key names a parameter that analytics and ad
// platforms append to links without changing the page: Google Analytics'
// utm_* family and _ga, and the click ids gclid (Google Ads), fbclid
// (Facebook), msclkid (Microsoft Ads), yclid (Yandex), igshid (Instagram),
// mc_cid and mc_eid (Mailchimp). Keys match exactly, case and all.
func isTracking(key string) bool {
	switch key {
	case "gclid", "fbclid", "msclkid", "mc_cid", "mc_eid", "_ga", "yclid", "igshid":
		return true
	}
	return strings.HasPrefix(key, "utm_")
}

// fingerprint returns the 128-bit XXH3 hash of a canonical URL, the key of
// the seen-set. XXH3 has no seed and a fixed output, so fingerprints agree
// across processes and machines sharing one seen-set.
func fingerprint(canonical string) [16]byte {
	return xxh3.HashString128(canonical).Bytes()
}
