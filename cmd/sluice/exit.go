// This file defines sluice's exit codes, the errors that carry them and the
// --fail-on rule that decides when record errors fail a run.

package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The exit codes, the same for every subcommand.
const (
	exitOK          = 0   // every record a result, every --threshold held
	exitFailed      = 1   // records are errors (see --fail-on), a threshold was violated, the output failed
	exitUsage       = 2   // bad command line
	exitInterrupted = 130 // SIGINT or SIGTERM; the records so far are written
)

// exitHelp documents the exit codes in every command's help.
const exitHelp = `Exit status:
  0    all good: no record is an error, every --threshold held
  1    some records are errors (--fail-on all or never relaxes this),
       a --threshold was violated, or the output could not be written
  2    bad usage: unknown command or flag, bad flag value, a URL load
       cannot use (fetch and crawl give a bad URL an error record: 1)
  130  interrupted by SIGINT or SIGTERM; the records so far are written`

// usageError marks a bad command line; it maps to exit code 2. cmd, when
// set, names the command whose --help the message points to.
type usageError struct {
	msg string
	cmd string
}

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// exitError carries an explicit exit code together with its message.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// errInterrupted is returned by a run stopped by a signal.
func errInterrupted(cmd string) error {
	return &exitError{code: exitInterrupted, err: fmt.Errorf("%s: interrupted", cmd)}
}

// runError marks an error returned by a subcommand's run, as opposed to one
// cobra returned before the run began (an unknown command, a wrong number
// of arguments), which is a usage error.
type runError struct{ err error }

func (e *runError) Error() string { return e.err.Error() }
func (e *runError) Unwrap() error { return e.err }

// runE adapts a subcommand's run to cobra, marking its errors as its own.
func runE(run func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := run(cmd, args); err != nil {
			return &runError{err}
		}
		return nil
	}
}

func exitCode(err error) int {
	var ue *usageError
	var ee *exitError
	var re *runError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, pflag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		return exitUsage
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &re):
		return exitFailed
	}
	return exitUsage // cobra refused the command line
}

// exactArgs is cobra.ExactArgs with sluice's wording.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return &usageError{msg: fmt.Sprintf("%swant %d argument(s), got %d", msgPrefix(cmd), n, len(args)), cmd: cmd.CommandPath()}
		}
		return nil
	}
}

// minArgs is cobra.MinimumNArgs with sluice's wording and a pointer to the
// command's help.
func minArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < n {
			return &usageError{msg: fmt.Sprintf("%swant at least %d argument(s), got %d", msgPrefix(cmd), n, len(args)), cmd: cmd.CommandPath()}
		}
		return nil
	}
}

// groupRunE is the run of a command that only groups subcommands (sluice
// queue). Without one, cobra shows the help and exits 0 whatever follows,
// so a mistyped subcommand seemed to work; here it is a usage error, with
// the suggestions cobra gives at the top level.
func groupRunE(e *env) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			cmd.SetOut(e.stderr)
			_ = cmd.Usage()
			return usageErrorf("%sno subcommand given", msgPrefix(cmd))
		}
		msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
		if s := suggest(cmd, args[0]); len(s) > 0 {
			msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t") + "\n"
		}
		return &usageError{msg: msg, cmd: cmd.CommandPath()}
	}
}

// suggest returns the subcommands of cmd that typed may be a misspelling
// of, as cobra suggests at the top level (within two edits, or a prefix).
func suggest(cmd *cobra.Command, typed string) []string {
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2 // cobra's own default, set only for the root
	}
	return cmd.SuggestionsFor(typed)
}

// failOn is the --fail-on rule: which record errors make the exit code 1.
type failOn string

const (
	failOnAny   failOn = "any"   // one record error fails the run
	failOnAll   failOn = "all"   // the run fails only if no record is a result
	failOnNever failOn = "never" // record errors never fail the run
)

func (f *failOn) String() string { return string(*f) }
func (f *failOn) Type() string   { return "any|all|never" }
func (f *failOn) Set(s string) error {
	switch failOn(s) {
	case failOnAny, failOnAll, failOnNever:
		*f = failOn(s)
		return nil
	}
	return fmt.Errorf("want any, all or never")
}

// addFailOn defines --fail-on on fs, defaulting to any.
func addFailOn(fs *pflag.FlagSet, f *failOn) {
	*f = failOnAny
	fs.Var(f, "fail-on", "record errors that make the exit status 1: any, all (only if every record is an error) or never")
}

// check returns the error for a run of total records of which errs are
// errors, or nil if the rule lets it pass. what names the records
// ("URLs", "pages", "requests").
func (f failOn) check(cmd string, total, errs int64, what string) error {
	fail := false
	switch f {
	case failOnAny:
		fail = errs > 0
	case failOnAll:
		fail = errs > 0 && errs == total
	}
	if !fail {
		return nil
	}
	return &exitError{code: exitFailed, err: fmt.Errorf("%s: %d of %s failed", cmd, errs, plural(total, what))}
}

// checkResumed is check over a run's records and those the runs it
// resumed wrote to the same file (earlier of them, earlierErrs errors):
// the file is the outcome of them all. Its error says how many of the
// errors are theirs.
func (f failOn) checkResumed(cmd string, total, errs, earlier, earlierErrs int64, what string) error {
	err := f.check(cmd, total+earlier, errs+earlierErrs, what)
	if err == nil || earlierErrs == 0 {
		return err
	}
	return &exitError{code: exitFailed, err: fmt.Errorf("%w, %d of them recorded by the runs this one resumed", err, earlierErrs)}
}
