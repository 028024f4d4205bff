package crawler

import "testing"

func TestRedisItemRoundTrip(t *testing.T) {
	tests := []Entry{
		{URL: "https://a.example/x/1.html", Parent: "https://a.example/x/index.html", Depth: 3},
		{URL: "https://a.example/", Depth: 0},
		{URL: "https://a.example/p", Parent: "https://b.example/q", Attempts: 2, Redirects: 1, NotBefore: 12345},
		{URL: "https://a.example/p", Parent: "https://a.example/p"},
		{URL: "https://a.example/p", Parent: "https://a.example/p/longer"},
	}
	for _, e := range tests {
		host := HostKey(e.URL)
		item := appendRedisItem(nil, fingerprint(e.URL), &e, host)
		got, err := readRedisItem(string(item), host)
		want := e
		want.Host = host
		if err != nil || got != want {
			t.Errorf("%+v: read back %+v, %v", e, got, err)
		}
	}
}

func FuzzReadRedisItem(f *testing.F) {
	e := Entry{URL: "https://a.example/x/1", Parent: "https://a.example/x/0", Depth: 2}
	f.Add(string(appendRedisItem(nil, fingerprint(e.URL), &e, "https://a.example")))
	f.Fuzz(func(t *testing.T, item string) {
		got, err := readRedisItem(item, "https://a.example")
		if err != nil {
			return
		}
		again, err := readRedisItem(string(appendRedisItem(nil, [16]byte{}, &got, "https://a.example")), "https://a.example")
		if err != nil || again.URL != got.URL || again.Parent != got.Parent {
			t.Errorf("%+v does not round-trip: %+v, %v", got, again, err)
		}
	})
}
