package crawler

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
)

// BenchmarkDiskFrontierPage runs what a crawl with --state does to its
// frontier and records file for each page, one page per iteration: Pop,
// the visit's SetValidators and Recorded, a record of 200 bytes written to
// the Output, an Admit of 10 links of which one is new, and Finish; and
// every 10 pages a commit. (On bench/durable/throughput.sh's site, 20,000
// pages of 10 links, about 200 bytes a record, the crawl made 1,951
// commits.) The ns/op is the durable path's CPU for a page, without the
// fetch and the parse.
func BenchmarkDiskFrontierPage(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	f, err := OpenDiskFrontier(filepath.Join(dir, "state"), nil)
	if err != nil {
		b.Fatal(err)
	}
	out, err := OpenOutput(f, filepath.Join(dir, "pages.jsonl"))
	if err != nil {
		b.Fatal(err)
	}
	const host = "http://127.0.0.1:8080"
	page := func(i int) string { return fmt.Sprintf("%s/p/%d", host, i) }
	const backlog = 50 // pending URLs ahead of the one popped
	const pagesPerCommit = 10
	seeds := make([]Entry, backlog)
	for i := range seeds {
		seeds[i] = Entry{URL: page(i)}
	}
	if _, err := f.Admit(ctx, seeds); err != nil {
		b.Fatal(err)
	}
	next := backlog
	rng := rand.New(rand.NewPCG(1, 2))
	record := make([]byte, 200)
	for i := range record {
		record[i] = 'x'
	}
	record[len(record)-1] = '\n'
	links := make([]Entry, 10)
	v := Validators{Status: 200, ETag: `"abc"`, LastModified: "Mon, 30 Nov 2026 12:00:00 GMT"}
	b.ReportAllocs()
	for b.Loop() {
		e, ok, err := f.Pop(ctx, host)
		if err != nil || !ok {
			b.Fatalf("pop: %v %v", ok, err)
		}
		if err := f.SetValidators(ctx, e.URL, v); err != nil {
			b.Fatal(err)
		}
		if again, err := f.Recorded(ctx, e.URL); again || err != nil {
			b.Fatalf("recorded: %v %v", again, err)
		}
		if err := out.Write(e.URL, record); err != nil {
			b.Fatal(err)
		}
		links[0] = Entry{URL: page(next), Parent: e.URL, Depth: e.Depth + 1}
		for j := 1; j < len(links); j++ {
			links[j] = Entry{URL: page(max(0, next-1000+rng.IntN(1000))), Parent: e.URL, Depth: e.Depth + 1}
		}
		next++
		if _, err := f.Admit(ctx, links); err != nil {
			b.Fatal(err)
		}
		if err := f.Finish(ctx, e, Done); err != nil {
			b.Fatal(err)
		}
		if next%pagesPerCommit == 0 {
			if err := out.Commit(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	if err := out.Close(ctx); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}
