package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/sluicehq/sluice/crawler/crawltest"
	"github.com/sluicehq/sluice/internal/redistest"
)

// TestBinaryRedisCrawlSurvivesSIGKILL runs three crawl processes on one
// Redis crawl and SIGKILLs one mid-crawl: the other two take back its
// leases and finish, the union of the three outputs holds every page, and
// no more pages are fetched twice than the killed one had in flight.
func TestBinaryRedisCrawlSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	rs := redistest.Start(t)
	dir := t.TempDir()
	bin := testBinary(t)
	const pages, conc = 600, 5
	site := crawltest.NewSite(pages, 10)
	site.Latency = 10 * time.Millisecond
	srv := httptest.NewServer(site)
	defer srv.Close()
	var cmds []*exec.Cmd
	var stderr []*bytes.Buffer
	for i := range 3 {
		var errBuf bytes.Buffer
		cmd := exec.Command(bin, "crawl", "--redis", rs.URL(0), "--crawl", "kill", "--worker", fmt.Sprint("w", i),
			"--lease-ttl", "1s", "-c", fmt.Sprint(conc), "-q", "-o", filepath.Join(dir, fmt.Sprint("w", i)), srv.URL+"/p/0")
		cmd.Stderr = &errBuf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds, stderr = append(cmds, cmd), append(stderr, &errBuf)
	}
	defer func() {
		for _, c := range cmds {
			_ = c.Process.Kill()
		}
	}()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if b, _ := os.ReadFile(filepath.Join(dir, "w0")); bytes.Count(b, []byte("\n")) >= 50 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("w0 wrote fewer than 50 records in 30 s")
		}
	}
	if err := cmds[0].Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmds[0].Wait()
	for i, c := range cmds[1:] {
		done := make(chan error, 1)
		go func() { done <- c.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("w%d: %v\n%s", i+1, err, stderr[i+1])
			}
		case <-time.After(60 * time.Second):
			t.Fatalf("w%d did not finish in 60 s after w0 died", i+1)
		}
	}
	records, urls := 0, map[string]bool{}
	for i := range 3 {
		b, err := os.ReadFile(filepath.Join(dir, fmt.Sprint("w", i)))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
			var r crawlRecord
			if err := json.Unmarshal(line, &r); err != nil {
				t.Errorf("w%d: bad record %q: %v", i, line, err)
				continue
			}
			records++
			urls[r.URL] = true
		}
	}
	if len(urls) != pages {
		t.Errorf("the outputs hold %d pages, want %d", len(urls), pages)
	}
	_, dups := site.Fetches()
	if repeats := records - len(urls); repeats > conc || dups > conc {
		t.Errorf("%d repeated records, %d pages fetched twice; the killed process had at most %d in flight", repeats, dups, conc)
	}
	t.Logf("%d records, %d pages, %d fetched twice", records, len(urls), dups)
}
