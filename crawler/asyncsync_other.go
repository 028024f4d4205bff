//go:build !linux

// This file holds the syncer where the kernel's asynchronous syncs are not
// used: every sync is a plain blocking call.

package crawler

import "os"

// syncer syncs files; here there is none, and a nil *syncer is what
// newSyncer gives: its callers sync with plain blocking calls.
type syncer struct{}

func newSyncer() *syncer { return nil }

// async reports whether s syncs without holding a processor: never here.
func (s *syncer) async() bool { return false }

// dataSync and submit are not called where async is false.
func (s *syncer) dataSync(uintptr) error            { return os.ErrInvalid }
func (s *syncer) submit(uintptr, func(error)) error { return os.ErrInvalid }

func (s *syncer) close() {}
