// This file holds sluice fetch: its flags and its run.

package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
)

// fetchOptions holds sluice fetch's flags.
type fetchOptions struct {
	http    httpFlags
	out     outputFlags
	keep    keepFlags
	client  *clientOptions // resolved from http
	inputs  []string
	follow  bool
	ordered bool
	grace   time.Duration
	resume  bool
	done    recorded // with --resume: the records already written
	failed  recorded // with --resume: those of them that are errors
	dropped int      // with --resume: records of lines a stop cut short, dropped

	redis     redisFlags
	queue     string        // --queue: take URLs from this queue on Redis
	claimIdle time.Duration // --claim-idle
}

func newFetchCmd(e *env) *cobra.Command {
	o := &fetchOptions{}
	cmd := &cobra.Command{
		Use:   "fetch [flags] [URL...]",
		Short: "Fetch a list of URLs concurrently, one JSON line per URL",
		Long: `Fetch fetches each URL once and writes one JSON line per URL:
  {"url","final_url","status","bytes","truncated","duration_ms","attempts",
   "error","error_kind"}
plus "saved" with --save DIR and "headers", "body" (or "body_base64") with
--include.
duration_ms runs from the start of the first attempt to the end of the last,
retries and their backoff included.

URLs come from the arguments, from -i files, or from standard input when
neither is given. Blank lines and lines starting with # in the input are
skipped; an argument always gets its record. A URL
that cannot be fetched (a bad URL, a network error, a timeout) gets a record
with its error; an HTTP status of 400 and above is a response, not an error.
On Ctrl+C or SIGTERM intake stops, requests already started get --grace to
finish (a second signal cancels them), and every line read gets its record.

With --resume and -o FILE, the records in FILE are read first (a last line
torn by a kill is cut off, and the records of lines a stop cut short,
"cancelled", are dropped), the input lines they cover are skipped (a line
given twice needs two), and the rest are fetched and appended: a fetch cut
short, however it stopped, is run again with --resume added. Its exit status
(--fail-on) counts the errors among the records of the lines it skipped, as
well as its own.

With --redis and --queue, fetch is a worker of a queue filled by sluice queue
push: any number of workers, on any machines, take its URLs through one Redis
Streams consumer group, write their records (each naming its "worker") and
acknowledge each URL once its record is written. The URLs a worker held when
it died are taken over by another after --claim-idle, so a URL may be
fetched twice, never lost; so are those a worker stopped by Ctrl+C had not
fetched in full, which get no record from it. A worker exits when the queue
is drained, or with --follow waits for more until interrupted; without
--follow, a queue nothing was pushed to is refused (exit 2).

` + exitHelp,
		Example: `  sluice fetch -c 100 --per-host 4 --rate 50 -i urls.txt -o out.jsonl
  sluice fetch --resume -i urls.txt -o out.jsonl  # after a stop: the rest
  tail -f new-urls.txt | sluice fetch --ordered
  sluice fetch --follow -i queue.txt
  sluice fetch --redis redis://10.0.0.5:6379/0 --queue jobs -c 50 \
      -o out-$(hostname).jsonl`,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			return runFetch(cmd, e, o, args)
		}),
	}
	fs := cmd.Flags()
	o.http.add(fs)
	o.out.add(fs, "records")
	o.keep.add(fs)
	fs.StringArrayVarP(&o.inputs, "input", "i", nil, "file of URLs, one per line; - for standard input (repeatable)")
	fs.BoolVar(&o.follow, "follow", false, "keep reading -i files as they grow, until interrupted")
	fs.BoolVar(&o.ordered, "ordered", false, "write records in input order instead of completion order")
	fs.DurationVar(&o.grace, "grace", 10*time.Second, "time requests in flight get to finish after Ctrl+C")
	fs.BoolVar(&o.resume, "resume", false, "append to the -o file, skipping the input lines it has records for (a run cut short is run again with this flag)")
	o.redis.add(fs)
	fs.StringVar(&o.queue, "queue", "", "with --redis: take URLs from this queue (see sluice queue push)")
	fs.DurationVar(&o.claimIdle, "claim-idle", time.Minute, "with --queue: take over the URLs of a worker silent this long (a live one renews its own every third of it)")
	return cmd
}

func runFetch(cmd *cobra.Command, e *env, o *fetchOptions, args []string) error {
	if err := errors.Join(o.http.check("fetch"), checkNotNegative("fetch", "grace", o.grace), o.keep.check("fetch")); err != nil {
		return err
	}
	client, err := o.http.client("fetch")
	if err != nil {
		return err
	}
	o.client = client
	switch {
	case o.redis.on() != (o.queue != ""):
		return usageErrorf("fetch: --redis and --queue go together")
	case o.queue != "" && (len(args) > 0 || len(o.inputs) > 0):
		return usageErrorf("fetch: --queue takes its URLs from the queue, not from arguments or -i")
	case o.queue != "" && o.resume:
		// The queue hands a URL out until a record acknowledges it: one
		// skipped for its record in the file went back to the queue after
		// --claim-idle, and was fetched and recorded again.
		return usageErrorf("fetch: --resume does not go with --queue: the queue keeps each URL until its record is written, and hands the URLs of a worker that died to the others")
	case o.queue != "" && o.claimIdle < time.Second:
		return usageErrorf("fetch: --claim-idle must be at least 1s, got %v", o.claimIdle)
	case o.follow && len(o.inputs) == 0 && o.queue == "":
		return usageErrorf("fetch: --follow needs -i FILE or --queue")
	}
	for _, name := range o.inputs {
		if name == "-" {
			continue
		}
		if err := checkInput("fetch", name); err != nil {
			return err
		}
	}
	if err := checkNotInput(o.out.output, o.inputs); err != nil {
		return err
	}
	out, closeOut, err := o.openOutput(e)
	if err != nil {
		return err
	}
	defer closeOut()
	if o.queue == "" && len(args) == 0 && len(o.inputs) == 0 {
		hintStdin(e, "fetch")
	}
	sum, err := fetchAll(cmd.Context(), e, o, args, out)
	if err != nil {
		return err
	}
	if cerr := closeOut(); cerr != nil {
		return fmt.Errorf("fetch: writing records: %w", cerr)
	}
	if !o.out.quiet {
		sum.print(e.stderr)
		if o.resume {
			fmt.Fprintf(e.stderr, "  resumed: %s already recorded", plural(int64(sum.resumed), "line"))
			if sum.resumedErrs > 0 {
				fmt.Fprintf(e.stderr, " (%d as errors)", sum.resumedErrs)
			}
			fmt.Fprint(e.stderr, ", skipped")
			if o.dropped > 0 {
				fmt.Fprintf(e.stderr, "; the records of %s a stop cut short dropped, to fetch them again", plural(int64(o.dropped), "line"))
			}
			fmt.Fprintln(e.stderr)
		}
	}
	if sum.interrupted {
		return errInterrupted("fetch")
	}
	return sum.failOn(o.out.failOn)
}

// failOn applies the --fail-on rule to the records of the run and, with
// --resume, to those of the lines the runs it resumes recorded: the file
// is the outcome of them all, and a run that only finished it exited 0
// whatever errors they had recorded.
func (s *fetchSummary) failOn(f failOn) error {
	return f.checkResumed("fetch", int64(s.records), int64(s.errs), int64(s.resumed), int64(s.resumedErrs), "URL")
}

// openOutput opens the records' destination: with --resume, the -o file
// for appending, after reading back the records it holds.
func (o *fetchOptions) openOutput(e *env) (io.Writer, func() error, error) {
	if !o.resume {
		return e.output(o.out.output, "fetch: -o")
	}
	if o.out.output == "" || o.out.output == "-" {
		return nil, nil, usageErrorf("fetch: --resume needs -o FILE: it reads back the records written there")
	}
	done, failed, dropped, f, err := openResume(o.out.output)
	if err != nil {
		return nil, nil, err
	}
	o.done, o.failed, o.dropped = done, failed, dropped
	return f, f.Close, nil
}

// checkNotInput refuses an output file that is also an input: creating it
// would empty it before it is read.
func checkNotInput(output string, inputs []string) error {
	if output == "" || output == "-" {
		return nil
	}
	ofi, err := os.Stat(output)
	if err != nil {
		return nil // a new file is no input
	}
	for _, name := range inputs {
		if name == "-" {
			continue
		}
		if ifi, err := os.Stat(name); err == nil && os.SameFile(ofi, ifi) {
			return usageErrorf("fetch: --output %s is also an input (-i %s); writing it would empty it before it is read", output, name)
		}
	}
	return nil
}
