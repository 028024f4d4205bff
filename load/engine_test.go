package load

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"sync"
	"testing"
	"time"
)

// cannedServer answers every request on a connection with the same fixed
// response, allocation-free, so client benchmarks measure the client.
func cannedServer(tb testing.TB) (addr string, stop func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Length: 1024\r\nContent-Type: text/plain\r\n\r\n" + string(bytes.Repeat([]byte("x"), 1024)))
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					// Requests carry no body: read up to the blank line.
					for {
						line, err := br.ReadSlice('\n')
						if err != nil {
							return
						}
						if len(line) <= 2 {
							break
						}
					}
					if _, err := c.Write(resp); err != nil {
						return
					}
				}
			})
		}
	})
	return ln.Addr().String(), func() { _ = ln.Close(); wg.Wait() }
}

func BenchmarkFastWorker(b *testing.B) {
	addr, stop := cannedServer(b)
	defer stop()
	cfg := Config{Targets: []Target{{URL: "http://" + addr + "/1k"}}, MaxInFlight: 1}
	e, err := newFastEngine(&cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer e.close()
	w := e.newWorker()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if status, err := w.do(ctx, 0, time.Now()); err != nil || status != 200 {
			b.Fatal(status, err)
		}
	}
}

func TestFastWorkerAllocs(t *testing.T) {
	addr, stop := cannedServer(t)
	defer stop()
	cfg := Config{Targets: []Target{{URL: "http://" + addr + "/1k"}}, MaxInFlight: 1}
	e, err := newFastEngine(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer e.close()
	w := e.newWorker()
	ctx := context.Background()
	allocs := testing.AllocsPerRun(200, func() {
		if status, err := w.do(ctx, 0, time.Now()); err != nil || status != 200 {
			t.Fatal(status, err)
		}
	})
	if allocs > 1 {
		t.Fatalf("%.1f allocations per request on a kept-alive connection; want none", allocs)
	}
}
