package crawler

import (
	"net/http"
	"testing"

	"github.com/sluicehq/sluice"
)

func TestPageDigest(t *testing.T) {
	page := func(status int, body string, header ...string) *Page {
		h := http.Header{}
		for i := 0; i+1 < len(header); i += 2 {
			h.Set(header[i], header[i+1])
		}
		return &Page{Response: &sluice.Response{StatusCode: status, Header: h, Body: []byte(body), BodySize: int64(len(body))}}
	}
	a, b := PageDigest(page(200, "<p>a</p>")), PageDigest(page(200, "<p>b</p>"))
	if a == 0 || b == 0 || a == b {
		t.Fatalf("digests of two bodies: %x, %x", a, b)
	}
	if again := PageDigest(page(200, "<p>a</p>", "Date", "now")); again != a {
		t.Errorf("same body, other headers: %x, want %x", again, a)
	}
	to1 := PageDigest(page(301, "moved", "Location", "/one"))
	to1b := PageDigest(page(301, "moved, with other words", "Location", "/one"))
	to2 := PageDigest(page(301, "moved", "Location", "/two"))
	if to1 == 0 || to1 != to1b || to1 == to2 {
		t.Errorf("redirect digests: to /one %x and %x, to /two %x", to1, to1b, to2)
	}
	notKept := page(200, "")
	notKept.Response.BodySize = 10
	for name, p := range map[string]*Page{
		"failed": {}, "304": page(http.StatusNotModified, ""), "body not kept": notKept,
	} {
		if d := PageDigest(p); d != 0 {
			t.Errorf("%s: digest %x, want 0", name, d)
		}
	}
}
