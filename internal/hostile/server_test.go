package hostile

import (
	"bufio"
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestEndpoints checks that each endpoint misbehaves as documented, so the
// tests built on them test what they claim.
func TestEndpoints(t *testing.T) {
	s := New(Config{Robots: "junk"})
	defer s.Close()
	c := &http.Client{Timeout: 5 * time.Second}
	defer c.CloseIdleConnections()
	get := func(path string) (*http.Response, error) { return c.Get(s.URL + path) }

	t.Run("gzip inflates past its wire size", func(t *testing.T) {
		resp, err := get("/gzip?size=8388608")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		n, err := io.Copy(io.Discard, resp.Body)
		if err != nil || n != 8<<20 {
			t.Fatalf("inflated %d bytes, %v; want %d", n, err, 8<<20)
		}
	})
	t.Run("lie ends early", func(t *testing.T) {
		resp, err := get("/lie?length=1000&send=10")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		_, err = io.ReadAll(resp.Body)
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("read = %v, want unexpected EOF", err)
		}
	})
	t.Run("reset", func(t *testing.T) {
		if resp, err := get("/reset"); err == nil {
			resp.Body.Close()
			t.Fatal("reset answered")
		}
	})
	t.Run("headers", func(t *testing.T) {
		resp, err := get("/headers?size=200000")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if len(resp.Header) < 40 {
			t.Fatalf("%d headers, want ~48", len(resp.Header))
		}
	})
	t.Run("malformed", func(t *testing.T) {
		for _, p := range []string{"/statusline", "/badheader"} {
			if resp, err := get(p); err == nil {
				resp.Body.Close()
				t.Errorf("%s parsed", p)
			}
		}
	})
	t.Run("sitemap", func(t *testing.T) {
		resp, err := get("/sitemap-index?n=3&size=2097152")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Count(string(body), "<loc>") != 3 {
			t.Fatalf("index: %s", body)
		}
		resp, err = get("/sitemap/0.xml.gz?size=2097152")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		n, err := io.Copy(io.Discard, zr)
		if err != nil || n < 2<<20 {
			t.Fatalf("sitemap inflated to %d, %v", n, err)
		}
	})
	t.Run("tree", func(t *testing.T) {
		resp, err := get("/tree/3/1")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), `href="/tree/3/1/9"`) {
			t.Fatalf("tree page: %s", body)
		}
	})
	t.Run("robots junk", func(t *testing.T) {
		resp, err := get("/robots.txt")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if len(body) != 64<<10 {
			t.Fatalf("robots.txt %d bytes", len(body))
		}
	})
	t.Run("endless and slowloris end on close", func(t *testing.T) {
		for _, p := range []string{"/endless", "/slowloris?every=10ms"} {
			resp, err := get(p)
			if err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(resp.Body)
			if _, err := br.ReadByte(); err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
	})
	if s.Requests("User-Agent") < 8 {
		t.Errorf("recorded %d requests", s.Requests("User-Agent"))
	}
}

func TestCloseEndsStall(t *testing.T) {
	s := New(Config{})
	errc := make(chan error, 1)
	go func() {
		resp, err := http.Get(s.URL + "/stall")
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	for s.Requests("*") == 0 {
		time.Sleep(time.Millisecond)
	}
	s.Close()
	<-errc
	http.DefaultClient.CloseIdleConnections()
}

func TestHeapPeak(t *testing.T) {
	var keep []byte
	peak := HeapPeak(func() { keep = make([]byte, 64<<20); keep[0] = 1 })
	// The allocation starts a GC cycle (at once when a 64 MiB heap from
	// a run before sets the goal), which frees what was garbage when
	// HeapPeak read its base: the figure comes out up to some tens of KiB
	// short (32 KiB, in each of 15 runs of -count=3 on one core).
	const slack = 256 << 10
	if peak < 64<<20-slack {
		t.Fatalf("HeapPeak = %d, want at least 64 MiB less %d KiB", peak, slack>>10)
	}
	_ = keep
}

func TestTLSUntrusted(t *testing.T) {
	s := NewTLS(Config{})
	defer s.Close()
	c := &http.Client{Transport: &http.Transport{}}
	defer c.CloseIdleConnections()
	resp, err := c.Get(s.URL + "/ok")
	if err == nil {
		resp.Body.Close()
		t.Fatal("self-signed certificate accepted")
	}
	resp, err = s.Client().Get(s.URL + "/ok")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	s.Client().CloseIdleConnections()
}
