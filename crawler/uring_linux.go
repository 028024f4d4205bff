// This file holds the io_uring a syncer submits its fdatasyncs to: one
// submission ring, one completion ring, an eventfd registered for
// completions, and no other feature of io_uring.

package crawler

import (
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// io_uring's constants used here (linux/io_uring.h).
const (
	uringOffSQRing       = 0
	uringOffSQEs         = 0x10000000
	uringOffCQRing       = 0x8000000
	uringFeatSingleMmap  = 1 << 0
	uringOpFsync         = 3
	uringFsyncDatasync   = 1
	uringRegisterEventfd = 4
	uringSetupClamp      = 1 << 4
)

// uringParams is struct io_uring_params. The ring offsets are, in order:
// head, tail, ring_mask, ring_entries, flags (sq) or overflow (cq),
// dropped (sq) or cqes (cq), array (sq) or flags (cq), a reserved word,
// and a user address of 8 bytes.
type uringParams struct {
	sqEntries    uint32
	cqEntries    uint32
	flags        uint32
	sqThreadCPU  uint32
	sqThreadIdle uint32
	features     uint32
	wqFd         uint32
	_            [3]uint32
	sqOff        [10]uint32
	cqOff        [10]uint32
}

// uringSQE is struct io_uring_sqe, with the fields a sync leaves zero
// blank.
type uringSQE struct {
	opcode   uint8
	flags    uint8
	_        uint16 // ioprio
	fd       int32
	_        uint64 // off
	_        uint64 // addr
	_        uint32 // len
	opFlags  uint32 // fsync_flags
	userData uint64
	_        [3]uint64
}

// uringCQE is struct io_uring_cqe.
type uringCQE struct {
	userData uint64
	res      int32
	flags    uint32
}

// uring is a syncQueue on an io_uring. Its submissions are serialized by
// mu; its completions are read by one goroutine, the syncer's reaper.
type uring struct {
	fd         int
	ring, sqes []byte // the mapped rings, and the submission entries

	mu                sync.Mutex
	sqHead, sqTail    *uint32
	sqMask, sqEntries uint32
	sqArray           unsafe.Pointer
	cqHead, cqTail    *uint32
	cqMask            uint32
	cqes              unsafe.Pointer
	cqRing            []byte // the completion ring's mapping where it is not ring's
}

// newUring sets up an io_uring of aioEvents entries whose completions
// signal evfd; nil where the kernel (or a sandbox: container runtimes'
// default seccomp profiles refuse io_uring) does not allow it.
func newUring(evfd int) *uring {
	p := uringParams{flags: uringSetupClamp}
	fd, _, e := unix.Syscall(unix.SYS_IO_URING_SETUP, aioEvents, uintptr(unsafe.Pointer(&p)), 0)
	if e != 0 {
		return nil
	}
	u := &uring{fd: int(fd)}
	if !u.mapRings(&p) {
		u.release()
		return nil
	}
	if _, _, e := unix.Syscall6(unix.SYS_IO_URING_REGISTER, fd, uringRegisterEventfd,
		uintptr(unsafe.Pointer(&evfd)), 1, 0, 0); e != 0 {
		u.release()
		return nil
	}
	return u
}

// mapRings maps the rings and the submission entries and notes where
// their fields are.
func (u *uring) mapRings(p *uringParams) bool {
	sqSize := int(p.sqOff[6] + p.sqEntries*4)
	cqSize := int(p.cqOff[5] + p.cqEntries*uint32(unsafe.Sizeof(uringCQE{})))
	single := p.features&uringFeatSingleMmap != 0
	if single {
		sqSize = max(sqSize, cqSize)
	}
	var err error
	if u.ring, err = unix.Mmap(u.fd, uringOffSQRing, sqSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE); err != nil {
		return false
	}
	cq := u.ring
	if !single {
		if u.cqRing, err = unix.Mmap(u.fd, uringOffCQRing, cqSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE); err != nil {
			return false
		}
		cq = u.cqRing
	}
	if u.sqes, err = unix.Mmap(u.fd, uringOffSQEs, int(p.sqEntries)*int(unsafe.Sizeof(uringSQE{})), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE); err != nil {
		return false
	}
	word := func(b []byte, off uint32) *uint32 { return (*uint32)(unsafe.Pointer(&b[off])) }
	u.sqHead, u.sqTail = word(u.ring, p.sqOff[0]), word(u.ring, p.sqOff[1])
	u.sqMask, u.sqEntries = *word(u.ring, p.sqOff[2]), *word(u.ring, p.sqOff[3])
	u.sqArray = unsafe.Pointer(&u.ring[p.sqOff[6]])
	u.cqHead, u.cqTail = word(cq, p.cqOff[0]), word(cq, p.cqOff[1])
	u.cqMask = *word(cq, p.cqOff[2])
	u.cqes = unsafe.Pointer(&cq[p.cqOff[5]])
	return true
}

func (u *uring) submit(fd uintptr, id uint64) unix.Errno {
	u.mu.Lock()
	defer u.mu.Unlock()
	tail := *u.sqTail // written by this side alone
	if tail-atomic.LoadUint32(u.sqHead) >= u.sqEntries {
		return unix.EBUSY // full: the caller syncs with a blocking call
	}
	i := tail & u.sqMask
	*(*uringSQE)(unsafe.Add(unsafe.Pointer(&u.sqes[0]), uintptr(i)*unsafe.Sizeof(uringSQE{}))) =
		uringSQE{opcode: uringOpFsync, fd: int32(fd), opFlags: uringFsyncDatasync, userData: id}
	*(*uint32)(unsafe.Add(u.sqArray, uintptr(i)*4)) = i
	atomic.StoreUint32(u.sqTail, tail+1)
	for {
		_, _, e := unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(u.fd), 1, 0, 0, 0, 0)
		if int32(atomic.LoadUint32(u.sqHead)-tail) > 0 {
			return 0 // the kernel took the entry: its completion will come
		}
		if e == unix.EINTR {
			continue
		}
		// Not taken: withdrawn, as the kernel has not read it.
		atomic.StoreUint32(u.sqTail, tail)
		if e == 0 {
			e = unix.EAGAIN
		}
		return e
	}
}

func (u *uring) drain(done func(id uint64, res int64)) {
	for {
		head := *u.cqHead // written by this side alone
		tail := atomic.LoadUint32(u.cqTail)
		if head == tail {
			return
		}
		for ; head != tail; head++ {
			c := *(*uringCQE)(unsafe.Add(u.cqes, uintptr(head&u.cqMask)*unsafe.Sizeof(uringCQE{})))
			done(c.userData, int64(c.res))
		}
		atomic.StoreUint32(u.cqHead, head)
	}
}

// release unmaps the rings and closes the io_uring; the kernel tears it
// down in the background.
func (u *uring) release() {
	for _, m := range [][]byte{u.sqes, u.cqRing, u.ring} {
		if m != nil {
			_ = unix.Munmap(m)
		}
	}
	unix.Close(u.fd)
}
