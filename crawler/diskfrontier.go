// This file holds the DiskFrontier: a Frontier kept in a Pebble store in a
// directory, so that a crawl survives the death of its process; here are its
// opening, locking, metadata and closing.

package crawler

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/vfs"
)

// DiskFormat is the format version of the state directories this package
// writes. A directory of another version is refused, but for versions 3
// and 4, which it reads as they are and marks as version 5 when it opens
// them. (Version 2 keeps a URL's validators in its state's value, where
// version 1 had a key for them; version 3 keeps the copies of the records
// file's bytes as log data, where version 2 had keys for them; version 4
// may keep a digest of each page with its validators, which version 3
// does not read; version 5 may store a URL robots.txt denied in a state
// of its own, which version 4 does not read.)
const DiskFormat = 5

// oldestUpgradable is the oldest version that needs no change to be read:
// what versions from it on wrote, this one reads as written.
const oldestUpgradable = 3

// ErrStateLocked is the error of opening a state directory that another
// DiskFrontier, in this process or another, holds open.
var ErrStateLocked = errors.New("crawler: state dir is in use by another crawl")

// ErrStateCorrupt is the error of a state directory that cannot be read.
var ErrStateCorrupt = errors.New("crawler: state dir is corrupt")

// DiskOptions configures a DiskFrontier. The zero value, like a nil
// *DiskOptions, is ready to use.
type DiskOptions struct {
	// CacheSize is the bytes of Pebble's block cache; 0 means 32 MiB. (With
	// 8 MiB, a recrawl of 20,000 pages, whose visits look up each URL's
	// validators and recorded mark, read most blocks from the file again:
	// it took 1.2-1.3 times the first crawl's wall time, against 0.5-0.6
	// with 32 MiB.)
	CacheSize int64
	// SyncInterval is how often writes are made durable with one fsync
	// (a group commit); 0 means 200 ms. Close makes everything durable.
	SyncInterval time.Duration

	fs vfs.FS // the store's file system, for tests that fail its writes; nil means the disk
}

// DiskFrontier is a [Frontier] kept in a directory, on Pebble (an embedded
// log-structured store with a write-ahead log and atomic batches). The
// seen-set is keyed by each URL's 128-bit fingerprint; each host's pending
// URLs are ordered keys read a small window at a time, so memory holds the
// in-flight URLs, a window of up to 64 entries per host being popped, one
// counter per host with pending URLs, the cache of URLs seen lately (at
// most 2 × 131,072 fingerprints, about 11 MB of Go heap), and Pebble's
// block cache and memtables (CacheSize and at most 2 × 8 MiB), however
// many URLs the crawl has. A crawl of a synthetic site that took in
// 10,000,000 URLs held its RSS under 120 MiB (bench/durable/large.sh).
//
// Crash guarantees. Each call's writes go to Pebble as one atomic batch,
// unsynced, except Admit's, which wait in memory for the next write of
// another kind and go in before it (or with it, in one batch); every
// SyncInterval the admissions waiting are written and one fsync makes all
// earlier batches durable, so after a crash, even a power loss, the
// directory holds a prefix of the calls made, less the admissions made
// since the last write (those of pages whose Finish was not written
// either, which are fetched again and admit them again). A URL in flight
// when its process died is pending when the directory is opened again, as
// is one whose Finish had not reached the disk (the writes since the last
// group commit): those are the URLs fetched twice across a crash, and a
// late Retry or Finish of their old lease gets [ErrLeaseLost]. A caller
// that writes one record per URL to an output file keeps it in step with
// the frontier through [Output] (see [DiskFrontier.Commit]): after a crash
// the output holds exactly one record for every URL that has one. Once an
// Output is opened on it, a Finish is kept in memory (State answers from
// there) and written only by the Output's next commit, in the batch that
// commits the records file's length, so no URL is Done on disk, not even
// in an unsynced log write that a killed process leaves behind, before its
// record is; a crash fetches again, for their links, the URLs finished
// since the last commit.
//
// Where the kernel has asynchronous syncs (Linux), a commit returns once
// its batch is written to the log, in the operating system's cache, with
// the fdatasync that puts it on the disk started or due within 50 ms: a
// kill of the process loses no commit that returned, and a power loss
// those of about the last 50 ms (their URLs are fetched again, and
// recorded once), the store and the output going back together to the
// last commit synced. Close and SetMeta wait for their syncs. Elsewhere
// every commit waits for its sync.
//
// A write that fails (a full disk: ENOSPC) sticks: every later call
// returns its error, so the directory keeps the last consistent prefix and
// the crawl can be resumed once there is room.
//
// OpenDiskFrontier locks the directory: a second open, in this process or
// another, fails with [ErrStateLocked]. A directory of another format
// (older than version 3, or newer than [DiskFormat]) or one that cannot
// be read fails with a clear error, never a fresh start.
//
// Create one with [OpenDiskFrontier]; the zero value is not usable. A
// DiskFrontier is safe for concurrent use. Close it when done.
type DiskFrontier struct {
	dir  string
	db   *pebble.DB
	lock *os.File
	opt  DiskOptions
	// syncs makes the log's syncs (and the Output's) without holding a
	// processor (see asyncsync_linux.go); logs are the log files whose
	// syncs are not waited for (see syncFS). Both nil where the kernel
	// has no asynchronous syncs.
	syncs *syncer
	logs  *logSyncs

	stop chan struct{} // closed by Close to end the syncer
	done chan struct{} // closed when the syncer has ended

	mu      sync.Mutex
	err     error // the first write error: it sticks
	closing bool  // Close has begun
	closed  bool
	dirty   bool   // written since the last fsync
	seq     uint64 // of the last queue key
	lease   uint64
	pending int
	hosts   map[string]*diskHost
	out     map[[16]byte]*leased // popped, not finished
	commit  int64                // the output length of the last Commit
	// With an Output: finishes kept in memory until a Commit writes them,
	// in the order they came.
	deferred bool
	output   bool // an Output is open on f: see claimOutput
	finished map[[16]byte]*leased
	finList  []finishedURL
	seen     recentSet // URLs seen lately: see seenCache
	// The Finishes taken in memory, and those a commit has written (or
	// given up on, its output having failed), in order: see finishGate.
	finTaken, finCommitted uint64
	gate                   chan struct{}         // signalled when finCommitted grows; nil: no committer
	kick                   chan struct{}         // tells the committer that a Finish waits
	stalled                chan struct{}         // tells it that a Finish waits and no URL is leased
	marked                 map[[16]byte]struct{} // URLs with a recorded mark: see Recorded
	seenAll                bool                  // seen holds every URL the store has seen
	seenLoaded             bool                  // the store's URLs were read into seen: see loadSeen
	tailKept               bool                  // tailFile holds copies of the records file's bytes
	tailBuf                []byte                // a commit's log data
	tailTo, syncedTo       int64                 // the end of the last copy in the log, and of the last y entry
	admits                 []admission           // admissions not written yet: see Admit
	admitBuf               []byte                // their queue values
	keyBuf, valBuf         []byte                // a key and a value being written

	// The records file's sync before a flush of the store, and its
	// error: see syncBeforeFlush. Not under mu, which a flush may wait
	// for.
	flushMu   sync.Mutex
	flushSync func() error
	flushErr  error

	// bgFailed is closed once one of the store's background jobs, a
	// flush or a compaction, has failed.
	bgFailed     chan struct{}
	bgFailedOnce sync.Once
}

// diskHost is the memory a DiskFrontier keeps of a host with queue keys.
type diskHost struct {
	pending int    // queue keys not popped
	keys    int    // queue keys on disk
	last    uint64 // seq of the last key read into window
	window  []queued
	fills   uint // reads of the queue into window, up to the one at maxWindow
}

// finishedURL is a Finish waiting for a Commit.
type finishedURL struct {
	fp [16]byte
	l  *leased
}

// queued is an entry read ahead from a host's queue.
type queued struct {
	e    Entry
	seq  uint64
	prev *Validators // stored by an earlier pass, queued with it by Recrawl
	was  State       // its state on disk, queued with prev; Unseen if unknown
}

// leased is a popped entry, and once finished its outcome.
type leased struct {
	e     Entry
	seq   uint64 // of its queue key; 0 for none
	state State
	v     *Validators // to store with its outcome
	prev  *Validators // stored by an earlier pass, if its queue entry had them
	was   State       // its state on disk when Recrawl queued it; Unseen if unknown
}

// validators returns what l's outcome keeps: the validators of its fetch,
// or else (a 304, a failed fetch) those of the pass before.
func (l *leased) validators() *Validators {
	if l.v != nil {
		return l.v
	}
	return l.prev
}

// OpenDiskFrontier opens the state directory dir, creating it if it does
// not exist. o may be nil. The URLs that were in flight when dir was last
// used are pending again.
func OpenDiskFrontier(dir string, o *DiskOptions) (*DiskFrontier, error) {
	f := &DiskFrontier{dir: dir, hosts: make(map[string]*diskHost),
		out: make(map[[16]byte]*leased), finished: make(map[[16]byte]*leased),
		seen: recentSet{size: seenCache}, marked: make(map[[16]byte]struct{}),
		bgFailed: make(chan struct{})}
	if o != nil {
		f.opt = *o
	}
	if f.opt.CacheSize <= 0 {
		f.opt.CacheSize = 32 << 20
	}
	if f.opt.SyncInterval <= 0 {
		f.opt.SyncInterval = 200 * time.Millisecond
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("crawler: state dir: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	f.lock = lock
	if f.syncs = newSyncer(); f.syncs.async() && f.opt.fs == nil {
		f.logs = newLogSyncs(f.syncs)
	}
	if err := f.open(); err != nil {
		if f.db != nil {
			f.db.Close()
		}
		f.syncs.close()
		unlockDir(lock)
		return nil, err
	}
	f.stop, f.done = make(chan struct{}), make(chan struct{})
	go f.syncer()
	return f, nil
}

// open opens or creates the store and loads what memory keeps of it.
func (f *DiskFrontier) open() error {
	path := filepath.Join(f.dir, "db")
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		if err := f.create(path); err != nil {
			return err
		}
	}
	opts := f.options(false)
	defer opts.Cache.Unref() // the store holds its own reference
	if !f.closedCleanly(opts.FS, path) {
		if err := f.keepTails(opts.FS, path); err != nil {
			return err
		}
	}
	db, err := openStore(path, opts)
	if err != nil {
		return openError(f.dir, err)
	}
	f.db = db
	if err := f.checkFormat(); err != nil {
		return err
	}
	return f.load()
}

// openError is the error of a store that could not be opened: corrupt,
// unless the file system refused it (see refusedError).
func openError(dir string, err error) error {
	if rerr := refusedError(dir, err); rerr != nil {
		return rerr
	}
	return fmt.Errorf("%w: %s: %w", ErrStateCorrupt, dir, err)
}

// refusedError names a write the file system refused while a store was
// opened or made: a full disk, or a state dir it may not write (another
// user's, or on a read-only mount), which says nothing of what the store
// holds. It returns nil for other errors.
func refusedError(dir string, err error) error {
	switch {
	case errors.Is(err, syscall.ENOSPC):
		return fmt.Errorf("crawler: state dir %s: disk full (resume once there is room): %w", dir, err)
	case errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS):
		return fmt.Errorf("crawler: state dir %s: %w", dir, err)
	}
	return nil
}

// create makes a new store at path: built under another name and renamed
// into place once it holds its format version, so that a process killed
// while creating it leaves no store without one.
func (f *DiskFrontier) create(path string) error {
	tmp := path + ".new"
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("crawler: state dir: %w", err)
	}
	opts := f.options(true)
	defer opts.Cache.Unref()
	db, err := openStore(tmp, opts)
	if err != nil {
		return createError(f.dir, err)
	}
	err = setFormat(db)
	if cerr := guard(db.Close); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = syncDir(f.dir)
	}
	if err != nil {
		return createError(f.dir, err)
	}
	return nil
}

// createError is the error of a write that failed while a store was made
// or opened.
func createError(dir string, err error) error {
	if rerr := refusedError(dir, err); rerr != nil {
		return rerr
	}
	return fmt.Errorf("crawler: state dir %s: %w", dir, err)
}

// openStore opens the Pebble store at path. Pebble ends the process when
// it fails to write its manifest while opening (on a full disk, or in a
// directory it may not write); through guard, that is an error.
func openStore(path string, opts *pebble.Options) (db *pebble.DB, err error) {
	err = guard(func() (err error) {
		db, err = pebble.Open(path, opts)
		return err
	})
	return db, err
}

// setFormat stores, synced, that db is of this package's DiskFormat.
func setFormat(db *pebble.DB) error {
	return guard(func() error { return db.Set(metaKey("format"), []byte(strconv.Itoa(DiskFormat)), pebble.Sync) })
}

// checkFormat refuses a directory without a format version or with
// another one.
func (f *DiskFrontier) checkFormat() error {
	v, ok, err := f.get(metaKey("format"))
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrStateCorrupt, f.dir, err)
	}
	if !ok {
		return fmt.Errorf("%w: %s has no format version", ErrStateCorrupt, f.dir)
	}
	n, err := strconv.Atoi(string(v))
	switch {
	case err != nil:
		return fmt.Errorf("%w: %s has format version %q", ErrStateCorrupt, f.dir, v)
	case n > DiskFormat:
		return fmt.Errorf("crawler: state dir %s has format version %d, newer than this sluice reads (%d)", f.dir, n, DiskFormat)
	case n >= oldestUpgradable && n < DiskFormat:
		// Marked before anything else is written, so that a sluice
		// that reads only an older version refuses what this one writes.
		if err := setFormat(f.db); err != nil {
			return createError(f.dir, err)
		}
	case n < DiskFormat:
		return fmt.Errorf("crawler: state dir %s has format version %d, older than this sluice reads (%d): finish its crawl with the sluice that made it, or start the crawl again in a new dir",
			f.dir, n, DiskFormat)
	}
	return nil
}

// load counts the queue keys of each host, finds the last sequence number
// and the lease epoch, and starts a new epoch so that no lease of a past
// run is valid. Counting takes one scan of the pending URLs' keys (about a
// second per few million).
func (f *DiskFrontier) load() error {
	iter, err := f.db.NewIter(&pebble.IterOptions{LowerBound: []byte{kindQueue}, UpperBound: []byte{kindQueue + 1}})
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrStateCorrupt, f.dir, err)
	}
	var h *diskHost
	var host []byte
	for iter.First(); iter.Valid(); iter.Next() {
		k := iter.Key()
		if len(k) < 10 || k[len(k)-9] != 0 {
			iter.Close()
			return fmt.Errorf("%w: %s: bad queue key %q", ErrStateCorrupt, f.dir, k)
		}
		if hk := k[1 : len(k)-9]; h == nil || string(hk) != string(host) {
			host = append(host[:0], hk...)
			h = &diskHost{}
			f.hosts[string(host)] = h
		}
		h.keys++
		h.pending++
		f.pending++
		f.seq = max(f.seq, queueSeq(k))
	}
	if err := iter.Close(); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrStateCorrupt, f.dir, err)
	}
	if err := f.loadRecorded(); err != nil {
		return err
	}
	f.commit = int64(f.metaUint("output"))
	epoch := f.metaUint("epoch") + 1
	f.lease = epoch << 40
	b := f.db.NewBatch()
	_ = b.Set(metaKey("epoch"), binary.AppendUvarint(nil, epoch), nil)
	err = guard(func() error { return b.Commit(pebble.Sync) })
	if err == nil {
		err = f.logs.durable()
	}
	if err != nil {
		return createError(f.dir, err)
	}
	return nil
}

// loadRecorded reads the recorded marks into memory.
func (f *DiskFrontier) loadRecorded() error {
	iter, err := f.db.NewIter(&pebble.IterOptions{LowerBound: []byte{kindRecorded}, UpperBound: []byte{kindRecorded + 1}})
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrStateCorrupt, f.dir, err)
	}
	for iter.First(); iter.Valid(); iter.Next() {
		var fp [16]byte
		if copy(fp[:], iter.Key()[1:]) != 16 || len(iter.Key()) != 17 {
			iter.Close()
			return fmt.Errorf("%w: %s: bad recorded key %q", ErrStateCorrupt, f.dir, iter.Key())
		}
		f.marked[fp] = struct{}{}
	}
	if err := iter.Close(); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrStateCorrupt, f.dir, err)
	}
	return nil
}

// metaUint reads a uvarint metadata value; 0 if it is absent.
func (f *DiskFrontier) metaUint(name string) uint64 {
	v, ok, err := f.get(metaKey(name))
	if err != nil || !ok {
		return 0
	}
	n, _ := binary.Uvarint(v)
	return n
}

// get returns a copy of key's value.
func (f *DiskFrontier) get(key []byte) ([]byte, bool, error) {
	v, closer, err := f.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	defer closer.Close()
	return append([]byte(nil), v...), true, nil
}

// Dir returns the directory the frontier is kept in.
func (f *DiskFrontier) Dir() string { return f.dir }

// Meta returns the metadata value stored under name, and whether there is
// one. Callers keep their own records of a crawl here (the CLI keeps the
// seeds and scope a state dir was made with).
func (f *DiskFrontier) Meta(name string) ([]byte, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.usable(); err != nil {
		return nil, false, err
	}
	return f.get(metaKey("user." + name))
}

// SetMeta stores value under name, durably, before it returns.
func (f *DiskFrontier) SetMeta(_ context.Context, name string, value []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	b := f.db.NewBatch()
	_ = b.Set(metaKey("user."+name), value, nil)
	if err := f.apply(b, true); err != nil {
		return err
	}
	if err := f.logs.durable(); err != nil {
		f.err = writeError(f.dir, err)
		return f.err
	}
	return nil
}

// usable returns the sticky error, or an error once closed.
func (f *DiskFrontier) usable() error {
	if f.closed {
		return fmt.Errorf("crawler: state dir %s: frontier closed", f.dir)
	}
	return f.err
}

// apply commits b, unsynced unless sync, after the admissions waiting (so
// that the store holds a prefix of the calls made); a failure sticks.
func (f *DiskFrontier) apply(b *pebble.Batch, sync bool) error {
	defer b.Close()
	if err := f.usable(); err != nil {
		return err
	}
	if len(f.admits) > 0 {
		if err := f.apply(f.takeAdmits(), false); err != nil {
			return err
		}
	}
	opts := pebble.NoSync
	if sync {
		opts = pebble.Sync
	}
	if err := guard(func() error { return b.Commit(opts) }); err != nil {
		f.err = writeError(f.dir, err)
		return f.err
	}
	f.dirty = !sync
	return nil
}

// closeFlushWait is how long Close waits, at most, for its flush.
const closeFlushWait = 10 * time.Second

// flushMemtables writes the store's memtables to tables, so that the next
// open has no log to replay: replaying the log of a 20,000-page crawl and
// flushing it took the next open about 55 ms of CPU, the flush here about
// 15 ms. It gives up on a flush that fails (on a full disk Pebble retries
// a failed flush without end, and its Flush waits for ever) or outlasts
// closeFlushWait; the log is then replayed at the next open, as after a
// crash. It skips the flush once one has failed, or when starting it
// would wait for earlier flushes or compactions (a write stall), which
// may never end on a full disk. The caller holds mu, so nothing else
// writes meanwhile.
func (f *DiskFrontier) flushMemtables() {
	select {
	case <-f.bgFailed:
		return
	default:
	}
	if m := f.db.Metrics(); m.MemTable.Size >= memTableStopWrites*memTableSize ||
		int(m.Levels[0].Sublevels) >= l0StopWrites {
		return // the flush would wait for writes to drain first
	}
	var flushed <-chan struct{}
	if err := guard(func() (err error) { flushed, err = f.db.AsyncFlush(); return err }); err != nil {
		return
	}
	t := time.NewTimer(closeFlushWait)
	defer t.Stop()
	select {
	case <-flushed:
	case <-f.bgFailed:
	case <-t.C:
	}
}

// backgroundError is Pebble's BackgroundError: it notes that a flush or a
// compaction failed.
func (f *DiskFrontier) backgroundError(error) {
	f.bgFailedOnce.Do(func() { close(f.bgFailed) })
}

// writeError names a full disk plainly.
func writeError(dir string, err error) error {
	if errors.Is(err, syscall.ENOSPC) {
		return fmt.Errorf("crawler: state dir %s: disk full, crawl stopped (resume once there is room): %w", dir, err)
	}
	return fmt.Errorf("crawler: state dir %s: write failed, crawl stopped: %w", dir, err)
}

// syncer makes the unsynced writes durable every SyncInterval.
func (f *DiskFrontier) syncer() {
	defer close(f.done)
	t := time.NewTicker(f.opt.SyncInterval)
	defer t.Stop()
	for {
		select {
		case <-f.stop:
			return
		case <-t.C:
		}
		f.mu.Lock()
		_ = f.flushAdmits() // a failure sticks
		if f.dirty && f.err == nil {
			f.dirty = false
			if err := guard(func() error { return f.db.LogData(nil, pebble.Sync) }); err != nil {
				f.err = writeError(f.dir, err)
			}
		}
		f.mu.Unlock()
	}
}

// Close makes every write durable, closes the store and releases the
// directory. In-flight URLs stay pending for the next open, as do those
// whose Finish waits for an Output's commit: close the Output first.
// Close returns the first write error the frontier met, if any.
func (f *DiskFrontier) Close() error {
	f.mu.Lock()
	if f.closing {
		f.mu.Unlock()
		return nil
	}
	f.closing = true
	f.mu.Unlock()
	close(f.stop)
	<-f.done
	f.mu.Lock()
	defer f.mu.Unlock()
	_ = f.flushAdmits() // a failure sticks
	err := f.err
	if err == nil {
		if err = guard(func() error { return f.db.LogData(nil, pebble.Sync) }); err == nil {
			err = f.logs.durable()
		}
		if err != nil {
			err = writeError(f.dir, err)
		}
	}
	if err == nil {
		f.flushMemtables()
	}
	f.closed = true
	if f.err != nil {
		// A store whose write failed may not close cleanly; the
		// directory is as a crash would leave it, which opening handles.
		_ = guard(func() error { return f.db.Close() })
	} else if cerr := guard(f.db.Close); cerr != nil && err == nil {
		err = fmt.Errorf("crawler: state dir %s: %w", f.dir, cerr)
	}
	if err == nil && !f.tailKept && f.tailTo <= f.syncedTo {
		f.markClosed()
	}
	f.syncs.close()
	unlockDir(f.lock)
	return err
}
