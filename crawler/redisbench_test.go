package crawler

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sluicehq/sluice/internal/redistest"
)

// BenchmarkRedisFrontierPage runs the Redis frontier's work for one page
// of a crawl, as the scheduler drives it: a hand-out (batched), then the
// page's finish with its 10 links, in the background. Page i links to
// pages i+1 to i+10, so that, as on a crawled site, one link a page is
// new. Besides the client's time and allocations it reports Redis's CPU
// per page (used_cpu_user + used_cpu_sys, its socket I/O included) and the
// commands Redis ran per page, scripts' commands included.
func BenchmarkRedisFrontierPage(b *testing.B) {
	ctx := context.Background()
	srv := redistest.Start(b)
	rdb := srv.Client(b)
	f, err := NewRedisFrontier(rdb, "bench", RedisOptions{Worker: "w"})
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	const host = "http://site.example"
	page := func(i int) string { return host + "/p/" + strconv.Itoa(i) }
	seed := make([]Entry, 60)
	for i := range seed {
		seed[i] = Entry{URL: page(i), Host: host}
	}
	if _, err := f.Admit(ctx, seed); err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failed error
	done := func(_ []int8, err error) {
		if err != nil {
			mu.Lock()
			failed = err
			mu.Unlock()
		}
		wg.Done()
	}
	cpu0, cmds0 := redisCPU(ctx, b, rdb)
	self0 := selfCPU()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		e, ok, err := f.Pop(ctx, host)
		if err == nil && !ok { // its links are still in the finisher
			f.settle()
			e, ok, err = f.Pop(ctx, host)
		}
		if err != nil || !ok {
			b.Fatalf("pop: %v, %v", ok, err)
		}
		n, _ := strconv.Atoi(e.URL[strings.LastIndexByte(e.URL, '/')+1:])
		links := make([]Entry, 10)
		for j := range links {
			k := n + 1 + j
			if j == 9 {
				k = n + 50
			}
			links[j] = Entry{URL: page(k), Parent: e.URL, Depth: e.Depth + 1, Host: host}
		}
		wg.Add(1)
		f.finishPage(ctx, e, Done, links, pageOpts{}, done)
	}
	f.settle()
	wg.Wait()
	b.StopTimer()
	if failed != nil {
		b.Fatal(failed)
	}
	self1 := selfCPU()
	cpu1, cmds1 := redisCPU(ctx, b, rdb)
	b.ReportMetric((self1-self0)*1e6/float64(b.N), "client-µs/page")
	b.ReportMetric((cpu1-cpu0)*1e6/float64(b.N), "redis-µs/page")
	b.ReportMetric(float64(cmds1-cmds0)/float64(b.N), "redis-cmds/page")
}

// selfCPU returns the CPU seconds this process has used.
func selfCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// redisCPU returns the CPU seconds Redis has used and the commands it
// has run.
func redisCPU(ctx context.Context, b *testing.B, rdb *redis.Client) (float64, int64) {
	info, err := rdb.Info(ctx, "cpu", "stats").Result()
	if err != nil {
		b.Fatal(err)
	}
	var cpu float64
	var cmds int64
	for _, line := range strings.Split(info, "\r\n") {
		k, v, _ := strings.Cut(line, ":")
		switch k {
		case "used_cpu_user", "used_cpu_sys":
			var x float64
			fmt.Sscan(v, &x)
			cpu += x
		case "total_commands_processed":
			cmds, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	return cpu, cmds
}
