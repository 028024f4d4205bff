// This file holds sluice load merge and sluice load watch: one report from
// several, and the merged view of a distributed run.

package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/sluicehq/sluice/load"
	"github.com/spf13/cobra"
)

// reportFiles holds the -o/--json and --html outputs of merge and watch.
type reportFiles struct {
	jsonFile, htmlFile string
	jsonFlag           string // -o (merge) or --json (watch), for errors
}

func (r *reportFiles) addFlags(cmd *cobra.Command, jsonName, jsonShort string) {
	r.jsonFlag = "--" + jsonName
	if jsonShort != "" {
		r.jsonFlag = "-" + jsonShort
	}
	cmd.Flags().StringVarP(&r.jsonFile, jsonName, jsonShort, "", "write the merged JSON report to this file; - for standard output")
	cmd.Flags().StringVar(&r.htmlFile, "html", "", "write the merged self-contained HTML report to this file; - for standard output")
}

// reportOutputs are the writers of a merged report, opened by
// reportFiles.open.
type reportOutputs struct {
	cmd      string
	text     io.Writer
	jsonW    io.Writer
	htmlW    io.Writer
	closeFns []func() error
}

// open creates the files asked for before the report exists, so that one
// that cannot be created fails the command at once: before a merge prints
// anything, before a watch waits for its run to end.
func (r *reportFiles) open(cmd *cobra.Command, e *env) (*reportOutputs, error) {
	o := &reportOutputs{cmd: cmdPath(cmd), text: e.stdout}
	if r.jsonFile == "-" && r.htmlFile == "-" {
		return nil, usageErrorf("%s: only one of %s and --html can go to standard output", o.cmd, r.jsonFlag)
	}
	if r.jsonFile == "-" || r.htmlFile == "-" {
		o.text = e.stderr
	}
	for _, f := range []struct {
		name, flag string
		w          *io.Writer
	}{{r.jsonFile, r.jsonFlag, &o.jsonW}, {r.htmlFile, "--html", &o.htmlW}} {
		if f.name == "" {
			continue
		}
		w, closeFn, err := e.output(f.name, o.cmd+": "+f.flag)
		if err != nil {
			o.close()
			return nil, err
		}
		*f.w = w
		o.closeFns = append(o.closeFns, closeFn)
	}
	return o, nil
}

// write writes rep as text, and as JSON and HTML to the files opened, and
// closes them.
func (o *reportOutputs) write(rep *load.Report) error {
	errs := []error{rep.WriteText(o.text)}
	if o.jsonW != nil {
		errs = append(errs, rep.WriteJSON(o.jsonW))
	}
	if o.htmlW != nil {
		errs = append(errs, rep.WriteHTML(o.htmlW))
	}
	errs = append(errs, o.close())
	if err := errors.Join(errs...); err != nil {
		return underCommand(o.cmd+": writing the report", err)
	}
	return nil
}

// close closes the files opened; it may be called more than once.
func (o *reportOutputs) close() error {
	var errs []error
	for _, c := range o.closeFns {
		errs = append(errs, c())
	}
	o.closeFns = nil
	return errors.Join(errs...)
}

func newLoadMergeCmd(e *env) *cobra.Command {
	var out reportFiles
	cmd := &cobra.Command{
		Use:   "merge [flags] REPORT.json...",
		Short: "Merge JSON reports of load runs exactly",
		Long: `Merge combines JSON reports written by 'sluice load --json' (schema 2), or
by earlier merges, as if one client had made every request: counts add,
percentiles come from the merged HDR histograms, per-second rows line up
on wall-clock time, and targets combine by method and URL. The merged text
report goes to standard output.

Reports of schema 1 carry no histograms and cannot be merged exactly; they
are refused, as are corrupt files.

` + exitHelp,
		Example: `  sluice load merge -o all.json --html all.html a.json b.json c.json`,
		Args:    minArgs(1),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			// The reports are read before the outputs are created: -o
			// may name one of them, to add a run to a running total.
			reps := make([]*load.Report, 0, len(args))
			for _, name := range args {
				rep, err := readReport(name)
				if err != nil {
					return err
				}
				reps = append(reps, rep)
			}
			outs, err := out.open(cmd, e)
			if err != nil {
				return err
			}
			defer outs.close()
			m, err := load.Merge(reps...)
			if err != nil {
				return usageErrorf("load merge: %s", strings.TrimPrefix(err.Error(), "load: "))
			}
			return outs.write(m)
		}),
	}
	out.addFlags(cmd, "output", "o")
	return cmd
}

// readReport reads one report for merging; every problem is bad input.
func readReport(name string) (*load.Report, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, usageErrorf("load merge: %v", err)
	}
	defer f.Close()
	rep, err := load.ReadReport(f)
	if err != nil {
		return nil, usageErrorf("load merge: %s: %s", name, strings.TrimPrefix(err.Error(), "load: "))
	}
	return rep, nil
}

func newLoadWatchCmd(e *env) *cobra.Command {
	var (
		out           reportFiles
		redisURL, run string
		quiet         bool
	)
	cmd := &cobra.Command{
		Use:   "watch --redis URL --run NAME",
		Short: "Follow a distributed load run and write its merged report",
		Long: `Watch follows the distributed run NAME ('sluice load --redis URL --run NAME
--workers N' on each worker) without sending load: it waits for the run to
start, shows the merged live line on a terminal, and prints the merged
report once every worker has finished or died.

` + exitHelp,
		Example: `  sluice load watch --redis redis://10.0.0.5:6379/0 --run nightly \
      --json nightly.json`,
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			if redisURL == "" || run == "" {
				return usageErrorf("load watch: --redis and --run are required")
			}
			outs, err := out.open(cmd, e)
			if err != nil {
				return err
			}
			defer outs.close()
			rdb, err := redisClient(redisURL)
			if err != nil {
				return err
			}
			defer rdb.Close()
			var onSecond func(load.Second)
			if !quiet && isTerminal(e.stderr) {
				// Until the run starts, or for ever under a mistyped
				// --run, the line says what it waits for.
				fmt.Fprintf(e.stderr, "load watch: waiting for run %q to start", run)
				onSecond = func(s load.Second) { fmt.Fprintf(e.stderr, "\r\033[K%s", liveLine(s)) }
			}
			rep, err := load.Watch(cmd.Context(), rdb, run, 0, onSecond)
			if onSecond != nil {
				fmt.Fprint(e.stderr, "\r\033[K")
			}
			if err != nil {
				if cmd.Context().Err() != nil {
					return errInterrupted("load watch")
				}
				return err
			}
			return outs.write(rep)
		}),
	}
	cmd.Flags().StringVar(&redisURL, "redis", "", "the Redis the workers meet in, e.g. redis://127.0.0.1:6379/0")
	cmd.Flags().StringVar(&run, "run", "", "the run's name")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "no live line on a terminal")
	out.addFlags(cmd, "json", "")
	return cmd
}
