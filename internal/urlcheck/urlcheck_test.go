package urlcheck

import (
	"net/url"
	"testing"
)

func TestBadPort(t *testing.T) {
	for raw, want := range map[string]bool{
		"http://h/": false, "http://h:80/": false, "http://h:0/": false, "http://h:65535/": false,
		"http://h:65536/": true, "http://h:99999/": true, "http://[::1]:70000/": true, "http://[::1]:8080/": false,
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if _, bad := BadPort(u); bad != want {
			t.Errorf("BadPort(%s) = %v, want %v", raw, bad, want)
		}
	}
}

func TestEscapeStrayPercent(t *testing.T) {
	for in, want := range map[string]string{
		"http://h/":               "http://h/",
		"http://h/100%":           "http://h/100%25",
		"http://h/a%zz?b=%&c=%41": "http://h/a%25zz?b=%25&c=%41",
		"http://h/%4":             "http://h/%254",
		"http://h/%%41":           "http://h/%25%41",
		"http://h/%E9%c3%a9":      "http://h/%E9%c3%a9",
	} {
		got := EscapeStrayPercent(in)
		if got != want {
			t.Errorf("EscapeStrayPercent(%q) = %q, want %q", in, got, want)
		}
		if _, err := url.Parse(got); err != nil {
			t.Errorf("url.Parse(%q): %v", got, err)
		}
	}
}
