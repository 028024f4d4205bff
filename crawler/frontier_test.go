package crawler

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func TestEntryQueueRoundTrip(t *testing.T) {
	q := &entryQueue{prefix: "http://h:8080"}
	var want []Entry
	for i := range 5000 {
		e := Entry{URL: fmt.Sprintf("http://h:8080/p/%d", i), Depth: i % 7, Attempts: i % 3, Redirects: i % 2, NotBefore: int64(i) * 1e9}
		switch i % 3 {
		case 1:
			e.Parent = "http://h:8080/"
		case 2:
			e.URL = fmt.Sprintf("https://other/%d?q=%s", i, string(rune('a'+i%26)))
			e.Parent = "http://h:8080/p/1"
		}
		want = append(want, e)
		q.push(e)
	}
	for i, w := range want {
		if got := q.pop(); got != w {
			t.Fatalf("entry %d: %+v, want %+v", i, got, w)
		}
	}
	if q.len != 0 || len(q.chunks) != 0 {
		t.Fatalf("queue not empty: %d, %d chunks", q.len, len(q.chunks))
	}
}

func FuzzEntryQueue(f *testing.F) {
	f.Add("http://h/", "http://h/a", "http://h", 3, int64(-5))
	f.Fuzz(func(t *testing.T, u, parent, prefix string, depth int, nb int64) {
		if depth < 0 {
			depth = -depth
		}
		q := &entryQueue{prefix: prefix}
		e := Entry{URL: u, Parent: parent, Depth: depth & 0xffff, NotBefore: nb}
		q.push(e)
		q.push(e)
		for range 2 {
			if got := q.pop(); got != e {
				t.Fatalf("%+v, want %+v", got, e)
			}
		}
	})
}

func BenchmarkMemoryFrontierAdmitPop(b *testing.B) {
	ctx := context.Background()
	urls := make([]string, 1<<16)
	for i := range urls {
		urls[i] = fmt.Sprintf("http://site.example/p/%d", i)
	}
	b.ReportAllocs()
	var f MemoryFrontier
	batch := make([]Entry, 1)
	for i := 0; b.Loop(); i++ {
		u := urls[i&(len(urls)-1)]
		if i >= len(urls) {
			u += "x" + fmt.Sprint(i)
		}
		batch[0] = Entry{URL: u, Parent: "http://site.example/"}
		f.Admit(ctx, batch)
		f.Pop(ctx, "http://site.example")
	}
}

func TestSchedulerSweepsIdleHosts(t *testing.T) {
	now := time.Now()
	s := newScheduler((&Crawler{}).resolve())
	for key, set := range map[string]func(h *host){
		"http://idle":     func(h *host) { h.active = now.Add(-2 * hostIdle) },
		"http://recent":   func(h *host) { h.active = now.Add(-hostIdle / 2) },
		"http://pending":  func(h *host) { h.active = now.Add(-2 * hostIdle); h.pending = 1 },
		"http://inflight": func(h *host) { h.active = now.Add(-2 * hostIdle); s.hosts.Start(h.sh) },
		"http://seed":     func(h *host) { h.active = now.Add(-2 * hostIdle); h.seed = true },
	} {
		set(s.hostOf(key + "/"))
	}
	s.sweep(now)
	if s.hosts.Lookup("http://idle") != nil || s.hosts.Len() != 4 {
		t.Errorf("%d hosts left, idle one among them: %v", s.hosts.Len(), s.hosts.Lookup("http://idle") != nil)
	}
	s.hostOf("http://idle2/")
	s.sweep(now.Add(time.Second)) // within 10 s of the last sweep: no-op
	if s.hosts.Len() != 5 {
		t.Errorf("swept again within 10 s")
	}
}
