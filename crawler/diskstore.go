// This file holds the plumbing of the DiskFrontier's store: the lock file,
// Pebble's options, and how a failed write becomes an error.

package crawler

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/bloom"
	"github.com/cockroachdb/pebble/vfs"
)

// lockDir takes an exclusive lock on dir's lock file, which holds the pid
// of its holder for the error a second opener gets.
func lockDir(dir string) (*os.File, error) {
	name := filepath.Join(dir, "LOCK")
	lock, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("crawler: state dir: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(name)
		lock.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s (held by pid %s)", ErrStateLocked, dir, holder)
		}
		return nil, fmt.Errorf("crawler: state dir: locking %s: %w", name, err)
	}
	if err := lock.Truncate(0); err == nil {
		_, _ = lock.WriteAt([]byte(strconv.Itoa(os.Getpid())), 0)
	}
	return lock, nil
}

func unlockDir(lock *os.File) {
	_ = syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	lock.Close()
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// options returns the Pebble options of the store.
func (f *DiskFrontier) options(create bool) *pebble.Options {
	opts := &pebble.Options{
		Cache: pebble.NewCache(f.opt.CacheSize),
		// Memory outside the cache: at most two memtables of 8 MiB (the
		// one written and one being flushed; writes wait for the flush
		// beyond that), allocated whole.
		MemTableSize: memTableSize, MemTableStopWritesThreshold: memTableStopWrites,
		L0StopWritesThreshold: l0StopWrites,
		MaxOpenFiles:          256, ErrorIfNotExists: !create, Logger: quietLogger{dir: f.dir},
		// Pebble's disk-health wrapper leaks its goroutine when Open
		// fails; the plain file system has none.
		FS:            vfs.Default,
		EventListener: &pebble.EventListener{FlushBegin: f.syncBeforeFlush, BackgroundError: f.backgroundError},
	}
	if f.opt.fs != nil {
		opts.FS = f.opt.fs
	} else if f.logs != nil {
		opts.FS = syncFS{FS: vfs.Default, logs: f.logs}
	}
	opts.Levels = make([]pebble.LevelOptions, 7)
	for i := range opts.Levels {
		// Most links are seen already: a Bloom filter answers most of
		// the seen-set's lookups without reading a block.
		opts.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	return opts
}

// The store's write stalls: writes wait for flushes once the memtables
// hold memTableStopWrites × memTableSize bytes, and for compactions once
// level 0 has l0StopWrites sublevels (Pebble's default).
const (
	memTableSize       = 8 << 20
	memTableStopWrites = 2
	l0StopWrites       = 12
)

// quietLogger drops Pebble's informational lines. Pebble reports a write
// that failed in a commit (a full disk) through Fatalf, which by default
// ends the process; called from a DiskFrontier method, Fatalf panics with a
// storeFailure instead, which guard turns into the method's error. On
// Pebble's own goroutines (a flush that cannot write the store's
// manifest) nothing can take the error, and the store cannot go on: the
// process ends, as Pebble's own logger ends it, but with a line that
// names the state dir and says what to do (exitFatal).
type quietLogger struct {
	dir string
}

func (quietLogger) Infof(string, ...any) {}
func (l quietLogger) Fatalf(format string, args ...any) {
	sf := storeFailure{msg: fmt.Sprintf(format, args...)}
	for _, a := range args {
		if err, ok := a.(error); ok {
			sf.err = err
		}
	}
	if calledFromFrontier() {
		panic(sf)
	}
	exitFatal(writeError(l.dir, sf))
}

// exitFatal ends the process with err: a variable, for tests.
var exitFatal = func(err error) {
	fmt.Fprintf(os.Stderr, "%v; the state dir keeps what it last made durable\n", err)
	os.Exit(1)
}

// storeFailure is a failed Pebble commit, carried by a panic to guard.
type storeFailure struct {
	msg string
	err error
}

func (s storeFailure) Error() string { return s.msg }
func (s storeFailure) Unwrap() error { return s.err }

// guard runs fn, a call into the store, turning a storeFailure panic into
// its error.
func guard(fn func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			sf, ok := v.(storeFailure)
			if !ok {
				panic(v)
			}
			err = sf
		}
	}()
	return fn()
}

// calledFromFrontier reports whether a DiskFrontier method is on the stack,
// so that only its own calls into the store panic.
func calledFromFrontier() bool {
	pcs := make([]uintptr, 64)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(3, pcs)])
	for {
		fr, more := frames.Next()
		if strings.Contains(fr.Function, "crawler.guard") {
			return true
		}
		if !more {
			return false
		}
	}
}
