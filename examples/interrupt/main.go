// Command interrupt runs tasks until they finish or Ctrl+C, whichever comes
// first. On Ctrl+C it cancels everything cleanly: queued tasks never start,
// running ones see their context cancelled, and every future reports how it
// ended.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/sluicehq/sluice"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	pool := sluice.NewPool[int](4, sluice.WithQueueSize(100))
	var futures []*sluice.Future[int]
	for i := range 40 {
		futures = append(futures, pool.Submit(func(ctx context.Context) (int, error) {
			select {
			case <-time.After(time.Duration(1+i%5) * 100 * time.Millisecond):
				return i, nil
			case <-ctx.Done():
				return 0, ctx.Err()
			}
		}))
	}
	fmt.Println("running 40 tasks on 4 workers; press Ctrl+C to cancel")

	// Wait returns when every task is done, or with ctx's error at Ctrl+C.
	if _, _, err := sluice.Wait(ctx, futures, sluice.AllCompleted); err == nil {
		fmt.Println("all tasks finished:", pool.Close())
		return
	}
	stop() // a second Ctrl+C now kills the process at once
	// Give running tasks no grace: an already-cancelled context makes
	// Shutdown cancel queued tasks and running tasks' contexts.
	expired, cancel := context.WithCancel(context.Background())
	cancel()
	err := pool.Shutdown(expired)

	counts := map[string]int{}
	for _, f := range futures {
		_, ferr := f.Result()
		switch {
		case ferr == nil:
			counts["finished"]++
		case f.State() == sluice.FutureCancelled:
			counts["never started"]++
		default:
			counts["interrupted"]++
		}
	}
	fmt.Println("shutdown:", err, counts)
}
