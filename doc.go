// Package sluice lets plain synchronous Go code fan out thousands of I/O
// tasks with bounded concurrency, in the manner of Python's
// concurrent.futures: a [Pool] runs functions on a fixed set of workers and
// hands back a [Future] for each; [Wait], [AsCompleted], [Gather] and [Map]
// collect the results.
//
// A [Fetcher] returns each HTTP fetch as a Future of a [Response] too, but
// does not run on a Pool: requests wait in per-host lines, and one
// dispatcher goroutine starts each when the host scheduler lets its host
// start, on MaxInFlight fixed workers that each send one attempt:
//
//	Submit ──▶ intake queue ──▶ dispatcher: a line per host ──▶ workers ──▶ Future
//	                               │  host scheduler: caps,        │ Attempt: one request,
//	                               │  fair share, pacing, rate     │ failure policy decides
//	                               └──────◀── retry after backoff ◀┘ whether to retry
//
// The crawler package schedules its hosts on the same host scheduler and
// sends each request through [Fetcher.Attempt]; the crawler, the Fetcher
// and the load package name and retry failures by one failure policy. A
// [Limiter] (in-flight cap, global and per-host token buckets, per-host
// concurrency) admits requests for callers that run their own goroutines;
// the Fetcher and the crawler do not use it. The load package drives its
// own connections and shares only the failure names.
package sluice
