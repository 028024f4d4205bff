package pool

import "runtime"

type testingMemStats struct{ mallocs uint64 }

func readMem(m *testingMemStats) {
	var s runtime.MemStats
	runtime.ReadMemStats(&s)
	m.mallocs = s.Mallocs
}
