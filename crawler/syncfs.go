// This file holds the file system the DiskFrontier's store writes its log
// through: the disk's, with the log's syncs made by a syncer, which does
// not hold a processor while the disk works.

package crawler

import (
	"os"
	"strings"

	"github.com/cockroachdb/pebble/vfs"
)

// syncFS is fs with the syncs of the write-ahead logs (the files ending
// in .log that Pebble creates or recycles) made by s; the other files,
// synced by flushes and compactions off the crawl's path, are fs's own.
type syncFS struct {
	vfs.FS
	s *syncer
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
	return syncFile{File: f, s: fs.s}, nil
}

// syncFile is a log file whose syncs its syncer makes.
type syncFile struct {
	vfs.File
	s *syncer
}

// Sync implements vfs.File.
func (f syncFile) Sync() error { return f.s.fullSync(f.Fd()) }

// SyncData implements vfs.File.
func (f syncFile) SyncData() error { return f.s.dataSync(f.Fd()) }

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
// syncs (Linux AIO) are not available. With one processor (GOMAXPROCS=1)
// such a sync stalls every other goroutine of the process; a caller that
// runs with one should then give the runtime a second. It is safe for
// concurrent use.
func (f *DiskFrontier) BlockingSyncs() bool { return !f.syncs.async() }
