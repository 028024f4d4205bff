// The start of a distributed run: the same flags everywhere, a slot per
// worker, one start instant.

package load

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrRefused is wrapped by the error [RunDistributed] returns when the
// run turns this worker away at the barrier: its flags differ from the
// run's (the message names each difference), or the run already has all
// its workers.
var ErrRefused = errors.New("load: distributed: refused at the barrier")

// startDelay is how far ahead of the last arrival the start instant is
// set, so every polling worker sees it before it passes.
const startDelay = 500 * time.Millisecond

// sharedFlags is what every worker of a run must agree on, with defaults
// resolved so that an explicit default equals an omitted flag. Field
// names are those the refusal message shows.
type sharedFlags struct {
	Workers     int            `json:"workers"`
	Targets     []sharedTarget `json:"targets"`
	Rate        float64        `json:"rate"`
	Stages      []Stage        `json:"stages"`
	Duration    time.Duration  `json:"duration"`
	Requests    int64          `json:"requests"`
	MaxInFlight int            `json:"connections"`
	DropAbove   int            `json:"max-in-flight"`
	Warmup      time.Duration  `json:"warmup"`
	Timeout     time.Duration  `json:"timeout"`
	NoKeepAlive bool           `json:"disable-keepalive"`
	HTTP2       bool           `json:"http2"`
	Insecure    bool           `json:"insecure"`
}

type sharedTarget struct {
	Method string              `json:"method"`
	URL    string              `json:"url"`
	Header map[string][]string `json:"header,omitempty"`
	Body   string              `json:"body_sha256,omitempty"`
}

func newSharedFlags(cfg *Config, workers int) sharedFlags {
	f := sharedFlags{
		Workers: workers, Rate: cfg.Rate, Stages: cfg.Stages, Duration: cfg.duration(), Requests: cfg.Requests,
		MaxInFlight: cfg.maxInFlight(), DropAbove: cfg.DropAbove, Warmup: cfg.Warmup, Timeout: cfg.timeout(),
		NoKeepAlive: cfg.DisableKeepAlives, HTTP2: cfg.HTTP2, Insecure: cfg.InsecureSkipVerify,
	}
	for _, t := range cfg.Targets {
		st := sharedTarget{Method: method(t), URL: t.URL, Header: t.Header}
		if t.Body != nil {
			sum := sha256.Sum256(t.Body)
			st.Body = hex.EncodeToString(sum[:])
		}
		f.Targets = append(f.Targets, st)
	}
	return f
}

// diff names the fields where f (this worker) and run (the run's) differ.
func (f *sharedFlags) diff(run *sharedFlags) string {
	var out []string
	a, b := reflect.ValueOf(*f), reflect.ValueOf(*run)
	for i := range a.NumField() {
		name, _, _ := strings.Cut(a.Type().Field(i).Tag.Get("json"), ",")
		x, y := a.Field(i).Interface(), b.Field(i).Interface()
		// JSON round trips turn nil and empty alike; compare encodings.
		xj, _ := json.Marshal(x)
		yj, _ := json.Marshal(y)
		if string(xj) != string(yj) {
			out = append(out, fmt.Sprintf("%s %v here, %v in the run", name, x, y))
		}
	}
	return strings.Join(out, "; ")
}

// join checks this worker's flags against the run's, takes a slot and
// waits at the barrier. It returns the slot, the start instant and the
// run's flags.
func join(ctx context.Context, rdb redis.UniversalClient, k keys, d *Distributed, cfg *Config) (int, time.Time, error) {
	mine := newSharedFlags(cfg, d.Workers)
	b, _ := json.Marshal(mine)
	set, err := rdb.SetNX(ctx, k.config(), b, keyTTL).Result()
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("load: distributed: %w", err)
	}
	if !set {
		var theirs sharedFlags
		if err := getJSON(ctx, rdb, k.config(), &theirs); err != nil {
			return 0, time.Time{}, err
		}
		if diff := mine.diff(&theirs); diff != "" {
			rdb.RPush(ctx, k.refused(), d.Name+": "+diff)
			rdb.Expire(ctx, k.refused(), keyTTL)
			return 0, time.Time{}, fmt.Errorf("%w of run %q: flags differ: %s", ErrRefused, d.Run, diff)
		}
	}
	n, err := rdb.Incr(ctx, k.slots()).Result()
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("load: distributed: %w", err)
	}
	rdb.Expire(ctx, k.slots(), keyTTL)
	if n > int64(d.Workers) {
		return 0, time.Time{}, fmt.Errorf("%w: run %q already has its %d workers; use a fresh run name", ErrRefused, d.Run, d.Workers)
	}
	slot := int(n - 1)
	rdb.HSet(ctx, k.names(), strconv.Itoa(slot), d.Name)
	rdb.Expire(ctx, k.names(), keyTTL)
	if n == int64(d.Workers) {
		at := time.Now().Add(startDelay).UnixNano()
		if err := rdb.Set(ctx, k.start(), at, keyTTL).Err(); err != nil {
			return 0, time.Time{}, fmt.Errorf("load: distributed: %w", err)
		}
	}
	start, err := waitStart(ctx, rdb, k, d.barrierTimeout(), nil)
	return slot, start, err
}

// waitStart polls for the run's start instant for up to timeout. With
// flags non-nil it also reads the run's flags.
func waitStart(parent context.Context, rdb redis.UniversalClient, k keys, timeout time.Duration, flags *sharedFlags) (time.Time, error) {
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		ns, err := rdb.Get(ctx, k.start()).Int64()
		if err == nil && (flags == nil || getJSON(ctx, rdb, k.config(), flags) == nil) {
			return time.Unix(0, ns), nil
		}
		if err != nil && !errors.Is(err, redis.Nil) && ctx.Err() == nil {
			return time.Time{}, fmt.Errorf("load: distributed: %w", err)
		}
		select {
		case <-ctx.Done():
			if parent.Err() != nil {
				return time.Time{}, parent.Err()
			}
			return time.Time{}, barrierError(context.WithoutCancel(ctx), rdb, k, timeout)
		case <-t.C:
		}
	}
}

// barrierError says how many workers arrived, and which were refused.
func barrierError(ctx context.Context, rdb redis.UniversalClient, k keys, timeout time.Duration) error {
	arrived, _ := rdb.Get(ctx, k.slots()).Int()
	var want sharedFlags
	_ = getJSON(ctx, rdb, k.config(), &want)
	msg := fmt.Sprintf("load: distributed: barrier: %d of %d workers arrived within %v", arrived, want.Workers, timeout)
	if refused, _ := rdb.LRange(ctx, k.refused(), 0, -1).Result(); len(refused) > 0 {
		msg += "; refused: " + strings.Join(refused, "; ")
	}
	return errors.New(msg)
}

func getJSON(ctx context.Context, rdb redis.UniversalClient, key string, v any) error {
	b, err := rdb.Get(ctx, key).Bytes()
	if err != nil {
		return fmt.Errorf("load: distributed: %s: %w", key, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("load: distributed: %s: %w", key, err)
	}
	return nil
}
