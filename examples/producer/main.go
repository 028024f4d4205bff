// Command producer has one goroutine feed a pool while the main goroutine
// reads the results, in the order they were submitted, as the workers
// finish them. The pool's bounded queue and the channel of futures hold
// the producer to the workers' pace, so memory stays flat however much
// input there is.
package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/sluicehq/sluice"
)

func main() {
	pool := sluice.NewPool[int](8)
	futures := make(chan *sluice.Future[int], 16)

	words := strings.Fields(strings.Repeat("the quick brown fox jumps over the lazy dog ", 1000))
	go func() {
		defer close(futures)
		for _, w := range words {
			// Submit blocks while the queue is full: backpressure.
			futures <- pool.Submit(func(context.Context) (int, error) { return len(w), nil })
		}
	}()

	total, n := 0, 0
	for f := range futures {
		v, err := f.Result()
		if err != nil {
			fmt.Println("error:", err)
			continue
		}
		total += v
		n++
	}
	pool.Close()
	fmt.Printf("%d words, %d letters\n", n, total)
}
