// This file holds the syncer on Linux: fdatasync submitted through the
// kernel's asynchronous I/O (io_submit), its completion awaited on an
// eventfd through the runtime's network poller, so that a goroutine
// waiting for a sync gives its processor back at once.
//
// A goroutine in a blocking syscall keeps its processor until the
// runtime's monitor takes it back, which on a busy process comes after the
// syscall has usually ended: with one processor (a crawl pinned to one
// core, GOMAXPROCS=1) every commit's sync stalled the whole crawl, no page
// finished meanwhile, and the next commit carried one page again (5,000
// pages of bench/durable/throughput.sh's site took 3,728 syncs). With the
// sync in the kernel's hands the crawl goes on during it, and the next
// commit carries every page finished meanwhile.

package crawler

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The kernel's AIO opcodes and flags (linux/aio_abi.h).
const (
	iocbCmdFsync   = 2
	iocbCmdFdsync  = 3
	iocbFlagResfd  = 1
	aioEventsAtMax = 1
)

// iocb is struct iocb of linux/aio_abi.h; the fields a sync leaves zero
// are blank (the key and the read/write flags, whose order depends on the
// byte order, among them).
type iocb struct {
	_      uint64 // aio_data
	_      uint32 // aio_key or aio_rw_flags
	_      uint32 // aio_rw_flags or aio_key
	opcode uint16
	_      int16 // aio_reqprio
	fildes uint32
	_      uint64 // aio_buf
	_      uint64 // aio_nbytes
	_      int64  // aio_offset
	_      uint64 // aio_reserved2
	flags  uint32
	resfd  uint32
}

// ioEvent is struct io_event of linux/aio_abi.h.
type ioEvent struct {
	_, _ uint64 // data, obj
	res  int64
	_    int64 // res2
}

// syncer syncs files without holding a processor while the disk works.
// Its zero value, and a nil *syncer, sync with a plain blocking call. It
// is safe for concurrent use: syncs go one at a time.
type syncer struct {
	mu  sync.Mutex
	ctx uint64        // the AIO context; 0: blocking syncs
	ev  *os.File      // the eventfd the kernel signals a completion on
	n   atomic.Uint64 // syncs made through the AIO context, for tests
}

// newSyncer sets up an AIO context and its eventfd; where the kernel (or a
// sandbox) refuses them, the syncer makes blocking calls instead.
func newSyncer() *syncer {
	s := &syncer{}
	var ctx uint64
	if _, _, e := unix.Syscall(unix.SYS_IO_SETUP, aioEventsAtMax, uintptr(unsafe.Pointer(&ctx)), 0); e != 0 {
		return s
	}
	fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		destroyAIO(ctx)
		return s
	}
	// A non-blocking descriptor: os.NewFile gives it to the poller, so a
	// Read parks the goroutine rather than its thread.
	s.ctx, s.ev = ctx, os.NewFile(uintptr(fd), "eventfd")
	return s
}

func destroyAIO(ctx uint64) { _, _, _ = unix.Syscall(unix.SYS_IO_DESTROY, uintptr(ctx), 0, 0) }

// async reports whether s syncs through the kernel's AIO.
func (s *syncer) async() bool { return s != nil && s.ctx != 0 }

// dataSync makes the data of the file fd durable, and its length
// (fdatasync).
func (s *syncer) dataSync(fd uintptr) error { return s.sync(fd, iocbCmdFdsync) }

// fullSync makes the file fd durable, its metadata included (fsync).
func (s *syncer) fullSync(fd uintptr) error { return s.sync(fd, iocbCmdFsync) }

func (s *syncer) sync(fd uintptr, op uint16) error {
	if !s.async() {
		return blockingSync(int(fd), op == iocbCmdFdsync)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cb := iocb{opcode: op, fildes: uint32(fd), flags: iocbFlagResfd, resfd: uint32(s.ev.Fd())}
	cbs := [1]*iocb{&cb}
	for {
		_, _, e := unix.Syscall(unix.SYS_IO_SUBMIT, uintptr(s.ctx), 1, uintptr(unsafe.Pointer(&cbs[0])))
		if e == unix.EINTR {
			continue
		}
		if e == unix.EINVAL || e == unix.ENOSYS || e == unix.EOPNOTSUPP {
			// A file system without asynchronous syncs.
			return blockingSync(int(fd), op == iocbCmdFdsync)
		}
		if e != 0 {
			return fmt.Errorf("io_submit: %w", e)
		}
		break
	}
	s.n.Add(1)
	return s.await()
}

// await waits, parked on the eventfd, for the one sync submitted and
// returns its outcome.
func (s *syncer) await() error {
	var n [8]byte
	if _, err := s.ev.Read(n[:]); err != nil {
		return fmt.Errorf("eventfd: %w", err)
	}
	var ev ioEvent
	for {
		r, _, e := unix.Syscall6(unix.SYS_IO_GETEVENTS, uintptr(s.ctx), 1, 1, uintptr(unsafe.Pointer(&ev)), 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 || r != 1 {
			return fmt.Errorf("io_getevents: %d events: %w", r, e)
		}
		break
	}
	if ev.res < 0 {
		return unix.Errno(-ev.res)
	}
	return nil
}

// close releases the AIO context and the eventfd; no sync may be running.
func (s *syncer) close() {
	if !s.async() {
		return
	}
	destroyAIO(s.ctx)
	s.ev.Close()
	s.ctx = 0
}

// blockingSync is fdatasync (data) or fsync.
func blockingSync(fd int, data bool) error {
	for {
		var err error
		if data {
			err = unix.Fdatasync(fd)
		} else {
			err = unix.Fsync(fd)
		}
		if err != unix.EINTR {
			return err
		}
	}
}
