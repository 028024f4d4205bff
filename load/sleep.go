// How the dispatcher waits for the next due request.

package load

import (
	"context"
	"time"
)

// sleeper waits for a duration; sleep returns false once ctx, which must
// be the context the sleeper was made with, is done. Used by one
// goroutine; close releases it.
type sleeper interface {
	sleep(ctx context.Context, d time.Duration) bool
	close()
}

type timerSleeper struct{ t *time.Timer }

func newTimerSleeper() sleeper { return &timerSleeper{t: time.NewTimer(time.Hour)} }

func (s *timerSleeper) sleep(ctx context.Context, d time.Duration) bool {
	s.t.Reset(d)
	select {
	case <-ctx.Done():
		return false
	case <-s.t.C:
		return true
	}
}

func (s *timerSleeper) close() { s.t.Stop() }
