//go:build cgo

package main

import "testing"

func TestTuneMalloc(t *testing.T) {
	switch mallocTuned {
	case -1:
		t.Skip("the C library is not glibc: no malloc settings to take")
	case 2:
	default:
		t.Fatalf("glibc took %d of the 2 malloc settings", mallocTuned)
	}
}
