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
	iocbCmdFdsync = 3
	iocbFlagResfd = 1
	aioEvents     = 64 // syncs under way at most
)

// iocb is struct iocb of linux/aio_abi.h; the fields a sync leaves zero
// are blank (the key and the read/write flags, whose order depends on the
// byte order, among them).
type iocb struct {
	data   uint64
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
	data uint64
	_    uint64 // obj
	res  int64
	_    int64 // res2
}

// syncer syncs files without holding a processor while the disk works:
// it submits each sync to the kernel (io_submit), and one goroutine,
// parked on the eventfd the kernel signals, hands each completion to its
// caller. A nil *syncer syncs with plain blocking calls. It is safe for
// concurrent use; close it once no sync is under way.
type syncer struct {
	ctx  uint64   // the AIO context
	evfd int      // the eventfd the kernel signals completions on
	ev   *os.File // evfd, for reads through the poller (its Fd would make it blocking)
	done chan struct{}

	mu   sync.Mutex
	next uint64
	ops  map[uint64]func(error) // by iocb data: what to do once each sync ends

	n atomic.Uint64 // syncs submitted, for tests
}

// newSyncer sets up an AIO context, its eventfd and the goroutine that
// reaps completions; nil where the kernel (or a sandbox) refuses them.
func newSyncer() *syncer {
	var ctx uint64
	if _, _, e := unix.Syscall(unix.SYS_IO_SETUP, aioEvents, uintptr(unsafe.Pointer(&ctx)), 0); e != 0 {
		return nil
	}
	fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		destroyAIO(ctx)
		return nil
	}
	// A non-blocking descriptor: os.NewFile gives it to the poller, so a
	// Read parks the goroutine rather than its thread.
	s := &syncer{ctx: ctx, evfd: fd, ev: os.NewFile(uintptr(fd), "eventfd"),
		done: make(chan struct{}), ops: make(map[uint64]func(error))}
	go s.reap()
	return s
}

func destroyAIO(ctx uint64) { _, _, _ = unix.Syscall(unix.SYS_IO_DESTROY, uintptr(ctx), 0, 0) }

// async reports whether s syncs through the kernel's AIO.
func (s *syncer) async() bool { return s != nil }

// dataSync makes the data of the file fd durable, and its length
// (fdatasync), and returns once it has.
func (s *syncer) dataSync(fd uintptr) error {
	if !s.async() {
		return fdatasync(int(fd))
	}
	c := make(chan error, 1)
	if err := s.submit(fd, func(err error) { c <- err }); err != nil {
		return err
	}
	return <-c
}

// submit starts an fdatasync of the file fd; then is called, from the
// reaping goroutine, with its outcome.
func (s *syncer) submit(fd uintptr, then func(error)) error {
	s.mu.Lock()
	s.next++
	id := s.next
	s.ops[id] = then // before the submit: the completion may come at once
	s.mu.Unlock()
	cb := iocb{data: id, opcode: iocbCmdFdsync, fildes: uint32(fd), flags: iocbFlagResfd, resfd: uint32(s.evfd)}
	cbs := [1]*iocb{&cb}
	for {
		_, _, e := unix.Syscall(unix.SYS_IO_SUBMIT, uintptr(s.ctx), 1, uintptr(unsafe.Pointer(&cbs[0])))
		if e == unix.EINTR {
			continue
		}
		if e == 0 {
			s.n.Add(1)
			return nil
		}
		s.mu.Lock()
		delete(s.ops, id)
		s.mu.Unlock()
		if e == unix.EINVAL || e == unix.ENOSYS || e == unix.EOPNOTSUPP {
			// A file system without asynchronous syncs: a blocking one.
			then(fdatasync(int(fd)))
			return nil
		}
		return fmt.Errorf("io_submit: %w", e)
	}
}

// reap hands each completion to its op until the eventfd is closed.
func (s *syncer) reap() {
	defer close(s.done)
	var n [8]byte
	var evs [aioEvents]ioEvent
	for {
		if _, err := s.ev.Read(n[:]); err != nil {
			return // closed
		}
		for {
			var zero unix.Timespec
			r, _, e := unix.Syscall6(unix.SYS_IO_GETEVENTS, uintptr(s.ctx), 0, aioEvents,
				uintptr(unsafe.Pointer(&evs[0])), uintptr(unsafe.Pointer(&zero)), 0)
			if e == unix.EINTR {
				continue
			}
			if e != 0 || r == 0 {
				break
			}
			for _, ev := range evs[:r] {
				s.complete(ev)
			}
		}
	}
}

func (s *syncer) complete(ev ioEvent) {
	s.mu.Lock()
	then := s.ops[ev.data]
	delete(s.ops, ev.data)
	s.mu.Unlock()
	var err error
	if ev.res < 0 {
		err = fmt.Errorf("fdatasync: %w", unix.Errno(-ev.res))
	}
	if then != nil {
		then(err)
	}
}

// close ends the reaping goroutine and releases the AIO context and the
// eventfd; no sync may be under way.
func (s *syncer) close() {
	if !s.async() {
		return
	}
	s.ev.Close()
	<-s.done
	destroyAIO(s.ctx)
}
