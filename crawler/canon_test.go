package crawler

import (
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/nlnwa/whatwg-url/url"

	"github.com/sluicehq/sluice/internal/urlcheck"
)

// wptCase is one parsing case of the web-platform-tests URL suite.
type wptCase struct {
	Input    string  `json:"input"`
	Base     *string `json:"base"`
	Failure  bool    `json:"failure"`
	Href     string  `json:"href"`
	Protocol string  `json:"protocol"`
	Host     string  `json:"host"`
	Port     string  `json:"port"`
	Pathname string  `json:"pathname"`
	Search   string  `json:"search"`
	Hash     string  `json:"hash"`
}

// loadWPT returns the cases of testdata/wpt-url/urltestdata.json whose base
// is an http(s) URL, with that base's host. The file mixes comment strings
// in with the cases; those are skipped.
func loadWPT(t *testing.T) (cases []wptCase, baseHosts []string) {
	t.Helper()
	raw, err := os.ReadFile("testdata/wpt-url/urltestdata.json")
	if err != nil {
		t.Fatal(err)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		t.Fatal(err)
	}
	for _, item := range items {
		var c wptCase
		if item[0] != '{' {
			continue
		}
		if err := json.Unmarshal(item, &c); err != nil {
			t.Fatal(err)
		}
		if c.Base == nil {
			continue
		}
		b, err := url.Parse(*c.Base)
		if err != nil || (b.Scheme() != "http" && b.Scheme() != "https") {
			continue
		}
		cases = append(cases, c)
		baseHosts = append(baseHosts, b.Host())
	}
	return cases, baseHosts
}

// TestResolveWPTSameHost checks the links a crawler meets most: relative
// references on the page's own host, where a browser requests exactly
// pathname+search. Fragment-only links are left out, since following one
// requests nothing.
func TestResolveWPTSameHost(t *testing.T) {
	cases, baseHosts := loadWPT(t)
	c := newCanonicalizer(canonOptions{})
	selected, passed := 0, 0
	for i, tc := range cases {
		if _, err := url.Parse(tc.Input); tc.Failure || err == nil || tc.Host != baseHosts[i] || tc.Hash != "" {
			continue
		}
		selected++
		got, err := c.resolve(*tc.Base, tc.Input)
		if err != nil {
			t.Errorf("resolve(%q, %q): %v", *tc.Base, tc.Input, err)
			continue
		}
		u, err := url.Parse(got)
		if err != nil {
			t.Errorf("resolve(%q, %q) = %q, which does not parse: %v", *tc.Base, tc.Input, got, err)
			continue
		}
		// Percent-encodings are normalized past WHATWG (see normalizeEscapes).
		const origin = "http://h"
		if want := normalizeEscapes(origin + tc.Pathname + tc.Search)[len(origin):]; u.Pathname()+u.Search() != want {
			t.Errorf("resolve(%q, %q) = %q, want path+query %q", *tc.Base, tc.Input, got, want)
			continue
		}
		passed++
	}
	if selected != 47 {
		t.Fatalf("selected %d same-host relative cases, the suite's README counts 47", selected)
	}
	t.Logf("%d/%d same-host relative cases pass", passed, selected)
}

// TestResolveWPT runs every case with an http(s) base. Failures must fail;
// http(s) results must match href less its fragment, its escapes normalized
// (WHATWG's href already omits a default port, which is asserted); results
// in other schemes are the crawler's own rejections and must fail as
// unsupported.
func TestResolveWPT(t *testing.T) {
	cases, _ := loadWPT(t)
	c := newCanonicalizer(canonOptions{})
	var matched, failed, rejected int
	for _, tc := range cases {
		got, err := c.resolve(*tc.Base, tc.Input)
		switch {
		case tc.Failure:
			if err == nil {
				t.Errorf("resolve(%q, %q) = %q, want an error", *tc.Base, tc.Input, got)
			}
			failed++
		case tc.Protocol != "http:" && tc.Protocol != "https:":
			if err == nil || !strings.Contains(err.Error(), "unsupported scheme") {
				t.Errorf("resolve(%q, %q) = %q, %v; want an unsupported scheme error", *tc.Base, tc.Input, got, err)
			}
			rejected++
		default:
			if tc.Port == map[string]string{"http:": "80", "https:": "443"}[tc.Protocol] {
				t.Errorf("case %q keeps its default port in href %q", tc.Input, tc.Href)
			}
			want, _, _ := strings.Cut(tc.Href, "#")
			// Percent-encodings are normalized past WHATWG (see normalizeEscapes).
			want = normalizeEscapes(want)
			if err != nil || got != want {
				t.Errorf("resolve(%q, %q) = %q, %v; want %q", *tc.Base, tc.Input, got, err, want)
			}
			matched++
		}
	}
	if matched+failed+rejected != len(cases) || matched == 0 {
		t.Fatalf("ran %d+%d+%d of %d cases", matched, failed, rejected, len(cases))
	}
	t.Logf("%d cases: %d http(s) results, %d failures, %d other schemes rejected", len(cases), matched, failed, rejected)
}

func TestResolve(t *testing.T) {
	const page = "http://example.com/dir/page.html"
	sorted := canonOptions{sortQuery: true}
	stripped := canonOptions{stripTracking: true}
	both := canonOptions{sortQuery: true, stripTracking: true}
	tests := []struct {
		name      string
		opts      canonOptions
		base, ref string
		want      string // "" means an error
	}{
		{"fragment dropped", canonOptions{}, page, "other.html#sec-2", "http://example.com/dir/other.html"},
		{"fragment only", canonOptions{}, page + "?q=1", "#top", page + "?q=1"},
		{"empty ref is the base", canonOptions{}, page + "#x", "", page},
		{"scheme and host lowercased", canonOptions{}, "", "HTTPS://WWW.Example.COM/A/B", "https://www.example.com/A/B"},
		{"idna host", canonOptions{}, "", "http://Bücher.example/", "http://xn--bcher-kva.example/"},
		{"http :80 dropped", canonOptions{}, "", "http://example.com:80/a", "http://example.com/a"},
		{"https :443 dropped", canonOptions{}, "", "https://example.com:443/a", "https://example.com/a"},
		{"http :443 kept", canonOptions{}, "", "http://example.com:443/a", "http://example.com:443/a"},
		{":8080 kept", canonOptions{}, "", "http://example.com:8080/a", "http://example.com:8080/a"},
		{"empty path", canonOptions{}, "", "http://example.com", "http://example.com/"},
		{"tabs and newlines inside", canonOptions{}, page, "/a\tb\n/c\r", "http://example.com/ab/c"},
		{"tab inside scheme", canonOptions{}, "", "ht\ttp://example.com/", "http://example.com/"},
		{"leading and trailing spaces", canonOptions{}, page, "  /a  ", "http://example.com/a"},
		{"leading and trailing controls", canonOptions{}, page, "\x00\x1f /a\x01 \x1f", "http://example.com/a"},
		{"DEL is not trimmed", canonOptions{}, page, "/a\x7f", "http://example.com/a%7F"},
		{"inner space encoded", canonOptions{}, page, "/a b", "http://example.com/a%20b"},
		{"backslashes", canonOptions{}, page, `\a\b`, "http://example.com/a/b"},
		{"dot segments", canonOptions{}, page, "../x/./y/../z", "http://example.com/x/z"},
		{"above the root", canonOptions{}, page, "../../../x", "http://example.com/x"},
		{"non-ascii path", canonOptions{}, page, "/ü", "http://example.com/%C3%BC"},
		{"scheme-relative", canonOptions{}, "https://a.example/x", "//b.example/y", "https://b.example/y"},
		{"base href with path", canonOptions{}, "http://example.com/docs/v2/", "guide/intro", "http://example.com/docs/v2/guide/intro"},
		{"base href file", canonOptions{}, "http://example.com/docs/v2/index.html", "../v1/", "http://example.com/docs/v1/"},
		{"query replaces base query", canonOptions{}, page + "?a=1", "?b=2", page + "?b=2"},
		{"userinfo kept", canonOptions{}, "http://u:p@example.com/", "x", "http://u:p@example.com/x"},
		{"sort query", sorted, page, "?b=2&a=1&c=3", page + "?a=1&b=2&c=3"},
		{"sort is stable", sorted, page, "?b=2&a=9&b=1&a=8", page + "?a=9&a=8&b=2&b=1"},
		{"sort drops empty params", sorted, page, "?&b&&a=", page + "?a=&b"},
		{"unsorted order kept", canonOptions{}, page, "?b=2&a=1", page + "?b=2&a=1"},
		{"empty query kept", canonOptions{}, page, "?", page + "?"},
		{"empty query dropped", sorted, page, "?", page},
		{"tracking stripped", stripped, page, "?z=1&utm_source=x&gclid=1&y=2&fbclid=3&utm_medium=m", page + "?z=1&y=2"},
		{"every tracking key", stripped, page, "?utm_campaign=1&msclkid=2&mc_cid=3&mc_eid=4&_ga=5&yclid=6&igshid=7", page},
		{"lookalikes kept", stripped, page, "?utm=1&gclid2=2&GCLID=3&xutm_a=4", page + "?utm=1&gclid2=2&GCLID=3&xutm_a=4"},
		{"stripped and sorted", both, page, "?b=1&utm_id=2&a=3", page + "?a=3&b=1"},
		{"values untouched", both, page, "?q=a+b%20c&p=%E2%82%AC", page + "?p=%E2%82%AC&q=a+b%20c"},
		{"escaped tilde decoded", canonOptions{}, page, "/a%7e", "http://example.com/a~"},
		{"escaped tilde upper", canonOptions{}, page, "/a%7E", "http://example.com/a~"},
		{"escaped unreserved decoded", canonOptions{}, page, "/%41%7a%30%2D%2e%5f", "http://example.com/Az0-._"},
		{"escaped dot segment", canonOptions{}, page, "/a/%2e%2E/b/%2e", "http://example.com/b/"},
		{"escaped dots in a name", canonOptions{}, page, "/a%2e%2eb", "http://example.com/a..b"},
		{"hex uppercased", canonOptions{}, page, "/caf%c3%a9", "http://example.com/caf%C3%A9"},
		{"escaped slash kept", canonOptions{}, page, "/c%2fd%2F", "http://example.com/c%2Fd%2F"},
		{"escaped reserved kept", canonOptions{}, page, "/%3a%40%21%24%26%27%28%29%2a%2b%2c%3b%3d", "http://example.com/%3A%40%21%24%26%27%28%29%2A%2B%2C%3B%3D"},
		{"escaped percent kept", canonOptions{}, page, "/%2541", "http://example.com/%2541"},
		{"escaped query", canonOptions{}, page, "?q=%7e%2Fx%26y%3d%41&%5F=1", page + "?q=~%2Fx%26y%3DA&_=1"},
		{"escaped non-ascii query", canonOptions{}, page, "?q=%e2%82%ac", page + "?q=%E2%82%AC"},
		{"escapes in base", canonOptions{}, "http://example.com/%7euser/%c3%a9/", "x?a=%7e", "http://example.com/~user/%C3%A9/x?a=~"},
		{"escapes in base, query ref", canonOptions{}, "http://example.com/%7euser/", "?a", "http://example.com/~user/?a"},
		{"stray percent kept", canonOptions{}, page, "/100%?p=5%", "http://example.com/100%?p=5%"},
		{"stray percent before escapes", canonOptions{}, page, "/%%34%31%4%31", "http://example.com/%%341%4%31"},
		{"tracking key escaped", stripped, page, "?utm%5Fsource=x&a=1", page + "?a=1"},
		{"mailto", canonOptions{}, page, "mailto:a@example.com", ""},
		{"javascript", canonOptions{}, page, "javascript:void(0)", ""},
		{"data", canonOptions{}, page, "data:text/html,hi", ""},
		{"ftp", canonOptions{}, page, "ftp://example.com/f", ""},
		{"tel", canonOptions{}, page, "tel:+4712345678", ""},
		{"relative without base", canonOptions{}, "", "/a", ""},
		{"empty without base", canonOptions{}, "", "", ""},
		{"garbage", canonOptions{}, "", "::::", ""},
		{"bad host", canonOptions{}, page, "http://exa mple.com/", ""},
		{"empty host", canonOptions{}, page, "http:///", ""},
		{"bad port", canonOptions{}, page, "http://example.com:99999/", ""},
		{"bad base", canonOptions{}, "not a url", "/a", ""},
		{"long link", canonOptions{}, page, "/" + strings.Repeat("a", maxURLLen-len("http://example.com/")), "http://example.com/" + strings.Repeat("a", maxURLLen-len("http://example.com/"))},
		{"link too long", canonOptions{}, page, "/" + strings.Repeat("a", maxURLLen), ""},
		{"result too long", canonOptions{}, page, strings.Repeat("é", maxURLLen/6), ""},
		{"non-http base", canonOptions{}, "ftp://example.com/", "/a", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := newCanonicalizer(tt.opts).resolve(tt.base, tt.ref)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("resolve(%q, %q) = %q, want an error", tt.base, tt.ref, got)
				}
				if !strings.HasPrefix(err.Error(), "crawler: ") {
					t.Errorf("error %q lacks the package prefix", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("resolve(%q, %q) = %q, %v; want %q", tt.base, tt.ref, got, err, tt.want)
			}
		})
	}
}

// TestResolveEquivalent checks that the spellings of one page agree on the
// canonical URL and so on the fingerprint.
func TestResolveEquivalent(t *testing.T) {
	const want = "http://host.example/page/7"
	c := newCanonicalizer(canonOptions{sortQuery: true, stripTracking: true})
	spellings := []struct{ base, ref string }{
		{"http://host.example/", "/page/7"},
		{"http://host.example/", "./page/7"},
		{"http://host.example/", "http://HOST.example:80/page/7"},
		{"http://host.example/", "/page/7#top"},
		{"http://host.example/", "/a/../page/7"},
		{"http://host.example/", "HTTP://host.example/page/7"},
		{"http://host.example/", " /page/7 "},
		{"http://host.example/", "/page/7\t"},
		{"http://host.example/page/6", "7"},
		{"http://host.example/x/y", `\page\7`},
		{"http://host.example/", "/page/7?utm_source=news"},
		{"http://host.example/", "/p%61ge/%37"},
		{"http://host.example/", "/%70ag%65/7"},
		{"http://host.example/%70age/", "7"},
		{"", "http://host.example/page/7"},
	}
	for _, s := range spellings {
		got, err := c.resolve(s.base, s.ref)
		if err != nil || got != want {
			t.Errorf("resolve(%q, %q) = %q, %v; want %q", s.base, s.ref, got, err, want)
			continue
		}
		if fingerprint(got) != fingerprint(want) {
			t.Errorf("fingerprint differs for %q", s.ref)
		}
	}
}

// TestFingerprint pins the hash: fingerprints key a seen-set shared across
// processes and machines, so they must never change. The values are those
// of the reference implementation: printf %s URL | xxhsum -H2.
func TestFingerprint(t *testing.T) {
	tests := []struct{ url, want string }{
		{"", "99aa06d3014798d86001c324468d497f"},
		{"http://example.com/", "42663426682770e605cd77c9b152d153"},
		{"http://example.com/page/7", "e97f541f15a02313a498bad5f50332d1"},
	}
	for _, tt := range tests {
		fp := fingerprint(tt.url)
		if got := hex.EncodeToString(fp[:]); got != tt.want {
			t.Errorf("fingerprint(%q) = %s, want %s", tt.url, got, tt.want)
		}
	}
	if fingerprint("http://example.com/a") == fingerprint("http://example.com/b") {
		t.Error("distinct URLs share a fingerprint")
	}
}

// fastBases are bases of the shapes the fast path splices into.
var fastBases = []string{
	"http://example.com/",
	"https://example.com/dir/page.html?q=1",
	"http://u:p@example.com:8080/a/b/",
	"https://xn--bcher-kva.example/a/b?",
	"http://10.0.0.1/a",
	"http://[::1]:81/x/y/z?a=b&c",
}

// checkFast fails t if the fast path takes ref against base and disagrees
// with the parser. It reports whether the fast path took ref.
func checkFast(t *testing.T, c *canonicalizer, base, ref string) bool {
	t.Helper()
	b, err := c.base(base)
	if err != nil {
		t.Fatal(err)
	}
	fast, ok := b.fast(ref)
	if !ok {
		return false
	}
	full, err := c.full(b, ref)
	if err != nil || fast != full {
		t.Errorf("base %q ref %q: fast path gives %q, parser %q, %v", base, ref, fast, full, err)
	}
	return true
}

// TestFastMatchesParser compares the fast path with the parser on links
// built from the pieces that matter to either.
func TestFastMatchesParser(t *testing.T) {
	pieces := []string{"/", "/", "a", "b1", "page", ".", "..", "?", "#", "=", "&", "x=1",
		":", "@", "'", "~", "-", "_", "!", "$", "(", "*", "+", ",", ";", "%", "%2e", "%41",
		`\`, " ", "\t", "\n", "\x00", "\x7f", "é", "\xff", "[", "^", "|", "{", "`", "\"", "<", "//", "http:", "c:",
		"http://", "HTTPS://", "//", "Example.COM", "a-b.c", ":80", ":443", ":8080", ":080", ":", ":99999",
		"1.2.3.4", "01.2.3.4", "256.1.1.1", "1.2.3", "0x7f.1", "xn--", "u@", "[::1]", ".", "..", "/..", "/./", " ", "\r\n"}
	c := newCanonicalizer(canonOptions{})
	r := rand.New(rand.NewPCG(1, 2))
	const n = 50000
	taken := 0
	for range n {
		var sb strings.Builder
		for range r.IntN(8) {
			sb.WriteString(pieces[r.IntN(len(pieces))])
		}
		if checkFast(t, c, fastBases[r.IntN(len(fastBases))], sb.String()) {
			taken++
		}
	}
	// Guard against a fast path so strict that the test proves nothing.
	if taken < n/10 {
		t.Fatalf("fast path took only %d of %d links", taken, n)
	}
	t.Logf("fast path took %d of %d links", taken, n)
}

func FuzzFastPath(f *testing.F) {
	for _, ref := range []string{"", "/", "a", "/a/b?c=d#e", "?x", "#f", "a:b", "./a", "a/..", "/a'b?c'd", "b/c:d",
		"http://Example.com:80/a/../b/.", "//h.example:8080?q", " HTTPS://1.2.3.4/x\t", "../../p/7", "/x/../p/./7"} {
		f.Add(uint8(0), ref)
	}
	c := newCanonicalizer(canonOptions{})
	f.Fuzz(func(t *testing.T, base uint8, ref string) {
		checkFast(t, c, fastBases[int(base)%len(fastBases)], ref)
	})
}

func FuzzResolve(f *testing.F) {
	for _, s := range []struct{ base, ref string }{
		{"http://example.com/a/b", "../c?d=e#f"},
		{"https://example.com/", "//other.example/x"},
		{"", "HTTP://Example.COM:80/%7e?utm_source=x&b=1&a=2"},
		{"http://example.com/", " \t/a\\b/./../c "},
		{"http://example.com/", "javascript:alert(1)"},
		{"http://[::1]:8080/", "http://0x7f.1/"},
		{"http://example.com/", "http://xn--/"},
		{"http://example.com/%7e/", "%%34%31%4%31?%7E%2f%%41"},
		{"http://example.com/", "/%2e%2E/a%2E./%41%2541"},
	} {
		f.Add(uint8(3), s.base, s.ref)
	}
	f.Fuzz(func(t *testing.T, opts uint8, base, ref string) {
		c := newCanonicalizer(canonOptions{sortQuery: opts&1 != 0, stripTracking: opts&2 != 0})
		out, err := c.resolve(base, ref)
		if err != nil {
			return
		}
		if !strings.HasPrefix(out, "http://") && !strings.HasPrefix(out, "https://") {
			t.Fatalf("resolve(%q, %q) = %q, not http(s)", base, ref, out)
		}
		again, err := c.resolve("", out)
		if err != nil || again != out {
			t.Fatalf("resolve(%q, %q) = %q, but resolve(\"\", %q) = %q, %v", base, ref, out, out, again, err)
		}
	})
}

// TestResolveConcurrent shares one canonicalizer, and so its base cache,
// between goroutines; run it with -race.
func TestResolveConcurrent(t *testing.T) {
	c := newCanonicalizer(canonOptions{sortQuery: true})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				base := fastBases[(g+i)%len(fastBases)]
				want, err := newCanonicalizer(canonOptions{sortQuery: true}).resolve(base, "../x?b=1&a=2")
				if err != nil {
					t.Error(err)
					return
				}
				if got, err := c.resolve(base, "../x?b=1&a=2"); err != nil || got != want {
					t.Errorf("resolve(%q) = %q, %v; want %q", base, got, err, want)
					return
				}
			}
		})
	}
	wg.Wait()
}

// benchLinks is a page's worth of links as a crawler meets them, resolved
// against the page's URL.
var benchLinks = []string{
	"/page/123", "/page/124", "page/5?x=1", "../a", "/products/42?color=red&size=m",
	"//cdn.example.com/x", "https://other.example/about", "/page/7#reviews",
	"#top", "/search?q=go+url&page=2", "./b/c.html", "/blog/2026/11/url-parsing",
}

// BenchmarkResolve measures one link of benchLinks: "naive" parses the base
// for every link, "parser" parses it once as resolve's cache does, and
// "resolve" adds the fast path.
func BenchmarkResolve(b *testing.B) {
	const base = "https://www.example.com/section/list.html?p=3"
	c := newCanonicalizer(canonOptions{})
	pb, err := c.base(base)
	if err != nil {
		b.Fatal(err)
	}
	run := func(name string, resolve func(ref string) error) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := resolve(benchLinks[i%len(benchLinks)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
	run("naive", func(ref string) error {
		u, err := url.ParseRef(base, ref)
		if err == nil {
			_ = u.Href(true)
		}
		return err
	})
	run("parser", func(ref string) error {
		_, err := c.full(pb, ref)
		return err
	})
	run("resolve", func(ref string) error {
		_, err := c.resolve(base, ref)
		return err
	})
}

// TestNewBaseMatchesParser checks that a base split without the parser,
// because fast gives it back unchanged, has the parts the parser gives it.
func TestNewBaseMatchesParser(t *testing.T) {
	starts := []string{"http://example.com", "https://a-b.example:8080", "HTTP://Example.COM", "http://1.2.3.4",
		"http://u@h.example", "http://xn--p1ai.example", "http://h.example:80", "//h.example", "/", "http:/h.example"}
	pieces := []string{"/", "a", "b1", ".", "..", "?", "#", "=", "&", "x=1", ":", "@", "'", "~", "%", "%2e", " ", "é", "//"}
	c := newCanonicalizer(canonOptions{})
	r := rand.New(rand.NewPCG(3, 4))
	split := 0
	for range 20000 {
		var sb strings.Builder
		sb.WriteString(starts[r.IntN(len(starts))])
		for range r.IntN(6) {
			sb.WriteString(pieces[r.IntN(len(pieces))])
		}
		raw := sb.String()
		got, err := c.newBase(raw)
		want, werr := parsedReference(c, raw)
		if (err != nil) != (werr != nil) {
			t.Fatalf("newBase(%q): error %v, parser: %v", raw, err, werr)
		}
		if err != nil {
			continue
		}
		if got.u == nil {
			split++
		}
		if got.href != want.href || got.origin != want.origin || got.path != want.path || got.dir != want.dir {
			t.Fatalf("newBase(%q) = %q %q %q %q, parser: %q %q %q %q", raw,
				got.href, got.origin, got.path, got.dir, want.href, want.origin, want.path, want.dir)
		}
	}
	if split < 200 { // a guard against a test that proves nothing
		t.Fatalf("only %d bases were split without the parser", split)
	}
}

// parsedReference splits raw as newBase does, always through the parser.
func parsedReference(c *canonicalizer, raw string) (*parsedBase, error) {
	u, err := c.parser.Parse(raw)
	if err != nil {
		return nil, err
	}
	href, err := webHref(u, raw)
	if err != nil {
		return nil, err
	}
	b := &parsedBase{href: href}
	b.origin, b.path, b.dir = splitHref(href)
	return b, nil
}

// TestResolveEscapesCanonical resolves links built from escapes, stray "%"
// and hex digits, and checks that each result is its own canonical form
// and holds no escape of an unreserved character outside the context of a
// stray "%", and no lower-case escape.
func TestResolveEscapesCanonical(t *testing.T) {
	pieces := []string{"%", "%", "%4", "%41", "%2e", "%2E", "%7e", "%2f", "%25", "%c3%a9", "%3d", "a", "1", "F", "/", "?", "=", "&", ".", ".."}
	c := newCanonicalizer(canonOptions{})
	r := rand.New(rand.NewPCG(5, 6))
	changed := 0
	for range 20000 {
		var sb strings.Builder
		sb.WriteString("/x/")
		for range r.IntN(8) {
			sb.WriteString(pieces[r.IntN(len(pieces))])
		}
		ref := sb.String()
		out, err := c.resolve("http://example.com/d/", ref)
		if err != nil {
			t.Fatalf("resolve(%q): %v", ref, err)
		}
		if again, err := c.resolve("", out); err != nil || again != out {
			t.Fatalf("resolve(%q) = %q, which resolves to %q, %v", ref, out, again, err)
		}
		for i := 0; i+2 < len(out); i++ {
			if out[i] != '%' || !urlcheck.IsHex(out[i+1]) || !urlcheck.IsHex(out[i+2]) {
				continue
			}
			esc := out[i : i+3]
			if strings.ContainsAny(esc[1:], "abcdef") {
				t.Fatalf("resolve(%q) = %q keeps lower-case %q", ref, out, esc)
			}
			if (esc == "%41" || esc == "%7E" || esc == "%2E") && !strings.Contains(out[i-2:i], "%") {
				t.Fatalf("resolve(%q) = %q keeps %q", ref, out, esc)
			}
		}
		if out != "http://example.com"+ref {
			changed++
		}
	}
	if changed < 1000 { // a guard against links that test nothing
		t.Fatalf("only %d links changed", changed)
	}
}

// BenchmarkNormalizeEscapes normalizes a link of maxURLLen bytes spelt as
// escapes of unreserved characters, the worst case a hostile page can
// give: each decoded byte looks back at the output's last two bytes only.
func BenchmarkNormalizeEscapes(b *testing.B) {
	h := "http://h/" + strings.Repeat("%41", (maxURLLen-len("http://h/"))/3)
	b.ReportAllocs()
	for b.Loop() {
		normalizeEscapes(h)
	}
}
