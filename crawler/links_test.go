package crawler

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestExtractLinks(t *testing.T) {
	tests := []struct {
		name        string
		body        string
		contentType string
		maxLinks    int
		want        pageLinks
	}{
		{
			name: "no links",
			body: "<!DOCTYPE html><html><head><title>Empty</title></head><body><p>Nothing to follow.</p></body></html>",
			want: pageLinks{title: "Empty"},
		},
		{
			name: "empty body",
			body: "",
		},
		{
			name: "a and area in document order",
			body: `<p><a href="/a">A</a></p><map><area href="/b" alt=b></map><a href="https://x.test/c">C</a>`,
			want: pageLinks{links: []rawLink{{href: "/a"}, {href: "/b"}, {href: "https://x.test/c"}}},
		},
		{
			name: "empty and blank hrefs are the page itself",
			body: "<a href=\"\">x</a><a href=\"  \">y</a><a href>z</a><a>w</a><a href=\" /d \">d</a>",
			want: pageLinks{links: []rawLink{{href: "/d"}}},
		},
		{
			name: "tabs and newlines inside an href",
			body: "<a href=\"/e\n/f\t/g\r\n\">x</a>",
			want: pageLinks{links: []rawLink{{href: "/e/f/g"}}},
		},
		{
			name: "entities in href",
			body: `<a href="/s?a=1&amp;b=2&lt;&#x41;&#66;">x</a><a href=/t?q=a&amp;r=b>y</a>`,
			want: pageLinks{links: []rawLink{{href: "/s?a=1&b=2<AB"}, {href: "/t?q=a&r=b"}}},
		},
		{
			name: "uppercase tags and attributes",
			body: `<HTML><HEAD><BASE HREF="/base/"><LINK REL="Canonical" HREF="/canon"><TITLE>Up</TITLE></HEAD>` +
				`<BODY><A HREF="/up" REL="NOFOLLOW">x</A><AREA Href=/ar><IFRAME SRC="/if"></IFRAME></BODY></HTML>`,
			want: pageLinks{
				links: []rawLink{{href: "/canon"}, {href: "/up", nofollow: true}, {href: "/ar"}, {href: "/if"}},
				base:  "/base/",
				title: "Up",
			},
		},
		{
			name: "link rel decides",
			body: `<link rel=canonical href=/1><link rel="next" href=/2><link rel="PREV" href=/3>` +
				`<link rel="alternate" hreflang=de href=/4><link rel=stylesheet href=/s.css><link rel=icon href=/i.ico>` +
				`<link rel="alternate stylesheet" href=/alt.css><link href=/norel><link rel="nofollow next" href=/5>` +
				"<link rel=\"preload\tnext\" href=/6>",
			want: pageLinks{links: []rawLink{
				{href: "/1"}, {href: "/2"}, {href: "/3"}, {href: "/4"}, {href: "/5", nofollow: true}, {href: "/6"},
			}},
		},
		{
			name: "frames and iframes",
			body: `<frameset><frame src="/f1"><frame src=""><frame src=/f2 /></frameset><iframe src="/if"></iframe>`,
			want: pageLinks{links: []rawLink{{href: "/f1"}, {href: "/f2"}, {href: "/if"}}},
		},
		{
			name: "iframe fallback content is text",
			body: `<iframe src="/if"><a href="/fallback">old browsers</a></iframe><a href="/after">`,
			want: pageLinks{links: []rawLink{{href: "/if"}, {href: "/after"}}},
		},
		{
			name: "rel nofollow",
			body: `<a rel="nofollow" href=/n1><a rel="external NoFollow" href=/n2><area rel=nofollow href=/n3>` +
				`<a rel="nofollowing" href=/f1><a href=/f2 rel="">`,
			want: pageLinks{links: []rawLink{
				{href: "/n1", nofollow: true}, {href: "/n2", nofollow: true}, {href: "/n3", nofollow: true},
				{href: "/f1"}, {href: "/f2"},
			}},
		},
		{
			name: "meta robots nofollow covers links before and after it",
			body: `<a href=/before><meta name="robots" content="noindex, NOFOLLOW"><a href=/after><iframe src=/if>`,
			want: pageLinks{links: []rawLink{
				{href: "/before", nofollow: true}, {href: "/after", nofollow: true}, {href: "/if", nofollow: true},
			}},
		},
		{
			name: "meta robots none",
			body: `<meta name=ROBOTS content=none><a href=/x>`,
			want: pageLinks{links: []rawLink{{href: "/x", nofollow: true}}},
		},
		{
			name: "meta robots index follow",
			body: `<meta name=robots content="index,follow"><meta name=description content="nofollow"><a href=/x>`,
			want: pageLinks{links: []rawLink{{href: "/x"}}},
		},
		{
			name: "meta refresh",
			body: `<meta http-equiv="Refresh" content="5; url=/next"><a href=/x>`,
			want: pageLinks{links: []rawLink{{href: "/next"}, {href: "/x"}}},
		},
		{
			name: "meta refresh without a url",
			body: `<meta http-equiv="refresh" content="30"><meta http-equiv="refresh" content="0; url=">`,
		},
		{
			name: "script, style, textarea, comments and friends are not markup",
			body: `<script>document.write('<a href="/js">'); if (a<b) {}</script>` +
				`<style>a::after{content:"<a href='/css'>"}</style>` +
				`<textarea><a href="/ta"></textarea><!-- <a href="/comment"> -->` +
				`<xmp><a href=/xmp></xmp><noembed><a href=/noembed></noembed>` +
				`<![CDATA[<a href=/cdata>]]><a href="/real">`,
			want: pageLinks{links: []rawLink{{href: "/real"}}},
		},
		{
			name: "noscript is markup to a crawler",
			body: `<noscript><a href="/nojs">page 2</a><iframe src=/nojs-frame></iframe></noscript>`,
			want: pageLinks{links: []rawLink{{href: "/nojs"}, {href: "/nojs-frame"}}},
		},
		{
			name: "markup inside title is text",
			body: `<title>A <a href=/t> in a title</title>`,
			want: pageLinks{title: "A <a href=/t> in a title"},
		},
		{
			name: "unclosed title runs to the end",
			body: `<title>Unclosed <a href=/x>`,
			want: pageLinks{title: "Unclosed <a href=/x>"},
		},
		{
			name: "first base with an href counts",
			body: `<base target=_blank><base href=" /one/ "><base href="/two/"><a href=x>`,
			want: pageLinks{links: []rawLink{{href: "x"}}, base: "/one/"},
		},
		{
			name: "first title counts, whitespace collapsed",
			body: "<title>\n  Hello,\t\tworld &amp;\r\n friends  </title><title>Second</title>",
			want: pageLinks{title: "Hello, world & friends"},
		},
		{
			name: "empty first title",
			body: "<title></title><title>Second</title>",
		},
		{
			name: "self-closing title still opens one",
			body: "<title/>Slash</title>",
			want: pageLinks{title: "Slash"},
		},
		{
			name: "malformed: unclosed tags",
			body: `<div><a href=/one><p><a href=/two><table><tr><td><a href=/three>`,
			want: pageLinks{links: []rawLink{{href: "/one"}, {href: "/two"}, {href: "/three"}}},
		},
		{
			name: "malformed: unquoted and odd attributes",
			body: `<a href=/u class=x>u</a><a href = "/spaced" >s</a><a class="x"href="/glued">g</a><a href='/single'>`,
			want: pageLinks{links: []rawLink{{href: "/u"}, {href: "/spaced"}, {href: "/glued"}, {href: "/single"}}},
		},
		{
			name: "malformed: < inside an unquoted value",
			body: `<a href=x<b>bold</b></a>`,
			want: pageLinks{links: []rawLink{{href: "x<b"}}},
		},
		{
			name: "malformed: repeated attribute, first wins",
			body: `<a href="/first" href="/second">`,
			want: pageLinks{links: []rawLink{{href: "/first"}}},
		},
		{
			name: "malformed: tag cut off by the end of the page",
			body: `<a href=/ok><a href="/cut`,
			want: pageLinks{links: []rawLink{{href: "/ok"}}},
		},
		{
			name: "malformed: stray angle brackets",
			body: `a < b > c <<a href=/x>> <3 </ > <a/href=/y> <a href=/z/>`,
			want: pageLinks{links: []rawLink{{href: "/x"}, {href: "/y"}, {href: "/z/"}}},
		},
		{
			name:     "cap",
			body:     `<a href=/1><a href=/2><a href=/3><a href=/4><a href=/5>`,
			maxLinks: 2,
			want:     pageLinks{links: []rawLink{{href: "/1"}, {href: "/2"}}, dropped: 3},
		},
		{
			name:     "negative cap is no cap",
			body:     `<a href=/1><a href=/2>`,
			maxLinks: -1,
			want:     pageLinks{links: []rawLink{{href: "/1"}, {href: "/2"}}},
		},
		{
			name:     "empty hrefs are not dropped links",
			body:     `<a href=/1><a href=""><a href=/2>`,
			maxLinks: 1,
			want:     pageLinks{links: []rawLink{{href: "/1"}}, dropped: 1},
		},
		{
			name: "NUL bytes",
			body: "<a href=\"/a\x00b\">x</a>\x00<a\x00 href=/c>",
			want: pageLinks{links: []rawLink{{href: "/a\uFFFDb"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := extractLinks([]byte(tt.body), tt.contentType, tt.maxLinks)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("extractLinks(%q)\n got %+v\nwant %+v", tt.body, got, tt.want)
			}
			checkPageLinks(t, []byte(tt.body), tt.contentType, tt.maxLinks, got)
		})
	}
}

func TestRefreshURL(t *testing.T) {
	tests := []struct {
		content string
		want    string // "" means no link
	}{
		{"0;url=/x", "/x"},
		{"0; URL='/x'", "/x"},
		{"0, url=/x", "/x"},
		{`5; url = "/x"`, "/x"},
		{"5 url=/x", "/x"},
		{"  3 ;  Url=/x?a=1;b=2", "/x?a=1;b=2"},
		{"0.5; url=/x", "/x"},
		{".5; url=/x", "/x"},
		{"0; url='/x'trailing", "/x"},
		{`0; url="/unterminated`, "/unterminated"},
		{"0; /bare", "/bare"},
		{"0; '/quoted'", "/quoted"},
		{"0; urlx", "urlx"},
		{"0; uri=/x", "uri=/x"},
		{"0; u", "u"},
		{"0; url /x", "url /x"},
		{"5", ""},
		{"5;", ""},
		{"5; ", ""},
		{"", ""},
		{"url=/x", ""},
		{"x; url=/x", ""},
		{"5x; url=/x", ""},
	}
	for _, tt := range tests {
		if got := string(refreshURL([]byte(tt.content))); got != tt.want {
			t.Errorf("refreshURL(%q) = %q, want %q", tt.content, got, tt.want)
		}
	}
}

func TestIsHTML(t *testing.T) {
	tests := []struct {
		contentType string
		want        bool
	}{
		{"text/html", true},
		{"text/html; charset=utf-8", true},
		{"TEXT/HTML;charset=ISO-8859-1", true},
		{" text/html ", true},
		{"application/xhtml+xml", true},
		{"Application/XHTML+XML; q=0.9", true},
		{"", false},
		{"text/plain", false},
		{"text/htmlx", false},
		{"application/xml", false},
		{"image/svg+xml", false},
		{"application/json; note=text/html", false},
	}
	for _, tt := range tests {
		if got := isHTML(tt.contentType); got != tt.want {
			t.Errorf("isHTML(%q) = %v, want %v", tt.contentType, got, tt.want)
		}
	}
}

func TestExtractLinksTitleCharset(t *testing.T) {
	tests := []struct {
		name        string
		body        string
		contentType string
		want        string
	}{
		{"ISO-8859-1 header", "<title>caf\xe9</title>", "text/html; charset=ISO-8859-1", "café"},
		{"windows-1252 header", "<title>\x93quoted\x94 \x80 5 \x96 ok</title>", "text/html;charset=windows-1252", "“quoted” € 5 – ok"},
		{"quoted latin1 header", "<title>caf\xe9</title>", `text/html; charset="latin1"`, "café"},
		{"meta charset", "<meta charset=iso-8859-1><title>caf\xe9</title>", "text/html", "café"},
		{"meta http-equiv", `<meta http-equiv="Content-Type" content="text/html; charset=ISO-8859-1"><title>caf` + "\xe9</title>", "", "café"},
		{"undeclared and not UTF-8", "<title>caf\xe9</title>", "text/html", "café"},
		{"undeclared UTF-8", "<title>café</title>", "", "café"},
		{"latin1 page with an ASCII title", "<title>cafe</title>", "text/html; charset=iso-8859-1", "cafe"},
		{"latin1 with entities", "<title>caf&eacute; cr\xe8me &amp; \xe0 &#8364;</title>", "text/html; charset=iso-8859-1", "café crème & à €"},
		{"latin1 NUL", "<title>a\x00b\xe9</title>", "text/html; charset=iso-8859-1", "a\uFFFDbé"},
		{"UTF-8 header, invalid bytes", "<title>caf\xe9!</title>", "text/html; charset=utf-8", "caf\uFFFD!"},
		{"Shift_JIS", "<title>\x93\xfa\x96{</title>", "text/html; charset=Shift_JIS", "日本"},
		{"header beats meta", "<meta charset=iso-8859-1><title>café</title>", "text/html; charset=utf-8", "café"},
		{"byte order mark beats header", "\xEF\xBB\xBF<title>café</title>", "text/html; charset=iso-8859-1", "café"},
		{"first meta charset wins", "<meta charset=utf-8><meta charset=iso-8859-1><title>café</title>", "", "café"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := extractLinks([]byte(tt.body), tt.contentType, 0)
			if got.title != tt.want {
				t.Errorf("title = %q, want %q", got.title, tt.want)
			}
			checkPageLinks(t, []byte(tt.body), tt.contentType, 0, got)
		})
	}
}

func TestExtractLinksLongTitle(t *testing.T) {
	tests := []struct {
		name        string
		title       string
		contentType string
		want        string
	}{
		{"ASCII", strings.Repeat("a", 1<<20), "", strings.Repeat("a", 300)},
		{"two-byte runes straddling the cut", "x" + strings.Repeat("é", 1<<19), "", "x" + strings.Repeat("é", 149)},
		{"four-byte runes", strings.Repeat("🕷", 1<<18), "", strings.Repeat("🕷", 75)},
		{"latin1", strings.Repeat("\xe9", 1<<20), "text/html; charset=iso-8859-1", strings.Repeat("é", 150)},
		{"whitespace", strings.Repeat(" \t\n word", 1<<18), "", strings.TrimSpace(strings.Repeat("word ", 60))},
		{"cut at a space", strings.Repeat("a", 299) + " bbbb", "", strings.Repeat("a", 299)},
		{"invalid UTF-8", strings.Repeat("\xff", 1<<20), "text/html; charset=utf-8", strings.Repeat("\uFFFD", 100)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte("<title>" + tt.title + "</title><a href=/after>")
			got := extractLinks(body, tt.contentType, 0)
			if got.title != tt.want {
				t.Errorf("title = %q (%d bytes), want %q (%d bytes)", got.title, len(got.title), tt.want, len(tt.want))
			}
			if len(got.links) != 1 {
				t.Errorf("links = %+v, want the one after the title", got.links)
			}
			checkPageLinks(t, body, tt.contentType, 0, got)
		})
	}
}

// TestExtractLinksCap checks that a page with far more links than the cap
// yields exactly the cap and keeps memory for no more than that.
func TestExtractLinksCap(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("<html><body>")
	for i := range 100_000 {
		b.WriteString(`<a href="/p/`)
		b.WriteString(strings.Repeat("x", i%7))
		b.WriteString(`">link</a>`)
	}
	const maxLinks = 1000
	got := extractLinks(b.Bytes(), "text/html", maxLinks)
	if len(got.links) != maxLinks || got.dropped != 99_000 {
		t.Fatalf("len(links) = %d, dropped = %d; want %d, 99000", len(got.links), got.dropped, maxLinks)
	}
	if c := cap(got.links); c > 2*maxLinks {
		t.Errorf("cap(links) = %d, want at most %d: memory must follow the cap, not the page", c, 2*maxLinks)
	}
	if last := got.links[maxLinks-1].href; last != "/p/"+strings.Repeat("x", (maxLinks-1)%7) {
		t.Errorf("last link = %q", last)
	}
	if all := extractLinks(b.Bytes(), "text/html", 0); len(all.links) != 100_000 || all.dropped != 0 {
		t.Errorf("uncapped: len(links) = %d, dropped = %d; want 100000, 0", len(all.links), all.dropped)
	}
}

func TestExtractLinksGarbage(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	bodies := [][]byte{
		make([]byte, 1<<16), // NULs
		bytes.Repeat([]byte("<"), 1<<16),
		bytes.Repeat([]byte("<a href="), 1<<12),
		bytes.Repeat([]byte("<title>\xff\xfe\x00"), 1<<12),
		[]byte("\xFF\xFE<\x00a\x00 \x00h\x00r\x00e\x00f\x00=\x00/\x00x\x00>\x00"), // UTF-16, not decoded
	}
	for range 200 {
		b := make([]byte, r.IntN(8<<10))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		bodies = append(bodies, b)
	}
	// Random markup-ish bytes reach more tokenizer states than uniform noise.
	alphabet := []byte("<>/=\"' \n\x00\xe9\xffa hrefsrcmetatitlebase!--&amp;#;")
	for range 200 {
		b := make([]byte, r.IntN(4<<10))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		bodies = append(bodies, b)
	}
	for i, body := range bodies {
		for _, ct := range []string{"", "text/html; charset=iso-8859-1"} {
			maxLinks := i % 4
			checkPageLinks(t, body, ct, maxLinks, extractLinks(body, ct, maxLinks))
		}
	}
}

// hugeShapes are 10 MiB pages of the shapes that could make a tokenizer or
// the title and attribute handling go quadratic.
var hugeShapes = []struct {
	name  string
	build func(n int) []byte
}{
	{"links", func(n int) []byte { return repeatTo(`<p>text <a href="/x?a=1&amp;b=2" rel=nofollow>x</a></p>`, n) }},
	{"title", func(n int) []byte { return []byte("<title>" + string(repeatTo("word &amp; ", n)) + "</title>") }},
	{"attribute", func(n int) []byte { return []byte(`<a href="` + string(repeatTo("x", n))) }},
	{"comment", func(n int) []byte { return []byte("<!--" + string(repeatTo("<a href=/x>", n))) }},
	{"unclosed tags", func(n int) []byte { return repeatTo("<div><span><b>", n) }},
}

// TestExtractLinksHuge scans each 10 MiB shape once and checks the result;
// BenchmarkExtractLinksHuge measures that the scans are linear.
func TestExtractLinksHuge(t *testing.T) {
	if testing.Short() {
		t.Skip("scans 10 MiB pages")
	}
	for _, s := range hugeShapes {
		body := s.build(10 << 20)
		checkPageLinks(t, body, "", 1000, extractLinks(body, "", 1000))
	}
}

// BenchmarkExtractLinksHuge scans each shape at 1 MiB and 8 MiB: linear
// scanning shows the same MB/s at both sizes.
func BenchmarkExtractLinksHuge(b *testing.B) {
	for _, s := range hugeShapes {
		for _, size := range []int{1 << 20, 8 << 20} {
			body := s.build(size)
			b.Run(fmt.Sprintf("%s/%dMiB", s.name, size>>20), func(b *testing.B) {
				b.SetBytes(int64(len(body)))
				b.ReportAllocs()
				for b.Loop() {
					extractLinks(body, "", 1000)
				}
			})
		}
	}
}

// TestExtractLinksArticle checks the page that BenchmarkExtractLinks scans.
func TestExtractLinksArticle(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("testdata", "links", "article.html"))
	if err != nil {
		t.Fatal(err)
	}
	got := extractLinks(body, "text/html; charset=utf-8", 0)
	want := pageLinks{
		title: "Rate limiting a polite crawler — Field Notes",
		links: []rawLink{
			{href: "https://notes.example.org/2024/05/polite-crawler"},
			{href: "/feed.xml"},
			{href: "/"}, {href: "/archive/"}, {href: "/tags/"}, {href: "/about/"},
			{href: "https://social.example.net/@notes"},
			{href: "/authors/kim/"},
			{href: "https://www.rfc-editor.org/rfc/rfc9309.html"},
			{href: "https://developers.example.com/crawling/robots?hl=en&ref=notes"},
			{href: "https://git.example.org/notes/crawler/src/branch/main/pacer.go"},
			{href: "mailto:crawler@notes.example.org"},
			{href: "/tags/crawling/"}, {href: "/tags/go/"},
			{href: "/2024/04/frontier-queues"}, {href: "/2024/06/dns-caching"},
			{href: "/2023/11/robots-txt-in-practice"}, {href: "/2023/08/backoff"},
			{href: "/privacy/"},
			{href: "https://ads.example.com/click?id=93", nofollow: true},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func FuzzExtractLinks(f *testing.F) {
	seeds := []string{
		"",
		`<a href="/a">a</a><area href=/b><link rel=canonical href=/c><frame src=/d><iframe src=/e>`,
		`<base href=/b/><title> t </title><meta name=robots content=nofollow><a rel=nofollow href=x>`,
		`<meta http-equiv=refresh content="0; URL='/x'"><meta charset=latin1><title>caf` + "\xe9</title>",
		`<script><a href=/s></script><noscript><a href=/n></noscript><!--<a href=/c>--><a href=x<b>`,
		"<title>" + strings.Repeat("é", 200) + "</title>",
		"\xEF\xBB\xBF<a href=\"&amp;&#0;&#x110000;\x00\">",
		"<title>\v", // not HTML whitespace, so kept as browsers keep it
	}
	for i, s := range seeds {
		f.Add([]byte(s), "text/html", i%3)
	}
	f.Add([]byte("<title>\x93x\x94</title>"), "text/html; charset=windows-1252", 0)
	f.Add([]byte("<base href=\"/\xe9/\"><a href=\"/\x93\xfa?\x96{#\xe9\">"), "text/html; charset=Shift_JIS", 0)
	f.Fuzz(func(t *testing.T, body []byte, contentType string, maxLinks int) {
		checkPageLinks(t, body, contentType, maxLinks, extractLinks(body, contentType, maxLinks))
	})
}

func BenchmarkExtractLinks(b *testing.B) {
	body, err := os.ReadFile(filepath.Join("testdata", "links", "article.html"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		extractLinks(body, "text/html; charset=utf-8", 1000)
	}
}

func TestExtractLinksHrefCharset(t *testing.T) {
	tests := []struct {
		name        string
		body        string
		contentType string
		want        []string
		base        string
	}{
		{"windows-1252 header", `<a href="/caf` + "\xe9" + `">`, "text/html; charset=windows-1252", []string{"/café"}, ""},
		{"meta charset", "<meta charset=iso-8859-1><a href=\"/cr\xe8me\">", "text/html", []string{"/crème"}, ""},
		{"undeclared", "<a href=\"/caf\xe9\">", "text/html", []string{"/café"}, ""},
		{"query in the page's charset", "<a href=\"/caf\xe9?q=\xe9t\xe9#\xe9\">", "text/html; charset=windows-1252", []string{"/café?q=%E9t%E9#%E9"}, ""},
		{"Shift_JIS", "<a href=\"/\x93\xfa\x96{?\x93\xfa\x96{\">", "text/html; charset=Shift_JIS", []string{"/日本?%93%FA%96{"}, ""},
		{"area, frame and refresh", "<area href=\"/\xe9\"><iframe src=\"/\xe8\"></iframe><meta http-equiv=refresh content=\"0; url=/\xe0\">", "text/html; charset=iso-8859-1", []string{"/é", "/è", "/à"}, ""},
		{"base", "<base href=\"/d\xe9j\xe0/\"><a href=x>", "text/html; charset=iso-8859-1", []string{"x"}, "/déjà/"},
		{"UTF-8 link on a latin1 page", "<a href=\"/café\">", "text/html; charset=iso-8859-1", []string{"/café"}, ""},
		{"UTF-8 page, invalid bytes", "<a href=\"/caf\xe9\">", "text/html; charset=utf-8", []string{"/caf\xe9"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := extractLinks([]byte(tt.body), tt.contentType, 0)
			var hrefs []string
			for _, l := range got.links {
				hrefs = append(hrefs, l.href)
			}
			if !slices.Equal(hrefs, tt.want) || got.base != tt.base {
				t.Errorf("links %q, base %q; want %q, %q", hrefs, got.base, tt.want, tt.base)
			}
			checkPageLinks(t, []byte(tt.body), tt.contentType, 0, got)
		})
	}
}

// checkPageLinks checks what must hold for any page: the cap, the title's
// limits, clean non-empty hrefs, and that the capped result is a prefix of
// the uncapped one.
func checkPageLinks(t testing.TB, body []byte, contentType string, maxLinks int, got pageLinks) {
	t.Helper()
	if maxLinks > 0 && len(got.links) > maxLinks {
		t.Errorf("%d links, cap %d", len(got.links), maxLinks)
	}
	if got.dropped < 0 || maxLinks <= 0 && got.dropped != 0 {
		t.Errorf("dropped = %d with cap %d", got.dropped, maxLinks)
	}
	if !utf8.ValidString(got.title) || len(got.title) > maxTitleBytes {
		t.Errorf("title %q: %d bytes, valid UTF-8 %v", got.title, len(got.title), utf8.ValidString(got.title))
	}
	if strings.Trim(got.title, " \t\n\r\f") != got.title || strings.ContainsAny(got.title, "\t\n\r\f") || strings.Contains(got.title, "  ") {
		t.Errorf("title %q: whitespace not collapsed", got.title)
	}
	for _, l := range got.links {
		if l.href == "" || l.href[0] <= ' ' || l.href[len(l.href)-1] <= ' ' || strings.ContainsAny(l.href, "\t\n\r") {
			t.Errorf("href %q not cleaned", l.href)
		}
	}
	if maxLinks > 0 {
		all := extractLinks(body, contentType, 0)
		if len(all.links) != len(got.links)+got.dropped || !slices.Equal(all.links[:len(got.links)], got.links) {
			t.Errorf("capped result is not a prefix of the %d uncapped links: %d kept, %d dropped", len(all.links), len(got.links), got.dropped)
		}
		if all.base != got.base || all.title != got.title {
			t.Errorf("cap changed base or title")
		}
	}
}

// repeatTo repeats s up to n bytes.
func repeatTo(s string, n int) []byte {
	return []byte(strings.Repeat(s, n/len(s)+1)[:n])
}
