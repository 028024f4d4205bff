//go:build !linux

// This file holds the syncer where the kernel's asynchronous syncs are not
// used: every sync is a plain blocking call.

package crawler

import "os"

// syncer syncs files; here with plain blocking calls. A nil *syncer is
// ready to use, and it is safe for concurrent use.
type syncer struct{}

func newSyncer() *syncer { return nil }

// async reports whether s syncs without holding a processor: never here.
func (s *syncer) async() bool { return false }

// dataSync and fullSync are not called where async is false.
func (s *syncer) dataSync(uintptr) error { return os.ErrInvalid }
func (s *syncer) fullSync(uintptr) error { return os.ErrInvalid }

func (s *syncer) close() {}
