// Command sluice fetches URL lists, crawls sites and load-tests HTTP
// endpoints with bounded concurrency. See the README for a tour, and
// 'sluice help' for the commands.
package main

import (
	"context"
	"io"
	"os"
)

func main() {
	os.Exit(Main(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// Main runs the command line args and returns the process exit code (see
// exitHelp). The first SIGINT or SIGTERM cancels the run's context; the
// second cuts the grace period short. Tests call Main in-process and
// simulate the first signal by cancelling ctx.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, abort, stop := notifySignals(ctx)
	defer stop()
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, abort: abort}
	return e.execute(ctx, args)
}
