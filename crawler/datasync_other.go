//go:build !linux

// This file holds syncData where fdatasync is not available.

package crawler

import "os"

// syncData makes f's data, and its length, durable.
func syncData(f *os.File) error { return f.Sync() }
