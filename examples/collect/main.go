// Command collect shows the three ways to collect many futures: Gather
// (results in submission order), Wait with FirstCompleted (act on the
// quickest) and AsCompleted (each result as soon as it is ready).
package main

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/sluicehq/sluice"
)

// sleepy returns a task that sleeps d, then returns d.
func sleepy(d time.Duration) func(context.Context) (time.Duration, error) {
	return func(ctx context.Context) (time.Duration, error) {
		select {
		case <-time.After(d):
			return d, nil
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

func submitAll(pool *sluice.Pool[time.Duration]) []*sluice.Future[time.Duration] {
	var fs []*sluice.Future[time.Duration]
	for _, ms := range []int{40, 10, 30, 20} {
		fs = append(fs, pool.Submit(sleepy(time.Duration(ms)*time.Millisecond)))
	}
	return fs
}

func main() {
	ctx := context.Background()
	pool := sluice.NewPool[time.Duration](4)
	defer pool.Close()

	// gather: all results, in the order submitted.
	all, err := sluice.Gather(ctx, submitAll(pool))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("gather:      ", all)

	// wait(FIRST_COMPLETED): the quickest one, and cancel the rest.
	done, pending, err := sluice.Wait(ctx, submitAll(pool), sluice.FirstCompleted)
	if err != nil {
		log.Fatal(err)
	}
	first, _ := done[0].Result()
	for _, f := range pending {
		f.Cancel()
	}
	fmt.Println("first:       ", first, "with", len(pending), "cancelled")

	// as_completed: each as it finishes.
	fmt.Print("as completed: ")
	for f := range sluice.AsCompleted(ctx, submitAll(pool)) {
		d, _ := f.Result()
		fmt.Print(d, " ")
	}
	fmt.Println()
}
