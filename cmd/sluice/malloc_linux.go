//go:build cgo

// This file tunes the C allocator, which a build with cgo gives Pebble
// (the store of crawl --state) for its block cache and memtables.

package main

/*
#include <malloc.h>

// sluice_tune_malloc returns how many of the two settings glibc took, or
// -1 for a C library without them.
static int sluice_tune_malloc(void) {
#if defined(M_ARENA_MAX) && defined(M_MMAP_THRESHOLD)
	return (mallopt(M_ARENA_MAX, 2) == 1) + (mallopt(M_MMAP_THRESHOLD, 128 << 10) == 1);
#else
	return -1;
#endif
}

// sluice_trim_malloc returns the C allocator's free pages to the system.
static void sluice_trim_malloc(void) {
#if defined(M_ARENA_MAX)
	malloc_trim(0);
#endif
}
*/
import "C"

import "time"

// mallocTuned is what tuneMalloc returned.
var mallocTuned = tuneMalloc()

// tuneMalloc bounds the memory that glibc's malloc keeps for Pebble. By
// default glibc gives each thread that allocates an arena of its own (up
// to 8 per core), and raises its mmap threshold to the size of each large
// block freed (up to 32 MiB), so that, after the first 8 MiB memtable is
// freed, every block below that comes from an arena. The cache's blocks
// of many sizes (4 KiB data blocks, filter blocks growing with the tables)
// then leave holes in the arenas that are not returned: on
// bench/durable/large.sh the crawler's RSS rose from 117 to 136 MiB in its
// first five minutes, all of it free arena memory (from 13 to 44 MiB of
// it) while the memory in use, Go's and C's, stayed flat. Two arenas and a
// fixed 128 KiB threshold (a block above it is mapped and unmapped whole)
// held the same five minutes at 96-104 MiB. A build without cgo has Pebble
// allocate from Go's heap instead.
//
// It returns how many of its two settings the C library took, -1 for one
// that has neither (not glibc).
func tuneMalloc() int { return int(C.sluice_tune_malloc()) }

// trimMallocEvery returns the C allocator's free pages to the system every
// d until the returned stop is called; stop returns once it has ended.
// What tuneMalloc leaves of the arenas' holes still grew the RSS of a
// crawl taking in 10,000,000 URLs (bench/durable/large.sh) from 105 MiB
// at one minute to 117 MiB (20-25 MiB of the arenas free); trimmed every
// 5 s (malloc_trim hands back every free page, not only the arena's top),
// the same crawl stayed at 86-103 MiB from 50 s to its end at 14 minutes.
func trimMallocEvery(d time.Duration) (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				C.sluice_trim_malloc()
			}
		}
	}()
	return func() {
		close(quit)
		<-done
	}
}
