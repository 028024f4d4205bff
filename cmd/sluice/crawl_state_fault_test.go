package main

import (
	"bytes"
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/vfs"
	"github.com/sluicehq/sluice/crawler"
	"github.com/sluicehq/sluice/crawler/crawltest"
)

// TestCrawlStateBadDir runs crawl --state on a state dir another crawl
// holds, one of a newer format, a corrupt one and one whose store is gone
// but whose records are not: each fails with a clear error and exit 1,
// never a fresh start, and leaves the records as they were.
func TestCrawlStateBadDir(t *testing.T) {
	site := crawltest.NewSite(50, 4)
	srv := httptest.NewServer(site)
	defer srv.Close()
	ctx := context.Background()
	tests := []struct {
		name  string
		spoil func(t *testing.T, dir string) (undo func())
		want  string
	}{
		{"locked", func(t *testing.T, dir string) func() {
			f, err := crawler.OpenDiskFrontier(dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			return func() { f.Close() }
		}, "state dir is in use by another crawl"},
		{"newer format", func(t *testing.T, dir string) func() {
			db, err := pebble.Open(filepath.Join(dir, "db"), &pebble.Options{FS: vfs.Default})
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Set([]byte("mformat"), []byte("99"), pebble.Sync); err != nil {
				t.Fatal(err)
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			return func() {}
		}, "format version 99, newer than this sluice reads"},
		{"corrupt", func(t *testing.T, dir string) func() {
			if err := os.Remove(filepath.Join(dir, "db", "CURRENT")); err != nil {
				t.Fatal(err)
			}
			return func() {}
		}, "state dir is corrupt"},
		{"records without a store", func(t *testing.T, dir string) func() {
			if err := os.RemoveAll(filepath.Join(dir, "db")); err != nil {
				t.Fatal(err)
			}
			return func() {}
		}, "holds no crawl, but its records file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "state")
			args := []string{"crawl", "-q", "--state", dir, srv.URL + "/p/0"}
			if code, _, errOut := runFetchCLI(ctx, "", args...); code != 0 {
				t.Fatalf("first crawl: exit %d: %s", code, errOut)
			}
			before, _ := os.ReadFile(filepath.Join(dir, "pages.jsonl"))
			undo := tc.spoil(t, dir)
			code, _, errOut := runFetchCLI(ctx, "", args...)
			undo()
			if code != exitFailed || !strings.Contains(errOut, tc.want) {
				t.Fatalf("exit %d, %q; want %d and %q", code, errOut, exitFailed, tc.want)
			}
			if after, _ := os.ReadFile(filepath.Join(dir, "pages.jsonl")); !bytes.Equal(before, after) {
				t.Fatal("the refused run changed the records")
			}
		})
	}
}

// TestBinaryCrawlStateDiskFull crawls into a state dir on a small tmpfs
// until it is full: the crawl stops with a clear error; once the file
// system has room the same command resumes, and the records hold every
// page exactly once. It mounts a tmpfs, so it needs root; it skips
// otherwise.
func TestBinaryCrawlStateDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	tmp := t.TempDir()
	mnt := filepath.Join(tmp, "mnt")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs to fill (needs root): %v: %s", err, out)
	}
	defer exec.Command("umount", mnt).Run()
	bin := testBinary(t)
	const pages = 5000
	srv := httptest.NewServer(crawltest.NewSite(pages, 8))
	defer srv.Close()
	args := []string{"crawl", "-q", "-c", "10", "--state", filepath.Join(mnt, "state"), srv.URL + "/p/0"}

	// A run that hangs is killed, and fails the test, after a minute.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitFailed ||
		!strings.Contains(stderr.String(), "disk full, crawl stopped (resume once there is room)") {
		t.Fatalf("crawl on a full disk: %v: %s", err, stderr.String())
	}
	t.Logf("full: %s", strings.TrimSpace(stderr.String()))
	if out, err := exec.Command("mount", "-o", "remount,size=256m", mnt).CombinedOutput(); err != nil {
		t.Fatalf("remount: %v: %s", err, out)
	}
	stderr.Reset()
	cmd = exec.CommandContext(ctx, bin, args...)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("resume once there is room: %v: %s", err, stderr.String())
	}
	checkOnce(t, filepath.Join(mnt, "state", "pages.jsonl"), pages)
}

// TestCrawlStateBadOutputFirst starts crawls whose -o cannot be opened,
// or is not a regular file (a device, a pipe) that the state dir could cut
// to length: each fails without keeping that -o in the new state dir, so
// the command run again with the -o put right starts the crawl. A device
// had failed only once the dir stored its config, with a bare "truncate
// /dev/null: invalid argument", and the command put right was refused.
func TestCrawlStateBadOutputFirst(t *testing.T) {
	site := crawltest.NewSite(20, 4)
	srv := httptest.NewServer(site)
	defer srv.Close()
	ctx := context.Background()
	tmp := t.TempDir()
	fifo := filepath.Join(tmp, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, out string
		code      int
		want      string
	}{
		{"missing dir", filepath.Join(tmp, "no such dir", "pages.jsonl"), exitFailed, "no such file or directory"},
		{"device", os.DevNull, exitUsage, "needs its records in a regular file"},
		{"pipe", fifo, exitUsage, "needs its records in a regular file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "state")
			args := []string{"crawl", "-q", "--state", dir, srv.URL + "/p/0"}
			if code, _, errOut := runFetchCLI(ctx, "", append(args, "-o", tc.out)...); code != tc.code || !strings.Contains(errOut, tc.want) {
				t.Fatalf("bad -o: exit %d, %q; want %d and %q", code, errOut, tc.code, tc.want)
			}
			if code, _, errOut := runFetchCLI(ctx, "", args...); code != 0 {
				t.Fatalf("run again without it: exit %d, %q", code, errOut)
			}
		})
	}
}
