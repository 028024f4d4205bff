package crawler

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/vfs"
)

// TestOutputFinishWaitsForCommit checks that, with an Output, a Finish
// reaches the state dir only with the commit of the records file's length:
// a frontier closed (as a killed process leaves it: even its unsynced log
// writes kept) before the commit holds the URL pending, unrecorded, and
// the file is cut to the committed length.
func TestOutputFinishWaitsForCommit(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "out")
	const host = "http://a.example"
	tests := []struct {
		name         string
		commitRecord bool // commit after the record is written, before Finish
		commitFinish bool // commit after Finish
		state        State
		recorded     bool
		committed    int64
	}{
		{"no commit", false, false, Pending, false, 0},
		{"record committed", true, false, Pending, true, 2},
		{"finish committed", false, true, Done, false, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(dir, tc.name)
			f := openDisk(t, dir, nil)
			out, err := OpenOutput(f, path+tc.name)
			must(t, err)
			admitN(t, f, host, 0, 1)
			e := pop(t, f, host)
			must(t, out.Write(e.URL, []byte("a\n")))
			if tc.commitRecord {
				must(t, out.Commit(ctx))
			}
			must(t, f.Finish(ctx, e, Done))
			if s, _ := f.State(ctx, e.URL); s != Done {
				t.Fatalf("state %v after Finish, want Done", s)
			}
			if tc.commitFinish {
				must(t, out.Commit(ctx))
			}
			must(t, out.file.Close()) // no Close: it would commit
			must(t, f.Close())

			f = openDisk(t, dir, nil)
			defer f.Close()
			s, _ := f.State(ctx, e.URL)
			r, err := f.Recorded(ctx, e.URL)
			if s != tc.state || r != tc.recorded || err != nil || f.Committed() != tc.committed {
				t.Errorf("%v, recorded %v (%v), committed %d; want %v, %v, %d",
					s, r, err, f.Committed(), tc.state, tc.recorded, tc.committed)
			}
			out, err = OpenOutput(f, path+tc.name)
			must(t, err)
			must(t, out.Close(ctx))
			b, err := os.ReadFile(path + tc.name)
			if err != nil || int64(len(b)) != tc.committed {
				t.Errorf("file %q (%v), want %d bytes", b, err, tc.committed)
			}
		})
	}
}

// TestOutputCommitter checks that a Finish kicks the committer without a
// call to Commit, that the Finishes committed are counted for the
// scheduler's gate, and that Close ends it.
func TestOutputCommitter(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	f, out := openDiskOutput(t, dir)
	defer f.Close()
	if _, _, _, waits := f.finishGate(); waits {
		t.Fatal("the gate waits before a committer runs")
	}
	out.StartCommitter(ctx)
	admitN(t, f, "http://a.example", 0, 3)
	for range 3 {
		e := pop(t, f, "http://a.example")
		must(t, out.Write(e.URL, []byte("a\n")))
		must(t, f.Finish(ctx, e, Done))
	}
	taken, _, wake, waits := f.finishGate()
	if taken != 3 || !waits {
		t.Fatalf("gate: %d taken, waits %v; want 3, true", taken, waits)
	}
	deadline := time.After(10 * time.Second)
	for {
		if _, committed, _, _ := f.finishGate(); committed == 3 {
			break
		}
		select {
		case <-wake:
		case <-deadline:
			t.Fatalf("committed %d bytes, the gate did not open", f.Committed())
		}
	}
	if f.Committed() != 6 {
		t.Fatalf("committed %d bytes, want 6", f.Committed())
	}
	must(t, out.Close(ctx))
	if _, _, _, waits := f.finishGate(); waits {
		t.Fatal("the gate waits once the committer has ended")
	}
}

// TestOutputCommitsAtOnceWhenNothingIsLeased checks that the committer
// waits out its gap between two commits while a URL is leased, and
// commits at once when a Finish leaves none leased: every slot of the
// crawl then waits for that commit.
func TestOutputCommitsAtOnceWhenNothingIsLeased(t *testing.T) {
	ctx := context.Background()
	f, out := openDiskOutput(t, t.TempDir())
	defer f.Close()
	out.gap = time.Hour
	out.StartCommitter(ctx)
	defer out.Close(ctx)
	const host = "http://a.example"
	admitN(t, f, host, 0, 3)
	finish := func(e Entry) {
		t.Helper()
		must(t, out.Write(e.URL, []byte("a\n")))
		must(t, f.Finish(ctx, e, Done))
	}
	waitCommitted := func(n uint64) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			_, committed, wake, _ := f.finishGate()
			if committed >= n {
				return
			}
			select {
			case <-wake:
			case <-deadline:
				t.Fatalf("%d Finishes committed, want %d", committed, n)
			}
		}
	}
	finish(pop(t, f, host)) // the first commit has no gap to wait for
	waitCommitted(1)
	b, c := pop(t, f, host), pop(t, f, host)
	finish(b) // c is leased: the commit waits for the gap
	time.Sleep(50 * time.Millisecond)
	if _, committed, _, _ := f.finishGate(); committed != 1 {
		t.Fatalf("%d Finishes committed while a URL was leased and the gap ran, want 1", committed)
	}
	finish(c) // none leased
	waitCommitted(3)
	if f.Committed() != 6 {
		t.Fatalf("committed %d bytes, want 6", f.Committed())
	}
}

// TestOutputLocked opens a second Output, from another state dir, on a
// records file that an Output has open: it is refused until the first is
// closed.
func TestOutputLocked(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "shared.jsonl")
	a := openDisk(t, filepath.Join(dir, "a"), nil)
	defer a.Close()
	b := openDisk(t, filepath.Join(dir, "b"), nil)
	defer b.Close()
	out, err := OpenOutput(a, path)
	must(t, err)
	if _, err := OpenOutput(b, path); !errors.Is(err, ErrOutputLocked) {
		t.Fatalf("second Output on the same file: %v, want ErrOutputLocked", err)
	}
	must(t, out.Close(ctx))
	out, err = OpenOutput(b, path)
	must(t, err)
	must(t, out.Close(ctx))
}

// TestOutputOnePerFrontier opens a second Output, on another file, while
// one is open on the frontier: it is refused, and the first file keeps its
// records through a reopen. Both had been opened, each committing its own
// length, and the next open cut the first file to the second's length.
// Once the first is closed, another may be opened; closing the first
// again does nothing to it.
func TestOutputOnePerFrontier(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	f := openDisk(t, filepath.Join(dir, "state"), nil)
	first, second := filepath.Join(dir, "first.jsonl"), filepath.Join(dir, "second.jsonl")
	out, err := OpenOutput(f, first)
	must(t, err)
	other, err := OpenOutput(f, second)
	if err == nil {
		t.Error("a second Output on the frontier was opened")
	}
	must(t, out.Write("http://a.example/1", []byte("record one\n")))
	must(t, out.Close(ctx))
	if other != nil {
		must(t, other.Write("http://a.example/2", []byte("2\n")))
		must(t, other.Close(ctx))
	}
	must(t, f.Close())

	f = openDisk(t, filepath.Join(dir, "state"), nil)
	defer f.Close()
	again, err := OpenOutput(f, first)
	must(t, err)
	defer again.Close(ctx)
	if b, _ := os.ReadFile(first); string(b) != "record one\n" {
		t.Fatalf("first file %q after a reopen, want its record", b)
	}
	must(t, out.Close(ctx)) // the old Output's second Close
	if _, err := OpenOutput(f, second); err == nil {
		t.Fatal("a second Output was opened once an old one was closed again")
	}
}

// TestOutputRestoresLostTail commits records, then cuts the file short as
// a power loss may (its last bytes were not synced) and opens it again
// after a crash (and, in one case, after a second crash that came before
// the output was opened again): the committed records come back from the
// state dir's log, byte for byte, and once the file is synced their copies
// are dropped.
func TestOutputRestoresLostTail(t *testing.T) {
	tests := []struct {
		cut   int64
		twice bool // crash again once the frontier is open, before OpenOutput
	}{{0, false}, {5, false}, {131, false}, {5, true}}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.cut, tc.twice), func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			path := filepath.Join(dir, "out")
			f := openDisk(t, dir, nil)
			out, err := OpenOutput(f, path)
			must(t, err)
			var want []byte
			for i := range 3 {
				for j := range 4 {
					rec := fmt.Appendf(nil, "record %d.%d\n", i, j)
					want = append(want, rec...)
					must(t, out.Write(fmt.Sprintf("http://a.example/%d/%d", i, j), rec))
				}
				must(t, out.Commit(ctx)) // three commits, none synced the file
			}
			must(t, out.Write("http://a.example/late", []byte("not committed\n")))
			if n := keptTails(t, f); n != 3 {
				t.Fatalf("%d copies of commits in the log, want 3", n)
			}
			crash(t, f)
			must(t, out.file.Close())          // the process's end closes it
			must(t, os.Truncate(path, tc.cut)) // what a power loss left
			f = openDisk(t, dir, nil)
			if tc.twice {
				crash(t, f) // the store has dropped the logs it replayed
				f = openDisk(t, dir, nil)
			}
			defer f.Close()
			out, got := openOutputAndRead(t, f, path)
			if !bytes.Equal(got, want) {
				t.Fatalf("file cut to %d bytes, reopened: %q, want %q", tc.cut, got, want)
			}
			if n := keptTails(t, f); n != 0 {
				t.Fatalf("%d copies of records kept after the file was synced", n)
			}
			if _, err := os.Stat(filepath.Join(dir, tailFile)); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("%s kept after the file was synced: %v", tailFile, err)
			}
			must(t, out.Close(ctx))
		})
	}
}

// TestCleanCloseSkipsLogs checks closedFile: a clean close lists the logs
// so that the next open need not read them, and a listing that no longer
// matches the logs (here one put back after later commits and a crash, as
// a lost removal would leave it) is not trusted: the records those commits
// kept in the log come back after a power loss.
func TestCleanCloseSkipsLogs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "out")
	db := filepath.Join(dir, "db")
	f := openDisk(t, dir, nil)
	out, err := OpenOutput(f, path)
	must(t, err)
	must(t, out.Write("http://a.example/1", []byte("record 1\n")))
	must(t, out.Close(ctx))
	must(t, f.Close())
	listing, err := os.ReadFile(filepath.Join(dir, closedFile))
	if err != nil {
		t.Fatalf("no %s after a clean close: %v", closedFile, err)
	}
	probe := &DiskFrontier{dir: dir}
	if !probe.closedCleanly(vfs.Default, db) {
		t.Fatalf("the logs a clean close listed are not recognized:\n%s", listing)
	}
	if _, err := os.Stat(filepath.Join(dir, closedFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("%s kept once read: %v", closedFile, err)
	}
	must(t, os.WriteFile(filepath.Join(dir, closedFile), listing, 0o644))

	f = openDisk(t, dir, nil)
	out, err = OpenOutput(f, path)
	must(t, err)
	want := []byte("record 1\n")
	for i := range 3 {
		rec := fmt.Appendf(nil, "record 2.%d\n", i)
		want = append(want, rec...)
		must(t, out.Write(fmt.Sprintf("http://a.example/2/%d", i), rec))
	}
	must(t, out.Commit(ctx)) // the file not synced: its copies are in the log
	crash(t, f)
	must(t, out.file.Close())                                             // the process's end closes it
	must(t, os.WriteFile(filepath.Join(dir, closedFile), listing, 0o644)) // stale
	must(t, os.Truncate(path, 9))                                         // what a power loss left
	if probe.closedCleanly(vfs.Default, db) {
		t.Fatal("a listing of logs written to since is trusted")
	}
	must(t, os.WriteFile(filepath.Join(dir, closedFile), listing, 0o644))
	f = openDisk(t, dir, nil)
	defer f.Close()
	out, got := openOutputAndRead(t, f, path)
	if !bytes.Equal(got, want) {
		t.Fatalf("reopened with a stale %s: %q, want %q", closedFile, got, want)
	}
	must(t, out.Close(ctx))
}

// TestCloseWithUnsyncedCopiesListsNoLogs checks that a Close that leaves copies
// the records file may need (its output never synced them) writes no
// closedFile.
func TestCloseWithUnsyncedCopiesListsNoLogs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	f, out := openDiskOutput(t, dir)
	must(t, out.Write("http://a.example/1", []byte("record 1\n")))
	must(t, out.Commit(ctx))
	// The frontier closed before its Output: the copy is needed still.
	must(t, f.Close())
	if _, err := os.Stat(filepath.Join(dir, closedFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("%s written with a copy not synced to the records file: %v", closedFile, err)
	}
	_ = out.Close(ctx) // its frontier closed: it fails, and closes the file
}

// openDiskOutput opens a frontier in dir and its Output at dir/out; the
// caller closes both, the Output first.
func openDiskOutput(t *testing.T, dir string) (*DiskFrontier, *Output) {
	t.Helper()
	f := openDisk(t, dir, nil)
	out, err := OpenOutput(f, filepath.Join(dir, "out"))
	must(t, err)
	return f, out
}

// openOutputAndRead opens the Output at path on f, which restores what
// it committed, and returns it with the file's bytes.
func openOutputAndRead(t *testing.T, f *DiskFrontier, path string) (*Output, []byte) {
	t.Helper()
	out, err := OpenOutput(f, path)
	must(t, err)
	got, err := os.ReadFile(path)
	must(t, err)
	return out, got
}

// keptTails counts the copies of the records file's bytes that f's log
// holds and that an open after a crash would keep, with those of
// tailFile.
func keptTails(t *testing.T, f *DiskFrontier) int {
	t.Helper()
	if !f.closed {
		must(t, f.db.LogData(nil, pebble.Sync)) // the log's writes are in its file
	}
	kept, err := readTailFile(filepath.Join(f.dir, tailFile))
	must(t, err)
	tails, _, err := logTails(vfs.Default, filepath.Join(f.dir, "db"), kept)
	must(t, err)
	return len(tails)
}

// crash leaves f as a killed process would: its store not closed, its
// Finishes in memory lost, its lock released.
func crash(t *testing.T, f *DiskFrontier) {
	t.Helper()
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	close(f.stop)
	<-f.done
	must(t, f.db.Close())
	f.syncs.close()
	unlockDir(f.lock)
}

// TestOutputSyncsTailInBackground checks that a commit starts the file's
// sync once it is due and that a later commit, once the sync has ended,
// drops the copies of the records it covers, and Close the rest.
func TestOutputSyncsTailInBackground(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	f, out := openDiskOutput(t, dir)
	defer f.Close()
	write := func(i int) {
		t.Helper()
		must(t, out.Write(fmt.Sprintf("http://a.example/%d", i), fmt.Appendf(nil, "record %d\n", i)))
		must(t, out.Commit(ctx))
	}
	write(0)
	write(1)
	if n := keptTails(t, f); n != 2 {
		t.Fatalf("%d copies of commits in the log, want 2", n)
	}
	out.commitMu.Lock()
	out.lastSync = time.Now().Add(-2 * tailSyncEvery) // a sync is due
	out.commitMu.Unlock()
	write(2)
	deadline := time.Now().Add(10 * time.Second)
	for i := 3; keptTails(t, f) > 1; i++ { // the last commit's copy stays
		if time.Now().After(deadline) {
			t.Fatalf("%d copies of commits in the log 10 s after the file's sync began", keptTails(t, f))
		}
		time.Sleep(5 * time.Millisecond)
		write(i)
	}
	must(t, out.Close(ctx))
	if n := keptTails(t, f); n != 0 {
		t.Fatalf("%d copies of records kept after Close", n)
	}
}

// TestOutputSyncsBeforeFlush checks that a flush of the frontier's
// memtables, after which Pebble drops the logs holding the copies of the
// records, first syncs the records file, and that a failure of that sync
// stops the output.
func TestOutputSyncsBeforeFlush(t *testing.T) {
	tests := []struct {
		name string
		fail error
	}{{"synced", nil}, {"sync failed", errors.New("injected")}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			f, out := openDiskOutput(t, dir)
			defer f.Close()
			defer out.Close(ctx)
			syncs := 0
			f.flushMu.Lock()
			sync := f.flushSync
			f.flushSync = func() error {
				syncs++
				if tc.fail != nil {
					return tc.fail
				}
				return sync()
			}
			f.flushMu.Unlock()
			must(t, out.Write("http://a.example/", []byte("record\n")))
			must(t, out.Commit(ctx))
			must(t, f.db.Flush())
			if syncs != 1 {
				t.Fatalf("%d syncs of the records file before the flush, want 1", syncs)
			}
			must(t, out.Write("http://a.example/2", []byte("record 2\n")))
			err := out.Commit(ctx)
			if (err != nil) != (tc.fail != nil) || err != nil && !errors.Is(err, tc.fail) {
				t.Fatalf("commit after the flush: %v, want %v", err, tc.fail)
			}
		})
	}
}

// TestOutputWriteAfterClose writes a record after Close: it is refused
// with an error, and the file keeps only what was written before. It was
// accepted with nil and lost, waiting for a commit that never came.
func TestOutputWriteAfterClose(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "out.jsonl")
	f := openDisk(t, filepath.Join(dir, "state"), nil)
	defer f.Close()
	out, err := OpenOutput(f, path)
	must(t, err)
	must(t, out.Write("http://a.test/", []byte("a\n")))
	must(t, out.Close(ctx))
	if err := out.Write("http://b.test/", []byte("b\n")); err == nil {
		t.Fatal("Write after Close = nil, want an error")
	}
	data, err := os.ReadFile(path)
	must(t, err)
	if string(data) != "a\n" {
		t.Fatalf("file holds %q, want %q", data, "a\n")
	}
}

// TestOutputFileGone reopens the Output of a state dir whose records file
// was deleted, or cut short, after a clean close: refused, saying which,
// and a deleted file is not made again empty (it had been, and the error
// said it had 0 bytes).
func TestOutputFileGone(t *testing.T) {
	for _, gone := range []bool{true, false} {
		t.Run(fmt.Sprint("deleted ", gone), func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			path := filepath.Join(dir, "out")
			f, out := openDiskOutput(t, dir)
			must(t, out.Write("http://a.example/", []byte("record\n")))
			must(t, out.Close(ctx))
			must(t, f.Close())
			if gone {
				must(t, os.Remove(path))
			} else {
				must(t, os.Truncate(path, 3))
			}
			f = openDisk(t, dir, nil)
			defer f.Close()
			_, err := OpenOutput(f, path)
			want := "has 3 bytes, fewer than the 7"
			if gone {
				want = "does not exist, yet the state dir " + dir + " committed 7 bytes of records to it"
			}
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("OpenOutput: %v; want %q", err, want)
			}
			if _, err := os.Stat(path); gone != errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("the records file after the refusal: %v", err)
			}
		})
	}
}
