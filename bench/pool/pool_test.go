// Package pool compares sluice's Pool with other Go executors on the same
// job: submit 100,000 no-op tasks that return a value, then collect every
// result. Each benchmark iteration is one batch; ns/task and allocs/task
// are reported per task.
//
//	cd bench && go test ./pool -run '^$' -bench . -benchmem -count 5
package pool

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/alitto/pond/v2"
	"github.com/sluicehq/sluice"
	concpool "github.com/sourcegraph/conc/pool"
	"golang.org/x/sync/errgroup"
)

const tasks = 100_000

var workerCounts = []int{8, 512}

func noop(context.Context) (int, error) { return 1, nil }

// report turns per-batch figures into per-task ones.
func report(b *testing.B) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*tasks), "ns/task")
}

func allocsPerTask(b *testing.B, run func()) {
	b.Helper()
	var before, after testingMemStats
	readMem(&before)
	for b.Loop() {
		run()
	}
	readMem(&after)
	report(b)
	b.ReportMetric(float64(after.mallocs-before.mallocs)/float64(b.N*tasks), "allocs/task")
}

func BenchmarkSluicePool(b *testing.B) {
	for _, w := range workerCounts {
		b.Run(fmt.Sprintf("workers=%d", w), func(b *testing.B) {
			p := sluice.NewPool[int](w)
			defer p.Close()
			fs := make([]*sluice.Future[int], tasks)
			allocsPerTask(b, func() {
				for i := range fs {
					fs[i] = p.Submit(noop)
				}
				for _, f := range fs {
					if v, err := f.Result(); v != 1 || err != nil {
						b.Fatal(v, err)
					}
				}
			})
		})
	}
}

func BenchmarkPondResultPool(b *testing.B) {
	for _, w := range workerCounts {
		b.Run(fmt.Sprintf("workers=%d", w), func(b *testing.B) {
			p := pond.NewResultPool[int](w, pond.WithQueueSize(w))
			defer p.StopAndWait()
			fs := make([]pond.ResultTask[int], tasks)
			task := func() (int, error) { return 1, nil }
			allocsPerTask(b, func() {
				for i := range fs {
					fs[i] = p.SubmitErr(task)
				}
				for _, f := range fs {
					if v, err := f.Wait(); v != 1 || err != nil {
						b.Fatal(v, err)
					}
				}
			})
		})
	}
}

func BenchmarkConcResultPool(b *testing.B) {
	for _, w := range workerCounts {
		b.Run(fmt.Sprintf("workers=%d", w), func(b *testing.B) {
			task := func() (int, error) { return 1, nil }
			allocsPerTask(b, func() {
				p := concpool.NewWithResults[int]().WithErrors().WithMaxGoroutines(w)
				for range tasks {
					p.Go(task)
				}
				res, err := p.Wait()
				if len(res) != tasks || err != nil {
					b.Fatal(len(res), err)
				}
			})
		})
	}
}

func BenchmarkErrgroup(b *testing.B) {
	for _, w := range workerCounts {
		b.Run(fmt.Sprintf("workers=%d", w), func(b *testing.B) {
			res := make([]int, tasks)
			allocsPerTask(b, func() {
				var g errgroup.Group
				g.SetLimit(w)
				for i := range res {
					g.Go(func() error {
						v, err := noop(context.TODO())
						res[i] = v
						return err
					})
				}
				if err := g.Wait(); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

// chanFuture is the hand-made future: a buffered channel per task and a
// fixed set of workers reading closures from a channel.
type chanResult struct {
	v   int
	err error
}

func BenchmarkChannelFuture(b *testing.B) {
	for _, w := range workerCounts {
		b.Run(fmt.Sprintf("workers=%d", w), func(b *testing.B) {
			jobs := make(chan func(), w)
			var wg sync.WaitGroup
			for range w {
				wg.Go(func() {
					for j := range jobs {
						j()
					}
				})
			}
			defer func() { close(jobs); wg.Wait() }()
			fs := make([]chan chanResult, tasks)
			allocsPerTask(b, func() {
				for i := range fs {
					ch := make(chan chanResult, 1)
					fs[i] = ch
					jobs <- func() {
						v, err := noop(context.TODO())
						ch <- chanResult{v, err}
					}
				}
				for _, ch := range fs {
					if r := <-ch; r.v != 1 || r.err != nil {
						b.Fatal(r)
					}
				}
			})
		})
	}
}
