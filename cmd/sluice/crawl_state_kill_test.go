package main

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluicehq/sluice/crawler/crawltest"
)

// TestBinaryCrawlStateSurvivesSIGKILL builds the binary and runs `sluice
// crawl --state DIR -o out.jsonl` on a loopback site in a child process,
// SIGKILLs it at random moments, and runs the same command again until it
// ends: out.jsonl holds every page exactly once, each kill costs at most
// -c repeated fetches, and a resume with other seeds or scope is refused,
// naming the difference.
func TestBinaryCrawlStateSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	const pages, conc, kills = 3000, 10, 3
	tmp := t.TempDir()
	bin := testBinary(t)
	site := crawltest.NewSite(pages, 8)
	site.Latency = 2 * time.Millisecond
	srv := httptest.NewServer(site)
	defer srv.Close()
	dir, out := filepath.Join(tmp, "state"), filepath.Join(tmp, "out.jsonl")
	args := []string{"crawl", "-q", "-c", fmt.Sprint(conc), "--state", dir, "-o", out, srv.URL + "/p/0"}

	_, dups := site.Fetches()
	for run := 0; ; run++ {
		if run > kills+3 {
			t.Fatal("the crawl did not end")
		}
		killed, stderr := runKilled(t, bin, args, out, run < kills, pages)
		_, now := site.Fetches()
		if run > 0 && now-dups > conc {
			t.Errorf("run %d fetched %d pages again after a kill, more than -c %d", run+1, now-dups, conc)
		}
		t.Logf("run %d: killed %v, %d lines, %d fetched again", run+1, killed, lineCount(out), now-dups)
		dups = now
		if !killed {
			if stderr != "" {
				t.Fatalf("last run: %s", stderr)
			}
			break
		}
	}
	checkOnce(t, out, pages)
	if unique, _ := site.Fetches(); unique != pages {
		t.Errorf("%d pages fetched, want %d", unique, pages)
	}

	refused := []struct {
		args []string
		want string
	}{
		{[]string{"crawl", "-q", "--state", dir, "-o", out, srv.URL + "/p/0", srv.URL + "/p/1"}, "seeds ["},
		{[]string{"crawl", "-q", "--state", dir, "-o", out, "--depth", "3", srv.URL + "/p/0"}, "--depth 0 (now 3)"},
	}
	for _, tc := range refused {
		var stderr bytes.Buffer
		cmd := exec.Command(bin, tc.args...)
		cmd.Stderr = &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != exitUsage || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%q: %v, %q; want exit %d naming %q", tc.args[5:], err, stderr.String(), exitUsage, tc.want)
		}
	}
}

// runKilled runs bin with args; with kill it SIGKILLs the child once out
// has grown by 5 to 30% of the site's pages, if the child has not ended
// first. It reports whether the child was killed, and the stderr of a
// child that failed.
func runKilled(t *testing.T, bin string, args []string, out string, kill bool, pages int) (bool, string) {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	target := lineCount(out) + pages*(5+rand.IntN(25))/100
	for deadline := time.Now().Add(60 * time.Second); ; {
		select {
		case err := <-exited:
			if err != nil {
				return false, fmt.Sprintf("%v: %s", err, stderr.String())
			}
			return false, ""
		case <-time.After(2 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-exited
			t.Fatal("a run took over 60 s")
		}
		if kill && lineCount(out) >= target {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			<-exited
			return true, ""
		}
	}
}

// lineCount returns the newlines in the file at path, 0 if it is absent.
func lineCount(path string) int {
	b, _ := os.ReadFile(path)
	return bytes.Count(b, []byte("\n"))
}

// checkOnce checks that the records file at path holds each of the site's
// pages exactly once and nothing else.
func checkOnce(t *testing.T, path string, pages int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, r := range decodeCrawl(t, string(b)) {
		seen[r.URL]++
		if r.Status != 200 {
			t.Errorf("%s: status %d", r.URL, r.Status)
		}
	}
	for u, n := range seen {
		if n != 1 {
			t.Errorf("%s recorded %d times", u, n)
		}
	}
	if len(seen) != pages {
		t.Errorf("%d URLs recorded, want %d", len(seen), pages)
	}
}
