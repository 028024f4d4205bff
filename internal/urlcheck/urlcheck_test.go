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
