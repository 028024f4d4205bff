// sluice load: the command-line face of package load.

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sluicehq/sluice/load"
	"golang.org/x/term"
)

const loadUsage = `usage: sluice load [flags] URL
       sluice load [flags] --targets FILE

Closed model (default): -c connections send back to back for -d or -n.
Open model: --rate R or --stages 10s:100,30s:1000,10s:0 releases requests
at planned times; latency counts from the planned time.

flags:`

const loadExamples = `
examples:
  sluice load -c 50 -d 30s http://127.0.0.1:8080/
  sluice load --rate 2000 -d 1m --html report.html http://127.0.0.1:8080/
  sluice load --stages 30s:500,2m:500,10s:0 --threshold 'p99<200ms,errors<1%' http://127.0.0.1:8080/
  sluice load --targets targets.txt --rate 500 -d 1m --json report.json

Exit status: 0 done, 1 a --threshold was violated, 2 bad usage, 130 interrupted
(the partial report is still printed and written).`

func runLoad(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		cfg         load.Config
		headers     headerFlag
		method      = fs.String("m", "GET", "request `method`")
		body        = fs.String("body", "", "request body: a `STRING`, or @FILE to read it from a file")
		targetsFile = fs.String("targets", "", "`file` of targets: 'METHOD URL' per block, optional 'Key: Value' headers and '@bodyfile'")
		stages      = fs.String("stages", "", "open-model ramp `list`, e.g. 10s:100,30s:1000,10s:0")
		keepAlive   = fs.Bool("keepalive", true, "reuse connections (--keepalive=false opens one per request)")
		jsonFile    = fs.String("json", "", "write the JSON report (schema 1) to `file`")
		htmlFile    = fs.String("html", "", "write the self-contained HTML report to `file`")
		threshold   = fs.String("threshold", "", "fail with exit code 1 unless every condition holds, e.g. 'p99<200ms,errors<1%'")
		quiet       = fs.Bool("q", false, "no live line on a terminal")
	)
	fs.IntVar(&cfg.Connections, "c", load.DefaultConnections, "`connections` (and sending workers)")
	fs.Int64Var(&cfg.Requests, "n", 0, "closed model: stop after `N` requests")
	fs.DurationVar(&cfg.Duration, "d", 0, "run `duration` (default 10s unless -n or --stages is given)")
	fs.Float64Var(&cfg.Rate, "rate", 0, "open model: `requests/s` at constant arrival")
	fs.IntVar(&cfg.MaxInFlight, "max-inflight", 0, "open model: drop and count requests due while `N` are in flight (default: they wait, and the wait counts)")
	fs.DurationVar(&cfg.Warmup, "warmup", 0, "load for `duration` before measuring; excluded from the statistics")
	fs.DurationVar(&cfg.Timeout, "timeout", load.DefaultTimeout, "per-request `timeout`")
	fs.BoolVar(&cfg.HTTP2, "http2", false, "use HTTP/2 (h2 over TLS, h2c prior knowledge over http)")
	fs.BoolVar(&cfg.InsecureSkipVerify, "k", false, "skip TLS certificate verification")
	fs.Var(&headers, "H", "request header 'Key: Value' (repeatable)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, loadUsage)
		fs.PrintDefaults()
		fmt.Fprintln(stderr, loadExamples)
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}

	var ths []load.Threshold
	if *threshold != "" {
		var err error
		if ths, err = load.ParseThresholds(*threshold); err != nil {
			return usageErrorf("%v", err)
		}
	}
	if *stages != "" {
		st, err := load.ParseStages(*stages)
		if err != nil {
			return usageErrorf("%v", err)
		}
		cfg.Stages = st
	}
	targets, err := loadTargets(fs, *targetsFile, *method, *body, headers.Header())
	if err != nil {
		return err
	}
	cfg.Targets = targets
	cfg.DisableKeepAlives = !*keepAlive
	if err := cfg.Validate(); err != nil {
		return usageErrorf("%v", err)
	}
	// Create the output files before the run so a typo fails in a second,
	// not after a ten-minute test.
	jsonOut, err := createOutput(*jsonFile)
	if err != nil {
		return err
	}
	htmlOut, err := createOutput(*htmlFile)
	if err != nil {
		closeOutput(jsonOut)
		return err
	}

	if f, ok := stderr.(*os.File); ok && !*quiet && term.IsTerminal(int(f.Fd())) {
		cfg.OnSecond = func(s load.Second) {
			fmt.Fprintf(stderr, "\r\033[K%s", liveLine(s))
		}
	}
	rep, err := load.Run(ctx, cfg)
	if err != nil {
		closeOutput(jsonOut)
		closeOutput(htmlOut)
		return err
	}
	if cfg.OnSecond != nil {
		fmt.Fprint(stderr, "\r\033[K")
	}
	var errs []error
	errs = append(errs, rep.WriteText(stdout))
	if jsonOut != nil {
		errs = append(errs, rep.WriteJSON(jsonOut), jsonOut.Close())
	}
	if htmlOut != nil {
		errs = append(errs, rep.WriteHTML(htmlOut), htmlOut.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("load: writing the report: %w", err)
	}
	if rep.Interrupted {
		return &exitError{code: 130, err: errors.New("load: interrupted; partial report written")}
	}
	if bad := rep.Check(ths); len(bad) > 0 {
		return &exitError{code: 1, err: fmt.Errorf("load: threshold violated: %s", strings.Join(bad, "; "))}
	}
	return nil
}

// loadTargets builds the target list from --targets or the URL argument.
func loadTargets(fs *flag.FlagSet, file, method, body string, h map[string][]string) ([]load.Target, error) {
	if file != "" {
		if fs.NArg() > 0 {
			return nil, usageErrorf("load: give a URL or --targets, not both")
		}
		f, err := os.Open(file)
		if err != nil {
			return nil, usageErrorf("load: targets: %v", err)
		}
		defer f.Close()
		dir := filepath.Dir(file)
		ts, err := load.ParseTargets(f, func(name string) ([]byte, error) {
			if !filepath.IsAbs(name) {
				name = filepath.Join(dir, name)
			}
			return os.ReadFile(name)
		})
		if err != nil {
			return nil, usageErrorf("%v", err)
		}
		for i := range ts {
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
	switch fs.NArg() {
	case 0:
		fs.Usage()
		return nil, usageErrorf("load: no URL given")
	case 1:
	default:
		return nil, usageErrorf("load: one URL expected, got %d (use --targets for several)", fs.NArg())
	}
	t := load.Target{Method: strings.ToUpper(method), URL: fs.Arg(0), Header: h}
	switch {
	case strings.HasPrefix(body, "@"):
		b, err := os.ReadFile(body[1:])
		if err != nil {
			return nil, usageErrorf("load: body: %v", err)
		}
		t.Body = b
	case body != "":
		t.Body = []byte(body)
	}
	return []load.Target{t}, nil
}

func createOutput(name string) (*os.File, error) {
	if name == "" {
		return nil, nil
	}
	f, err := os.Create(name)
	if err != nil {
		return nil, usageErrorf("load: %v", err)
	}
	return f, nil
}

func closeOutput(f *os.File) {
	if f != nil {
		name := f.Name()
		_ = f.Close()
		_ = os.Remove(name)
	}
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
