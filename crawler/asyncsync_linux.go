// This file holds the syncer on Linux: fdatasync submitted through the
// kernel's asynchronous I/O (an io_uring, or else AIO's io_submit), its
// completion awaited on an eventfd through the runtime's network poller,
// so that a goroutine waiting for a sync gives its processor back at once.
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
// it submits each sync to the kernel (an io_uring, or else AIO's
// io_submit), and one goroutine, parked on the eventfd the kernel signals,
// hands each completion to its caller. A nil *syncer syncs with plain
// blocking calls. It is safe for concurrent use; close it once no sync is
// under way.
type syncer struct {
	q    syncQueue
	evfd int      // the eventfd the kernel signals completions on
	ev   *os.File // evfd, for reads through the poller (its Fd would make it blocking)
	done chan struct{}

	mu     sync.Mutex
	next   uint64
	ops    map[uint64]func(error) // by the sync's id: what to do once each ends
	closed bool                   // the queue is released: syncs block

	n atomic.Uint64 // syncs submitted, for tests
}

// syncQueue is the kernel's side of a syncer.
type syncQueue interface {
	// submit starts an fdatasync of the file fd, whose completion carries
	// id; the kernel signals evfd once it has ended.
	submit(fd uintptr, id uint64) unix.Errno
	// drain hands every completion ready to done, without waiting.
	drain(done func(id uint64, res int64))
	// release frees the queue; no sync may be under way.
	release()
}

// The kinds of syncQueue, in the order newSyncer tries them.
const (
	queueUring = "io_uring"
	queueAIO   = "aio"
)

// newSyncer returns a syncer on the first kind of queue the kernel (or a
// sandbox) allows: an io_uring, whose teardown at exit takes no time, or
// else an AIO context, whose teardown waits about 30 ms for the kernel's
// RCU grace periods (a standalone io_setup/io_destroy program: 28-44 ms)
// at the end of every run. It returns nil where neither is allowed.
func newSyncer() *syncer {
	for _, kind := range []string{queueUring, queueAIO} {
		if s := newSyncerOn(kind); s != nil {
			return s
		}
	}
	return nil
}

// newSyncerOn returns a syncer on a queue of the given kind, with its
// eventfd and the goroutine that reaps completions; nil where the kernel
// refuses it.
func newSyncerOn(kind string) *syncer {
	fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		return nil
	}
	var q syncQueue
	switch kind {
	case queueUring:
		if r := newUring(fd); r != nil {
			q = r
		}
	case queueAIO:
		if a := newAIO(fd); a != nil {
			q = a
		}
	}
	if q == nil {
		unix.Close(fd)
		return nil
	}
	// A non-blocking descriptor: os.NewFile gives it to the poller, so a
	// Read parks the goroutine rather than its thread.
	s := &syncer{q: q, evfd: fd, ev: os.NewFile(uintptr(fd), "eventfd"),
		done: make(chan struct{}), ops: make(map[uint64]func(error))}
	go s.reap()
	return s
}

// async reports whether s syncs through the kernel's asynchronous I/O.
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
	if s.closed || len(s.ops) >= aioEvents {
		// Closed, or as many syncs under way as the queue holds: a
		// blocking one.
		s.mu.Unlock()
		then(fdatasync(int(fd)))
		return nil
	}
	s.next++
	id := s.next
	s.ops[id] = then // before the submit: the completion may come at once
	s.mu.Unlock()
	e := s.q.submit(fd, id)
	if e == 0 {
		s.n.Add(1)
		return nil
	}
	s.mu.Lock()
	delete(s.ops, id)
	s.mu.Unlock()
	if e == unix.EINVAL || e == unix.ENOSYS || e == unix.EOPNOTSUPP || e == unix.EAGAIN || e == unix.EBUSY {
		// A file system without asynchronous syncs, or a queue full: a
		// blocking one.
		then(fdatasync(int(fd)))
		return nil
	}
	return fmt.Errorf("submitting an fdatasync: %w", e)
}

// reap hands each completion to its op until the eventfd is closed.
func (s *syncer) reap() {
	defer close(s.done)
	var n [8]byte
	for {
		if _, err := s.ev.Read(n[:]); err != nil {
			return // closed
		}
		s.q.drain(s.complete)
	}
}

func (s *syncer) complete(id uint64, res int64) {
	s.mu.Lock()
	then := s.ops[id]
	delete(s.ops, id)
	s.mu.Unlock()
	var err error
	if res < 0 {
		err = fmt.Errorf("fdatasync: %w", unix.Errno(-res))
	}
	if then != nil {
		then(err)
	}
}

// close ends the reaping goroutine and releases the queue and the
// eventfd; no sync may be under way. Later syncs are blocking calls.
func (s *syncer) close() {
	if !s.async() {
		return
	}
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.ev.Close()
	<-s.done
	s.q.release()
}

// aio is a syncQueue on an AIO context.
type aio struct {
	ctx  uint64
	evfd int
}

// newAIO sets up an AIO context whose completions signal evfd; nil where
// the kernel refuses it.
func newAIO(evfd int) *aio {
	var ctx uint64
	if _, _, e := unix.Syscall(unix.SYS_IO_SETUP, aioEvents, uintptr(unsafe.Pointer(&ctx)), 0); e != 0 {
		return nil
	}
	return &aio{ctx: ctx, evfd: evfd}
}

func (a *aio) submit(fd uintptr, id uint64) unix.Errno {
	cb := iocb{data: id, opcode: iocbCmdFdsync, fildes: uint32(fd), flags: iocbFlagResfd, resfd: uint32(a.evfd)}
	cbs := [1]*iocb{&cb}
	for {
		_, _, e := unix.Syscall(unix.SYS_IO_SUBMIT, uintptr(a.ctx), 1, uintptr(unsafe.Pointer(&cbs[0])))
		if e != unix.EINTR {
			return e
		}
	}
}

func (a *aio) drain(done func(id uint64, res int64)) {
	var evs [aioEvents]ioEvent
	for {
		var zero unix.Timespec
		r, _, e := unix.Syscall6(unix.SYS_IO_GETEVENTS, uintptr(a.ctx), 0, aioEvents,
			uintptr(unsafe.Pointer(&evs[0])), uintptr(unsafe.Pointer(&zero)), 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 || r == 0 {
			return
		}
		for _, ev := range evs[:r] {
			done(ev.data, ev.res)
		}
	}
}

func (a *aio) release() { _, _, _ = unix.Syscall(unix.SYS_IO_DESTROY, uintptr(a.ctx), 0, 0) }
