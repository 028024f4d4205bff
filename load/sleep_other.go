//go:build !linux

package load

import "context"

func newSleeper(context.Context) sleeper { return newTimerSleeper() }
