// Distributed runs: workers on several machines meet in Redis, share the
// load and merge their results.

package load

// WorkerState is one worker of a distributed run as the merged report
// sees it.
type WorkerState struct {
	Name  string `json:"name"`
	Slot  int    `json:"slot"`  // 0-based share index
	State string `json:"state"` // "done", or "dead": stopped reporting before the end
	// LastSecond is the last second the worker streamed; for a dead
	// worker, its share after that second is missing from the report.
	LastSecond int   `json:"last_second"`
	Requests   int64 `json:"requests"`
}
