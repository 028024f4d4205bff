// This file holds the RedisFrontier: a Frontier kept in Redis, shared by
// the crawls of many processes on many machines.

package crawler

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/bits"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sluicehq/sluice/internal/hostsched"
)

// RedisOptions configures a [RedisFrontier]. The zero value is ready to
// use with the defaults given on each field.
type RedisOptions struct {
	// Worker names this process in the crawl's leases; "" means
	// "HOSTNAME:PID". Two frontiers open at once must not share a name.
	Worker string
	// LeaseTTL is how long the URLs handed to this process stay leased
	// without a heartbeat; the frontier renews them every LeaseTTL/3.
	// When it passes, any live process puts them back to pending. 0 means
	// 30 seconds.
	LeaseTTL time.Duration
	// SeenBuckets is the number of hashes the seen-set is spread over, a
	// power of two up to 1<<24; 0 means the one for ExpectedURLs. Each
	// bucket stays in Redis's compact listpack encoding (about 18 bytes
	// a URL) while it holds at most hash-max-listpack-entries (128 by
	// default) URLs; past that it becomes a hash table, at about 70 bytes a
	// URL. Fewer, fuller buckets spread each bucket's key (about 90 bytes)
	// over more URLs but make each admission scan a longer listpack; at
	// URLs / 64 a bucket, the fullest of them stays under 128. Every
	// process of a crawl must use the same number: the first admission
	// records it, and an admission with another fails.
	SeenBuckets int
	// ExpectedURLs is how many URLs the crawl is expected to admit, all
	// processes together; when SeenBuckets is 0 it sets it to the smallest
	// power of two of at least ExpectedURLs / 64 (and at least 1,024). 0
	// means 4,000,000 (65,536 buckets, the default before this setting).
	ExpectedURLs int
	// SeenCache is how many fingerprints of URLs found in the crawl's
	// seen-set this process remembers in each of two generations, so that
	// links it met lately are not sent to Redis again (about 40 bytes each);
	// 0 means 131,072 (up to 10 MB), as DiskFrontier keeps; negative turns
	// the cache off.
	SeenCache int
	// PopBatch is how many URLs of a host one round trip hands out when
	// the host is not paced and not capped: the rest wait, leased to this
	// process, for its next Pops, at most 2 × PopBatch across hosts (so a
	// crawl with MaxInFlight N holds at most N + 2 × PopBatch leases; the
	// ones not started go back to pending, not fetched, when it dies). 0
	// means 32: a round trip costs both sides far more CPU than a URL's
	// share of the script (BenchmarkRedisFrontierPage: from 8 to 32, 28 to
	// 13 µs of client CPU and 38 to 20 µs of Redis CPU a page); 1 turns
	// batching off.
	PopBatch int
	// Logger receives the frontier's reports (Redis unreachable, back,
	// leases reaped); nil means slog.Default().
	Logger *slog.Logger

	linger time.Duration // how long finishes gather (finishLinger if 0), for tests
}

// RedisFrontier is a [Frontier] kept in Redis under the crawl's name, so
// that crawls in many processes, on many machines, share one seen-set,
// one queue per host and one set of counts, and every URL is fetched once
// by one of them.
//
//   - Admission of a batch is one Lua script: atomic, one round trip. A
//     crawl finishes a page and admits its links in the background: the
//     pages finished within 2 ms (or until every URL handed out is
//     answered) go out as one script call, and links this
//     process has found in the seen-set lately (SeenCache) are not sent
//     again.
//   - MaxPages of the crawls sharing it is one count, kept by the scripts,
//     and each host's robots.txt is fetched by one of them and kept for
//     the others until robots.txt's 24 hours are over.
//   - The seen-set keeps each URL as an 8-byte field (fingerprint bytes
//     3..10) and a one-byte state in one of SeenBuckets hashes chosen by
//     the fingerprint's first 24 bits, in Redis's listpack encoding. A
//     pending URL takes its queue item besides, until it is popped: 11
//     fingerprint bytes, the entry and its parent front-coded against its
//     URL. Bytes per URL pending and done on 1,000,000 URLs are in
//     bench/crawl/RESULTS.md (E).
//   - Hosts with pending URLs sit in a sorted set scored by when each may
//     next start; PopPaced keeps Delay and PerHost for all the processes
//     together.
//   - URLs handed out are leased to this process (its Worker name); one
//     heartbeat renews them all. When a process stops renewing for
//     LeaseTTL, any live one puts its URLs back to pending, at the front
//     of their queues, and a late Retry or Finish of theirs gets
//     [ErrLeaseLost].
//   - Counts are kept by the scripts, so a crawl ends exactly when nothing
//     is pending or leased anywhere.
//
// Every key of a crawl carries the hash tag {NAME}, so a crawl lives in one
// slot of a Redis Cluster. When Redis is unreachable the calls retry with
// backoff until their context ends, and say so once to the Logger. A
// client left with go-redis's own retries (MaxRetries 0) bridges outages
// of up to a few seconds before the frontier sees them; with MaxRetries -1,
// as sluice's CLI sets it, every outage is reported. Redis
// should keep its data (appendonly yes) for a restart to keep the crawl: a
// frontier that finds the crawl's keys gone once it has seen them fails
// its calls, rather than crawl again from the start.
//
// Create one with [NewRedisFrontier]; the zero value is not usable. A
// RedisFrontier is safe for concurrent use. Close it when done.
type RedisFrontier struct {
	rdb    redis.UniversalClient
	prefix string // "sluice:{NAME}:"
	worker string
	okey   string // the worker's leases
	mask   uint32
	ttl    time.Duration
	log    *slog.Logger

	// gate: Pops hold it shared; a reconcile of the leases held holds it
	// alone, so no lease is granted and not yet in held while it runs.
	gate  sync.RWMutex
	mu    sync.Mutex
	held  map[uint64]bool // leases handed out and not answered
	buf   map[string][]Entry
	nbuf  int // entries in buf
	batch int
	seen  knownCache // URLs known to be in the seen-set
	// Finishes of leases held here go out in the background (redisfinish.go).
	finishing map[uint64]bool // finished, not yet sent: answered already
	fin       []finishOp
	finBusy   bool       // the finisher is sending
	finDone   *sync.Cond // on mu: the finisher has sent a batch
	finKick   chan struct{}
	finUrgent chan struct{} // ends the finisher's linger
	lingerFor time.Duration // how long the finisher lets finishes gather
	urgent    atomic.Bool   // someone waits for the finishes (settle)
	closed    bool
	lost      atomic.Bool  // a Pop's reply was lost: held may miss leases
	known     atomic.Bool  // the crawl was seen in Redis: its keys must stay
	beats     atomic.Int64 // heartbeats done, for tests
	down      atomic.Bool  // Redis is unreachable (and it was said)

	stop      context.CancelFunc // ends the heartbeat and the finisher
	wg        sync.WaitGroup     // the heartbeat and the finisher
	closeOnce sync.Once
}

// NewRedisFrontier returns the frontier of the crawl named crawl in the
// Redis that client talks to, creating it on first use, and starts its
// heartbeat. It does not block: a Redis that is unreachable is waited for
// by the calls. Call Close when done.
func NewRedisFrontier(client redis.UniversalClient, crawl string, opts RedisOptions) (*RedisFrontier, error) {
	if crawl == "" {
		return nil, errors.New("crawler: redis frontier: empty crawl name")
	}
	buckets := opts.SeenBuckets
	if buckets == 0 {
		buckets = bucketsFor(opts.ExpectedURLs)
	}
	if buckets < 1 || buckets > 1<<24 || bits.OnesCount(uint(buckets)) != 1 {
		return nil, fmt.Errorf("crawler: redis frontier: SeenBuckets %d is not a power of two up to 1<<24", buckets)
	}
	f := &RedisFrontier{
		rdb: client, prefix: "sluice:{" + crawl + "}:", worker: opts.Worker,
		mask: uint32(buckets - 1), ttl: opts.LeaseTTL, log: opts.Logger,
		held: make(map[uint64]bool), buf: make(map[string][]Entry), finishing: make(map[uint64]bool),
		finKick: make(chan struct{}, 1), finUrgent: make(chan struct{}, 1),
		batch: opts.PopBatch, lingerFor: opts.linger,
	}
	if f.lingerFor <= 0 {
		f.lingerFor = finishLinger
	}
	f.seen.set.size = opts.SeenCache
	if f.worker == "" {
		host, _ := os.Hostname()
		f.worker = host + ":" + strconv.Itoa(os.Getpid())
	}
	if f.ttl <= 0 {
		f.ttl = 30 * time.Second
	}
	if f.batch <= 0 {
		f.batch = 32
	}
	if opts.SeenCache == 0 {
		f.seen.set.size = seenCache
	}
	if f.log == nil {
		f.log = slog.Default()
	}
	f.okey = f.prefix + "o:" + f.worker
	f.finDone = sync.NewCond(&f.mu)
	ctx, stop := context.WithCancel(context.Background())
	f.stop = stop
	f.wg.Go(func() { f.heartbeat(ctx) })
	f.wg.Go(func() { f.finisher(ctx) })
	return f, nil
}

// bucketsFor returns the seen-set buckets for a crawl of about n URLs:
// the smallest power of two of at least n / 64, from 1,024 to 1<<24.
func bucketsFor(n int) int {
	if n <= 0 {
		n = 4_000_000
	}
	b := 1 << 10
	for b < 1<<24 && b*64 < n {
		b <<= 1
	}
	return b
}

// Worker returns the name this frontier leases URLs under.
func (f *RedisFrontier) Worker() string { return f.worker }

func (f *RedisFrontier) key(name string) string { return f.prefix + name }

// bucket returns the seen-set key and field of a fingerprint.
func (f *RedisFrontier) bucket(fp [16]byte) (key, field string) {
	i := (uint32(fp[0])<<16 | uint32(fp[1])<<8 | uint32(fp[2])) & f.mask
	return f.prefix + "s" + string([]byte{byte(i >> 16), byte(i >> 8), byte(i)}), string(fp[3:redisFP])
}

// Admit implements Frontier: the batch is one script, one round trip.
func (f *RedisFrontier) Admit(ctx context.Context, batch []Entry) ([]bool, error) {
	codes, err := f.admitCapped(ctx, batch, 0)
	if err != nil {
		return nil, err
	}
	added := make([]bool, len(codes))
	for i, c := range codes {
		added[i] = c == admitNew
	}
	return added, nil
}

// admitCapped admits batch under a cap on the URLs admitted to the crawl,
// all processes together (0: none), and returns a code per entry.
func (f *RedisFrontier) admitCapped(ctx context.Context, batch []Entry, maxPages int) ([]int8, error) {
	ls := f.offer(batch)
	if len(ls.send) == 0 {
		return make([]int8, len(batch)), nil
	}
	args := f.appendLinks([]any{f.prefix, f.mask, maxPages, f.must(), len(ls.send)}, ls)
	var res []int64
	err := f.do(ctx, func(ctx context.Context) (err error) {
		res, err = admitScript.Run(ctx, f.rdb, []string{f.key("n")}, args...).Int64Slice()
		return err
	})
	if redis.HasErrorPrefix(err, "GONE") {
		return nil, f.errGone("admit")
	}
	if err != nil {
		return nil, fmt.Errorf("crawler: redis admit: %w", err)
	}
	f.known.Store(true)
	return f.answer(ls, res)
}

// Pop implements Frontier; it is PopPaced without limits.
func (f *RedisFrontier) Pop(ctx context.Context, host string) (Entry, bool, error) {
	return f.PopPaced(ctx, host, HostLimits{})
}

// hostBusyWait is how soon a host at its PerHost cap across the crawls is
// asked again: the frontier does not tell a process when another one
// finishes.
const hostBusyWait = 10 * time.Millisecond

// PopPaced implements [PacedFrontier]: the host's next start and its
// URLs in flight are kept in Redis for all the processes together.
func (f *RedisFrontier) PopPaced(ctx context.Context, host string, lim HostLimits) (Entry, bool, error) {
	if e, ok := f.unbuffer(host); ok {
		return e, true, nil
	}
	f.gate.RLock()
	e, ok, err := f.pop(ctx, host, lim)
	f.gate.RUnlock()
	if f.lost.Load() && err == nil {
		f.reconcile(ctx)
	}
	return e, ok, err
}

func (f *RedisFrontier) pop(ctx context.Context, host string, lim HostLimits) (Entry, bool, error) {
	keys := []string{f.key("n"), f.key("r"), f.key("t"), f.key("h"), f.key("l"), f.okey, f.key("q:" + host), f.key("w")}
	k := 1
	if lim == (HostLimits{}) {
		// The URLs held here beyond those handed out stay under
		// 2 × PopBatch across hosts: with -c N, at most N + 2 × PopBatch
		// leases of this process at a time.
		f.mu.Lock()
		k = max(1, min(f.batch, 2*f.batch-f.nbuf))
		f.mu.Unlock()
	}
	args := []any{host, f.worker, lim.Delay.Microseconds(), lim.PerHost, k, hostsched.PaceSlack.Microseconds(), f.prefix, f.mask, f.ttl.Microseconds()}
	var res []any
	err := f.do(ctx, func(ctx context.Context) (err error) {
		res, err = popScript.Run(ctx, f.rdb, keys, args...).Slice()
		if transient(err) {
			f.lost.Store(true) // the script may have run
		}
		return err
	})
	if err != nil {
		return Entry{}, false, fmt.Errorf("crawler: redis pop: %w", err)
	}
	kind, _ := res[0].(int64)
	switch {
	case kind == 1 && len(res) == 2:
		wait, _ := res[1].(int64)
		return Entry{}, false, &HostWaitError{Host: host, Wait: time.Duration(wait) * time.Microsecond}
	case kind == 2:
		return Entry{}, false, &HostWaitError{Host: host, Wait: hostBusyWait}
	case kind != 3 || len(res) < 3:
		return Entry{}, false, nil
	}
	var popped []Entry
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := 1; i+1 < len(res); i += 2 {
		lease, _ := res[i].(int64)
		f.held[uint64(lease)] = true
		item, _ := res[i+1].(string)
		e, err := readRedisItem(item, host)
		if err != nil {
			// Left leased: the heartbeat's reconcile does not see it as
			// lost, so it comes back when this process closes.
			f.log.Warn("crawler: redis pop", "host", host, "err", err)
			continue
		}
		e.Lease = uint64(lease)
		popped = append(popped, e)
	}
	if len(popped) == 0 {
		return Entry{}, false, fmt.Errorf("crawler: redis pop: %w", errBadItem)
	}
	if len(popped) > 1 {
		f.buf[host] = append(f.buf[host], popped[1:]...)
		f.nbuf += len(popped) - 1
	}
	return popped[0], true, nil
}

// unbuffer hands out an entry of host popped earlier in a batch.
func (f *RedisFrontier) unbuffer(host string) (Entry, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	q := f.buf[host]
	if len(q) == 0 {
		return Entry{}, false
	}
	e := q[0]
	if len(q) == 1 {
		delete(f.buf, host)
	} else {
		f.buf[host] = q[1:]
	}
	f.nbuf--
	return e, true
}

// buffered returns the hosts with entries popped in a batch and not yet
// handed out, and how many entries.
func (f *RedisFrontier) buffered(n int) ([]string, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var hosts []string
	for h := range f.buf {
		if len(hosts) == n {
			break
		}
		hosts = append(hosts, h)
	}
	return hosts, f.nbuf
}

// forget drops a lease from those held, whatever became of it.
func (f *RedisFrontier) forget(lease uint64) {
	f.mu.Lock()
	delete(f.held, lease)
	f.mu.Unlock()
}

// Retry implements Frontier.
func (f *RedisFrontier) Retry(ctx context.Context, e Entry) error {
	f.mu.Lock()
	answered := f.finishing[e.Lease]
	f.mu.Unlock()
	if answered {
		return ErrLeaseLost
	}
	host := e.host()
	fp := fingerprint(e.URL)
	b, field := f.bucket(fp)
	keys := []string{f.key("n"), f.key("r"), f.key("t"), f.key("h"), b, f.key("q:" + host)}
	lease := e.Lease
	e.Lease = 0
	args := []any{field, strconv.FormatUint(lease, 10), host, appendRedisItem(nil, fp, &e, host), f.prefix}
	var ok int64
	err := f.do(ctx, func(ctx context.Context) (err error) {
		ok, err = retryScript.Run(ctx, f.rdb, keys, args...).Int64()
		return err
	})
	if err != nil {
		return fmt.Errorf("crawler: redis retry: %w", err)
	}
	f.forget(lease)
	if ok == 0 {
		return ErrLeaseLost
	}
	return nil
}

// Finish implements Frontier.
// A lease held by this frontier is finished in the background: Finish
// returns at once and the finish goes out with others in one round trip;
// Counts, State and Close wait for it.
func (f *RedisFrontier) Finish(ctx context.Context, e Entry, s State) error {
	op := finishOp{e: e, state: s, links: &linkSet{}}
	answered, mine := f.claim(e.Lease)
	switch {
	case answered:
		return ErrLeaseLost
	case mine:
		f.finishLater(op)
		return nil
	}
	ok, _, err := f.finishNow(ctx, op)
	if err == nil && !ok {
		err = ErrLeaseLost
	}
	return err
}

// appendFinish appends the finish script's arguments for op: the page,
// then the links of its page to send.
func (f *RedisFrontier) appendFinish(args []any, op *finishOp) []any {
	fp := fingerprint(op.e.URL)
	uncount := "0"
	if op.o.uncount {
		uncount = "1"
	}
	args = append(args, string(fp[:redisFP]), strconv.FormatUint(op.e.Lease, 10), op.e.host(), stateCode(op.state), uncount, len(op.links.send))
	return f.appendLinks(args, op.links)
}

// claim marks lease answered and reports whether it was already, and
// whether this frontier holds it (so its finish may go in the background).
func (f *RedisFrontier) claim(lease uint64) (answered, mine bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	answered, mine = f.finishing[lease], lease != 0 && f.held[lease] && !f.closed
	if mine {
		delete(f.held, lease)
		f.finishing[lease] = true
	}
	return answered, mine
}

// finishNow runs op's finish and waits for its answer: whether the lease
// was current, and the codes of its links.
func (f *RedisFrontier) finishNow(ctx context.Context, op finishOp) (bool, []int8, error) {
	res, err := f.sendFinishes(ctx, []finishOp{op})
	if err != nil {
		return false, nil, err
	}
	f.forget(op.e.Lease)
	if res[0].err != nil {
		return false, nil, res[0].err
	}
	codes, err := f.answer(op.links, res[0].codes)
	return res[0].ok, codes, err
}

func stateCode(s State) string {
	switch s {
	case Done:
		return "d"
	case Failed:
		return "f"
	case Pending:
		return "p"
	}
	return "f"
}

// State implements Frontier.
func (f *RedisFrontier) State(ctx context.Context, url string) (State, error) {
	f.settle()
	b, field := f.bucket(fingerprint(url))
	var v string
	err := f.do(ctx, func(ctx context.Context) (err error) {
		v, err = f.rdb.HGet(ctx, b, field).Result()
		if errors.Is(err, redis.Nil) {
			v, err = "", nil
		}
		return err
	})
	if err != nil {
		return Unseen, fmt.Errorf("crawler: redis state: %w", err)
	}
	switch {
	case v == "":
		return Unseen, nil
	case v == "p":
		return Pending, nil
	case v == "d":
		return Done, nil
	case v[0] == 'i':
		return InFlight, nil
	}
	return Failed, nil
}

// Hosts implements Frontier: the hosts with pending URLs, those this
// process holds from a batch first, then those that may start soonest.
func (f *RedisFrontier) Hosts(ctx context.Context, n int) ([]string, error) {
	if n <= 0 {
		return nil, nil
	}
	hosts, _ := f.buffered(n)
	if len(hosts) == n {
		return hosts, nil
	}
	var more []string
	err := f.do(ctx, func(ctx context.Context) (err error) {
		more, err = f.rdb.ZRange(ctx, f.key("r"), 0, int64(n-len(hosts)-1)).Result()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("crawler: redis hosts: %w", err)
	}
	for _, h := range more {
		if !slices.Contains(hosts, h) {
			hosts = append(hosts, h)
		}
	}
	return hosts, nil
}

// Counts implements Frontier: the URLs pending and in flight in every
// process of the crawl. URLs this process holds from a batch, not yet
// handed out, count as pending here and as in flight to the others.
func (f *RedisFrontier) Counts(ctx context.Context) (pending, inFlight int, err error) {
	f.settle()
	var v []any
	err = f.do(ctx, func(ctx context.Context) (err error) {
		v, err = f.rdb.HMGet(ctx, f.key("n"), "p", "i", "m").Result()
		return err
	})
	if err != nil {
		return 0, 0, fmt.Errorf("crawler: redis counts: %w", err)
	}
	if v[2] != nil {
		f.known.Store(true)
	} else if f.known.Load() {
		return 0, 0, f.errGone("counts")
	}
	num := func(x any) int {
		s, _ := x.(string)
		n, _ := strconv.Atoi(s)
		return n
	}
	_, nb := f.buffered(0)
	return num(v[0]) + nb, num(v[1]) - nb, nil
}

// appendRedisItem appends a queue item: the fingerprint, then the entry
// in the frontiers' one record format with an empty parent, then the
// parent front-coded against the URL (the length of the prefix they share,
// then the rest): a page's links mostly share their scheme, host and
// directory with it, and every byte of an item is a byte of Redis memory
// per pending URL.
func appendRedisItem(b []byte, fp [16]byte, e *Entry, host string) []byte {
	k := 0
	for k < len(e.URL) && k < len(e.Parent) && e.URL[k] == e.Parent[k] {
		k++
	}
	bare := *e
	bare.Parent = ""
	b = appendEntry(append(b, fp[:redisFP]...), &bare, host)
	b = binary.AppendUvarint(b, uint64(k))
	return append(b, e.Parent[k:]...)
}

// ErrOtherBuckets is the error of [RedisFrontier.CheckBuckets] when the
// crawl in Redis keeps its seen-set in another number of buckets than the
// frontier's: its processes were given other SeenBuckets (or ExpectedURLs).
var ErrOtherBuckets = errors.New("crawler: the crawl's seen-set in Redis has another number of buckets")

// CheckBuckets returns an error wrapping [ErrOtherBuckets] when the crawl
// in Redis keeps its seen-set in another number of buckets than this
// frontier, whose admissions would then all fail; a crawl not begun yet
// passes. It lets a process be refused before it starts crawling.
func (f *RedisFrontier) CheckBuckets(ctx context.Context) error {
	var m string
	err := f.do(ctx, func(ctx context.Context) (err error) {
		m, err = f.rdb.HGet(ctx, f.key("n"), "m").Result()
		if errors.Is(err, redis.Nil) {
			m, err = "", nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("crawler: redis: %w", err)
	}
	var mask uint32
	if _, err := fmt.Sscanf(m, "%d/", &mask); err != nil || mask == f.mask {
		return nil // not begun, or written by another version: the scripts tell
	}
	return fmt.Errorf("%w: %d there, %d here", ErrOtherBuckets, uint64(mask)+1, uint64(f.mask)+1)
}

// must returns the scripts' argument that says whether the crawl must be
// in Redis already: "1" once this frontier has seen it there.
func (f *RedisFrontier) must() string {
	if f.known.Load() {
		return "1"
	}
	return "0"
}

// errGone is the error of op when the crawl's keys are gone from Redis
// after this frontier saw them (the scripts answer "GONE"): Redis
// restarted without its data, or someone deleted them. Going on would
// admit the links of the pages in flight into an empty seen-set and crawl
// the site again from them, each page a second time.
func (f *RedisFrontier) errGone(op string) error {
	crawl := f.prefix[len("sluice:{") : len(f.prefix)-2]
	return fmt.Errorf("crawler: redis %s: crawl %q is gone from Redis (restarted without its data, or its keys deleted); stopping instead of crawling it again from the start: run Redis with appendonly yes to keep a crawl across restarts", op, crawl)
}

// redisFP is how many bytes of a URL's 16-byte fingerprint the Redis
// frontier keeps: 3 choose the seen-set bucket (as many bits as the
// bucket mask has) and 8 are the field, so two URLs are taken for one when
// 64 bits and the mask's agree: with 1,000,000,000 URLs in 1<<24 buckets,
// a chance of about 1 in 600,000,000 that any two do.
const redisFP = 11

// errBadItem is the error of a queue item that does not decode.
var errBadItem = errors.New("crawler: corrupt queue item")

// readRedisItem decodes a queue item of host.
func readRedisItem(item, host string) (Entry, error) {
	if len(item) < redisFP {
		return Entry{}, errBadItem
	}
	rest := []byte(item[redisFP:])
	e, n, err := decodeEntry(rest, host)
	if err != nil || e.Parent != "" {
		return Entry{}, errBadItem
	}
	k, m := binary.Uvarint(rest[n:])
	if m <= 0 || k > uint64(len(e.URL)) {
		return Entry{}, errBadItem
	}
	e.Parent = e.URL[:k] + string(rest[n+m:])
	e.Host = host
	return e, nil
}
