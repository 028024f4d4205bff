package crawler

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/vfs"
	"github.com/cockroachdb/pebble/vfs/errorfs"
)

func openDisk(t *testing.T, dir string, o *DiskOptions) *DiskFrontier {
	t.Helper()
	f, err := OpenDiskFrontier(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func admitN(t *testing.T, f Frontier, host string, from, to int) {
	t.Helper()
	var batch []Entry
	for i := from; i < to; i++ {
		batch = append(batch, Entry{URL: fmt.Sprintf("%s/p/%d", host, i), Parent: host + "/", Depth: 1})
	}
	if _, err := f.Admit(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
}

func pop(t *testing.T, f Frontier, host string) Entry {
	t.Helper()
	e, ok, err := f.Pop(context.Background(), host)
	if err != nil || !ok {
		t.Fatalf("pop: %v, %v", ok, err)
	}
	return e
}

func wantCounts(t *testing.T, f Frontier, pending, inFlight int) {
	t.Helper()
	p, n, err := f.Counts(context.Background())
	if err != nil || p != pending || n != inFlight {
		t.Fatalf("counts %d pending, %d in flight (%v); want %d, %d", p, n, err, pending, inFlight)
	}
}

// TestDiskFrontierReopen closes a frontier mid-crawl and opens it again:
// pending URLs keep their order, in-flight ones are pending again (at the
// front, in admission order), finished ones stay finished, and a late
// answer for a lease of the first open is refused.
func TestDiskFrontierReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	const host = "http://a.example"
	f := openDisk(t, dir, nil)
	admitN(t, f, host, 0, 100)
	e0, e1, e2 := pop(t, f, host), pop(t, f, host), pop(t, f, host)
	if err := f.Finish(ctx, e0, Done); err != nil {
		t.Fatal(err)
	}
	e2.Attempts = 1
	if err := f.Retry(ctx, e2); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	f = openDisk(t, dir, nil)
	defer f.Close()
	wantCounts(t, f, 99, 0)
	for _, tc := range []struct {
		url  string
		want State
	}{{e0.URL, Done}, {e1.URL, Pending}, {e2.URL, Pending}, {host + "/p/99", Pending}, {host + "/none", Unseen}} {
		if s, err := f.State(ctx, tc.url); err != nil || s != tc.want {
			t.Errorf("state of %s: %v, %v; want %v", tc.url, s, err, tc.want)
		}
	}
	if err := f.Finish(ctx, e1, Done); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("finish with a lease of the last open: %v", err)
	}
	if got := pop(t, f, host); got.URL != e1.URL || got.Lease == e1.Lease {
		t.Fatalf("first pop after reopen: %+v, want %s under a new lease", got, e1.URL)
	}
	for i := 3; i < 100; i++ {
		if got := pop(t, f, host); got.URL != fmt.Sprintf("%s/p/%d", host, i) {
			t.Fatalf("pop %d: %s", i, got.URL)
		}
	}
	if got := pop(t, f, host); got.URL != e2.URL || got.Attempts != 1 {
		t.Fatalf("retried entry: %+v", got)
	}
	if added, _ := f.Admit(ctx, []Entry{{URL: e0.URL}, {URL: host + "/new"}}); added[0] || !added[1] {
		t.Fatalf("admit after reopen: %v", added)
	}
}

func TestDiskFrontierLocked(t *testing.T) {
	dir := t.TempDir()
	f := openDisk(t, dir, nil)
	_, err := OpenDiskFrontier(dir, nil)
	if !errors.Is(err, ErrStateLocked) || !strings.Contains(err.Error(), fmt.Sprint(os.Getpid())) {
		t.Fatalf("second open: %v, want ErrStateLocked naming pid %d", err, os.Getpid())
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	openDisk(t, dir, nil).Close()
}

// TestDiskFrontierBadDir opens directories that must not be taken for a
// fresh start.
func TestDiskFrontierBadDir(t *testing.T) {
	tests := []struct {
		name  string
		spoil func(t *testing.T, dir string)
		want  string
	}{
		{"newer format", func(t *testing.T, dir string) { setRaw(t, dir, metaKey("format"), []byte("99")) },
			"format version 99, newer"},
		{"older format", func(t *testing.T, dir string) { setRaw(t, dir, metaKey("format"), []byte("1")) },
			"format version 1, older"},
		{"no format", func(t *testing.T, dir string) { setRaw(t, dir, metaKey("format"), nil) }, "no format version"},
		{"manifest lost", func(t *testing.T, dir string) {
			must(t, os.Remove(filepath.Join(dir, "db", "CURRENT")))
		}, "corrupt"},
		{"manifest garbled", func(t *testing.T, dir string) {
			names, _ := filepath.Glob(filepath.Join(dir, "db", "MANIFEST-*"))
			for _, n := range names {
				must(t, os.WriteFile(n, []byte("not a manifest at all, sorry"), 0o644))
			}
		}, "corrupt"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			f := openDisk(t, dir, nil)
			admitN(t, f, "http://a.example", 0, 10)
			must(t, f.Close())
			tc.spoil(t, dir)
			f, err := OpenDiskFrontier(dir, nil)
			if err == nil {
				f.Close()
				t.Fatal("opened a spoilt dir")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not say %q", err, tc.want)
			}
			// The directory is still locked by nobody.
			if _, err := OpenDiskFrontier(dir, nil); errors.Is(err, ErrStateLocked) {
				t.Fatal("a failed open kept the lock")
			}
		})
	}
}

// TestDiskFrontierNotWritable opens a state dir whose store the file
// system refuses to open for writing (another user's, or on a read-only
// mount): the error says so, and does not call the dir corrupt.
func TestDiskFrontierNotWritable(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.EACCES, syscall.EROFS} {
		t.Run(errno.Error(), func(t *testing.T) {
			dir := t.TempDir()
			f := openDisk(t, dir, nil)
			admitN(t, f, "http://a.example", 0, 10)
			must(t, f.Close())
			fs := errorfs.Wrap(vfs.Default, errorfs.InjectorFunc(func(op errorfs.Op, path string) error {
				if op == errorfs.OpLock || op == errorfs.OpCreate {
					return &os.PathError{Op: "open", Path: path, Err: errno}
				}
				return nil
			}))
			f, err := OpenDiskFrontier(dir, &DiskOptions{fs: fs})
			if err == nil {
				f.Close()
				t.Fatal("opened a store the file system refused")
			}
			if errors.Is(err, ErrStateCorrupt) || !errors.Is(err, errno) {
				t.Fatalf("error %q: want %v, not ErrStateCorrupt", err, errno)
			}
			openDisk(t, dir, nil).Close()
		})
	}
}

// setRaw writes (or, for nil, deletes) a key of a closed state dir.
func setRaw(t *testing.T, dir string, key, value []byte) {
	t.Helper()
	db, err := pebble.Open(filepath.Join(dir, "db"), &pebble.Options{Logger: quietLogger{}, FS: vfs.Default})
	must(t, err)
	if value == nil {
		must(t, db.Delete(key, pebble.Sync))
	} else {
		must(t, db.Set(key, value, pebble.Sync))
	}
	must(t, db.Close())
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestDiskFrontierCommit checks what a Commit leaves after a reopen: the
// output length, and recorded URLs that stay pending (for their links)
// until their Finish makes them Done.
func TestDiskFrontierCommit(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	const host = "http://a.example"
	f := openDisk(t, dir, nil)
	admitN(t, f, host, 0, 4)
	e := []Entry{pop(t, f, host), pop(t, f, host), pop(t, f, host)}
	must(t, f.SetValidators(ctx, e[0].URL, Validators{Status: 200, ETag: `"x"`}))
	must(t, f.Commit(ctx, []Record{{e[0].URL, 10}, {e[1].URL, 20}}))
	must(t, f.Finish(ctx, e[0], Done)) // recorded, then finished
	if c := f.Committed(); c != 20 {
		t.Fatalf("committed %d, want 20", c)
	}
	wantCounts(t, f, 1, 2)
	must(t, f.Close())

	f = openDisk(t, dir, nil)
	defer f.Close()
	if c := f.Committed(); c != 20 {
		t.Fatalf("committed %d after reopen, want 20", c)
	}
	wantCounts(t, f, 3, 0)
	tests := []struct {
		e        Entry
		state    State
		recorded bool
	}{{e[0], Done, false}, {e[1], Pending, true}, {e[2], Pending, false}}
	for _, tc := range tests {
		s, _ := f.State(ctx, tc.e.URL)
		r, err := f.Recorded(ctx, tc.e.URL)
		if s != tc.state || r != tc.recorded || err != nil {
			t.Errorf("%s: %v, recorded %v (%v); want %v, %v", tc.e.URL, s, r, err, tc.state, tc.recorded)
		}
	}
	v, ok, err := f.Validators(ctx, e[0].URL)
	if err != nil || !ok || v.ETag != `"x"` || v.Status != 200 {
		t.Fatalf("validators: %+v, %v, %v", v, ok, err)
	}
}

func TestDiskFrontierRecrawl(t *testing.T) {
	ctx := context.Background()
	f := openDisk(t, t.TempDir(), nil)
	defer f.Close()
	const host = "http://a.example"
	admitN(t, f, host, 0, 2500)
	if _, err := f.Recrawl(ctx); err != nil {
		t.Fatal(err)
	}
	wantCounts(t, f, 2500, 0) // pending URLs are left as they are
	e := pop(t, f, host)
	if _, err := f.Recrawl(ctx); err == nil {
		t.Fatal("recrawl with a URL in flight")
	}
	must(t, f.Finish(ctx, e, Done))
	for range 2499 {
		e := pop(t, f, host)
		must(t, f.Finish(ctx, e, Done))
	}
	wantCounts(t, f, 0, 0)
	n, err := f.Recrawl(ctx)
	if err != nil || n != 2500 {
		t.Fatalf("recrawl: %d, %v", n, err)
	}
	wantCounts(t, f, 2500, 0)
	if e := pop(t, f, host); e.URL != host+"/p/0" && !strings.HasPrefix(e.URL, host+"/p/") || e.Depth != 1 || e.Parent != host+"/" {
		t.Fatalf("requeued entry %+v", e)
	}
}

// TestDiskFrontierRecrawlResumed cuts a Recrawl short after its first
// batch, reopens the directory and calls Recrawl again: every finished
// URL is queued once, and a Recrawl once the pass is queued queues nothing
// until the pass's URLs are finished.
func TestDiskFrontierRecrawlResumed(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	const host = "http://a.example"
	const n = 2*recrawlBatch + 100
	f := openDisk(t, dir, nil)
	admitN(t, f, host, 0, n)
	for range n {
		must(t, f.Finish(ctx, pop(t, f, host), Done))
	}
	// What the first batch of a Recrawl leaves: its URLs queued, and the
	// cursor at the last of them.
	f.mu.Lock()
	iter, err := f.db.NewIter(&pebble.IterOptions{LowerBound: []byte{kindState}, UpperBound: []byte{kindState + 1}})
	must(t, err)
	rq := requeuer{f: f, b: f.db.NewBatch(), counts: make(map[string]int)}
	iter.First()
	for range recrawlBatch {
		must(t, rq.add(iter.Value()))
		iter.Next()
	}
	var last [16]byte
	iter.Prev()
	copy(last[:], iter.Key()[1:])
	must(t, iter.Close())
	must(t, rq.flush(last[:]))
	f.mu.Unlock()
	must(t, f.Close())

	f = openDisk(t, dir, nil)
	defer f.Close()
	wantCounts(t, f, recrawlBatch, 0)
	got, err := f.Recrawl(ctx)
	if err != nil || got != n-recrawlBatch {
		t.Fatalf("resumed recrawl: %d, %v; want %d", got, err, n-recrawlBatch)
	}
	wantCounts(t, f, n, 0)
	if got, err := f.Recrawl(ctx); err != nil || got != 0 {
		t.Fatalf("recrawl of a queued pass: %d, %v; want 0", got, err)
	}
	seen := make(map[string]bool)
	for range n {
		e := pop(t, f, host)
		if seen[e.URL] {
			t.Fatalf("%s queued twice", e.URL)
		}
		seen[e.URL] = true
		if s, _ := f.State(ctx, e.URL); s != InFlight {
			t.Fatalf("state of %s: %v", e.URL, s)
		}
		must(t, f.Finish(ctx, e, Done))
	}
	wantCounts(t, f, 0, 0)
	if got, err := f.Recrawl(ctx); err != nil || got != n {
		t.Fatalf("next pass: %d, %v; want %d", got, err, n)
	}
}

// TestDiskFrontierRecrawlUnchanged finishes recrawled URLs: one that ends
// as it was, with no new validators, keeps its state on disk untouched;
// one with new validators, or another state, has its state written, the
// validators in it.
func TestDiskFrontierRecrawlUnchanged(t *testing.T) {
	ctx := context.Background()
	f := openDisk(t, t.TempDir(), nil)
	defer f.Close()
	const host = "http://a.example"
	admitN(t, f, host, 0, 3)
	for range 3 {
		e := pop(t, f, host)
		must(t, f.SetValidators(ctx, e.URL, Validators{Status: 200, ETag: `"1"`}))
		must(t, f.Finish(ctx, e, Done))
	}
	if n, err := f.Recrawl(ctx); err != nil || n != 3 {
		t.Fatalf("recrawl: %d, %v", n, err)
	}
	tests := []struct {
		name   string
		v      *Validators
		state  State
		writes uint32 // the queue key's removal, and the state's (with its validators)
	}{
		{"unchanged", nil, Done, 1},
		{"changed", &Validators{Status: 200, ETag: `"2"`}, Done, 2},
		{"failed", nil, Failed, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := pop(t, f, host)
			if v, ok, _ := f.Validators(ctx, e.URL); !ok || v.ETag != `"1"` {
				t.Fatalf("validators queued with %s: %+v, %v", e.URL, v, ok)
			}
			if tc.v != nil {
				must(t, f.SetValidators(ctx, e.URL, *tc.v))
			}
			f.mu.Lock()
			l := f.out[fingerprint(e.URL)]
			l.state = tc.state
			b := f.db.NewBatch()
			f.writeDone(b, fingerprint(e.URL), l)
			n := b.Count()
			b.Close()
			f.hosts[host].keys++ // writeDone counted the batch's key as gone
			f.mu.Unlock()
			if n != tc.writes {
				t.Fatalf("finish writes %d keys, want %d", n, tc.writes)
			}
			must(t, f.Finish(ctx, e, tc.state))
			if s, _ := f.State(ctx, e.URL); s != tc.state {
				t.Fatalf("state %v, want %v", s, tc.state)
			}
		})
	}
}

const crashChildEnv = "SLUICE_CRAWLER_CRASH_CHILD"

// crashChild admits 1,000 URLs, pops 30, finishes 10, retries 10, says
// "ready" and waits to be killed.
func crashChild(dir string) int {
	if seed := os.Getenv(crashSiteEnv); seed != "" {
		return crawlChild(dir, seed)
	}
	ctx := context.Background()
	f, err := OpenDiskFrontier(dir, nil)
	if err != nil {
		fmt.Println(err)
		return 1
	}
	const host = "http://a.example"
	for i := 0; i < 1000; i += 10 {
		var batch []Entry
		for k := i; k < i+10; k++ {
			batch = append(batch, Entry{URL: fmt.Sprintf("%s/p/%d", host, k)})
		}
		if _, err := f.Admit(ctx, batch); err != nil {
			fmt.Println(err)
			return 1
		}
	}
	for i := range 30 {
		e, _, _ := f.Pop(ctx, host)
		switch {
		case i < 10:
			_ = f.Finish(ctx, e, Done)
		case i < 20:
			_ = f.Retry(ctx, e)
		}
	}
	// A synced write: everything before it is durable.
	if err := f.SetMeta(ctx, "x", []byte("y")); err != nil {
		fmt.Println(err)
		return 1
	}
	fmt.Println("ready")
	select {}
}

// TestDiskFrontierKilled kills a process holding a frontier and opens it
// again: nothing admitted or finished is lost, in-flight URLs are pending,
// and the lock died with the process.
func TestDiskFrontierKilled(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	stdout, err := cmd.StdoutPipe()
	must(t, err)
	must(t, cmd.Start())
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if line != "ready\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child said %q", line)
	}
	must(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()

	ctx := context.Background()
	f := openDisk(t, dir, nil)
	defer f.Close()
	wantCounts(t, f, 990, 0)
	const host = "http://a.example"
	for i := range 1000 {
		u := fmt.Sprintf("%s/p/%d", host, i)
		want := Pending
		if i < 10 {
			want = Done
		}
		if s, err := f.State(ctx, u); err != nil || s != want {
			t.Fatalf("state of %s: %v, %v; want %v", u, s, err, want)
		}
	}
	// The ten popped and not answered come first, then the rest in order,
	// then the ten retried.
	for i := 20; i < 30; i++ {
		if e := pop(t, f, host); e.URL != fmt.Sprintf("%s/p/%d", host, i) {
			t.Fatalf("pop: %s, want /p/%d", e.URL, i)
		}
	}
}

// TestDiskFrontierCloseFlushes checks that a clean Close leaves its
// writes in the store's tables, so that the next open replays no log, and
// that a Close after a background failure does not try.
func TestDiskFrontierCloseFlushes(t *testing.T) {
	for _, tc := range []struct {
		urls   int
		failed bool
	}{{10, false}, {10, true}, {20000, false}} {
		failed := tc.failed
		dir := t.TempDir()
		f := openDisk(t, dir, nil)
		admitN(t, f, "a.example", 0, tc.urls)
		must(t, f.flushAdmits())
		if tc.urls > 10 {
			// Pebble's first memtables are small: several are queued,
			// none flushed, and Close flushes them all.
			if m := f.db.Metrics(); m.MemTable.Count < 2 || m.Flush.Count != 0 {
				t.Fatalf("%d memtables, %d flushes before Close: the test wants several queued and none flushed",
					m.MemTable.Count, m.Flush.Count)
			}
		}
		if failed {
			f.backgroundError(errors.New("a flush failed"))
		}
		must(t, f.Close())
		// Opened read-only, the store keeps what it replays in memtables.
		db, err := pebble.Open(filepath.Join(dir, "db"), &pebble.Options{ReadOnly: true})
		must(t, err)
		replayed := db.Metrics().MemTable.Count
		must(t, db.Close())
		switch {
		case !failed && replayed != 0:
			t.Errorf("%d memtables replayed after a clean Close, want none", replayed)
		case failed && replayed == 0:
			t.Errorf("nothing replayed after a Close that followed a failed flush: it flushed")
		}
		f = openDisk(t, dir, nil)
		if f.pending != tc.urls {
			t.Errorf("%d URLs pending after the reopen, want %d", f.pending, tc.urls)
		}
		must(t, f.Close())
	}
}

// TestDiskFrontierDiskFull fails the store's writes with ENOSPC: the
// frontier says so, every later call fails the same way, and once there is
// room the directory opens with everything written before the failure.
func TestDiskFrontierDiskFull(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	var full atomic.Bool
	fs := errorfs.Wrap(vfs.Default, errorfs.InjectorFunc(func(op errorfs.Op, _ string) error {
		if full.Load() && (op == errorfs.OpFileWrite || op == errorfs.OpFileSync || op == errorfs.OpCreate) {
			return syscall.ENOSPC
		}
		return nil
	}))
	const host = "http://a.example"
	f := openDisk(t, dir, &DiskOptions{fs: fs})
	admitN(t, f, host, 0, 10)
	must(t, f.SetMeta(ctx, "x", []byte("y"))) // synced: the 10 URLs are durable
	full.Store(true)
	var err error
	for i := 0; err == nil && i < 100; i++ {
		// Unsynced writes may sit in a buffer; a synced one must fail.
		_, err = f.Admit(ctx, []Entry{{URL: fmt.Sprintf("%s/late/%d", host, i)}})
		if err == nil {
			err = f.SetMeta(ctx, "x", []byte("z"))
		}
	}
	if err == nil || !strings.Contains(err.Error(), "disk full") || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("write on a full disk: %v", err)
	}
	if _, _, err2 := f.Pop(ctx, host); err2 == nil {
		t.Fatal("pop after a failed write succeeded")
	}
	if err := f.Close(); err == nil {
		t.Fatal("close after a failed write reported nothing")
	}
	full.Store(false)
	f = openDisk(t, dir, nil)
	defer f.Close()
	for i := range 10 {
		if s, _ := f.State(ctx, fmt.Sprintf("%s/p/%d", host, i)); s != Pending {
			t.Fatalf("URL %d admitted before the disk filled is %v", i, s)
		}
	}
}

// TestDiskFrontierOpenDiskFull opens a state dir, new and old, on a full
// disk: the open fails with an error that says so, where Pebble, failing
// to write its manifest or log while opening, would end the process.
func TestDiskFrontierOpenDiskFull(t *testing.T) {
	full := errorfs.Wrap(vfs.Default, errorfs.InjectorFunc(func(op errorfs.Op, _ string) error {
		if op == errorfs.OpFileWrite || op == errorfs.OpFileSync || op == errorfs.OpCreate {
			return syscall.ENOSPC
		}
		return nil
	}))
	for _, tc := range []struct {
		name string
		urls int // admitted before the disk filled; -1: no store yet
	}{{"new", -1}, {"closed", 10}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.urls >= 0 {
				f := openDisk(t, dir, nil)
				admitN(t, f, "http://a.example", 0, tc.urls)
				must(t, f.Close())
			}
			f, err := OpenDiskFrontier(dir, &DiskOptions{fs: full})
			if err == nil {
				f.Close()
				t.Fatal("opened a state dir on a full disk")
			}
			if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "disk full") {
				t.Fatalf("open on a full disk: %v", err)
			}
			f = openDisk(t, dir, nil)
			defer f.Close()
			if pending, _, _ := f.Counts(context.Background()); pending != max(tc.urls, 0) {
				t.Fatalf("%d URLs pending once there is room, want %d", pending, max(tc.urls, 0))
			}
		})
	}
}

// BenchmarkDiskFrontierRecrawl opens a state dir of 20,000 finished pages
// with validators, as bench/durable/recrawl.sh's first crawl leaves it,
// and queues them again: what a recrawl does before its first request.
// Between rounds the pages are finished unchanged, untimed.
func BenchmarkDiskFrontierRecrawl(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	const host, pages = "http://127.0.0.1:40000", 20000
	f, err := OpenDiskFrontier(dir, nil)
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < pages; i += 10 {
		var batch []Entry
		for k := i; k < i+10; k++ {
			batch = append(batch, Entry{URL: fmt.Sprintf("%s/p/%d", host, k), Parent: fmt.Sprintf("%s/p/%d", host, k/10), Depth: 4})
		}
		if _, err := f.Admit(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	drain := func(f *DiskFrontier, v *Validators) {
		for {
			e, ok, err := f.Pop(ctx, host)
			if err != nil || !ok {
				return
			}
			if v != nil {
				_ = f.SetValidators(ctx, e.URL, *v)
			}
			if err := f.Finish(ctx, e, Done); err != nil {
				b.Fatal(err)
			}
		}
	}
	drain(f, &Validators{Status: 200, ETag: `"5f3a-1c2b"`, LastModified: "Mon, 30 Nov 2026 12:00:00 GMT"})
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		f, err := OpenDiskFrontier(dir, nil)
		if err != nil {
			b.Fatal(err)
		}
		if n, err := f.Recrawl(ctx); err != nil || n != pages {
			b.Fatalf("recrawl: %d, %v", n, err)
		}
		b.StopTimer()
		drain(f, nil)
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// TestDiskFrontierValidatorsKept checks that a URL's validators outlive a
// recrawl pass whose fetch stored none (a 304, a failed fetch), and that
// those of a new fetch replace them, across a reopen.
func TestDiskFrontierValidatorsKept(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	const host = "http://a.example"
	first := Validators{Status: 200, ETag: `"1"`, LastModified: "Mon, 30 Nov 2026 12:00:00 GMT", Digest: 1 << 63}
	second := Validators{Status: 200, ETag: `"2"`, Digest: 7}
	tests := []struct {
		name string
		set  *Validators // by the recrawl's fetch
		want Validators
	}{
		{"not modified", nil, first},
		{"changed", &second, second},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(dir, fmt.Sprint(i))
			f := openDisk(t, dir, nil)
			admitN(t, f, host, 0, 1)
			e := pop(t, f, host)
			must(t, f.SetValidators(ctx, e.URL, first))
			must(t, f.Finish(ctx, e, Done))
			if _, err := f.Recrawl(ctx); err != nil {
				t.Fatal(err)
			}
			e = pop(t, f, host)
			if v, ok, err := f.Validators(ctx, e.URL); err != nil || !ok || v != first {
				t.Fatalf("validators in flight: %+v, %v, %v", v, ok, err)
			}
			if tc.set != nil {
				must(t, f.SetValidators(ctx, e.URL, *tc.set))
			}
			must(t, f.Finish(ctx, e, Done))
			must(t, f.Close())

			f = openDisk(t, dir, nil)
			defer f.Close()
			if v, ok, err := f.Validators(ctx, e.URL); err != nil || !ok || v != tc.want {
				t.Fatalf("validators after the pass: %+v, %v, %v; want %+v", v, ok, err, tc.want)
			}
		})
	}
}

// TestValidatorsEncoding round-trips validators through a state's value
// and a queue's, with and without a digest; without one, the bytes are
// those format 3 wrote, which has none.
func TestValidatorsEncoding(t *testing.T) {
	e := Entry{URL: "http://a.example/p", Parent: "http://a.example/", Depth: 2}
	for _, v := range []Validators{
		{Status: 200, ETag: `"x"`, LastModified: "Mon, 30 Nov 2026 12:00:00 GMT"},
		{Status: 301, Digest: 1},
		{Status: 200, ETag: `W/"y"`, Digest: ^uint64(0)},
		{},
	} {
		state := appendDone(nil, Done, &e, &v)
		s, got, gv, ok, err := decodeDone(state)
		if err != nil || !ok || s != Done || got.URL != e.URL || got.Depth != e.Depth || gv == nil || *gv != v {
			t.Errorf("state of %+v decodes to %v %+v %+v %v %v", v, s, got, gv, ok, err)
		}
		q, err := decodeQueued(appendQueued(nil, &e, "a.example", &v, Failed), "a.example")
		if err != nil || q.prev == nil || *q.prev != v || q.was != Failed || q.e.URL != e.URL {
			t.Errorf("queue value of %+v decodes to %+v, %v", v, q, err)
		}
		if v.Digest != 0 {
			continue
		}
		old := binary.AppendUvarint(nil, uint64(v.Status))
		old = appendStripped(appendStripped(old, v.ETag, ""), v.LastModified, "")
		if enc := appendValidators(nil, &v); !bytes.Equal(enc, old) {
			t.Errorf("%+v encodes as %q, format 3 as %q", v, enc, old)
		}
	}
	// A digest cut short is corrupt, not read past the value's end.
	v := Validators{Status: 200, Digest: 5}
	enc := appendValidators(nil, &v)
	if _, _, err := decodeValidators(enc[:len(enc)-1]); err == nil {
		t.Error("a digest cut short decodes")
	}
}

// TestDiskFrontierOpensOlderFormats opens dirs of formats 3 (which kept
// no digests) and 4 (which kept no denied state): their validators read
// as they were written, and the dir is marked as of this format, which a
// sluice reading only theirs refuses.
func TestDiskFrontierOpensOlderFormats(t *testing.T) {
	for _, old := range []string{"3", "4"} {
		t.Run(old, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			const host = "http://a.example"
			v := Validators{Status: 200, ETag: `"1"`}
			f := openDisk(t, dir, nil)
			admitN(t, f, host, 0, 1)
			e := pop(t, f, host)
			must(t, f.SetValidators(ctx, e.URL, v))
			must(t, f.Finish(ctx, e, Done))
			must(t, f.Close())
			setRaw(t, dir, metaKey("format"), []byte(old))

			f = openDisk(t, dir, nil)
			if got, ok, err := f.Validators(ctx, e.URL); err != nil || !ok || got != v {
				t.Fatalf("validators: %+v, %v, %v; want %+v", got, ok, err, v)
			}
			if got, ok, err := f.get(metaKey("format")); err != nil || !ok || string(got) != strconv.Itoa(DiskFormat) {
				t.Fatalf("format after open: %q, %v, %v", got, ok, err)
			}
			must(t, f.Close())
		})
	}
}

// TestDiskFrontierAdmitsWithNextWrite checks that the admissions waiting
// in memory go to disk with the frontier's next write, before it, so that
// a crash leaves a page finished only with its links queued; a crash
// before any write loses them, and the page that found them with them.
func TestDiskFrontierAdmitsWithNextWrite(t *testing.T) {
	ctx := context.Background()
	const host = "http://a.example"
	tests := []struct {
		name    string
		write   func(f *DiskFrontier, e Entry) error
		pending int // after a crash: the links, and the page if not finished
		state   State
	}{
		{"none", func(*DiskFrontier, Entry) error { return nil }, 1, Pending},
		{"finish", func(f *DiskFrontier, e Entry) error { return f.Finish(ctx, e, Done) }, 5, Done},
		{"retry", func(f *DiskFrontier, e Entry) error { return f.Retry(ctx, e) }, 6, Pending},
		{"meta", func(f *DiskFrontier, _ Entry) error { return f.SetMeta(ctx, "x", []byte("y")) }, 6, Pending},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			f := openDisk(t, dir, &DiskOptions{SyncInterval: time.Hour})
			admitN(t, f, host, 0, 1)
			e := pop(t, f, host) // its admission is written by the Pop
			admitN(t, f, host, 1, 6)
			must(t, tc.write(f, e))
			crash(t, f)

			f = openDisk(t, dir, nil)
			defer f.Close()
			wantCounts(t, f, tc.pending, 0)
			if s, err := f.State(ctx, e.URL); s != tc.state || err != nil {
				t.Fatalf("page %v (%v), want %v", s, err, tc.state)
			}
		})
	}
}

// TestStoreFatalInBackground checks what a fatal store error does outside
// the frontier's own calls (a flush on Pebble's goroutine that cannot
// write the manifest): it ends the process with a line naming the state
// dir and the cause, where inside a frontier call it is that call's error.
func TestStoreFatalInBackground(t *testing.T) {
	var ended error
	defer func(old func(error)) { exitFatal = old }(exitFatal)
	exitFatal = func(err error) { ended = err }
	full := &os.PathError{Op: "write", Path: "MANIFEST-000001", Err: syscall.ENOSPC}
	done := make(chan struct{})
	go func() { // not under guard, as Pebble's own goroutines are not
		defer close(done)
		quietLogger{dir: "crawl.d"}.Fatalf("MANIFEST set current failed: %v", full)
	}()
	<-done
	if ended == nil || !strings.Contains(ended.Error(), "state dir crawl.d: disk full") || !errors.Is(ended, syscall.ENOSPC) {
		t.Fatalf("ended with %v", ended)
	}
	ended = nil
	err := guard(func() error {
		quietLogger{dir: "crawl.d"}.Fatalf("MANIFEST set current failed: %v", full)
		return nil
	})
	if !errors.Is(err, syscall.ENOSPC) || ended != nil {
		t.Fatalf("under guard: %v, and the process ended with %v", err, ended)
	}
}

// TestRequeuedValue checks that Recrawl's queue value, made from a state
// value without decoding it, is the one appendQueued makes of the decoded
// entry, validators and state; and that a pending state, a URL with no
// host and a corrupt value are told apart.
func TestRequeuedValue(t *testing.T) {
	v := &Validators{Status: 200, ETag: `"e"`, LastModified: "Mon, 30 Nov 2026 12:00:00 GMT", Digest: 42}
	tests := []struct {
		name string
		s    State
		e    Entry
		v    *Validators
	}{
		{"validators", Done, Entry{URL: "http://a.example/p/1", Parent: "http://a.example/", Depth: 3}, v},
		{"none", Failed, Entry{URL: "http://a.example/p/2", Parent: "http://a.example/", Depth: 1}, nil},
		{"denied", deniedState, Entry{URL: "http://a.example/private", Parent: "http://a.example/"}, &Validators{}},
		{"host's prefix", Done, Entry{URL: "http://a.example:80/x", Parent: "http://a.example/p/1", Depth: 2}, v},
		{"other host", Done, Entry{URL: "http://b.example:8080/x?y=1", Parent: "http://a.example/p/1", Depth: 200}, v},
		{"seed", Done, Entry{URL: "https://c.example/"}, v},
		{"bare origin", Done, Entry{URL: "https://c.example"}, v},
	}
	rq := requeuer{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			host := HostKey(tc.e.URL)
			want := appendQueued(nil, &tc.e, host, tc.v, tc.s)
			got, gotHost, ok, err := rq.queued(appendDone(nil, tc.s, &tc.e, tc.v))
			if err != nil || !ok || gotHost != host || !bytes.Equal(got, want) {
				t.Fatalf("queued: %q %q %v %v; want %q %q", got, gotHost, ok, err, want, host)
			}
			q, err := decodeQueued(got, host)
			must(t, err)
			if q.e.URL != tc.e.URL || q.e.Parent != tc.e.Parent || q.e.Depth != tc.e.Depth {
				t.Fatalf("decoded entry %+v, want %+v", q.e, tc.e)
			}
		})
	}
	if _, _, ok, err := rq.queued([]byte{byte(Pending)}); ok || err != nil {
		t.Fatalf("pending state: %v %v; want skipped", ok, err)
	}
	if _, _, ok, err := rq.queued(appendDone(nil, Failed, &Entry{URL: "not a url"}, nil)); ok || err != nil {
		t.Fatalf("URL with no host: %v %v; want skipped", ok, err)
	}
	good := appendDone(nil, Done, &tests[0].e, v)
	for _, bad := range [][]byte{good[:3], good[:len(good)-3], {byte(Done), 0x80}, append(good[:2:2], 0xfe, 0x01)} {
		if _, _, _, err := rq.queued(bad); err == nil {
			t.Errorf("corrupt value %q: no error", bad)
		}
	}
}
