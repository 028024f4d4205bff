// This file holds the copies of the records file's bytes that an Output's
// commits keep in the DiskFrontier's log until the file is synced, and how
// they come back after a power loss.

package crawler

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/record"
	"github.com/cockroachdb/pebble/vfs"
)

// A commit's records go into the store's log as Pebble log data, which is
// written to the log and never to the memtables: as a key of their own
// they were copied into a memtable, flushed and compacted only to be
// deleted a second later (BenchmarkDiskFrontierPage, ten runs alternating
// on a busy machine: 21.9 µs a page at best with the key, 19.2 µs with log
// data; medians 24.0 and 20.8). The log data entries are
//
//	t<offset:8><bytes>     the records file's bytes from offset
//	y<end:8>               the records file is synced up to end
//
// Opening the store drops its logs once it has replayed them, and Pebble
// replays no log data, so OpenDiskFrontier reads the copies from the logs
// first and keeps those that no later y entry covers in the file tailFile
// of the state dir, until OpenOutput has put them back into the records
// file and synced it. While an Output is open, the store syncs its records
// file before each flush of its memtables, after which the logs holding
// the copies of the bytes written so far are dropped (see
// [DiskFrontier.syncBeforeFlush]).
const (
	logTail   = 't'
	logSynced = 'y'
)

// tailFile is the file in the state dir that keeps the copies read from
// the logs of a store that was not closed cleanly.
const tailFile = "TAIL"

// tail is a copy of the records file's bytes from off.
type tail struct {
	off  int64
	data []byte
}

// appendLogTail appends the log data entry of the bytes data from off.
func appendLogTail(b []byte, off int64, data []byte) []byte {
	b = append(b, logTail)
	b = binary.BigEndian.AppendUint64(b, uint64(off))
	return append(b, data...)
}

// keepTails reads the copies of the records file's bytes from the logs of
// the store at path, before Pebble opens it and drops them, and keeps
// those still needed, with those of an earlier open, in tailFile.
func (f *DiskFrontier) keepTails(fsys vfs.FS, path string) error {
	name := filepath.Join(f.dir, tailFile)
	kept, err := readTailFile(name)
	if err != nil {
		return err
	}
	tails, n, err := logTails(fsys, path, kept)
	if err != nil {
		return openError(f.dir, err)
	}
	f.tailKept = len(tails) > 0
	switch {
	case len(tails) == 0 && len(kept) > 0:
		return os.Remove(name) // every copy is in the synced records file
	case len(tails) == 0, n == 0 && len(tails) == len(kept):
		return nil // tailFile holds them already
	}
	return writeTailFile(f.dir, name, tails)
}

// logTails appends to tails the copies in the logs of the store at path,
// in the order they were written, dropping those a later y entry covers.
// It returns them and the number read from the logs.
func logTails(fsys vfs.FS, path string, tails []tail) ([]tail, int, error) {
	logs, err := storeLogs(fsys, path)
	if err != nil {
		return nil, 0, err
	}
	read := 0
	for _, num := range logs {
		file, err := fsys.Open(logPath(fsys, path, num))
		if err != nil {
			return nil, 0, err
		}
		tails, read, err = readLog(file, num, tails, read)
		file.Close()
		if err != nil {
			return nil, 0, err
		}
	}
	return tails, read, nil
}

// storeLogs returns the numbers of the logs in the store at path, in
// the order Pebble wrote them.
func storeLogs(fsys vfs.FS, path string) ([]uint64, error) {
	names, err := fsys.List(path)
	if err != nil {
		return nil, err
	}
	var logs []uint64
	for _, n := range names {
		if num, ok := strings.CutSuffix(n, ".log"); ok {
			if v, err := strconv.ParseUint(num, 10, 64); err == nil {
				logs = append(logs, v)
			}
		}
	}
	slices.Sort(logs)
	return logs, nil
}

// logPath is the path of the log numbered num in the store at path.
func logPath(fsys vfs.FS, path string, num uint64) string {
	return fsys.PathJoin(path, fmt.Sprintf("%06d.log", num))
}

// readLog reads the log data of the log file numbered num, up to its
// first torn or unreadable record, as Pebble's recovery does.
func readLog(file io.Reader, num uint64, tails []tail, read int) ([]tail, int, error) {
	r := record.NewReader(file, pebble.FileNum(num))
	var buf bytes.Buffer // each record's bytes, the copies cloned out of it
	for {
		rec, err := r.Next()
		if err != nil {
			return tails, read, nil // the end of the log, or a torn record
		}
		buf.Reset()
		if _, err := buf.ReadFrom(rec); err != nil {
			return tails, read, nil
		}
		b, _ := pebble.ReadBatch(buf.Bytes())
		for {
			kind, data, _, ok, err := b.Next()
			if err != nil {
				return nil, 0, err
			}
			if !ok {
				break
			}
			if kind != pebble.InternalKeyKindLogData || len(data) < 9 {
				continue
			}
			off := int64(binary.BigEndian.Uint64(data[1:9]))
			switch data[0] {
			case logTail:
				tails = append(tails, tail{off, slices.Clone(data[9:])})
				read++
			case logSynced:
				tails = slices.DeleteFunc(tails, func(t tail) bool { return t.off+int64(len(t.data)) <= off })
			}
		}
	}
}

// readTailFile reads the copies kept in the file name, none if there is
// no such file.
func readTailFile(name string) ([]tail, error) {
	b, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("crawler: state dir: %w", err)
	}
	var tails []tail
	for len(b) > 0 {
		off, k := binary.Uvarint(b)
		if k <= 0 {
			return nil, fmt.Errorf("%w: %s", ErrStateCorrupt, name)
		}
		b = b[k:]
		n, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < n {
			return nil, fmt.Errorf("%w: %s", ErrStateCorrupt, name)
		}
		tails = append(tails, tail{int64(off), b[k : k+int(n)]})
		b = b[k+int(n):]
	}
	return tails, nil
}

// writeTailFile replaces the file name in dir with one holding tails,
// durably.
func writeTailFile(dir, name string, tails []tail) error {
	var b []byte
	for _, t := range tails {
		b = binary.AppendUvarint(b, uint64(t.off))
		b = binary.AppendUvarint(b, uint64(len(t.data)))
		b = append(b, t.data...)
	}
	tmp := name + ".new"
	file, err := os.Create(tmp)
	if err == nil {
		_, err = file.Write(b)
		if err == nil {
			err = file.Sync()
		}
		if cerr := file.Close(); err == nil {
			err = cerr
		}
	}
	if err == nil {
		err = os.Rename(tmp, name)
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		return fmt.Errorf("crawler: state dir: %w", err)
	}
	return nil
}

// restoreTail rewrites into file, from the copies kept, the committed
// bytes past its end (a power loss can take from a file what was not
// synced); a file still shorter than the committed length is not this
// frontier's output, and is refused.
func (f *DiskFrontier) restoreTail(file *os.File, path string, committed int64) error {
	info, err := file.Stat()
	if err != nil {
		return err
	}
	size := info.Size()
	if size < committed {
		tails, err := readTailFile(filepath.Join(f.dir, tailFile))
		if err != nil {
			return err
		}
		if size, err = rewriteTail(file, size, tails); err != nil {
			return err
		}
	}
	if size < committed {
		return fmt.Errorf("%s has %d bytes, fewer than the %d the state dir %s committed: it is not this crawl's output",
			path, size, committed, f.dir)
	}
	return nil
}

// rewriteTail writes the bytes of tails past size into file and returns
// its new size; it stops at a gap.
func rewriteTail(file *os.File, size int64, tails []tail) (int64, error) {
	slices.SortStableFunc(tails, func(a, b tail) int { return cmp.Compare(a.off, b.off) })
	for _, t := range tails {
		switch {
		case t.off+int64(len(t.data)) <= size:
			continue
		case t.off > size:
			return size, nil // a gap: not this file's bytes
		}
		if _, err := file.WriteAt(t.data[size-t.off:], size); err != nil {
			return size, err
		}
		size = t.off + int64(len(t.data))
	}
	return size, nil
}

// tailsSynced notes in the log that the records file is synced up to end,
// so that a later open keeps no copy of the bytes before it, and drops
// tailFile once its copies are in the file. It is unsynced: a later
// commit's sync covers it.
func (f *DiskFrontier) tailsSynced(end int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.usable(); err != nil {
		return err
	}
	b := f.db.NewBatch()
	_ = b.LogData(binary.BigEndian.AppendUint64([]byte{logSynced}, uint64(end)), nil)
	if err := f.apply(b, false); err != nil {
		return err
	}
	f.syncedTo = end
	if f.tailKept {
		if err := os.Remove(filepath.Join(f.dir, tailFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("crawler: state dir: %w", err)
		}
		f.tailKept = false
	}
	return nil
}

// setFlushSync makes sync, the records file's sync, run before each flush
// of the store's memtables; nil stops it.
func (f *DiskFrontier) setFlushSync(sync func() error) {
	f.flushMu.Lock()
	defer f.flushMu.Unlock()
	f.flushSync = sync
}

// syncBeforeFlush is Pebble's FlushBegin: once a flush has written a
// memtable to a table, the logs that held its batches are dropped, and
// with them the copies of the records file's bytes the batches kept, so
// the file is synced first. The memtables flushed hold only batches
// committed before the flush began, whose bytes were written to the file
// before them. Pebble calls it holding its own lock: it must not call
// into the store.
func (f *DiskFrontier) syncBeforeFlush(pebble.FlushInfo) {
	f.flushMu.Lock()
	defer f.flushMu.Unlock()
	if f.flushSync != nil {
		if err := f.flushSync(); err != nil && f.flushErr == nil {
			f.flushErr = err
		}
	}
}

// flushFailed returns the error of the records file's last sync before a
// flush, if it failed: the crawl must stop, as a power loss could now take
// committed records from the file.
func (f *DiskFrontier) flushFailed() error {
	f.flushMu.Lock()
	defer f.flushMu.Unlock()
	return f.flushErr
}

// closedFile is the file in the state dir that a clean Close leaves: the
// names, sizes and modification times of the store's logs once every copy
// they hold is needless, the records file being synced past it. An open
// that finds the logs as listed skips reading them (for a 20,000-page
// crawl, 5.6 MB of logs and about 35 ms before a resume or a recrawl can
// start); any write since, by whatever program, changes the listing, and
// the logs are read as after a crash. A lost or torn file is read as no
// listing, so it needs no sync.
const closedFile = "CLOSED"

// markClosed writes closedFile; it is best effort, as the file only
// saves the next open some reading.
func (f *DiskFrontier) markClosed() {
	list, err := listLogs(vfs.Default, filepath.Join(f.dir, "db"))
	if err == nil {
		_ = os.WriteFile(filepath.Join(f.dir, closedFile), list, 0o644)
	}
}

// closedCleanly reports whether the store at path was closed cleanly and
// its logs are as its Close left them, with no tailFile waiting; it removes
// closedFile, whose listing the open goes on to change.
func (f *DiskFrontier) closedCleanly(fsys vfs.FS, path string) bool {
	name := filepath.Join(f.dir, closedFile)
	want, err := os.ReadFile(name)
	if err != nil {
		return false
	}
	_ = os.Remove(name)
	if _, err := os.Stat(filepath.Join(f.dir, tailFile)); !errors.Is(err, fs.ErrNotExist) {
		return false
	}
	got, err := listLogs(fsys, path)
	return err == nil && len(want) > 0 && bytes.Equal(got, want)
}

// listLogs lists the logs in the store at path, a line each with its name,
// size and modification time, in the order Pebble wrote them.
func listLogs(fsys vfs.FS, path string) ([]byte, error) {
	logs, err := storeLogs(fsys, path)
	if err != nil {
		return nil, err
	}
	var b []byte
	for _, num := range logs {
		info, err := fsys.Stat(logPath(fsys, path, num))
		if err != nil {
			return nil, err
		}
		b = fmt.Appendf(b, "%s %d %d\n", info.Name(), info.Size(), info.ModTime().UnixNano())
	}
	return b, nil
}
