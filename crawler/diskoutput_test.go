package crawler

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cockroachdb/pebble"
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
	f := openDisk(t, dir, nil)
	defer f.Close()
	out, err := OpenOutput(f, filepath.Join(dir, "out"))
	must(t, err)
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

// TestOutputRestoresLostTail commits records, then cuts the file short as
// a power loss may (its last bytes were not synced) and opens it again
// after a crash: the committed records come back from the state dir's log,
// byte for byte, and once the file is synced their copies are dropped.
func TestOutputRestoresLostTail(t *testing.T) {
	for _, cut := range []int64{0, 5, 131} {
		t.Run(fmt.Sprint(cut), func(t *testing.T) {
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
			if n := countKeys(t, f, kindTail); n != 3 {
				t.Fatalf("%d copies of commits in the log, want 3", n)
			}
			crash(t, f)
			must(t, os.Truncate(path, cut)) // what a power loss left
			f = openDisk(t, dir, nil)
			defer f.Close()
			out, err = OpenOutput(f, path)
			must(t, err)
			got, err := os.ReadFile(path)
			must(t, err)
			if !bytes.Equal(got, want) {
				t.Fatalf("file cut to %d bytes, reopened: %q, want %q", cut, got, want)
			}
			if n := countKeys(t, f, kindTail); n != 0 {
				t.Fatalf("%d copies of records kept after the file was synced", n)
			}
			must(t, out.Close(ctx))
		})
	}
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

// countKeys counts f's keys of a kind.
func countKeys(t *testing.T, f *DiskFrontier, kind byte) int {
	t.Helper()
	iter, err := f.db.NewIter(&pebble.IterOptions{LowerBound: []byte{kind}, UpperBound: []byte{kind + 1}})
	must(t, err)
	n := 0
	for iter.First(); iter.Valid(); iter.Next() {
		n++
	}
	must(t, iter.Close())
	return n
}

// TestOutputSyncsTailInBackground checks that a commit starts the file's
// sync once it is due and that a later commit, once the sync has ended,
// drops the copies of the records it covers, and Close the rest.
func TestOutputSyncsTailInBackground(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	f := openDisk(t, dir, nil)
	defer f.Close()
	out, err := OpenOutput(f, filepath.Join(dir, "out"))
	must(t, err)
	write := func(i int) {
		t.Helper()
		must(t, out.Write(fmt.Sprintf("http://a.example/%d", i), fmt.Appendf(nil, "record %d\n", i)))
		must(t, out.Commit(ctx))
	}
	write(0)
	write(1)
	if n := countKeys(t, f, kindTail); n != 2 {
		t.Fatalf("%d copies of commits in the log, want 2", n)
	}
	out.commitMu.Lock()
	out.lastSync = time.Now().Add(-2 * tailSyncEvery) // a sync is due
	out.commitMu.Unlock()
	write(2)
	deadline := time.Now().Add(10 * time.Second)
	for i := 3; countKeys(t, f, kindTail) > 1; i++ { // the last commit's copy stays
		if time.Now().After(deadline) {
			t.Fatalf("%d copies of commits in the log 10 s after the file's sync began", countKeys(t, f, kindTail))
		}
		time.Sleep(5 * time.Millisecond)
		write(i)
	}
	must(t, out.Close(ctx))
	if n := countKeys(t, f, kindTail); n != 0 {
		t.Fatalf("%d copies of records kept after Close", n)
	}
}
