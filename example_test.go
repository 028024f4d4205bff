package sluice_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"

	"github.com/sluicehq/sluice"
)

func ExamplePool() {
	pool := sluice.NewPool[int](3)
	defer pool.Close()

	var futures []*sluice.Future[int]
	for i := range 5 {
		futures = append(futures, pool.Submit(func(ctx context.Context) (int, error) {
			return i * i, nil
		}))
	}
	for _, f := range futures {
		v, err := f.Result()
		fmt.Println(v, err)
	}
	// Output:
	// 0 <nil>
	// 1 <nil>
	// 4 <nil>
	// 9 <nil>
	// 16 <nil>
}

func ExampleGather() {
	pool := sluice.NewPool[string](4)
	defer pool.Close()

	var futures []*sluice.Future[string]
	for _, w := range []string{"a", "b", "c"} {
		futures = append(futures, pool.Submit(func(context.Context) (string, error) {
			return strings.ToUpper(w), nil
		}))
	}
	results, err := sluice.Gather(context.Background(), futures)
	fmt.Println(results, err)
	// Output: [A B C] <nil>
}

func ExampleMap() {
	pool := sluice.NewPool[int](4)
	defer pool.Close()

	square := func(_ context.Context, n int) (int, error) { return n * n, nil }
	for v, err := range sluice.Map(context.Background(), pool, slices.Values([]int{1, 2, 3, 4}), square) {
		fmt.Println(v, err)
	}
	// Output:
	// 1 <nil>
	// 4 <nil>
	// 9 <nil>
	// 16 <nil>
}

func ExampleWait() {
	pool := sluice.NewPool[int](2)
	defer pool.Close()

	release := make(chan struct{})
	slow := pool.Submit(func(ctx context.Context) (int, error) {
		select {
		case <-release:
			return 1, nil
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	})
	fast := pool.Submit(func(context.Context) (int, error) { return 2, nil })

	done, pending, _ := sluice.Wait(context.Background(), []*sluice.Future[int]{slow, fast}, sluice.FirstCompleted)
	v, _ := done[0].Result()
	fmt.Println("first:", v, "pending:", len(pending))
	close(release)
	// Output: first: 2 pending: 1
}

func ExampleAsCompleted() {
	pool := sluice.NewPool[int](3)
	defer pool.Close()

	var futures []*sluice.Future[int]
	for i := range 3 {
		futures = append(futures, pool.Submit(func(context.Context) (int, error) { return i, nil }))
	}
	sum := 0
	for f := range sluice.AsCompleted(context.Background(), futures) {
		v, _ := f.Result()
		sum += v
	}
	fmt.Println(sum)
	// Output: 3
}

func ExampleFuture_Cancel() {
	pool := sluice.NewPool[string](1, sluice.WithQueueSize(1))
	defer pool.Close()

	started, release := make(chan struct{}), make(chan struct{})
	pool.Submit(func(context.Context) (string, error) {
		close(started)
		<-release
		return "busy", nil
	})
	<-started
	queued := pool.Submit(func(context.Context) (string, error) { return "never runs", nil })

	fmt.Println(queued.Cancel(), queued.State())
	_, err := queued.Result()
	fmt.Println(errors.Is(err, sluice.ErrCancelled))
	close(release)
	// Output:
	// true cancelled
	// true
}

func ExamplePool_Stop() {
	pool := sluice.NewPool[int](1)
	started := make(chan struct{})
	running := pool.Submit(func(ctx context.Context) (int, error) {
		close(started)
		<-ctx.Done() // runs until cancelled
		return 0, ctx.Err()
	})
	<-started
	queued := pool.Submit(func(context.Context) (int, error) { return 1, nil })

	pool.Stop() // no grace period
	_, err := running.Result()
	fmt.Println("running:", err)
	_, err = queued.Result()
	fmt.Println("queued:", err)
	// Output:
	// running: context canceled
	// queued: sluice: future cancelled
}

func ExampleFetcher() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "hello from ", r.URL.Path)
	}))
	defer srv.Close()

	f := &sluice.Fetcher{MaxInFlight: 10, PerHost: 2, Rate: 100}
	defer f.Close()

	var futures []*sluice.Future[*sluice.Response]
	for _, p := range []string{"/a", "/b", "ftp://not-http/"} {
		u := p
		if strings.HasPrefix(p, "/") {
			u = srv.URL + p
		}
		futures = append(futures, f.Submit(u))
	}
	for _, fut := range futures {
		resp, err := fut.Result()
		if err != nil {
			fmt.Println("error:", err)
			continue
		}
		fmt.Println(resp.StatusCode, string(resp.Body))
	}
	// Output:
	// 200 hello from /a
	// 200 hello from /b
	// error: sluice: fetch ftp://not-http/: bad URL: unsupported scheme "ftp" (want http or https)
}
