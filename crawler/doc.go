// Package crawler crawls web sites politely and fetches each page exactly
// once. Crawl takes seed URLs and a visit function, in the shape of
// filepath.WalkDir; links found in pages are canonicalised as a browser
// resolves them, checked against a 128-bit seen-set, and fetched under a
// global in-flight cap, per-host caps and per-host pacing, with robots.txt
// obeyed.
//
// A crawl runs in stages around one scheduler goroutine:
//
//	seeds, links ──Admit──▶ Frontier (seen-set, a queue per host)
//	                            │ Pop, per host
//	                            ▼
//	   scheduler: robots.txt and sitemaps first; the host scheduler shared
//	   with sluice.Fetcher decides which host starts (caps, fair share,
//	   pacing by HostRate and Crawl-delay, Retry-After holds, global Rate)
//	                            │ jobs
//	                            ▼
//	   fetch workers (MaxInFlight): one request each via Fetcher.Attempt
//	        │ HTML                          │ other pages, failures
//	        ▼                               │
//	   parse workers (GOMAXPROCS,           │
//	   64 MiB byte budget) ─────────────────┤
//	                                        ▼
//	   visit workers (VisitWorkers) call visit ──results──▶ scheduler:
//	   links admitted, URL finished, or retried through the Frontier
//	   after a backoff (the failure policy shared with sluice.Fetcher)
//
// Pending URLs are compact records in a Frontier, not goroutines or
// requests, so a crawl of millions of pages stays small. Three frontiers
// come with the package, all leasing what Pop hands out:
//
//   - [MemoryFrontier], the default, lives and dies with the process.
//   - [DiskFrontier] ([OpenDiskFrontier]) keeps the crawl in a directory on
//     Pebble, with pending URLs on disk and a small window of each host in
//     memory. With an [Output] it commits each page's record and its Done
//     in one synced batch, holding the page's MaxInFlight slot until then,
//     so a crawl killed at any moment resumes with every record once and
//     only its in-flight pages fetched again.
//   - [RedisFrontier] ([NewRedisFrontier]) shares one crawl among processes
//     on many machines: admission, per-host pacing (a [PacedFrontier]),
//     leases renewed by a heartbeat and reaped from dead processes, and
//     the count that ends every process together are Redis scripts. A
//     page's finish and its links' admission go in one background script
//     call, and its slot is held until that call is applied.
package crawler
