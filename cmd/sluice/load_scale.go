// This file holds sluice load's flags for runs beyond one plain run:
// --find-max, --metrics and distributed runs on Redis (--redis, --run,
// --workers).

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sluicehq/sluice/load"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type scaleOptions struct {
	findMax          string
	step             time.Duration
	minRate, maxRate float64
	metricsAddr      string
	redisURL, run    string
	workers          int
}

func (o *scaleOptions) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.findMax, "find-max", "", "search for the highest rate meeting an SLO, e.g. 'p99<50ms,errors<0.1%'")
	fs.DurationVar(&o.step, "step", load.DefaultStep, "--find-max: how long each rate is held")
	fs.Float64Var(&o.minRate, "min", load.DefaultMinRate, "--find-max: first rate tried, requests/s")
	fs.Float64Var(&o.maxRate, "max", 0, "--find-max: highest rate tried, requests/s (default: no cap)")
	fs.StringVar(&o.metricsAddr, "metrics", "", "serve Prometheus/OpenMetrics metrics at http://ADDR/metrics during the run")
	fs.StringVar(&o.redisURL, "redis", "", "distributed run: meet the other workers in this Redis, e.g. redis://127.0.0.1:6379/0")
	fs.StringVar(&o.run, "run", "", "distributed run: its name, the same on every worker (fresh for each run)")
	fs.IntVar(&o.workers, "workers", 0, "distributed run: how many workers share the load")
}

// check refuses flags that only make sense together.
func (o *scaleOptions) check(cmd *cobra.Command) error {
	changed := cmd.Flags().Changed
	switch {
	case o.findMax == "" && (changed("step") || changed("min") || changed("max")):
		return usageErrorf("load: --step, --min and --max go with --find-max")
	case o.findMax != "" && changed("threshold"):
		return usageErrorf("load: --find-max takes its conditions as the SLO; drop --threshold")
	case o.findMax != "" && o.redisURL != "":
		return usageErrorf("load: --find-max runs on one machine; drop --redis")
	case o.redisURL == "" && (o.run != "" || o.workers != 0):
		return usageErrorf("load: --run and --workers go with --redis")
	case o.redisURL != "" && (o.run == "" || o.workers < 1):
		return usageErrorf("load: --redis needs --run NAME and --workers N (at least 1)")
	}
	// load.Search takes 0 as its default step and minimum: written out,
	// they would hold each rate ten seconds, or start at 10 req/s.
	return firstErr(
		checkPositive("load", "step", o.step),
		checkPositive("load", "min", o.minRate),
		checkNotNegative("load", "max", o.maxRate),
	)
}

// redisClient opens the client --redis names.
func redisClient(rawURL string) (*redis.Client, error) {
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, usageErrorf("load: --redis: %v", err)
	}
	return redis.NewClient(opts), nil
}

// startMetrics serves --metrics, if set, and feeds it from cfg. The
// returned function stops the server.
func (o *scaleOptions) startMetrics(e *env, cfg *load.Config, quiet bool) (func(), error) {
	if o.metricsAddr == "" {
		return func() {}, nil
	}
	l, err := net.Listen("tcp", o.metricsAddr)
	if err != nil {
		return nil, usageErrorf("load: --metrics: %v", err)
	}
	m := load.NewMetrics()
	cfg.Metrics = m
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l)
	}()
	if !quiet {
		fmt.Fprintf(e.stderr, "metrics on http://%s/metrics\n", l.Addr())
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	}, nil
}

// reporter is what a run or a search writes out.
type reporter interface {
	WriteText(io.Writer) error
	WriteJSON(io.Writer) error
	WriteHTML(io.Writer) error
}

// search runs --find-max; the verdict decides the exit code.
func (o *scaleOptions) search(ctx context.Context, e *env, cfg load.Config) (reporter, func() error, error) {
	slo, err := load.ParseSLO(o.findMax)
	if err != nil {
		return nil, nil, usageErrorf("load: --find-max: %s", strings.TrimPrefix(err.Error(), "load: "))
	}
	s := load.Search{SLO: slo, Step: o.step, Min: o.minRate, Max: o.maxRate}
	if cfg.OnSecond != nil { // a terminal: a line per step too
		s.OnStep = func(st load.Step) {
			fmt.Fprintf(e.stderr, "\r\033[Kstep %.1f req/s: achieved %.1f, p99 %s, pass %v\n", st.Rate, st.Achieved, ms(st.P99), st.Pass)
		}
	}
	res, err := load.FindMax(ctx, cfg, s)
	if err != nil {
		return nil, nil, usageErrorf("%v", err)
	}
	return res, func() error {
		switch {
		case res.Interrupted:
			return &exitError{code: exitInterrupted, err: errors.New("load: interrupted; partial search written")}
		case res.Unreachable:
			return &exitError{code: exitFailed, err: errors.New("load: " + res.Verdict())}
		}
		return nil
	}, nil
}

// runOnce runs the load on this machine, or this worker's share of a
// distributed run.
func (o *scaleOptions) runOnce(ctx context.Context, cfg load.Config) (*load.Report, error) {
	if o.redisURL == "" {
		return load.Run(ctx, cfg)
	}
	rdb, err := redisClient(o.redisURL)
	if err != nil {
		return nil, err
	}
	defer rdb.Close()
	d := load.Distributed{Run: o.run, Workers: o.workers, OnSecond: cfg.OnSecond}
	cfg.OnSecond = nil
	rep, err := load.RunDistributed(ctx, rdb, d, cfg)
	switch {
	case errors.Is(err, load.ErrRefused): // flags that disagree with the run's are bad usage
		return nil, &exitError{code: exitUsage, err: err}
	case err != nil && ctx.Err() != nil: // interrupted before the run began
		return nil, errInterrupted("load")
	}
	return rep, err
}
