package crawler

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// testAgent is the User-Agent header the robots tests crawl as; its product
// token is "sluice".
const testAgent = "sluice/0.1 (+https://github.com/sluicehq/sluice)"

// rfcExample51 is the example file of RFC 9309 §5.1.
const rfcExample51 = `User-Agent: *
Disallow: *.gif$
Disallow: /example/
Allow: /publications/

User-Agent: foobot
Disallow:/
Allow:/example/page.html
Allow:/example/allowed.gif

User-Agent: barbot
User-Agent: bazbot
Disallow: /example/page.html

User-Agent: quxbot
`

// robotsCase is one robots.txt body and the paths its rules must allow and
// disallow for one crawler.
type robotsCase struct {
	name  string
	body  string
	agent string // User-Agent header; testAgent if empty
	allow []string
	deny  []string
}

// robotsCases are the RFC 9309 cases, then cases from Google's reference
// parser (whose behaviour RFC 9309 was written from), then sluice's own.
var robotsCases = []robotsCase{
	// §2.2.1: the group is found by the product token, case-insensitively.
	{
		name:  "product token matches case-insensitively",
		body:  "User-agent: SLUICE\nDisallow: /private\n",
		allow: []string{"/", "/public"},
		deny:  []string{"/private", "/private/x"},
	},
	// §2.2.1: matching is on the whole token, not a prefix of either side.
	{
		name:  "product token is not matched by prefix",
		body:  "User-agent: slu\nDisallow: /\n\nUser-agent: sluicebot\nDisallow: /\n",
		allow: []string{"/", "/x"},
	},
	// §2.2.1: an agent that names no group obeys the "*" group.
	{
		name:  "fallback to the star group",
		body:  "User-agent: otherbot\nDisallow: /\n\nUser-agent: *\nDisallow: /tmp/\n",
		allow: []string{"/", "/x"},
		deny:  []string{"/tmp/", "/tmp/a"},
	},
	// §2.2.1: a group that names the agent replaces the "*" group entirely.
	{
		name:  "specific group beats star group",
		body:  "User-agent: *\nDisallow: /\n\nUser-agent: sluice\nDisallow: /private/\n",
		allow: []string{"/", "/x"},
		deny:  []string{"/private/a"},
	},
	// §2.2.1: no matching group and no "*" group: no rules apply.
	{
		name:  "no matching group and no star group",
		body:  "User-agent: otherbot\nDisallow: /\n",
		allow: []string{"/", "/x"},
	},
	// §2.2.1: the groups that name the agent are combined into one.
	{
		name:  "groups for the same agent are merged",
		body:  "User-agent: sluice\nDisallow: /a/\n\nUser-agent: other\nDisallow: /b/\n\nUser-agent: sluice\nDisallow: /c/\n",
		allow: []string{"/", "/b/"},
		deny:  []string{"/a/", "/c/"},
	},
	// §2.1: a group may start with several user-agent lines.
	{
		name:  "group with several user-agent lines",
		body:  "User-agent: barbot\nUser-agent: sluice\nUser-agent: bazbot\nDisallow: /shared/\n",
		allow: []string{"/"},
		deny:  []string{"/shared/x"},
	},
	// §2.1, §5.1: a matching group without rules allows everything, even
	// when the "*" group disallows.
	{
		name:  "matching group without rules",
		body:  "User-agent: *\nDisallow: /\n\nUser-agent: sluice\n",
		allow: []string{"/", "/anything"},
	},
	// §5.1: the RFC's example, as foobot.
	{
		name:  "RFC example foobot",
		body:  rfcExample51,
		agent: "FooBot/2.1",
		allow: []string{"/example/page.html", "/example/allowed.gif"},
		deny:  []string{"/", "/example/", "/example/other.gif", "/publications/"},
	},
	// §5.1: barbot and bazbot share a group; "*" does not apply to them.
	{
		name:  "RFC example barbot",
		body:  rfcExample51,
		agent: "barbot",
		allow: []string{"/", "/example/", "/x.gif", "/publications/"},
		deny:  []string{"/example/page.html"},
	},
	{
		name:  "RFC example bazbot",
		body:  rfcExample51,
		agent: "BazBot/3.0",
		allow: []string{"/example/other"},
		deny:  []string{"/example/page.html"},
	},
	// §5.1: quxbot's group is empty, so it may fetch anything.
	{
		name:  "RFC example quxbot",
		body:  rfcExample51,
		agent: "quxbot",
		allow: []string{"/", "/example/", "/x.gif"},
	},
	// §5.1: any other agent gets the "*" group, with "*.gif$".
	{
		name:  "RFC example other agent",
		body:  rfcExample51,
		allow: []string{"/", "/publications/a.gif", "/x.gif?size=2", "/xgif"},
		deny:  []string{"/x.gif", "/a/b.gif", "/example/", "/example/x"},
	},
	// §2.2.4: a record outside the protocol does not end a group.
	{
		name: "sitemap and unknown lines do not end a group",
		body: "User-agent: sluice\nSitemap: https://example.com/s.xml\nUser-agent: *\nDisallow: /a\n" +
			"User-agent: sluice\nInvalid-Unknown-Line: x\nUser-agent: *\nDisallow: /b\n",
		allow: []string{"/"},
		deny:  []string{"/a", "/b"},
	},
	// §2.2.2: rules before the first user-agent line are in no group.
	{
		name:  "rule before any user-agent is ignored",
		body:  "Disallow: /\nAllow: /x\nUser-agent: sluice\nDisallow: /y\n",
		allow: []string{"/", "/a"},
		deny:  []string{"/y"},
	},
	// §2.1, §2.2.2: rules between groups, after a blank line, still belong
	// to the group above; Google's grouping test.
	{
		name: "groups, separators and stray rules",
		body: "allow: /foo/bar/\n\nuser-agent: sluice\ndisallow: /\nallow: /x/\nuser-agent: barbot\n" +
			"disallow: /\nallow: /y/\n\n\nallow: /w/\nuser-agent: bazbot\n\nuser-agent: sluice\nallow: /z/\ndisallow: /\n",
		allow: []string{"/x/b", "/z/d"},
		deny:  []string{"/y/c", "/w/a", "/foo/bar/"},
	},
	// §5.2: the longest match wins.
	{
		name:  "RFC longest match",
		body:  "User-Agent: sluice\nAllow: /example/page/\nDisallow: /example/page/disallowed.gif\n",
		allow: []string{"/example/page/", "/example/page/other.gif"},
		deny:  []string{"/example/page/disallowed.gif"},
	},
	// §2.2.2: longest match, whatever the order of the lines.
	{
		name:  "longest match in either order",
		body:  "User-agent: sluice\nAllow: /x/page.html\nDisallow: /x/\nDisallow: /y\nAllow: /y/\n",
		allow: []string{"/x/page.html", "/y/", "/y/a"},
		deny:  []string{"/x/", "/x/other", "/y", "/yy"},
	},
	// §2.2.2: Allow wins over an equivalent Disallow.
	{
		name:  "allow wins on equal length",
		body:  "User-agent: sluice\nDisallow: /x/page.html\nAllow: /x/page.html\nDisallow: /\nAllow: /\n",
		allow: []string{"/x/page.html", "/", "/y"},
	},
	// §2.2.2: a rule's length is that of its pattern, wildcards included.
	{
		name:  "wildcard rules compete by pattern length",
		body:  "User-agent: sluice\nAllow: /page\nDisallow: /*.html\nAllow: /x/page.\n",
		allow: []string{"/page", "/x/page.html"},
		deny:  []string{"/page.html", "/x/y.html"},
	},
	// §2.2.2: "$" counts as one octet of its rule, so these two tie and
	// Allow wins.
	{
		name:  "end anchor counts as one octet",
		body:  "User-agent: sluice\nDisallow: /*.php$\nAllow: /ab.php\nAllow: /*.htm$\nDisallow: /a.html\n",
		allow: []string{"/ab.php", "/x.htm"},
		deny:  []string{"/x.php", "/a.html"},
	},
	// §2.2.2: matching is case-sensitive.
	{
		name:  "paths are case-sensitive",
		body:  "User-agent: sluice\nDisallow: /X/\n",
		allow: []string{"/x/y"},
		deny:  []string{"/X/y"},
	},
	// §2.2.3: "*" matches any run of characters.
	{
		name:  "star wildcard",
		body:  "User-agent: sluice\nDisallow: /foo/bar/quz\nAllow: /foo/*/qux\nDisallow: /*/private/*.pdf\n",
		allow: []string{"/foo/quz", "/foo//qux", "/foo/bax/qux", "/a/private/x.txt"},
		deny:  []string{"/foo/bar/quz", "/a/private/x.pdf", "/a/b/private/c/d.pdf?x"},
	},
	// §2.2.3: "$" at the end anchors the pattern to the end of the path.
	{
		name:  "dollar end anchor",
		body:  "User-agent: sluice\nDisallow: /foo/bar$\nAllow: /foo/bar/qux\nDisallow: /*.php$\n",
		allow: []string{"/foo/bar/", "/foo/bar/qux", "/foo/bar/baz", "/a.php?x=1", "/a.php5"},
		deny:  []string{"/foo/bar", "/a.php", "/b/c.php"},
	},
	// §2.2.3: "$" elsewhere than the end is an ordinary character.
	{
		name:  "dollar inside a pattern is literal",
		body:  "User-agent: sluice\nDisallow: /a$b\n",
		allow: []string{"/a", "/ab"},
		deny:  []string{"/a$b", "/a$bc", "/a%24b"},
	},
	// §2.2.3: "%2A" and "%24" stand for "*" and "$" themselves.
	{
		name:  "percent-encoded star and dollar are literal",
		body:  "User-agent: sluice\nDisallow: /path/file-with-%2A.html\nDisallow: /path/price%24\n",
		allow: []string{"/path/file-with-x.html", "/path/price", "/path/price.html"},
		deny:  []string{"/path/file-with-*.html", "/path/file-with-%2a.html", "/path/price$", "/path/price%24.html"},
	},
	// §2.2.2 figure: reserved characters compare equal to their
	// percent-encoding.
	{
		name:  "encoded query equals literal query",
		body:  "User-agent: sluice\nDisallow: /\nAllow: /foo/bar?baz=https://foo.bar\n",
		allow: []string{"/foo/bar?baz=https://foo.bar", "/foo/bar?baz=https%3A%2F%2Ffoo.bar", "/foo/bar?baz=https%3a%2f%2ffoo.bar/x"},
		deny:  []string{"/foo/bar?baz=http://foo.bar", "/foo/bar"},
	},
	{
		name:  "literal query equals encoded query",
		body:  "User-agent: sluice\nDisallow: /\nAllow: /foo/bar?baz=https%3A%2F%2Ffoo.bar\n",
		allow: []string{"/foo/bar?baz=https://foo.bar", "/foo/bar?baz=https%3A%2F%2Ffoo.bar"},
		deny:  []string{"/foo/bar?baz=https:"},
	},
	// §2.2.2 figure: octets outside ASCII are compared percent-encoded, in
	// either case of hex digit.
	{
		name:  "non-ASCII octets",
		body:  "User-agent: sluice\nDisallow: /\nAllow: /foo/bar/ツ\nAllow: /a/%E3%83%84\n",
		allow: []string{"/foo/bar/%E3%83%84", "/foo/bar/%e3%83%84", "/foo/bar/ツ", "/a/ツ", "/a/%e3%83%84"},
		deny:  []string{"/foo/bar/%E3%83%85", "/a/"},
	},
	// §2.2.2 figure: percent-encoded unreserved characters are decoded.
	{
		name:  "encoded unreserved characters",
		body:  "User-agent: sluice\nDisallow: /\nAllow: /foo/bar/%62%61%7A\nAllow: /~joe/\nAllow: /%7Eann/\n",
		allow: []string{"/foo/bar/baz", "/foo/bar/%62%61%7A", "/%7Ejoe/x", "/%7ejoe/", "/~ann/", "/%7Eann/a"},
		deny:  []string{"/foo/bar/bay", "/joe/", "/ann/"},
	},
	// §2.2.2: hex digits are read in either case, whatever else the line
	// holds (the line parser clears bit 0x20 of every hex digit of a rule
	// it rewrites, digits too: "%7e" came out "%\x17E").
	{
		name:  "lower-case escapes",
		body:  "User-agent: sluice\nDisallow: /%7ejoe/\nDisallow: /caf%c3%a9\nDisallow: /a%2fb\nDisallow: /%c3%bc/%7E\nDisallow: /ü%7E\n",
		allow: []string{"/joe/", "/caf", "/cafe", "/a", "/%C3%BC/", "/%C3%BC"},
		deny:  []string{"/~joe/x", "/%7Ejoe/", "/café", "/caf%C3%A9", "/a%2Fb", "/a%2fb", "/a/b", "/ü/~", "/%C3%BC/%7e", "/ü~", "/%c3%bc~x"},
	},
	// §2.2.2: an empty Disallow disallows nothing.
	{
		name:  "empty disallow",
		body:  "User-agent: sluice\nDisallow:\n",
		allow: []string{"/", "/anything?x=1"},
	},
	// §2.2.2: empty Allow and Disallow together still allow everything.
	{
		name:  "empty allow and disallow",
		body:  "User-agent: sluice\nDisallow: \nAllow: \n",
		allow: []string{"/x/page.html"},
	},
	// §2.3.1.5: unparseable lines are skipped, the rest is used.
	{
		name:  "lines without a colon and unknown keys are ignored",
		body:  "User-agent: sluice\nthis line has no colon at all\nfoo: /a\nnoise\n:/b\nDisallow: /x\n",
		allow: []string{"/", "/a", "/b", "/y"},
		deny:  []string{"/x"},
	},
	// §2.2.3: "#" starts a comment, on its own line or after a rule.
	{
		name:  "comments",
		body:  "# Disallow: /\nUser-agent: sluice # the crawler\n# Disallow: /\nDisallow: /foo/quz#qux\nAllow: /\n",
		allow: []string{"/", "/foo/bar", "/foo/qu"},
		deny:  []string{"/foo/quz", "/foo/quz/x"},
	},
	// §2.1: keys are case-insensitive.
	{
		name:  "keys are case-insensitive",
		body:  "USER-AGENT: sluice\nALLOW: /x/\nDISALLOW: /\nuSeR-aGeNt: sluice\ndIsAlLoW: /y\n",
		allow: []string{"/x/y"},
		deny:  []string{"/a/b", "/y"},
	},
	// §2.2: whitespace around keys, colons and values is insignificant.
	{
		name:  "whitespace",
		body:  "  User-agent :  sluice  \n\tDisallow\t:\t/x \t\n",
		allow: []string{"/"},
		deny:  []string{"/x"},
	},
	// §2.2: lines end in CR LF.
	{
		name:  "CRLF line endings",
		body:  "User-agent: foo\r\nAllow: /some/path\r\nUser-agent: sluice\r\n\r\n\r\nDisallow: /a\r\nAllow: /a/b\r\n",
		allow: []string{"/", "/a/b"},
		deny:  []string{"/a", "/a/c"},
	},
	// §2.2: lines end in CR alone.
	{
		name:  "CR line endings",
		body:  "User-agent: foo\rAllow: /some/path\rUser-agent: sluice\r\r\rDisallow: /a\rAllow: /a/b\r",
		allow: []string{"/", "/a/b"},
		deny:  []string{"/a", "/a/c"},
	},
	// §2.2: lines end in LF, CR LF and CR in one file, the last with none.
	{
		name:  "mixed line endings without a final newline",
		body:  "User-agent: foo\nAllow: /some/path\r\nUser-agent: sluice\r\r\n\nDisallow: /a\rAllow: /a/b",
		allow: []string{"/", "/a/b"},
		deny:  []string{"/a", "/a/c"},
	},
	// §2.3: the file is UTF-8 and may open with a byte order mark.
	{
		name: "byte order mark",
		body: "\xEF\xBB\xBFUser-agent: sluice\nDisallow: /x\n",
		deny: []string{"/x"},
	},
	// Google's parser also skips a truncated byte order mark.
	{
		name: "partial byte order mark",
		body: "\xEF\xBBUser-agent: sluice\nDisallow: /x\n",
		deny: []string{"/x"},
	},
	// A byte order mark after the start spoils its line only.
	{
		name:  "byte order mark inside the file",
		body:  "User-agent: sluice\n\xEF\xBB\xBFDisallow: /x\nDisallow: /y\n",
		allow: []string{"/x"},
		deny:  []string{"/y"},
	},
	// §2.2.2: /robots.txt is implicitly allowed.
	{
		name:  "robots.txt is always allowed",
		body:  "User-agent: *\nDisallow: /\nDisallow: /robots.txt\n",
		allow: []string{"/robots.txt"},
		deny:  []string{"/", "/robots.txt.bak", "/robots.txt?x=1"},
	},
	// §2.2.2: rule paths are matched from the first octet of the path; an
	// empty or bare-query path is the root.
	{
		name: "paths that do not start with a slash",
		body: "User-agent: sluice\nDisallow: /\n",
		deny: []string{"", "?x=1", "/"},
	},
	// Google: a line of just a key and a value may leave out the colon,
	// and is read as Google's reference parser reads it. RFC 9309's
	// grammar has the colon, but the intent of "disallow /x" is plain
	// and obeying it is the polite reading. Three words are still noise.
	{
		name:  "Google: key and value without a colon",
		body:  "user-agent sluice\ndisallow /x\nallow /x/y extra\n",
		allow: []string{"/", "/y"},
		deny:  []string{"/x", "/x/y"},
	},
	// §2.3.1.5: binary junk around rules; the lines that parse still count.
	{
		name:  "garbage around a rule",
		body:  "\x00\xff<html>Disallow: /a\nUser-agent *\n:::\nDisallow: /private/\n",
		allow: []string{"/", "/a"},
		deny:  []string{"/private/c"},
	},
	// Google: "Allow: /$" with "Disallow: /" allows the root only.
	{
		name:  "Google: allow only the root",
		body:  "User-agent: sluice\nDisallow: /\nAllow: /$\n",
		allow: []string{"/"},
		deny:  []string{"/page.html", "/?q=1"},
	},
	// Google: its documentation's "/fish" examples.
	{
		name:  "Google: /fish",
		body:  "user-agent: sluice\ndisallow: /\nallow: /fish\n",
		allow: []string{"/fish", "/fish.html", "/fish/salmon.html", "/fishheads", "/fishheads/yummy.html", "/fish.html?id=anything"},
		deny:  []string{"/bar", "/Fish.asp", "/catfish", "/?id=fish"},
	},
	{
		name:  "Google: /fish* equals /fish",
		body:  "user-agent: sluice\ndisallow: /\nallow: /fish*\n",
		allow: []string{"/fish", "/fish.html", "/fish/salmon.html", "/fishheads", "/fish.html?id=anything"},
		deny:  []string{"/bar", "/Fish.bar", "/catfish", "/?id=fish"},
	},
	{
		name:  "Google: /fish/ does not equal /fish",
		body:  "user-agent: sluice\ndisallow: /\nallow: /fish/\n",
		allow: []string{"/fish/", "/fish/salmon", "/fish/?salmon", "/fish/?id=anything"},
		deny:  []string{"/bar", "/fish", "/fish.html", "/Fish/Salmon.html"},
	},
	{
		name:  "Google: /*.php",
		body:  "user-agent: sluice\ndisallow: /\nallow: /*.php\n",
		allow: []string{"/filename.php", "/folder/filename.php", "/folder/filename.php?parameters", "//folder/any.php.file.html", "/filename.php/", "/index?f=filename.php/"},
		deny:  []string{"/bar", "/php/", "/index?php", "/windows.PHP"},
	},
	{
		name:  "Google: /fish*.php",
		body:  "user-agent: sluice\ndisallow: /\nallow: /fish*.php\n",
		allow: []string{"/fish.php", "/fishheads/catfish.php?parameters"},
		deny:  []string{"/bar", "/Fish.PHP"},
	},
	// Google: a user-agent value is read up to its first space or other
	// character outside the product token.
	{
		name:  "Google: user-agent value cut at the token",
		body:  "User-Agent: *\nDisallow: /\nUser-Agent: sluice bot\nAllow: /x/\nDisallow: /\nUser-agent: sluice/2.0\nAllow: /v/\n",
		allow: []string{"/x/y", "/v/1"},
		deny:  []string{"/", "/z"},
	},
	// Google: frequent misspellings of keys are accepted.
	{
		name:  "Google: misspelt keys",
		body:  "useragent: sluice\ndisalow: /a\ndissallow: /b\n",
		allow: []string{"/"},
		deny:  []string{"/a", "/b"},
	},
	// Google: a line is read up to 16,664 bytes, so an over-long rule
	// still applies to its first part.
	{
		name:  "Google: over-long line is cut",
		body:  "user-agent: sluice\ndisallow: /x/" + strings.Repeat("a", 20000) + "/qux\n",
		allow: []string{"/fux", "/x/a"},
		deny:  []string{"/x/" + strings.Repeat("a", 20000) + "/fux"},
	},
	// An empty User-Agent header, or one with no product token, gets the
	// "*" group.
	{
		name:  "empty product token gets the star group",
		body:  "User-agent: sluice\nDisallow: /s\nUser-agent: *\nDisallow: /g\n",
		agent: "0day/1.0",
		allow: []string{"/s"},
		deny:  []string{"/g"},
	},
	// An empty file allows everything.
	{
		name:  "empty file",
		body:  "",
		allow: []string{"/", "/x"},
	},
	// A non-UTF-8 file is parsed byte by byte, not rejected.
	{
		name:  "invalid UTF-8",
		body:  "User-agent: sluice\nDisallow: /\xff\xfe\nDisallow: /b\x80\n\xc3: x\n",
		allow: []string{"/a"},
		deny:  []string{"/%FF%FE", "/\xff\xfe/x", "/b%80"},
	},
}

// TestRobotsAllowed checks the verdict of every case in robotsCases.
func TestRobotsAllowed(t *testing.T) {
	for _, tc := range robotsCases {
		t.Run(tc.name, func(t *testing.T) {
			agent := tc.agent
			if agent == "" {
				agent = testAgent
			}
			r := parseRobots([]byte(tc.body), agent)
			for _, p := range tc.allow {
				if !r.allowed(p) {
					t.Errorf("allowed(%.80q) = false, want true", p)
				}
			}
			for _, p := range tc.deny {
				if r.allowed(p) {
					t.Errorf("allowed(%.80q) = true, want false", p)
				}
			}
		})
	}
}

// TestRobotsCrawlDelay checks which Crawl-delay applies and how values are
// read.
func TestRobotsCrawlDelay(t *testing.T) {
	tests := []struct {
		name string
		body string
		want time.Duration
	}{
		{"none", "User-agent: *\nDisallow: /x\n", 0},
		{"integer", "User-agent: *\nCrawl-delay: 10\n", 10 * time.Second},
		{"fractional", "User-agent: sluice\nCrawl-delay: 0.5\n", 500 * time.Millisecond},
		{"leading dot", "User-agent: sluice\nCrawl-delay: .25\n", 250 * time.Millisecond},
		{"garbage", "User-agent: sluice\nCrawl-delay: soon\n", 0},
		{"unit suffix", "User-agent: sluice\nCrawl-delay: 5s\n", 0},
		{"negative", "User-agent: sluice\nCrawl-delay: -5\n", 0},
		{"not a number", "User-agent: sluice\nCrawl-delay: NaN\n", 0},
		{"empty", "User-agent: sluice\nCrawl-delay:\n", 0},
		{"huge is capped", "User-agent: sluice\nCrawl-delay: 99999999999999999999999\n", maxRobotsCrawlDelay},
		{"key case and typo", "USER-AGENT: sluice\ncrawldelay: 3\n", 3 * time.Second},
		// A matching group overrides "*", even for the delay, and even when
		// it sets none.
		{"specific group wins", "User-agent: *\nCrawl-delay: 10\n\nUser-agent: sluice\nCrawl-delay: 5\n", 5 * time.Second},
		{"specific group without delay", "User-agent: *\nCrawl-delay: 10\nDisallow: /y\n\nUser-agent: sluice\nDisallow: /x\n", 0},
		{"other agent's delay", "User-agent: otherbot\nCrawl-delay: 7\n", 0},
		{"before any group", "Crawl-delay: 4\nUser-agent: sluice\nDisallow: /x\n", 0},
		// §2.2.4: Crawl-delay is an "other record" and must not end the
		// group, so sluice and * share it here.
		{"does not end a group", "User-agent: sluice\nCrawl-delay: 2\nUser-agent: *\nDisallow: /\n", 2 * time.Second},
		// Merged groups with several delays keep the largest, so the order
		// of groups does not matter.
		{"merged groups keep the largest", "User-agent: sluice\nCrawl-delay: 1\n\nUser-agent: x\nDisallow: /\nUser-agent: sluice\nCrawl-delay: 3\n", 3 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := parseRobots([]byte(tc.body), testAgent).crawlDelay(); got != tc.want {
				t.Errorf("crawlDelay() = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestRobotsSitemaps checks that Sitemap lines are collected from anywhere in
// the file (§2.2.4).
func TestRobotsSitemaps(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []string
	}{
		{"none", "User-agent: *\nDisallow: /\n", nil},
		{
			"anywhere, in order",
			"Sitemap: https://a.example/1.xml\nUser-agent: otherbot\nsitemap: https://a.example/2.xml\nDisallow: /\n" +
				"User-agent: sluice\nSITEMAP:https://b.example/3.xml?x=1#frag\n",
			[]string{"https://a.example/1.xml", "https://a.example/2.xml", "https://b.example/3.xml?x=1"},
		},
		{"empty value is skipped", "Sitemap:\nSitemap: # none\nSitemap: /relative.xml\n", []string{"/relative.xml"}},
		{"CRLF and BOM", "\xEF\xBB\xBFSitemap: https://a.example/s.xml\r\n", []string{"https://a.example/s.xml"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := parseRobots([]byte(tc.body), testAgent).sitemaps(); !slices.Equal(got, tc.want) {
				t.Errorf("sitemaps() = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestProductToken checks the product token taken from User-Agent headers
// (§2.2.1: letters, "_" and "-").
func TestProductToken(t *testing.T) {
	tests := []struct{ in, want string }{
		{testAgent, "sluice"},
		{"Mozilla/5.0 (compatible; Googlebot/2.1)", "mozilla"},
		{"Foo_Bar-baz/1", "foo_bar-baz"},
		{"  sluice", "sluice"},
		{"FooBot", "foobot"},
		{"Foobot*", "foobot"},
		{"foo.bot", "foo"},
		{"123bot", ""},
		{"ツbot", ""},
		{"", ""},
	}
	for _, tc := range tests {
		if got := productToken(tc.in); got != tc.want {
			t.Errorf("productToken(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestRobotsStatusRules checks the rules used when there is no file to parse
// (§2.3.1.3 and §2.3.1.4).
func TestRobotsStatusRules(t *testing.T) {
	for _, p := range []string{"/", "/x?y=1"} {
		if !allowRobots().allowed(p) {
			t.Errorf("allowRobots().allowed(%q) = false", p)
		}
		if disallowRobots().allowed(p) {
			t.Errorf("disallowRobots().allowed(%q) = true", p)
		}
	}
	// The file itself must stay fetchable, or an unreachable host could
	// never recover.
	if !disallowRobots().allowed("/robots.txt") {
		t.Error(`disallowRobots().allowed("/robots.txt") = false`)
	}
	var zero robotsRules
	if !zero.allowed("/x") || zero.crawlDelay() != 0 || zero.sitemaps() != nil {
		t.Error("zero robotsRules does not allow everything")
	}
}

// TestRobotsHugeInput parses 500 KiB inputs built to be slow or to break a
// parser: random bytes, one endless line, and many wildcard rules.
func TestRobotsHugeInput(t *testing.T) {
	const size = 500 << 10
	rnd := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, size)
	for i := range random {
		random[i] = byte(rnd.Uint32())
	}
	// Distinct rules, so that deduplication does not shrink them.
	var stars strings.Builder
	stars.WriteString("User-agent: *\n")
	for i := 0; stars.Len() < size; i++ {
		fmt.Fprintf(&stars, "Disallow: /*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b%d\n", i)
	}
	inputs := map[string][]byte{
		"random":     random,
		"one line":   []byte("User-agent: *\nDisallow: /" + strings.Repeat("x", size)),
		"stars":      []byte(stars.String()),
		"blank":      bytes.Repeat([]byte("\r\n"), size/2),
		"user-agent": bytes.Repeat([]byte("User-agent: sluice\n"), size/19),
		"rules":      []byte("User-agent: sluice\n" + strings.Repeat("Allow: /a/b/c/d/e/f/g/h\nDisallow: /a/b/c/d/e/f/g\n", size/50)),
	}
	path := "/" + strings.Repeat("a", 2000)
	for name, body := range inputs {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			r := parseRobots(body, testAgent)
			for range 10 {
				r.allowed(path)
			}
			// Generous, to hold under -race on a slow machine; the
			// benchmark gives the real figure.
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("parse and 10 checks took %v", d)
			}
		})
	}
}

// TestRobotsDoesNotRetainBody checks that the rules do not alias the body,
// which the caller may reuse.
func TestRobotsDoesNotRetainBody(t *testing.T) {
	body := []byte("User-agent: *\nDisallow: /private\nSitemap: https://a.example/s.xml\n")
	r := parseRobots(body, testAgent)
	for i := range body {
		body[i] = 'x'
	}
	if r.allowed("/private") {
		t.Error("rule changed with the body")
	}
	if got := r.sitemaps(); len(got) != 1 || got[0] != "https://a.example/s.xml" {
		t.Errorf("sitemaps() = %q after the body changed", got)
	}
}

// TestRobotsConcurrentReads calls every method from several goroutines; run
// with -race.
func TestRobotsConcurrentReads(t *testing.T) {
	r := parseRobots([]byte(rfcExample51+"Sitemap: https://a.example/s.xml\nUser-agent: *\nCrawl-delay: 1\n"), testAgent)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 1000 {
				r.allowed("/example/x.gif")
				r.crawlDelay()
				r.sitemaps()
			}
		})
	}
	wg.Wait()
}

// FuzzParseRobots checks that no body or path panics, and that the verdict
// does not change when an unreserved character of the path is
// percent-encoded (§2.2.2).
func FuzzParseRobots(f *testing.F) {
	for _, tc := range robotsCases {
		for _, p := range append(tc.allow, tc.deny...) {
			f.Add([]byte(tc.body), p)
		}
	}
	f.Add([]byte("User-agent: *\nDisallow: /*%\nAllow: /%zz$\nCrawl-delay: 1e309"), "/%")
	f.Fuzz(func(t *testing.T, body []byte, path string) {
		r := parseRobots(body, testAgent)
		got := r.allowed(path)
		if d := r.crawlDelay(); d < 0 || d > maxRobotsCrawlDelay {
			t.Errorf("crawlDelay() = %v", d)
		}
		r.sitemaps()
		if !r.allowed("/robots.txt") {
			t.Error("/robots.txt disallowed")
		}
		// A "%" in the path could pair with the encoding and change it.
		if strings.Contains(path, "%") {
			return
		}
		if enc := strings.ReplaceAll(path, "a", "%61"); r.allowed(enc) != got {
			t.Errorf("allowed(%q) = %v but allowed(%q) = %v", path, got, enc, !got)
		}
	})
}

// FuzzMatchWild compares matchWild with a plain matcher that tracks every
// position of s the pattern so far can reach.
func FuzzMatchWild(f *testing.F) {
	f.Add("/*a*b", []byte("/xaxxbx"), false)
	f.Add("/*.php", []byte("/a.php.php"), true)
	f.Add("*a**", []byte("aaa"), true)
	f.Add("/a*", []byte("/a"), true)
	f.Fuzz(func(t *testing.T, pat string, s []byte, anchored bool) {
		if got, want := matchWild(pat, s, anchored), matchPositions(pat, s, anchored); got != want {
			t.Errorf("matchWild(%q, %q, %v) = %v, want %v", pat, s, anchored, got, want)
		}
	})
}

// matchPositions is the reference for matchWild.
func matchPositions(pat string, s []byte, anchored bool) bool {
	reach := make([]bool, len(s)+1)
	reach[0] = true
	for p := range len(pat) {
		next := make([]bool, len(s)+1)
		for i, ok := range reach {
			if !ok {
				continue
			}
			if pat[p] == '*' {
				for j := i; j <= len(s); j++ {
					next[j] = true
				}
			} else if i < len(s) && s[i] == pat[p] {
				next[i+1] = true
			}
		}
		reach = next
	}
	if anchored {
		return reach[len(s)]
	}
	return slices.Contains(reach, true)
}

// benchRobots is a robots.txt shaped like a large site's: many groups for
// other crawlers, a long "*" group with wildcards, and sitemaps.
func benchRobots() []byte {
	var b strings.Builder
	b.WriteString("# robots.txt\nSitemap: https://www.example.com/sitemap-index.xml\n\n")
	for i := range 40 {
		b.WriteString("User-agent: bot" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + "\nDisallow: /\n\n")
	}
	b.WriteString("User-agent: *\nCrawl-delay: 1\n")
	for i := range 200 {
		n := string(rune('a'+i%26)) + string(rune('a'+i/26))
		b.WriteString("Disallow: /" + n + "/private/\nAllow: /" + n + "/private/public-*.html$\nDisallow: /*?sessionid=" + n + "\n")
	}
	b.WriteString("Disallow: /search\nAllow: /search/about\nDisallow: /wiki/Special:*\nDisallow: /%7Euser/\n")
	return []byte(b.String())
}

// BenchmarkParseRobots measures parsing the 18 KB robots.txt of benchRobots.
func BenchmarkParseRobots(b *testing.B) {
	body := benchRobots()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		parseRobots(body, testAgent)
	}
}

// BenchmarkAllowed measures one check against the 604 rules that
// benchRobots has for sluice.
func BenchmarkAllowed(b *testing.B) {
	r := parseRobots(benchRobots(), testAgent)
	paths := []string{
		"/",
		"/wiki/Main_Page",
		"/ab/private/public-report.html",
		"/zz/products/item?id=42&sessionid=xy",
		"/search?q=robots+txt",
		"/~user/notes",
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r.allowed(paths[i%len(paths)])
		i++
	}
}
