package crawler

import (
	"bytes"
	"compress/gzip"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

func TestParseSitemap(t *testing.T) {
	gz := func(s string) []byte {
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		w.Write([]byte(s))
		w.Close()
		return b.Bytes()
	}
	urlset := `<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <url><loc> https://a.example/1 </loc><lastmod>2026-01-01</lastmod></url>
  <url><loc>https://a.example/2?x=1&amp;y=2</loc></url>
  <url><loc></loc></url>
</urlset>`
	index := `<sitemapindex><sitemap><loc>https://a.example/s1.xml</loc></sitemap><sitemap><loc>https://a.example/s2.xml.gz</loc></sitemap></sitemapindex>`
	for _, tc := range []struct {
		name            string
		body            []byte
		limit           int
		pages, sitemaps []string
	}{
		{"urlset", []byte(urlset), 10, []string{"https://a.example/1", "https://a.example/2?x=1&y=2"}, nil},
		{"gzipped", gz(urlset), 10, []string{"https://a.example/1", "https://a.example/2?x=1&y=2"}, nil},
		{"index", []byte(index), 10, nil, []string{"https://a.example/s1.xml", "https://a.example/s2.xml.gz"}},
		{"limit", []byte(urlset), 1, []string{"https://a.example/1"}, nil},
		{"truncated XML keeps what came before", []byte(urlset[:strings.Index(urlset, "<url><loc>https://a.example/2")+20]), 10, []string{"https://a.example/1"}, nil},
		{"not XML", []byte("\x00\xffgarbage<<<"), 10, nil, nil},
		{"bad gzip", []byte{0x1f, 0x8b, 1, 2, 3}, 10, nil, nil},
		{"extensions' own locs are not pages", []byte(`<urlset xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">
  <url><loc>https://a.example/1</loc><image:image><image:loc>https://a.example/1.jpg</image:loc></image:image></url>
  <url><image:image><image:loc>https://a.example/2.jpg</image:loc></image:image><loc>https://a.example/2</loc></url>
</urlset>`), 10, []string{"https://a.example/1", "https://a.example/2"}, nil},
		{"ISO-8859-1", []byte(`<?xml version="1.0" encoding="ISO-8859-1"?>` + "<urlset><url><loc>https://a.example/caf\xe9</loc></url></urlset>"), 10, []string{"https://a.example/café"}, nil},
		{"windows-1252", []byte(`<?xml version='1.0' encoding='windows-1252'?>` + "<urlset><url><loc>https://a.example/\x93q\x94</loc></url></urlset>"), 10, []string{"https://a.example/“q”"}, nil},
		{"unknown encoding", []byte(`<?xml version="1.0" encoding="no-such"?><urlset><url><loc>https://a.example/1</loc></url></urlset>`), 10, nil, nil},
		{"a loc outside any url", []byte(`<urlset><loc>https://a.example/0</loc><url><loc>https://a.example/1</loc></url></urlset>`), 10, []string{"https://a.example/1"}, nil},
		{"prefixed sitemap elements", []byte(`<sm:sitemapindex xmlns:sm="http://www.sitemaps.org/schemas/sitemap/0.9"><sm:sitemap><sm:loc>https://a.example/s.xml</sm:loc></sm:sitemap></sm:sitemapindex>`), 10, nil, []string{"https://a.example/s.xml"}},
	} {
		pages, sitemaps := parseSitemap(tc.body, tc.limit)
		if !slices.Equal(pages, tc.pages) || !slices.Equal(sitemaps, tc.sitemaps) {
			t.Errorf("%s: pages %q, sitemaps %q", tc.name, pages, sitemaps)
		}
	}
}

func FuzzParseSitemap(f *testing.F) {
	f.Add([]byte(`<urlset><url><loc>https://a.example/1</loc></url></urlset>`), 5)
	f.Add([]byte(`<urlset><url><image:image><image:loc>i</image:loc></image:image><loc>p</loc></url><loc>x</loc></urlset>`), 5)
	f.Add([]byte(`<sitemapindex><sitemap><loc>x</loc></sitemap></sitemapindex>`), 1)
	f.Fuzz(func(t *testing.T, body []byte, limit int) {
		limit = 1 + (limit&0xff)%100
		pages, sitemaps := parseSitemap(body, limit)
		if len(pages) > limit || len(sitemaps) > limit {
			t.Fatalf("%d pages, %d sitemaps past the limit %d", len(pages), len(sitemaps), limit)
		}
		for _, v := range append(pages, sitemaps...) {
			if v == "" || len(v) > maxURLLen || v != strings.TrimSpace(v) {
				t.Fatalf("bad loc %q", v)
			}
		}
	})
}

func TestRunCapReader(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"<a>xyz</a>", "<a>xyz</a>"},
		{"<a>xxxxxxxx</a>", "<a>xxxx</a>"},
		{"<aaaaaaaa>", "<aaaa>"},
		{"      <b>  ", "    <b>  "},
	} {
		got, err := io.ReadAll(&runCapReader{r: iotest.OneByteReader(strings.NewReader(tc.in)), max: 4})
		if err != nil || string(got) != tc.want {
			t.Errorf("%q: %q, %v; want %q", tc.in, got, err, tc.want)
		}
		got, _ = io.ReadAll(&runCapReader{r: strings.NewReader(tc.in), max: 4})
		if string(got) != tc.want {
			t.Errorf("%q in one read: %q; want %q", tc.in, got, tc.want)
		}
	}
}
