// This file holds the file system the DiskFrontier's store writes its log
// through: the disk's, with the log's syncs started by a syncer and not
// waited for, so that a commit returns once its bytes are in the
// operating system's hands (safe from a kill of the process) and the
// crawl does not wait for the disk.

package crawler

import (
	"errors"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/vfs"
)

// syncFS is fs with the syncs of the write-ahead logs (the files ending
// in .log that Pebble creates or recycles) made lazily by logs; the other
// files, synced by flushes and compactions off the crawl's path, are fs's
// own.
//
// Pebble writes a log's bytes before it syncs them, and a synced commit
// returns once the sync does: here, once the fdatasync has been asked
// for (and the one before it has not failed); it starts at once, or once
// logSyncGap has passed since the last began. A commit is then in the
// operating system's cache, where a kill of the process leaves it, and on
// the disk once that fdatasync ends; logs.durable waits for that. After a
// power loss the store holds a prefix of its commits, as Pebble's log
// recovery keeps the records before the first torn one.
type syncFS struct {
	vfs.FS
	logs *logSyncs
}

// Create implements vfs.FS.
func (fs syncFS) Create(name string) (vfs.File, error) {
	f, err := fs.FS.Create(name)
	return fs.wrap(name, f, err)
}

// ReuseForWrite implements vfs.FS.
func (fs syncFS) ReuseForWrite(oldname, newname string) (vfs.File, error) {
	f, err := fs.FS.ReuseForWrite(oldname, newname)
	return fs.wrap(newname, f, err)
}

func (fs syncFS) wrap(name string, f vfs.File, err error) (vfs.File, error) {
	if err != nil || !strings.HasSuffix(name, ".log") || f.Fd() == vfs.InvalidFd {
		return f, err
	}
	return syncFile{File: f, l: fs.logs.add(f.Fd()), logs: fs.logs}, nil
}

// syncFile is a log file whose syncs its logSync makes.
type syncFile struct {
	vfs.File
	l    *logSync
	logs *logSyncs
}

// Sync implements vfs.File: it starts an fdatasync, which is enough for a
// log (Pebble's own syncs of its logs are fdatasyncs).
func (f syncFile) Sync() error { return f.l.request() }

// SyncData implements vfs.File.
func (f syncFile) SyncData() error { return f.l.request() }

// Close implements vfs.File: it waits for the file's syncs first.
func (f syncFile) Close() error {
	err := f.l.wait()
	f.logs.remove(f.l)
	return errors.Join(err, f.File.Close())
}

// logSyncs are the logs open for writing, whose syncs durable waits for.
// It is safe for concurrent use.
type logSyncs struct {
	s    *syncer
	mu   sync.Mutex
	live map[*logSync]struct{}
}

func newLogSyncs(s *syncer) *logSyncs {
	return &logSyncs{s: s, live: make(map[*logSync]struct{})}
}

func (ls *logSyncs) add(fd uintptr) *logSync {
	l := &logSync{s: ls.s, fd: fd}
	l.idle = sync.NewCond(&l.mu)
	ls.mu.Lock()
	defer ls.mu.Unlock()
	ls.live[l] = struct{}{}
	return l
}

func (ls *logSyncs) remove(l *logSync) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	delete(ls.live, l)
}

// durable waits until every sync asked of the open logs has ended, and
// returns the first that failed.
func (ls *logSyncs) durable() error {
	if ls == nil {
		return nil
	}
	ls.mu.Lock()
	live := make([]*logSync, 0, len(ls.live))
	for l := range ls.live {
		live = append(live, l)
	}
	ls.mu.Unlock()
	var err error
	for _, l := range live {
		err = errors.Join(err, l.wait())
	}
	return err
}

// logSync runs one log's fdatasyncs one at a time: a sync asked for while
// one is under way starts when it ends, covering every request made
// meanwhile. A failed sync sticks: every later request returns its error.
type logSync struct {
	s  *syncer
	fd uintptr

	mu      sync.Mutex
	idle    *sync.Cond  // broadcast when busy turns false
	busy    bool        // an fdatasync is under way, or waits for logSyncGap
	again   bool        // asked for since it started
	started time.Time   // when the last fdatasync started
	delayed *time.Timer // starts the next fdatasync once logSyncGap has passed
	waiters int         // callers of wait: the next fdatasync does not wait for the gap
	err     error
}

// logSyncGap is the least time between the starts of two syncs of a log,
// unless someone waits for the next one: a commit is on the disk at most
// this long, and one fdatasync, after it returns. Without it a log was
// synced as soon as the sync before ended: through an io_uring, 593 syncs
// in a crawl of bench/durable/throughput.sh's site, one each 3.4 ms, each
// a journal commit of the file system on the crawl's core. Five rounds of
// that crawl, each gap against the others in the same round: 2.07 s with
// 20 ms, 2.01 s with 50 ms, 1.99 s with 100 ms (2.28 s through AIO, with
// no gap). A variable for tests.
var logSyncGap = 50 * time.Millisecond

// request starts an fdatasync of the log, or has one start when the one
// under way ends, or once logSyncGap has passed since the last began, and
// returns without waiting for it.
func (l *logSync) request() error {
	l.mu.Lock()
	if l.err != nil || l.busy {
		// One waiting for the gap covers this request; one under way
		// does not.
		l.again = l.busy && l.delayed == nil
		err := l.err
		l.mu.Unlock()
		return err
	}
	l.busy = true
	l.startOrDelay() // unlocks
	return nil
}

// startOrDelay starts the next fdatasync, at once if logSyncGap has passed
// since the last began or someone waits for it, else when it has. l.busy
// is set and l.mu held; it unlocks l.mu.
func (l *logSync) startOrDelay() {
	if wait := time.Until(l.started.Add(logSyncGap)); wait > 0 && l.waiters == 0 {
		l.delayed = time.AfterFunc(wait, l.startDelayed)
		l.mu.Unlock()
		return
	}
	l.mu.Unlock()
	l.start()
}

// start submits an fdatasync; l.busy is set and l.mu is not held.
func (l *logSync) start() {
	l.mu.Lock()
	l.started = time.Now()
	l.mu.Unlock()
	if err := l.s.submit(l.fd, l.ended); err != nil {
		l.ended(err)
	}
}

// ended takes the outcome of an fdatasync, and starts the next one if it
// was asked for meanwhile.
func (l *logSync) ended(err error) {
	l.mu.Lock()
	if err != nil && l.err == nil {
		l.err = err
	}
	if l.again && l.err == nil {
		l.again = false
		l.startOrDelay() // unlocks
		return
	}
	l.busy, l.again = false, false
	l.idle.Broadcast()
	l.mu.Unlock()
}

// startDelayed starts the fdatasync that waited for logSyncGap, unless
// wait has started it already.
func (l *logSync) startDelayed() {
	l.mu.Lock()
	if l.delayed == nil {
		l.mu.Unlock()
		return
	}
	l.delayed = nil
	l.mu.Unlock()
	l.start()
}

// wait waits until no sync of the log is under way or asked for, and
// returns the first that failed. A sync waiting for logSyncGap starts at
// once: a caller waits (a log closed when the store moves to a new one,
// or the store's Close) only for the disk.
func (l *logSync) wait() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.waiters++
	defer func() { l.waiters-- }()
	if l.delayed != nil {
		l.delayed.Stop()
		l.delayed = nil
		l.mu.Unlock()
		l.start()
		l.mu.Lock()
	}
	for l.busy {
		l.idle.Wait()
	}
	return l.err
}

// syncFile makes file's data durable, through f's syncer when it syncs
// asynchronously.
func (f *DiskFrontier) syncFile(file *os.File) error {
	if f.syncs.async() {
		return f.syncs.dataSync(file.Fd())
	}
	return syncData(file)
}

// BlockingSyncs reports whether f's syncs hold the calling goroutine's
// processor while the disk works: true where the kernel's asynchronous
// syncs (Linux io_uring or AIO) are not available. With one processor
// (GOMAXPROCS=1) such a sync stalls every other goroutine of the process;
// a caller that runs with one should then give the runtime a second. It is
// safe for concurrent use.
func (f *DiskFrontier) BlockingSyncs() bool { return !f.syncs.async() }
