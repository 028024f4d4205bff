// Command interrupt runs long tasks until Ctrl+C, then cancels everything
// cleanly: queued tasks never start, running ones see their context
// cancelled, and every future reports how it ended.
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
	for i := range 100 {
		futures = append(futures, pool.Submit(func(ctx context.Context) (int, error) {
			select {
			case <-time.After(time.Duration(1+i%5) * time.Second):
				return i, nil
			case <-ctx.Done():
				return 0, ctx.Err()
			}
		}))
	}
	fmt.Println("running 100 tasks on 4 workers; press Ctrl+C to cancel")

	<-ctx.Done()
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
		case f.State() == sluice.Cancelled:
			counts["never started"]++
		default:
			counts["interrupted"]++
		}
	}
	fmt.Println("shutdown:", err, counts)
}
