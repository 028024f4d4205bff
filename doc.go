// Package sluice lets plain synchronous Go code fan out thousands of I/O
// tasks with bounded concurrency, in the manner of Python's
// concurrent.futures: a [Pool] runs functions on a fixed set of workers and
// hands back a [Future] for each; [Wait], [AsCompleted], [Gather] and [Map]
// collect the results.
//
// On top of the pool sit a [Limiter] (in-flight cap, global and per-host
// token buckets, per-host concurrency) and a [Fetcher], whose Submit(url)
// returns a future of an HTTP [Response] with retries, timeouts and a body
// cap. The crawler and load packages build on these.
package sluice
