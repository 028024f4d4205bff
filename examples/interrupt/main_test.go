package main

import (
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestExitsWhenTasksFinish runs the example without a Ctrl+C: it must
// return once its tasks are done, not wait for a signal.
func TestExitsWhenTasksFinish(t *testing.T) {
	done := make(chan struct{})
	go func() { main(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the example did not exit after its tasks finished")
	}
}
