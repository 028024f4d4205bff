package sluice

import (
	"bufio"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"
)

func mustRegexp(s string) *regexp.Regexp { return regexp.MustCompile(s) }

// TestParseURLList checks ParseURL against testdata/urls.tsv.
func TestParseURLList(t *testing.T) {
	f, err := os.Open("testdata/urls.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		raw, want, ok := strings.Cut(line, "\t")
		if !ok {
			t.Fatalf("bad line %q", line)
		}
		n++
		_, err := ParseURL(raw)
		switch {
		case want == "ok" && err != nil:
			t.Errorf("ParseURL(%q) = %v, want no error", raw, err)
		case want != "ok" && (err == nil || !errors.Is(err, ErrBadURL) || !strings.Contains(err.Error(), want)):
			t.Errorf("ParseURL(%q) = %v, want ErrBadURL with %q", raw, err, want)
		}
	}
	if n < 10 {
		t.Fatalf("only %d URLs in testdata/urls.tsv", n)
	}
}

// FuzzParseURL checks that ParseURL never panics and that what it takes
// is an http(s) URL with a host, which it takes again as written.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"http://example.com/", " https://a.b/c?d#e ", "https://[::1]:8443/a?b#c", "ftp://x",
		"http://", "%", "http://a b", "HTTP://EX.com", "http://%zz/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := ParseURL(raw)
		if err != nil {
			if !errors.Is(err, ErrBadURL) {
				t.Fatalf("ParseURL(%q) = %v, not an ErrBadURL", raw, err)
			}
			return
		}
		if s := strings.ToLower(u.Scheme); s != "http" && s != "https" || u.Hostname() == "" {
			t.Fatalf("ParseURL(%q) took %v", raw, u)
		}
		if _, err := ParseURL(u.String()); err != nil {
			t.Fatalf("ParseURL(%q) took %v, but not its String: %v", raw, u, err)
		}
	})
}
