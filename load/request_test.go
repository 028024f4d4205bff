package load

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// seenRequest is what a server saw of one request.
type seenRequest struct {
	method, uri, host, auth, contentType, body string
}

// TestRequestAsGiven checks that every engine sends the request the
// target describes, as net/http and curl would: the path and query as
// written (no cleaning of /a/../b or //, no decoding of %2F), a Host
// header as the Host (in an origin-form request line, which an origin
// server cannot override with the URL's host), the URL's user and
// password as basic auth, no Content-Type the target did not set, and a
// HEAD answered without a body.
func TestRequestAsGiven(t *testing.T) {
	var mu sync.Mutex
	var seen []seenRequest
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen = append(seen, seenRequest{r.Method, r.RequestURI, r.Host, r.Header.Get("Authorization"), r.Header.Get("Content-Type"), string(b)})
		mu.Unlock()
		_, _ = io.WriteString(w, "a body a HEAD must not wait for")
	})
	plain := httptest.NewServer(h)
	defer plain.Close()
	tlsSrv := httptest.NewTLSServer(h)
	defer tlsSrv.Close()
	h2c := h2cServer(h)
	defer h2c.Close()

	type engineCase struct {
		name  string
		url   string
		http2 bool
	}
	engines := []engineCase{{"fasthttp", plain.URL, false}, {"net/http", tlsSrv.URL, false}, {"http2", h2c.URL, true}}
	tests := []struct {
		name   string
		target func(base string) Target
		want   func(base string) seenRequest
	}{
		{"path and query as written",
			func(base string) Target { return Target{URL: base + "/a//b/../c/x%2Fy?q=%2F&r=a+b"} },
			func(base string) seenRequest {
				return seenRequest{method: "GET", uri: "/a//b/../c/x%2Fy?q=%2F&r=a+b", host: hostOf(base)}
			}},
		{"Host header",
			func(base string) Target {
				return Target{URL: base + "/h", Header: http.Header{"Host": {"example.test"}}}
			},
			func(string) seenRequest { return seenRequest{method: "GET", uri: "/h", host: "example.test"} }},
		{"user and password",
			func(base string) Target { return Target{URL: withUser(base) + "/u"} },
			func(base string) seenRequest {
				return seenRequest{method: "GET", uri: "/u", host: hostOf(base), auth: "Basic dTpwdw=="}
			}},
		{"body without a Content-Type",
			func(base string) Target { return Target{Method: "PUT", URL: base + "/p", Body: []byte(`{"a":1}`)} },
			func(base string) seenRequest {
				return seenRequest{method: "PUT", uri: "/p", host: hostOf(base), body: `{"a":1}`}
			}},
		{"HEAD",
			func(base string) Target { return Target{Method: "HEAD", URL: base + "/head"} },
			func(base string) seenRequest { return seenRequest{method: "HEAD", uri: "/head", host: hostOf(base)} }},
	}
	for _, e := range engines {
		for _, tt := range tests {
			t.Run(e.name+"/"+tt.name, func(t *testing.T) {
				mu.Lock()
				seen = nil
				mu.Unlock()
				rep := mustRun(t, Config{Targets: []Target{tt.target(e.url)}, MaxInFlight: 1, Requests: 2,
					HTTP2: e.http2, InsecureSkipVerify: true, Timeout: time.Second})
				if rep.Success != 2 {
					t.Fatalf("%d of 2 answered (errors %v)", rep.Success, rep.ErrorSamples)
				}
				mu.Lock()
				defer mu.Unlock()
				want := tt.want(e.url)
				for _, got := range seen {
					if got != want {
						t.Errorf("server saw %+v\nwant           %+v", got, want)
					}
				}
			})
		}
	}
}

// hostOf returns the host:port of an httptest server's URL.
func hostOf(base string) string {
	_, hp, _ := strings.Cut(base, "://")
	return hp
}

// withUser puts user u and password pw into an httptest server's URL.
func withUser(base string) string {
	scheme, hp, _ := strings.Cut(base, "://")
	return scheme + "://u:pw@" + hp
}
