// This file reads robots.txt files (RFC 9309) into the rules one crawler
// obeys on one host.

package crawler

import (
	"bytes"
	"cmp"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jimsmart/grobotstxt"

	"github.com/sluicehq/sluice/internal/urlcheck"
)

// Lines are read by grobotstxt, a port of Google's reference parser, which
// RFC 9309 was written from: it brings Google's handling of byte order
// marks, CR/LF/CRLF, comments, missing colons, misspelt keys and over-long
// lines. Of the 58 cases in robotsCases (robots_test.go) it passes 51 as it
// ships, and temoto/robotstxt 35. grobotstxt's seven failures, all fixed
// here, are percent-encoding equivalence (§2.2.2 and §2.2.3: six cases)
// and the implicit allow of /robots.txt (§2.2.2). It also re-parses the
// whole file on every check (6.5 s for the "stars" file of
// TestRobotsHugeInput, 0.01 s here) and has no Crawl-delay. So only its
// line parser is used; groups, percent-encoding and matching are done
// here, once per file, and a check against the 604 rules of
// BenchmarkAllowed takes under 5 µs with no allocation. The line parser
// also spoils the escapes of a rule it upper-cases (see escapeDigit),
// which appendRobotsPath reads back.

// maxRobotsCrawlDelay caps a Crawl-delay: a robots.txt is refetched at least
// daily (RFC 9309 §2.4), so a longer delay would outlive the rules that set
// it.
const maxRobotsCrawlDelay = 24 * time.Hour

// robotsRules is the parsed robots.txt of one host as it applies to one user
// agent: only the chosen group's rules are kept, percent-normalized and
// sorted most specific first, so a check is a scan that stops at the first
// match. The zero value allows everything. Safe for concurrent reads.
type robotsRules struct {
	// patterns holds the rules' patterns back to back, in rules order, so
	// that the rules of a host cost two allocations however many there are.
	patterns string
	rules    []robotsRule
	delay    time.Duration
	// sitemapURLs are the Sitemap values, slices of one string.
	sitemapURLs []string
}

// robotsRule is one Allow or Disallow rule; its pattern is
// patterns[end of the previous rule:end].
type robotsRule struct {
	end   uint32
	flags uint8
}

// Flags of a robotsRule.
const (
	ruleAllow    = 1 << iota // an Allow rule; otherwise Disallow
	ruleAnchored             // the pattern ended in "$": it must match the whole path
	ruleWild                 // the pattern has a "*"
)

// parseRobots parses body (already capped by the caller at 500 KiB) for the
// crawler whose User-Agent header is userAgent. The group is chosen by the
// product token of userAgent (e.g. "sluice" from "sluice/0.1 (+https://...)"),
// case-insensitively, falling back to "*" (RFC 9309 §2.2.1). Garbage input
// never panics and yields rules that allow everything that is not disallowed
// by a parseable line. The result does not refer to body.
func parseRobots(body []byte, userAgent string) *robotsRules {
	h := robotsHandler{token: productToken(userAgent)}
	// Parse's one panic, on a line with a blank but no value after it,
	// cannot fire: it trims the line before looking for the blank.
	// FuzzParseRobots keeps that claim honest.
	grobotstxt.Parse(string(body), &h)
	return h.rules()
}

// allowRobots returns the rules used when robots.txt is unavailable (a 4xx
// status other than 429, RFC 9309 §2.3.1.3): everything is allowed.
func allowRobots() *robotsRules { return &robotsRules{} }

// disallowRobots returns the rules used when robots.txt is unreachable (a
// network error, a 5xx status or a 429, RFC 9309 §2.3.1.4): everything but
// /robots.txt itself is disallowed.
func disallowRobots() *robotsRules {
	return &robotsRules{patterns: "/", rules: []robotsRule{{end: 1}}}
}

// robotsUnreachable reports whether a robots.txt answered with status is
// unreachable rather than unavailable: a 5xx, or a 429 Too Many Requests.
// RFC 9309 §2.3.1.3 lets a crawler read any 4xx as unavailable, allowing
// all, but a 429 asks the crawler to slow down, not to crawl freely, so it
// is read as Google reads it, as a 5xx: the host's URLs wait while it is
// asked again (Crawler.Retries times, after a backoff), then the host is
// disallowed and asked again robotsRetry later.
func robotsUnreachable(status int) bool {
	return status >= 500 || status == http.StatusTooManyRequests
}

// allowed reports whether the path (with query, e.g. "/a/b?x=1", as sent in
// the request line) may be fetched. "/robots.txt" itself is always allowed.
// The longest matching rule decides, Allow winning a tie (RFC 9309 §2.2.2);
// with no match the path is allowed. It allocates only for paths longer
// than 256 bytes.
func (r *robotsRules) allowed(pathQuery string) bool {
	// Paths of up to 256 bytes are normalized on the stack.
	var buf [256]byte
	path := appendRobotsPath(buf[:0], pathQuery, false)
	if string(path) == "/robots.txt" {
		return true
	}
	start := uint32(0)
	for _, rl := range r.rules {
		pat := r.patterns[start:rl.end]
		start = rl.end
		if rl.matches(pat, path) {
			return rl.flags&ruleAllow != 0
		}
	}
	return true
}

// crawlDelay returns the Crawl-delay of the chosen group (0 if none), at most
// maxRobotsCrawlDelay. Crawl-delay is not in RFC 9309 but is widely used;
// fractional seconds are allowed. Of several in the group, the largest is
// kept, so the order of merged groups does not matter.
func (r *robotsRules) crawlDelay() time.Duration { return r.delay }

// sitemaps returns the Sitemap URLs listed in the file, in any group, as
// written. The caller must not modify the slice.
func (r *robotsRules) sitemaps() []string { return r.sitemapURLs }

// productToken returns the product token of a User-Agent header, lowercased:
// the leading run of letters, "_" and "-" (RFC 9309 §2.2.1), after any
// leading blanks. It is "" when the header starts with anything else.
func productToken(userAgent string) string {
	userAgent = strings.TrimLeft(userAgent, " \t")
	return strings.ToLower(userAgent[:tokenLen(userAgent)])
}

// tokenLen returns the length of the product token that s starts with.
func tokenLen(s string) int {
	i := 0
	for i < len(s) {
		c := s[i] | 0x20 // folds ASCII upper case onto lower
		if (c < 'a' || c > 'z') && s[i] != '-' && s[i] != '_' {
			break
		}
		i++
	}
	return i
}

// matches reports whether the rule, whose pattern is pat, matches path, a
// result of appendRobotsPath.
func (rl robotsRule) matches(pat string, path []byte) bool {
	anchored := rl.flags&ruleAnchored != 0
	if rl.flags&ruleWild == 0 {
		if anchored {
			return string(path) == pat
		}
		return len(path) >= len(pat) && string(path[:len(pat)]) == pat
	}
	return matchWild(pat, path, anchored)
}

// matchWild matches pat, where "*" stands for any run of bytes, against the
// start of s, or all of s if anchored. On a mismatch it backtracks only to
// the last "*", which is enough when "*" is the only wildcard and bounds the
// work by len(pat)*len(s); it then skips to the next place where the text
// after that "*" can start, so that a rule like "/*?sessionid=" costs one
// memchr on most paths.
func matchWild(pat string, s []byte, anchored bool) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for {
		switch {
		case p == len(pat):
			if !anchored || i == len(s) {
				return true
			}
		case pat[p] == '*':
			star, mark = p, i
			p++
			continue
		case i < len(s) && pat[p] == s[i]:
			p++
			i++
			continue
		}
		if star < 0 || mark >= len(s) {
			return false
		}
		p = star + 1
		if p == len(pat) {
			// A final "*" takes the rest of s.
			return true
		}
		mark++
		if pat[p] != '*' {
			j := bytes.IndexByte(s[mark:], pat[p])
			if j < 0 {
				return false
			}
			mark += j
		}
		i = mark
	}
}

// appendRobotsPath appends s to dst in the one form that paths and rule
// patterns are compared in (RFC 9309 §2.2.2): every %XX is decoded, so that
// "/%7Efoo" equals "/~foo", "%3A%2F%2F" equals "://" and "%E3%83%84" equals
// the raw UTF-8 bytes, and both sides end up spelled alike. Only "%" and
// "*" stay encoded, as "%25" and "%2A": in a rule a bare "*" is the
// wildcard, and "%2A" the character (§2.2.3). A result always starts with
// "/" (or, for a rule, "*").
func appendRobotsPath(dst []byte, s string, rule bool) []byte {
	if s == "" || s[0] != '/' && !(rule && s[0] == '*') {
		dst = append(dst, '/')
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' && i+2 < len(s) && escapeDigit(s[i+1], rule) && escapeDigit(s[i+2], rule) {
			c = unhex(s[i+1]|0x20)<<4 | unhex(s[i+2]|0x20)
			i += 2
			if c != '%' && c != '*' {
				dst = append(dst, c)
				continue
			}
		} else if c == '*' && rule {
			dst = append(dst, c)
			continue
		}
		switch c {
		case '%':
			dst = append(dst, "%25"...)
		case '*':
			dst = append(dst, "%2A"...)
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// escapeDigit reports whether c may be a hex digit of an escape. In a rule
// it may also be a decimal digit less its bit 0x20 (0x10 to 0x19): the
// line parser upper-cases the escapes of a rule holding a lower-case hex
// letter or a byte past ASCII by clearing that bit of each of their hex
// digits, digits too, so "/%7ejoe" reaches us as "/%\x17Ejoe". A rule has
// no other use for such a byte after "%": no path holds one unescaped.
func escapeDigit(c byte, rule bool) bool {
	return urlcheck.IsHex(c) || rule && 0x10 <= c && c <= 0x19
}

// unhex returns the value of the hexadecimal digit c.
func unhex(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c | 0x20 - 'a' + 10
}

// robotsHandler receives the lines of one robots.txt from grobotstxt.Parse
// and keeps what applies to token. Its grouping follows Google's reference
// parser: user-agent lines in a row open one group, and only an Allow or
// Disallow line ends the run, so "Sitemap" and "Crawl-delay" lines do not
// split a group (RFC 9309 §2.2.4).
type robotsHandler struct {
	token string // product token of the crawler, lowercased

	inSpecific bool // the current group names token
	inGlobal   bool // the current group is "*"
	separated  bool // a rule has been seen since the last user-agent line
	specific   bool // some group names token, so "*" does not apply

	// buf holds the normalized patterns of both lists below.
	buf                  []byte
	specRules, globRules []pendingRule
	specDelay, globDelay time.Duration
	sitemapURLs          []string // slices of the body; copied by rules
}

// pendingRule is a rule whose normalized pattern is buf[off:end].
type pendingRule struct {
	off, end int
	flags    uint8
}

// HandleRobotsStart is called before the first line; there is nothing to do.
func (h *robotsHandler) HandleRobotsStart() {}

// HandleRobotsEnd is called after the last line; there is nothing to do.
func (h *robotsHandler) HandleRobotsEnd() {}

// HandleUserAgent opens a group, or adds an agent to the group being opened.
func (h *robotsHandler) HandleUserAgent(_ int, value string) {
	if h.separated {
		h.inSpecific, h.inGlobal, h.separated = false, false, false
	}
	// As Google does, "* anything" is still the global group.
	if value != "" && value[0] == '*' && (len(value) == 1 || value[1] == ' ' || value[1] == '\t') {
		h.inGlobal = true
		return
	}
	// As Google does, the value is read up to the end of its product
	// token, so "sluice/2.0" and "sluice bot" both name sluice.
	if n := tokenLen(value); n > 0 && strings.EqualFold(value[:n], h.token) {
		h.inSpecific, h.specific = true, true
	}
}

// HandleAllow records an Allow rule.
func (h *robotsHandler) HandleAllow(_ int, value string) { h.rule(value, ruleAllow) }

// HandleDisallow records a Disallow rule.
func (h *robotsHandler) HandleDisallow(_ int, value string) { h.rule(value, 0) }

// HandleSitemap records a Sitemap URL, wherever it is.
func (h *robotsHandler) HandleSitemap(_ int, value string) {
	if value != "" {
		h.sitemapURLs = append(h.sitemapURLs, value)
	}
}

// HandleUnknownAction reads Crawl-delay lines and ignores other keys.
func (h *robotsHandler) HandleUnknownAction(_ int, key, value string) {
	if !strings.EqualFold(key, "crawl-delay") && !strings.EqualFold(key, "crawldelay") && !strings.EqualFold(key, "crawl delay") {
		return
	}
	d, ok := parseCrawlDelay(value)
	if !ok {
		return
	}
	if h.inSpecific {
		h.specDelay = max(h.specDelay, d)
	} else if h.inGlobal {
		h.globDelay = max(h.globDelay, d)
	}
}

// rule records an Allow or Disallow rule for the current group. Rules
// outside any group are ignored (RFC 9309 §2.2.2), and so are empty ones,
// which match nothing.
func (h *robotsHandler) rule(value string, flags uint8) {
	if !h.inSpecific && !h.inGlobal {
		return
	}
	h.separated = true
	if value == "" {
		return
	}
	if value[len(value)-1] == '$' {
		flags |= ruleAnchored
		value = value[:len(value)-1]
	}
	if strings.IndexByte(value, '*') >= 0 {
		flags |= ruleWild
	}
	off := len(h.buf)
	h.buf = appendRobotsPath(h.buf, value, true)
	pr := pendingRule{off: off, end: len(h.buf), flags: flags}
	// A group naming both "*" and the crawler is the crawler's; its
	// rules need not be kept twice.
	if h.inSpecific {
		h.specRules = append(h.specRules, pr)
	} else {
		h.globRules = append(h.globRules, pr)
	}
}

// parseCrawlDelay reads a Crawl-delay value: decimal seconds, with an
// optional fraction. Anything else, such as "5s" or "1e3", is rejected.
func parseCrawlDelay(value string) (time.Duration, bool) {
	digits := 0
	for i := range len(value) {
		if '0' <= value[i] && value[i] <= '9' {
			digits++
		} else if value[i] != '.' {
			return 0, false
		}
	}
	// ParseFloat reports a huge value as a range error with secs = +Inf,
	// which the cap below handles.
	secs, err := strconv.ParseFloat(value, 64)
	if digits == 0 || err != nil && !math.IsInf(secs, 1) {
		return 0, false
	}
	if secs >= maxRobotsCrawlDelay.Seconds() {
		return maxRobotsCrawlDelay, true
	}
	return time.Duration(secs * float64(time.Second)), true
}

// rules builds the robotsRules of the chosen group.
func (h *robotsHandler) rules() *robotsRules {
	list, delay := h.globRules, h.globDelay
	if h.specific {
		list, delay = h.specRules, h.specDelay
	}
	r := &robotsRules{delay: delay}
	if list = h.sortRules(list); len(list) > 0 {
		r.patterns, r.rules = h.packRules(list)
	}
	r.sitemapURLs = copySitemaps(h.sitemapURLs)
	return r
}

// pattern returns the bytes of a pending rule's pattern.
func (h *robotsHandler) pattern(pr pendingRule) []byte { return h.buf[pr.off:pr.end] }

// ruleLen is the length of a rule as matching ranks it: its "$" counts,
// as Google does.
func ruleLen(pr pendingRule) int {
	if pr.flags&ruleAnchored != 0 {
		return pr.end - pr.off + 1
	}
	return pr.end - pr.off
}

// sortRules orders the rules longest first, then Allow before Disallow:
// the first match is then the one RFC 9309 §2.2.2 picks. The byte order
// last brings duplicates together, and they are dropped.
func (h *robotsHandler) sortRules(list []pendingRule) []pendingRule {
	slices.SortFunc(list, func(a, b pendingRule) int {
		if c := cmp.Compare(ruleLen(b), ruleLen(a)); c != 0 {
			return c
		}
		if c := cmp.Compare(b.flags&ruleAllow, a.flags&ruleAllow); c != 0 {
			return c
		}
		if c := cmp.Compare(a.flags, b.flags); c != 0 {
			return c
		}
		return bytes.Compare(h.pattern(a), h.pattern(b))
	})
	return slices.CompactFunc(list, func(a, b pendingRule) bool {
		return a.flags == b.flags && bytes.Equal(h.pattern(a), h.pattern(b))
	})
}

// packRules writes the patterns of list end to end in one string, each
// rule keeping where its pattern ends.
func (h *robotsHandler) packRules(list []pendingRule) (string, []robotsRule) {
	size := 0
	for _, pr := range list {
		size += pr.end - pr.off
	}
	var b strings.Builder
	b.Grow(size)
	for _, pr := range list {
		b.Write(h.pattern(pr))
	}
	// A rule's end must fit in a uint32; beyond 4 GiB of patterns, which
	// no capped body comes near, the rest are dropped.
	rules := make([]robotsRule, 0, len(list))
	end := 0
	for _, pr := range list {
		end += pr.end - pr.off
		if end > 1<<32-1 {
			break
		}
		rules = append(rules, robotsRule{end: uint32(end), flags: pr.flags})
	}
	return b.String(), rules
}

// copySitemaps copies the sitemap URLs into one string for all, so the
// rules do not keep the body alive.
func copySitemaps(urls []string) []string {
	if len(urls) == 0 {
		return nil
	}
	all := strings.Join(urls, "")
	out := make([]string, len(urls))
	off := 0
	for i, u := range urls {
		out[i] = all[off : off+len(u)]
		off += len(u)
	}
	return out
}
