package load

import (
	"context"
	"testing"
	"time"
)

func TestSleeper(t *testing.T) {
	for name, mk := range map[string]func(context.Context) sleeper{
		"default": newSleeper,
		"timer":   func(context.Context) sleeper { return newTimerSleeper() },
	} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			s := mk(ctx)
			defer s.close()
			start := time.Now()
			if !s.sleep(ctx, 2*time.Millisecond) {
				t.Fatal("sleep reported cancellation")
			}
			if el := time.Since(start); el < 2*time.Millisecond {
				t.Fatalf("woke after %v, before 2ms", el)
			}
			time.AfterFunc(20*time.Millisecond, cancel)
			if s.sleep(ctx, time.Hour) {
				t.Fatal("sleep outlived its context")
			}
		})
	}
}
