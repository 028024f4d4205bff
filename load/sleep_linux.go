// A fine-grained sleep for the dispatcher on Linux.

package load

import (
	"context"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// newSleeper returns a timerfd sleeper. The Go runtime's timers wake about
// 1 ms late here (a 100 µs time.Timer took 1.12 ms on average on the
// benchmark machine), which would add up to a millisecond of send lateness
// to every request in the open model. A timerfd read parks in the network
// poller, which wakes as soon as the kernel timer fires. Falls back to
// time.Timer if the timerfd cannot be made.
func newSleeper(ctx context.Context) sleeper {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return newTimerSleeper()
	}
	s := &timerfdSleeper{fd: fd, f: os.NewFile(uintptr(fd), "timerfd")}
	// A deadline in the past makes a parked Read return at once.
	s.stop = context.AfterFunc(ctx, func() { _ = s.f.SetReadDeadline(time.Unix(1, 0)) })
	return s
}

type timerfdSleeper struct {
	fd   int
	f    *os.File
	stop func() bool
	buf  [8]byte
}

func (s *timerfdSleeper) sleep(_ context.Context, d time.Duration) bool {
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(int64(max(d, time.Microsecond)))}
	if err := unix.TimerfdSettime(s.fd, 0, &spec, nil); err != nil {
		time.Sleep(d)
		return true
	}
	_, err := s.f.Read(s.buf[:])
	return err == nil
}

func (s *timerfdSleeper) close() {
	s.stop()
	_ = s.f.Close()
}
