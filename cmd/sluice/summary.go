// This file holds the summaries fetch and crawl print on stderr, counted
// from the records they wrote so that the two always agree.

package main

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/crawler"
	"github.com/sluicehq/sluice/internal/failure"
	"github.com/sluicehq/sluice/internal/humanize"
)

// fetchSummary counts what a fetch run wrote.
type fetchSummary struct {
	records, ok, errs, skipped int
	httpErrs                   int         // responses with a status of 400 and above
	statuses                   map[int]int // by class: 2, 3, 4, 5
	errKinds                   map[string]int
	bytes                      int64
	elapsed                    time.Duration
	interrupted                bool
	resumed                    int          // --resume: input lines recorded already
	resumedErrs                int          // --resume: those of them recorded as errors
	left                       atomic.Int64 // --queue: URLs a stop left in the queue
}

func newFetchSummary() *fetchSummary {
	return &fetchSummary{statuses: map[int]int{}, errKinds: map[string]int{}}
}

func (s *fetchSummary) add(r *fetchRecord) {
	s.records++
	s.bytes += int64(r.Bytes)
	if r.Error != "" {
		s.errs++
		s.errKinds[errKind(r.err)]++
		return
	}
	s.ok++
	s.statuses[r.Status/100]++
	if r.Status >= 400 {
		s.httpErrs++
	}
}

func (s *fetchSummary) print(w io.Writer) {
	secs := s.elapsed.Seconds()
	fmt.Fprintf(w, "fetched %s in %.2fs (%.1f/s): %s (%d with status 4xx/5xx), %d failed, %s\n",
		plural(int64(s.records), "URL"), secs, float64(s.records)/max(secs, 1e-9),
		plural(int64(s.ok), "response"), s.httpErrs, s.errs, humanize.Bytes(s.bytes, 1))
	var parts []string
	for c := 1; c <= 5; c++ {
		if n := s.statuses[c]; n > 0 {
			parts = append(parts, fmt.Sprintf("%dxx %d", c, n))
		}
	}
	if len(parts) > 0 {
		fmt.Fprintln(w, "  status:", strings.Join(parts, ", "))
	}
	if len(s.errKinds) > 0 {
		fmt.Fprintln(w, "  failed:", byCount(s.errKinds))
	}
	if s.skipped > 0 {
		fmt.Fprintf(w, "  skipped %s\n", plural(int64(s.skipped), "blank or comment line"))
	}
	switch {
	case s.interrupted && s.left.Load() > 0:
		fmt.Fprintf(w, "  interrupted: %s taken and not fetched in full stay in the queue for another worker (after --claim-idle)\n", plural(s.left.Load(), "URL"))
	case s.interrupted:
		fmt.Fprintln(w, "  interrupted: every line read has its record")
	}
}

// crawlSummary counts what a crawl wrote: every record is a page fetched
// (with any status), a URL robots.txt denied, or an error.
type crawlSummary struct {
	records, fetched, denied, errs, bytes int64
	httpErrs                              int64 // pages with a status of 400 and above
	statuses                              map[int]int64
	errKinds                              map[string]int64
}

func newCrawlSummary() *crawlSummary {
	return &crawlSummary{statuses: map[int]int64{}, errKinds: map[string]int64{}}
}

func (s *crawlSummary) add(r *crawlRecord) {
	s.records++
	s.bytes += int64(r.Bytes)
	switch {
	case r.Skipped != "":
		s.denied++
	case r.Error != "":
		s.errs++
		s.errKinds[errKind(r.err)]++
	default:
		s.fetched++
		s.statuses[r.Status]++
		if r.Status >= 400 {
			s.httpErrs++
		}
	}
}

func (s *crawlSummary) print(w io.Writer, st *crawler.Stats) {
	secs := st.Elapsed.Seconds()
	fmt.Fprintf(w, "crawled %s in %.2fs (%.1f/s): %s fetched (%d with status 4xx/5xx), %d failed, %d denied by robots.txt, %s\n",
		plural(s.records, "URL"), secs, float64(s.records)/max(secs, 1e-9),
		plural(s.fetched, "page"), s.httpErrs, s.errs, s.denied, humanize.Bytes(s.bytes, 1))
	if len(s.statuses) > 0 {
		codes := slices.Sorted(maps.Keys(s.statuses))
		parts := make([]string, len(codes))
		for i, code := range codes {
			parts[i] = fmt.Sprintf("%d %d", code, s.statuses[code])
		}
		fmt.Fprintln(w, "  status:", strings.Join(parts, ", "))
	}
	if len(s.errKinds) > 0 {
		fmt.Fprintln(w, "  failed:", byCount(s.errKinds))
	}
	robots := ""
	if st.RobotsUnanswered > 0 {
		robots = fmt.Sprintf(", %d unanswered", st.RobotsUnanswered)
	}
	if st.RobotsCached > 0 {
		robots += fmt.Sprintf(", %d kept from an earlier fetch", st.RobotsCached) // in the state dir or in Redis
	}
	fmt.Fprintf(w, "  robots.txt: %d fetched%s; duplicates skipped %d; out of scope %d; peak queue %d\n",
		st.RobotsFetched, robots, st.Duplicates, st.OutOfScope, st.PeakQueue)
	for _, r := range st.SeedRedirectsOut {
		fmt.Fprintf(w, "  seed redirected out of scope: %s (give the target as the seed, or widen --scope)\n", r)
	}
	if st.OverMaxPages > 0 {
		fmt.Fprintf(w, "  past --max-pages: %d links not taken in\n", st.OverMaxPages)
	}
	if st.QueueFull > 0 {
		fmt.Fprintf(w, "  frontier full: %d URLs not admitted (--max-queue)\n", st.QueueFull)
	}
	if st.LinksDropped > 0 || st.Retries > 0 {
		fmt.Fprintf(w, "  links past the per-page cap %d; retries %d\n", st.LinksDropped, st.Retries)
	}
	fmt.Fprintf(w, "  time in visit callbacks %s (%d slow)\n", st.VisitTime.Round(time.Millisecond), st.SlowVisits)
	if st.Queued > 0 {
		fmt.Fprintf(w, "  stopped with %s still queued\n", plural(st.Queued, "URL"))
	}
}

// errKind names the kind of a record's error, in the one vocabulary of
// internal/failure that load reports use too.
func errKind(err error) string { return failure.Classify(err).String() }

// errNotFetched is the error of a line read but not fetched because the
// run was interrupted.
var errNotFetched = failure.New(failure.Cancelled, "sluice: not fetched: interrupted")

// plural formats n with the noun, adding an s unless n is 1.
func plural[N int | int64](n N, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// byCount formats counts by kind as "kind n, kind n", most first (ties in
// name order).
func byCount[N int | int64](counts map[string]N) string {
	kinds := slices.Sorted(maps.Keys(counts))
	slices.SortStableFunc(kinds, func(a, b string) int { return cmp.Compare(counts[b], counts[a]) })
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = fmt.Sprintf("%s %d", k, counts[k])
	}
	return strings.Join(parts, ", ")
}
