package crawler

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// queueKinds are the kinds of syncQueue the syncer tests run on.
var queueKinds = []string{queueUring, queueAIO}

// syncerOn returns a syncer on a queue of the given kind, skipping the
// test where the kernel or a sandbox refuses it.
func syncerOn(t *testing.T, kind string) *syncer {
	t.Helper()
	s := newSyncerOn(kind)
	if !s.async() {
		t.Skipf("the kernel's %s is not available here", kind)
	}
	t.Cleanup(s.close)
	return s
}

// eachQueue runs test once on a syncer of each kind of queue.
func eachQueue(t *testing.T, test func(t *testing.T, s *syncer)) {
	for _, kind := range queueKinds {
		t.Run(kind, func(t *testing.T) { test(t, syncerOn(t, kind)) })
	}
}

// TestAIOLayout checks the structs the kernel reads and writes against
// the sizes of linux/aio_abi.h and linux/io_uring.h.
func TestAIOLayout(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want uintptr
	}{
		{"iocb", unsafe.Sizeof(iocb{}), 64},
		{"io_event", unsafe.Sizeof(ioEvent{}), 32},
		{"io_uring_params", unsafe.Sizeof(uringParams{}), 120},
		{"io_uring_sqe", unsafe.Sizeof(uringSQE{}), 64},
		{"io_uring_cqe", unsafe.Sizeof(uringCQE{}), 16},
	} {
		if c.got != c.want {
			t.Errorf("%s is %d bytes, want %d", c.name, c.got, c.want)
		}
	}
}

// TestNewSyncerPrefersUring checks that a syncer is on an io_uring where
// the kernel allows one: its teardown does not hold up the process's exit
// as an AIO context's does.
func TestNewSyncerPrefersUring(t *testing.T) {
	if r := newSyncerOn(queueUring); r == nil {
		t.Skip("io_uring is not available here")
	} else {
		r.close()
	}
	s := newSyncer()
	defer s.close()
	if _, ok := s.q.(*uring); !ok {
		t.Fatalf("newSyncer chose %T where io_uring is available", s.q)
	}
}

func TestSyncerSyncs(t *testing.T) { eachQueue(t, testSyncerSyncs) }

func testSyncerSyncs(t *testing.T, s *syncer) {
	file, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	closed, err := os.Create(filepath.Join(t.TempDir(), "closed"))
	if err != nil {
		t.Fatal(err)
	}
	badFd := closed.Fd()
	closed.Close()
	tests := []struct {
		name    string
		fd      uintptr
		sync    func(*syncer, uintptr) error
		wantErr error
	}{
		{"fdatasync", file.Fd(), (*syncer).dataSync, nil},
		{"fdatasync of a closed file", badFd, (*syncer).dataSync, unix.EBADF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := file.Write([]byte("record\n")); err != nil {
				t.Fatal(err)
			}
			if err := tt.sync(s, tt.fd); !errors.Is(err, tt.wantErr) {
				t.Fatalf("sync: %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// TestLogSync checks a log's lazy syncs: a request returns at once, wait
// waits for the syncs asked for, and a sync that failed sticks.
func TestLogSync(t *testing.T) { eachQueue(t, testLogSync) }

// newLog creates a log file and its logSync on s; the file is closed
// when the test ends.
func newLog(t *testing.T, s *syncer) (*os.File, *logSyncs, *logSync) {
	t.Helper()
	file, err := os.Create(filepath.Join(t.TempDir(), "000001.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { file.Close() })
	logs := newLogSyncs(s)
	return file, logs, logs.add(file.Fd())
}

func testLogSync(t *testing.T, s *syncer) {
	file, logs, l := newLog(t, s)
	before := s.n.Load()
	for range 50 {
		if _, err := file.Write(make([]byte, 512)); err != nil {
			t.Fatal(err)
		}
		if err := l.request(); err != nil {
			t.Fatal(err)
		}
	}
	if err := logs.durable(); err != nil {
		t.Fatal(err)
	}
	// Requests made while a sync is under way share the next one.
	if n := s.n.Load() - before; n < 1 || n > 50 {
		t.Fatalf("%d syncs for 50 requests", n)
	}
	l.mu.Lock()
	busy := l.busy
	l.mu.Unlock()
	if busy {
		t.Fatal("a sync under way after durable returned")
	}
	logs.remove(l)

	closed, err := os.Create(filepath.Join(t.TempDir(), "000002.log"))
	if err != nil {
		t.Fatal(err)
	}
	bad := logs.add(closed.Fd())
	closed.Close()
	_ = bad.request()
	if err := logs.durable(); !errors.Is(err, unix.EBADF) {
		t.Fatalf("durable after a failed sync: %v, want EBADF", err)
	}
	if err := bad.request(); !errors.Is(err, unix.EBADF) {
		t.Fatalf("request after a failed sync: %v, want it to stick", err)
	}
}

// TestLogSyncGap checks that a sync asked for within logSyncGap of the
// last one's start waits for the gap, and that a caller of durable does
// not: it starts at once.
func TestLogSyncGap(t *testing.T) { eachQueue(t, testLogSyncGap) }

func testLogSyncGap(t *testing.T, s *syncer) {
	defer func(g time.Duration) { logSyncGap = g }(logSyncGap)
	logSyncGap = time.Hour
	_, logs, l := newLog(t, s)
	defer logs.remove(l)
	before := s.n.Load()
	if err := l.request(); err != nil { // the first: at once
		t.Fatal(err)
	}
	if err := l.wait(); err != nil {
		t.Fatal(err)
	}
	if err := l.request(); err != nil { // within the gap: waits for it
		t.Fatal(err)
	}
	if err := l.request(); err != nil { // shares the one waiting
		t.Fatal(err)
	}
	l.mu.Lock()
	waiting := l.delayed != nil
	l.mu.Unlock()
	if n := s.n.Load() - before; n != 1 || !waiting {
		t.Fatalf("%d syncs started within the gap (one waiting: %v), want 1 and one waiting", n, waiting)
	}
	done := make(chan error, 1)
	go func() { done <- logs.durable() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("durable waited for the gap between syncs")
	}
	if n := s.n.Load() - before; n != 2 {
		t.Fatalf("%d syncs for three requests, want 2", n)
	}
}

// TestSyncerConcurrent syncs from many goroutines at once: each sync gets
// its own completion.
func TestSyncerConcurrent(t *testing.T) { eachQueue(t, testSyncerConcurrent) }

func testSyncerConcurrent(t *testing.T, s *syncer) {
	dir := t.TempDir()
	var wg sync.WaitGroup
	errs := make(chan error, 8*20)
	for i := range 8 {
		wg.Go(func() {
			file, err := os.Create(filepath.Join(dir, string(rune('a'+i))))
			if err != nil {
				errs <- err
				return
			}
			defer file.Close()
			for range 20 {
				if _, err := file.Write(make([]byte, 4096)); err != nil {
					errs <- err
					return
				}
				errs <- s.dataSync(file.Fd())
			}
		})
	}
	wg.Wait()
	close(errs)
	n := 0
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 8*20 {
		t.Fatalf("%d syncs, want %d", n, 8*20)
	}
}

// TestDiskFrontierSyncsLogAsync checks that a frontier on the disk syncs
// its log, and its Output, through the kernel's asynchronous I/O, and
// that it works.
func TestDiskFrontierSyncsLogAsync(t *testing.T) {
	if s := newSyncer(); s == nil {
		t.Skip("the kernel's asynchronous I/O is not available here")
	} else {
		s.close()
	}
	dir := t.TempDir()
	f, err := OpenDiskFrontier(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if f.BlockingSyncs() {
		t.Fatal("BlockingSyncs is true where the kernel's asynchronous I/O is available")
	}
	out, err := OpenOutput(f, filepath.Join(dir, "out"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := f.Admit(ctx, []Entry{{URL: "http://a.test/"}}); err != nil {
		t.Fatal(err)
	}
	if err := out.Write("http://a.test/", []byte("{}\n")); err != nil {
		t.Fatal(err)
	}
	before := f.syncs.n.Load()
	if err := out.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := f.logs.durable(); err != nil { // the commit's sync, once logSyncGap has passed
		t.Fatal(err)
	}
	if f.syncs.n.Load() == before {
		t.Fatal("a commit made no sync through the kernel's asynchronous I/O")
	}
	if err := out.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	f, err = OpenDiskFrontier(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.Committed(); got != 3 {
		t.Fatalf("committed %d bytes, want 3", got)
	}
}
