package main

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestBinarySignals builds the binary and runs a crawl of a slow site in a
// child process: the first SIGTERM stops intake and leaves pages in flight
// their grace period, the second cuts it short, and the process exits 130
// with every record it wrote whole.
func TestBinarySignals(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := testBinary(t)
	var started atomic.Int32
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" {
			http.NotFound(w, r)
			return
		}
		if r.URL.Path == "/" {
			w.Header().Set("Content-Type", "text/html")
			for i := range 20 {
				w.Write([]byte(`<a href="/p` + string(rune('a'+i)) + `">x</a>`))
			}
			return
		}
		started.Add(1)
		select { // the pages hang until the test ends
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)

	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, "crawl", srv.URL+"/", "-c", "4", "--grace", "1m", "--timeout", "1m")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The pages in flight say the child handles signals by now.
	for deadline := time.Now().Add(30 * time.Second); started.Load() < 3; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("%d pages asked for in 30 s\n%s", started.Load(), stderr.String())
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Fatalf("exit %v, want 130\n%s", err, stderr.String())
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s to exit after the second signal", d)
	}
	recs := decodeCrawl(t, stdout.String())
	if len(recs) == 0 || recs[0].Status != 200 {
		t.Fatalf("records: %+v\n%s", recs, stderr.String())
	}
	if !strings.Contains(stderr.String(), "crawl: interrupted") {
		t.Errorf("stderr:\n%s", stderr.String())
	}
}
