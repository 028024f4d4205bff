// This file holds HeapPeak, the memory figure bounded-memory tests assert.

package hostile

import (
	"runtime"
	"runtime/metrics"
	"time"
)

const heapMetric = "/memory/classes/heap/objects:bytes"

// HeapPeak runs fn and returns the largest heap in use (live and not yet
// swept objects, as runtime/metrics reports them) seen while it ran,
// sampled every millisecond, less the heap in use just before. It starts
// from a collected heap, so the figure is what fn held, garbage included;
// it can come out short by what was already garbage when it began, if a
// GC cycle fn sets off frees it (some tens of KiB).
func HeapPeak(fn func()) uint64 {
	runtime.GC()
	sample := []metrics.Sample{{Name: heapMetric}}
	read := func() uint64 {
		metrics.Read(sample)
		return sample[0].Value.Uint64()
	}
	base := read()
	stop, peak := make(chan struct{}), make(chan uint64)
	go func() {
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		var p uint64
		for {
			p = max(p, read())
			select {
			case <-t.C:
			case <-stop:
				peak <- max(p, read())
				return
			}
		}
	}()
	fn()
	close(stop)
	p := <-peak
	if p < base {
		return 0
	}
	return p - base
}
