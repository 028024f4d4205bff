// Command submit runs 30 tasks on a pool of 3 workers and prints each
// result in submission order: the Go form of
//
//	with ThreadPoolExecutor(max_workers=3) as pool:
//	    futures = [pool.submit(work, i) for i in range(30)]
//	    for f in futures: print(f.result())
package main

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/sluicehq/sluice"
)

func work(ctx context.Context, i int) (string, error) {
	select {
	case <-time.After(10 * time.Millisecond): // stands in for I/O
	case <-ctx.Done():
		return "", ctx.Err()
	}
	return fmt.Sprintf("task %2d: %d", i, i*i), nil
}

func main() {
	pool := sluice.NewPool[string](3)
	defer pool.Close()

	futures := make([]*sluice.Future[string], 30)
	for i := range futures {
		futures[i] = pool.Submit(func(ctx context.Context) (string, error) { return work(ctx, i) })
	}
	for _, f := range futures {
		line, err := f.Result()
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(line)
	}
}
