// This file holds sluice load: its flags and its run, the command-line
// face of package load.

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sluicehq/sluice/load"
	"github.com/spf13/cobra"
)

// loadOptions holds sluice load's flags; the engine's own settings go
// straight into cfg.
type loadOptions struct {
	cfg                          load.Config
	headers                      headerFlag
	method, body, targets        string
	stages, threshold, userAgent string
	jsonFile, htmlFile           string
	keepAlive, quiet             bool
	failOn                       failOn
	scale                        scaleOptions
}

func newLoadCmd(e *env) *cobra.Command {
	o := &loadOptions{}
	cmd := &cobra.Command{
		Use:   "load [flags] URL | --targets FILE",
		Short: "Load-test an HTTP endpoint (open or closed model)",
		Long: `Load sends requests to one URL, or to the targets of a file, and prints a
report on standard output.

Closed model (default): -c connections send back to back for -d or -n.
Open model: --rate R or --stages 10s:100,30s:1000,10s:0 releases requests
at planned times; latency counts from the planned time.

A request failed if it got no response or a status of 400 and above. With
--json - (or --html -) the report file goes to standard output alone and the
text report to standard error. On Ctrl+C or SIGTERM the run stops and the
partial report is printed and written.

` + exitHelp,
		Example: `  sluice load -c 50 -d 30s http://127.0.0.1:8080/
  sluice load --rate 2000 -d 1m --html report.html http://127.0.0.1:8080/
  sluice load --stages 30s:500,2m:500,10s:0 \
      --threshold 'p99<200ms,errors<1%' http://127.0.0.1:8080/
  sluice load --targets targets.txt --rate 500 -d 1m --json - | jq .latency_ms`,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			return runLoad(cmd, e, o, args)
		}),
	}
	o.addFlags(cmd)
	cmd.AddCommand(newLoadMergeCmd(e), newLoadWatchCmd(e))
	return cmd
}

func (o *loadOptions) addFlags(cmd *cobra.Command) {
	fs, cfg := cmd.Flags(), &o.cfg
	fs.IntVarP(&cfg.MaxInFlight, "concurrency", "c", load.DefaultMaxInFlight, "connections (and sending workers)")
	fs.Int64VarP(&cfg.Requests, "requests", "n", 0, "closed model: stop after N requests")
	fs.DurationVarP(&cfg.Duration, "duration", "d", 0, "run time (default 10s unless -n or --stages is given)")
	fs.Float64Var(&cfg.Rate, "rate", 0, "open model: requests/s at constant arrival")
	fs.StringVar(&o.stages, "stages", "", "open-model ramp, e.g. 10s:100,30s:1000,10s:0")
	fs.IntVar(&cfg.DropAbove, "max-inflight", 0, "open model: drop and count requests due while N are in flight (default: they wait, and the wait counts)")
	fs.DurationVar(&cfg.Warmup, "warmup", 0, "load for this long before measuring; excluded from the statistics")
	fs.DurationVar(&cfg.Timeout, "timeout", load.DefaultTimeout, "per-request timeout")
	fs.StringVarP(&o.method, "method", "m", "GET", "request method")
	fs.StringVar(&o.body, "body", "", "request body: a string, or @FILE to read it from a file (@- for standard input)")
	fs.StringVar(&o.targets, "targets", "", "file of targets ('METHOD URL' per block, optional 'Key: Value' headers and '@bodyfile'); - for standard input")
	fs.VarP(&o.headers, "header", "H", "request header (repeatable)")
	fs.StringVarP(&o.userAgent, "user-agent", "A", userAgent(), "User-Agent header (an -H User-Agent wins)")
	fs.BoolVar(&o.keepAlive, "keepalive", true, "reuse connections (--keepalive=false opens one per request)")
	fs.BoolVar(&cfg.HTTP2, "http2", false, "use HTTP/2 (h2 over TLS, h2c prior knowledge over http)")
	fs.BoolVarP(&cfg.InsecureSkipVerify, "insecure", "k", false, "skip TLS certificate verification")
	fs.StringVar(&o.jsonFile, "json", "", "write the JSON report (schema 2, mergeable with 'sluice load merge') to this file; - for standard output")
	fs.StringVar(&o.htmlFile, "html", "", "write the self-contained HTML report to this file; - for standard output")
	fs.StringVar(&o.threshold, "threshold", "", "exit 1 unless every condition holds, e.g. 'p99<200ms,errors<1%'")
	fs.BoolVarP(&o.quiet, "quiet", "q", false, "no live line on a terminal")
	addFailOn(fs, &o.failOn)
	o.scale.addFlags(fs)
}

func runLoad(cmd *cobra.Command, e *env, o *loadOptions, args []string) error {
	cfg := &o.cfg
	if err := checkLoadFlags(cmd, cfg); err != nil {
		return err
	}
	if err := o.scale.check(cmd); err != nil {
		return err
	}
	ths, err := o.parseSpecs()
	if err != nil {
		return err
	}
	if len(args) == 1 && !strings.Contains(args[0], "://") {
		// load takes a URL where its subcommands go: a mistyped one
		// would otherwise be only a bad URL.
		if s := suggest(cmd, args[0]); len(s) > 0 {
			return &usageError{msg: fmt.Sprintf("load: unknown command %q for %q (did you mean %s?); a URL starts with http:// or https://",
				args[0], cmd.CommandPath(), strings.Join(s, " or ")), cmd: cmd.CommandPath()}
		}
	}
	targets, err := o.loadTargets(e, args)
	if err != nil {
		return err
	}
	cfg.Targets = targets
	cfg.DisableKeepAlives = !o.keepAlive
	if err := cfg.Validate(); err != nil {
		return usageErrorf("%v", err)
	}
	// Create the output files before the run so a typo fails in a second,
	// not after a ten-minute test.
	text, jsonOut, htmlOut, files, err := o.openOutputs(e)
	defer func() { closeOutputs(files) }()
	if err != nil {
		return err
	}
	if !o.quiet && isTerminal(e.stderr) {
		cfg.OnSecond = func(s load.Second) { fmt.Fprintf(e.stderr, "\r\033[K%s", liveLine(s)) }
	}
	stopMetrics, err := o.scale.startMetrics(e, cfg, o.quiet)
	if err != nil {
		return err
	}
	defer stopMetrics()
	out, verdict, err := o.run(cmd.Context(), e, *cfg, ths)
	if err != nil {
		return err
	}
	if cfg.OnSecond != nil {
		fmt.Fprint(e.stderr, "\r\033[K")
	}
	err = writeOutputs(out, text, jsonOut, htmlOut, files)
	files = nil
	if err != nil {
		return err
	}
	return verdict()
}

// checkLoadFlags refuses the flag values the engine would take another
// way: 0 means the default duration, request count or timeout to
// load.Config, so a -d 0, -n 0 or --timeout 0 written out would run ten
// seconds, or with a ten-second timeout, instead of being refused.
func checkLoadFlags(cmd *cobra.Command, cfg *load.Config) error {
	fs := cmd.Flags()
	errs := []error{
		checkAtLeast1("load", "concurrency", cfg.MaxInFlight),
		checkAtMost("load", "concurrency", cfg.MaxInFlight, load.MaxInFlightLimit),
		checkNotNegative("load", "rate", cfg.Rate),
		checkNotNegative("load", "max-inflight", cfg.DropAbove),
		checkAtMost("load", "max-inflight", cfg.DropAbove, load.MaxInFlightLimit),
		checkPositive("load", "timeout", cfg.Timeout),
	}
	// An empty spec was taken as none: --stages= ran the default closed
	// load for ten seconds.
	for _, name := range []string{"stages", "threshold"} {
		if fs.Changed(name) && strings.TrimSpace(fs.Lookup(name).Value.String()) == "" {
			errs = append(errs, usageErrorf("load: --%s is empty", name))
		}
	}
	if fs.Changed("duration") {
		errs = append(errs, checkPositive("load", "duration", cfg.Duration))
	}
	if fs.Changed("requests") {
		errs = append(errs, checkPositive("load", "requests", cfg.Requests))
	}
	// The engine's own messages for these name its fields, not the flags.
	open := fs.Changed("rate") || fs.Changed("stages")
	switch {
	case fs.Changed("rate") && fs.Changed("stages"):
		errs = append(errs, usageErrorf("load: --rate and --stages do not go together: each stage sets its own rate"))
	case fs.Changed("requests") && open:
		errs = append(errs, usageErrorf("load: -n/--requests counts the requests of the closed model; with --rate or --stages, give -d/--duration"))
	}
	return firstErr(errs...)
}

// parseSpecs parses --threshold and --stages; the stages go into o.cfg.
func (o *loadOptions) parseSpecs() ([]load.Threshold, error) {
	var ths []load.Threshold
	if o.threshold != "" {
		var err error
		if ths, err = load.ParseThresholds(o.threshold); err != nil {
			return nil, usageErrorf("load: --threshold: %s", strings.TrimPrefix(err.Error(), "load: "))
		}
	}
	if o.stages != "" {
		st, err := load.ParseStages(o.stages)
		if err != nil {
			return nil, usageErrorf("load: --stages: %s", strings.TrimPrefix(err.Error(), "load: "))
		}
		o.cfg.Stages = st
	}
	return ths, nil
}

// openOutputs picks the writers of the text, JSON and HTML reports and
// creates the report files. The files it returns, even with an error, are
// the caller's to close.
func (o *loadOptions) openOutputs(e *env) (text, jsonOut, htmlOut io.Writer, files []*os.File, err error) {
	if o.jsonFile == "-" && o.htmlFile == "-" {
		return nil, nil, nil, nil, usageErrorf("load: only one of --json and --html can go to standard output")
	}
	text = e.stdout
	if o.jsonFile == "-" || o.htmlFile == "-" {
		text = e.stderr
	}
	for _, f := range []struct {
		name, flag string
		w          *io.Writer
	}{{o.jsonFile, "json", &jsonOut}, {o.htmlFile, "html", &htmlOut}} {
		switch f.name {
		case "":
		case "-":
			*f.w = e.stdout
		default:
			file, err := os.Create(f.name)
			if err != nil {
				return nil, nil, nil, files, usageErrorf("load: --%s: %v", f.flag, err)
			}
			files = append(files, file)
			*f.w = file
		}
	}
	return text, jsonOut, htmlOut, files, nil
}

// run makes the run, distributed run or search the flags ask for. The
// verdict it returns gives the exit status once the reports are written.
func (o *loadOptions) run(ctx context.Context, e *env, cfg load.Config, ths []load.Threshold) (reporter, func() error, error) {
	if o.scale.findMax != "" {
		return o.scale.search(ctx, e, cfg)
	}
	rep, err := o.scale.runOnce(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	return rep, func() error {
		if rep.Interrupted {
			return &exitError{code: exitInterrupted, err: errors.New("load: interrupted; partial report written")}
		}
		if bad := rep.Check(ths); len(bad) > 0 {
			return &exitError{code: exitFailed, err: fmt.Errorf("load: threshold violated: %s", strings.Join(bad, "; "))}
		}
		if err := nothingCompleted(rep, o.failOn); err != nil {
			return err
		}
		return o.failOn.check("load", rep.Requests, rep.Failed, "request")
	}, nil
}

// nothingCompleted fails a run that sent requests and saw none of them
// end: a server that answers nothing within the run has every request cut
// off in flight at its end (the default timeout is as long as the default
// run), and none of them counts as failed, so every error threshold
// would hold. --fail-on never lets such a run pass.
func nothingCompleted(rep *load.Report, f failOn) error {
	if rep.Requests > 0 || rep.Cancelled == 0 || f == failOnNever {
		return nil
	}
	return &exitError{code: exitFailed, err: fmt.Errorf("load: no request completed in %.2fs: %s cut off in flight at the end (a --timeout shorter than the run counts them as timeouts)",
		rep.Duration, plural(rep.Cancelled, "request"))}
}

// writeOutputs writes out as text, JSON and HTML to the writers that are
// set, and closes files.
func writeOutputs(out reporter, text, jsonOut, htmlOut io.Writer, files []*os.File) error {
	errs := []error{out.WriteText(text)}
	if jsonOut != nil {
		errs = append(errs, out.WriteJSON(jsonOut))
	}
	if htmlOut != nil {
		errs = append(errs, out.WriteHTML(htmlOut))
	}
	for _, f := range files {
		errs = append(errs, f.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return underCommand("load: writing the report", err)
	}
	return nil
}

// commandError is an error of the load package's under a prefix of the
// command's; errors.Is and errors.As still find it.
type commandError struct {
	msg string
	err error
}

func (e *commandError) Error() string { return e.msg }
func (e *commandError) Unwrap() error { return e.err }

// underCommand returns err, an error of the load package's or several
// joined, under prefix, each without the package's "load: " and on one
// line, so that the message names the command once: it read "load:
// writing the report: load: write json: ...".
func underCommand(prefix string, err error) error {
	lines := strings.Split(err.Error(), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimPrefix(l, "load: ")
	}
	return &commandError{msg: prefix + ": " + strings.Join(lines, "; "), err: err}
}

// closeOutputs closes and removes report files of a run that failed.
func closeOutputs(files []*os.File) {
	for _, f := range files {
		_ = f.Close()
		_ = os.Remove(f.Name())
	}
}

// loadTargets builds the target list from --targets or the URL argument.
func (o *loadOptions) loadTargets(e *env, args []string) ([]load.Target, error) {
	h := o.headers.Header().Clone()
	if h == nil {
		h = http.Header{}
	}
	if h.Get("User-Agent") == "" {
		h.Set("User-Agent", o.userAgent)
	}
	if o.targets != "" {
		switch {
		case len(args) > 0:
			return nil, usageErrorf("load: give a URL or --targets, not both")
		case o.body != "" || !strings.EqualFold(o.method, "GET"):
			// They would be dropped: each target has its own.
			return nil, usageErrorf("load: --body and --method go with a URL; with --targets, each target gives its method and @bodyfile")
		}
		return o.readTargets(e, h)
	}
	switch len(args) {
	case 0:
		return nil, &usageError{msg: "load: no URL given", cmd: "sluice load"}
	case 1:
	default:
		return nil, usageErrorf("load: one URL expected, got %d (use --targets for several)", len(args))
	}
	if err := checkURL(args[0]); err != nil {
		return nil, usageErrorf("load: %v", err)
	}
	t := load.Target{Method: strings.ToUpper(o.method), URL: args[0], Header: h}
	switch {
	case o.body == "@-":
		b, err := io.ReadAll(e.stdin)
		if err != nil {
			return nil, fmt.Errorf("load: --body: %w", err)
		}
		t.Body = b
	case strings.HasPrefix(o.body, "@"):
		b, err := os.ReadFile(o.body[1:])
		if err != nil {
			return nil, usageErrorf("load: --body: %v", err)
		}
		t.Body = b
	case o.body != "":
		t.Body = []byte(o.body)
	}
	return []load.Target{t}, nil
}

// readTargets parses the --targets file; its headers win over -H and -A.
func (o *loadOptions) readTargets(e *env, h http.Header) ([]load.Target, error) {
	r, dir := e.stdin, "."
	if o.targets != "-" {
		f, err := os.Open(o.targets)
		if err != nil {
			return nil, usageErrorf("load: --targets: %v", err)
		}
		defer f.Close()
		r, dir = f, filepath.Dir(o.targets)
	}
	ts, err := load.ParseTargets(r, func(name string) ([]byte, error) {
		if !filepath.IsAbs(name) {
			name = filepath.Join(dir, name)
		}
		return os.ReadFile(name)
	})
	if err != nil {
		return nil, usageErrorf("load: --targets: %s", strings.TrimPrefix(err.Error(), "load: "))
	}
	for i := range ts {
		if err := checkURL(ts[i].URL); err != nil {
			return nil, usageErrorf("load: --targets: %v", err)
		}
		for k, vs := range h {
			if ts[i].Header == nil {
				ts[i].Header = map[string][]string{}
			}
			if _, set := ts[i].Header[k]; !set {
				ts[i].Header[k] = vs
			}
		}
	}
	return ts, nil
}

// liveLine renders one second for the terminal; the figures are the same
// rows that the final report lists.
func liveLine(s load.Second) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%4ds  sent %d", s.T+1, s.Sent)
	if s.Target > 0 {
		fmt.Fprintf(&b, "/%d", s.Target)
	}
	fmt.Fprintf(&b, "  done %d  errors %d", s.Done, s.Errors)
	if s.Dropped > 0 {
		fmt.Fprintf(&b, "  dropped %d", s.Dropped)
	}
	fmt.Fprintf(&b, "  p50 %s  p99 %s  max %s", ms(s.P50), ms(s.P99), ms(s.Max))
	return b.String()
}

func ms(v float64) string {
	return time.Duration(v * float64(time.Millisecond)).Round(10 * time.Microsecond).String()
}
