package crawler

import (
	"bufio"
	"bytes"
	"context"
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

const (
	crashSiteEnv = "SLUICE_CRAWLER_CRASH_SITE"
	crashConc    = 8
)

// crawlChild crawls the site at seed into dir and dir/out, one line per
// URL, as the CLI does with --state: a DiskFrontier and an Output whose
// committer group-commits, with a visit that writes its record and returns
// at once.
func crawlChild(dir, seed string) int {
	ctx := context.Background()
	f, err := OpenDiskFrontier(dir, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	out, err := OpenOutput(f, filepath.Join(dir, "out"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	out.StartCommitter(ctx)
	c := &Crawler{MaxInFlight: crashConc, VisitWorkers: crashConc, Frontier: f}
	err = c.Crawl(ctx, []string{seed}, func(p *Page) error {
		if again, err := f.Recorded(ctx, p.URL); again || err != nil {
			return err // fetched again for its links only
		}
		return out.Write(p.URL, []byte(p.URL+"\n"))
	})
	if cerr := out.Close(ctx); err == nil {
		err = cerr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// TestCrawlKilledAndResumed crawls a loopback site in a child process,
// kills it with SIGKILL at random moments and runs it again until it ends:
// the output holds every page exactly once, and each kill costs in
// repeated fetches at most the pages in flight (crashConc): a finished
// page holds its slot until its Finish is committed.
func TestCrawlKilledAndResumed(t *testing.T) {
	const pages = 3000
	site := crawltest.NewSite(pages, 8)
	srv := httptest.NewServer(site)
	defer srv.Close()
	dir := t.TempDir()
	kills := 0
	for run := 0; ; run++ {
		if run > 20 {
			t.Fatal("the crawl did not end in 20 runs")
		}
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+dir, crashSiteEnv+"="+srv.URL+"/p/0")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		must(t, cmd.Start())
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		var err error
		if kills < 4 {
			// Kill once the output has grown by 5 to 25% of the site.
			total := int64(pages * len(srv.URL+"/p/1000\n"))
			target := fileSize(dir) + total*int64(5+rand.IntN(20))/100
			if err = waitGrowth(exited, dir, target); err == errKilled {
				must(t, cmd.Process.Signal(syscall.SIGKILL))
				<-exited
				kills++
				u, d := site.Fetches()
				t.Logf("kill %d at %d bytes of output; %d fetched, %d again", kills, fileSize(dir), u, d)
				continue
			}
		} else {
			err = <-exited
		}
		if err != nil {
			t.Fatalf("run %d: %v: %s", run, err, stderr.String())
		}
		break
	}
	b, err := os.ReadFile(filepath.Join(dir, "out"))
	must(t, err)
	seen := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		seen[sc.Text()]++
	}
	for u, n := range seen {
		if n != 1 || !strings.HasPrefix(u, srv.URL) {
			t.Errorf("%q recorded %d times", u, n)
		}
	}
	unique, dups := site.Fetches()
	t.Logf("%d kills, %d records, %d pages fetched, %d fetched again", kills, len(seen), unique, dups)
	if len(seen) != pages || unique != pages {
		t.Errorf("%d records and %d pages fetched, want %d", len(seen), unique, pages)
	}
	if dups > kills*crashConc {
		t.Errorf("%d repeated fetches in %d kills: more than the pages in flight", dups, kills)
	}
}

var errKilled = errors.New("kill now")

func fileSize(dir string) int64 {
	info, err := os.Stat(filepath.Join(dir, "out"))
	if err != nil {
		return 0
	}
	return info.Size()
}

// waitGrowth waits for the child to exit, returning its error, or for its
// output to reach target bytes, returning errKilled.
func waitGrowth(exited <-chan error, dir string, target int64) error {
	for {
		select {
		case err := <-exited:
			return err
		case <-time.After(2 * time.Millisecond):
		}
		if fileSize(dir) >= target {
			return errKilled
		}
	}
}
