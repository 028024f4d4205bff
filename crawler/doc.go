// Package crawler crawls web sites politely and fetches each page exactly
// once. Crawl takes seed URLs and a visit function, in the shape of
// filepath.WalkDir; links found in pages are canonicalised as a browser
// resolves them, checked against a 128-bit seen-set, and fetched under a
// global in-flight cap, per-host caps and per-host pacing, with robots.txt
// obeyed.
//
// A crawl runs in stages: one scheduler goroutine (a queue per host and a
// heap of hosts ordered by when each may next be fetched), a fixed set of
// fetch workers, a parse stage sized to GOMAXPROCS with a byte budget, and
// the visit workers that run user code. Pending URLs are compact records in
// a Frontier, not goroutines or requests, so a crawl of millions of pages
// stays small.
package crawler
