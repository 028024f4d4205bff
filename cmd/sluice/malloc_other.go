//go:build !cgo || !linux

// Without cgo, Pebble allocates from Go's heap and there is no C allocator
// to tune; see malloc_linux.go.

package main

import "time"

// trimMallocEvery does nothing and returns a stop that does nothing.
func trimMallocEvery(time.Duration) (stop func()) { return func() {} }
