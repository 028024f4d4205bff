// Command sluice fetches URL lists, crawls sites and load-tests HTTP
// endpoints with bounded concurrency. See the README for a tour.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// Main runs the command line args and returns the process exit code:
// 0 on success, 1 on failure (including a violated load threshold),
// 2 on a usage error. Tests call it in-process.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	err := run(ctx, args, stdin, stdout, stderr)
	if err == nil {
		return 0
	}
	if !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(stderr, "sluice:", err)
	}
	return exitCode(err)
}

// commands maps each subcommand to its runner; each lives in its own file.
var commands = map[string]func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error{
	"fetch": runFetch,
	"crawl": runCrawl,
	"load":  runLoad,
	"demo":  runDemo,
}

const usage = `usage: sluice <command> [flags]

commands:
  fetch   fetch a list of URLs concurrently, one JSON line per URL
  crawl   crawl sites from seed URLs, one JSON line per page
  load    load-test an HTTP endpoint (open or closed model)
  demo    crawl an embedded synthetic site on loopback (no network needed)

Run 'sluice <command> -h' for the flags of a command.`

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return usageErrorf("no command given")
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintln(stderr, usage)
		return usageErrorf("unknown command %q", args[0])
	}
	return cmd(ctx, args[1:], stdin, stdout, stderr)
}

// usageError marks a bad command line; it maps to exit code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// exitError carries an explicit exit code (for example 1 for a violated
// load threshold) together with its message.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func exitCode(err error) int {
	var ue *usageError
	var ee *exitError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		return 2
	case errors.As(err, &ee):
		return ee.code
	}
	return 1
}

// parseFlags parses args with fs, turning flag errors into usage errors.
// The FlagSet must use flag.ContinueOnError.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{msg: err.Error()}
	}
	return nil
}
