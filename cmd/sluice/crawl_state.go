// This file holds sluice crawl --state: the state dir a crawl is kept in,
// the check that a resume is the same crawl, the record writer that commits
// with the frontier, and --recrawl.

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/crawler"
	"github.com/spf13/pflag"
)

// stateFlags are sluice crawl's flags of a durable crawl.
type stateFlags struct {
	dir     string
	recrawl bool
	accept  bool
}

func (s *stateFlags) add(fs *pflag.FlagSet) {
	fs.StringVar(&s.dir, "state", "", "keep the crawl in this directory: the first run creates it (or takes an empty one), the same command again (or --state DIR with no seed) resumes it after any stop; records go to DIR/pages.jsonl unless -o names a file")
	fs.BoolVar(&s.recrawl, "recrawl", false, "with --state, once the crawl has ended: fetch every recorded URL again with If-None-Match/If-Modified-Since, appending its records; a 304, or an answer the same as the last pass's (status and body, or a redirect's Location), is recorded as unchanged")
	fs.BoolVar(&s.accept, "accept-changes", false, "with --state: resume even though the seeds, scope flags or -o differ from those the state dir was made with (-o only to where its records file was moved); with --redis: join the crawl even though its scope flags differ from those it was started with, which become these")
}

// crawlConfig is what a state dir remembers of the command that made it: a
// resume with other seeds or scope flags would be another crawl.
type crawlConfig struct {
	Seeds         []string `json:"seeds"`
	Scope         string   `json:"scope"`
	Depth         int      `json:"depth"`
	MaxPages      int      `json:"max_pages"`
	Allow         []string `json:"allow"`
	Deny          []string `json:"deny"`
	Robots        bool     `json:"robots"`
	Nofollow      bool     `json:"nofollow"`
	Sitemaps      bool     `json:"sitemaps"`
	SortQuery     bool     `json:"sort_query"`
	StripTracking bool     `json:"strip_tracking"`
	MaxLinks      int      `json:"max_links"`
	Output        string   `json:"output"`
}

func (o *crawlOptions) config(seeds []string, output string) crawlConfig {
	c := &o.c
	cfg := crawlConfig{Seeds: seeds, Scope: o.scope, Depth: c.MaxDepth, MaxPages: c.MaxPages,
		Robots: o.robots, Nofollow: c.Nofollow, Sitemaps: c.Sitemaps, SortQuery: c.SortQuery,
		StripTracking: c.StripTracking, MaxLinks: c.MaxLinks, Output: output}
	for _, re := range c.Allow {
		cfg.Allow = append(cfg.Allow, re.String())
	}
	for _, re := range c.Deny {
		cfg.Deny = append(cfg.Deny, re.String())
	}
	return cfg
}

// diff names the settings of now that differ from was. Seeds and
// patterns are sets: their order, and a repeat, change nothing.
func (was crawlConfig) diff(now crawlConfig) []string {
	var d []string
	add := func(name string, a, b any) {
		if fmt.Sprint(a) != fmt.Sprint(b) {
			d = append(d, fmt.Sprintf("%s %v (now %v)", name, a, b))
		}
	}
	addSet := func(name string, a, b []string) {
		if !slices.Equal(setOf(a), setOf(b)) {
			d = append(d, setChange(name, a, b))
		}
	}
	addSet("seeds", was.Seeds, now.Seeds)
	add("--scope", was.Scope, now.Scope)
	add("--depth", was.Depth, now.Depth)
	add("--max-pages", was.MaxPages, now.MaxPages)
	addSet("--allow", was.Allow, now.Allow)
	addSet("--deny", was.Deny, now.Deny)
	add("--robots", was.Robots, now.Robots)
	add("--nofollow", was.Nofollow, now.Nofollow)
	add("--sitemaps", was.Sitemaps, now.Sitemaps)
	add("--sort-query", was.SortQuery, now.SortQuery)
	add("--strip-tracking", was.StripTracking, now.StripTracking)
	add("--max-links", was.MaxLinks, now.MaxLinks)
	add("-o", was.Output, now.Output)
	return d
}

// openMade opens the state dir dir for a command that names no seeds (and
// no -i): `sluice crawl --state DIR`, `sluice crawl --state DIR --recrawl`.
// It returns the dir and the seeds of the crawl it holds, and sets each
// scope flag and -o that the command did not give to the value the crawl
// was made with, so that the command resumes or recrawls the crawl as it
// was made. A dir that does not exist, or holds no crawl, is a usage
// error and is left as it was.
func openMade(dir string, flags *pflag.FlagSet) (*crawler.DiskFrontier, []string, error) {
	noSeeds := usageErrorf("crawl: no seed URL given, and state dir %s holds no crawl to resume", dir)
	if err := checkNotFile(dir); err != nil {
		return nil, nil, err
	}
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if recrawl, _ := flags.GetBool("recrawl"); recrawl {
			return nil, nil, usageErrorf("crawl: --recrawl: state dir %s does not exist", dir)
		}
		return nil, nil, noSeeds
	}
	if _, err := os.Stat(filepath.Join(dir, "db")); errors.Is(err, fs.ErrNotExist) {
		return nil, nil, noSeeds // opened, a dir of other files would get a store
	}
	f, err := crawler.OpenDiskFrontier(dir, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("crawl: %w", err)
	}
	stored, ok, err := f.Meta("config")
	var c crawlConfig
	switch {
	case err != nil:
		err = fmt.Errorf("crawl: %w", err)
	case !ok:
		err = noSeeds
	case json.Unmarshal(stored, &c) != nil:
		err = fmt.Errorf("crawl: state dir %s: config: unreadable", dir)
	default:
		err = c.setFlags(flags, dir)
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, c.Seeds, nil
}

// closeMade closes the state dir openMade opened, if any, for a command
// refused before its crawl.
func closeMade(f *crawler.DiskFrontier) {
	if f != nil {
		f.Close()
	}
}

// setFlags sets each scope flag of flags that the command line did not
// give, and -o, to its value in c, the config of the state dir dir.
func (c crawlConfig) setFlags(flags *pflag.FlagSet, dir string) error {
	set := func(name, v string) error {
		if flags.Changed(name) {
			return nil
		}
		if err := flags.Set(name, v); err != nil {
			return fmt.Errorf("crawl: state dir %s: stored --%s: %w", dir, name, err)
		}
		return nil
	}
	for _, kv := range c.flagValues(dir) {
		if err := set(kv[0], kv[1]); err != nil {
			return err
		}
	}
	for _, f := range []struct {
		name string
		res  []string
	}{{"allow", c.Allow}, {"deny", c.Deny}} {
		if flags.Changed(f.name) {
			continue
		}
		for _, re := range f.res {
			if err := set(f.name, re); err != nil {
				return err
			}
			flags.Lookup(f.name).Changed = false // set again for the next one
		}
	}
	return nil
}

// flagValues returns the flags of c that have one value each, by name, as
// the command line gives them; -o is the records file's path.
func (c crawlConfig) flagValues(dir string) [][2]string {
	return [][2]string{
		{"scope", c.Scope},
		{"depth", strconv.Itoa(c.Depth)},
		{"max-pages", strconv.Itoa(c.MaxPages)},
		{"robots", strconv.FormatBool(c.Robots)},
		{"nofollow", strconv.FormatBool(c.Nofollow)},
		{"sitemaps", strconv.FormatBool(c.Sitemaps)},
		{"sort-query", strconv.FormatBool(c.SortQuery)},
		{"strip-tracking", strconv.FormatBool(c.StripTracking)},
		{"max-links", strconv.Itoa(c.MaxLinks)},
		{"output", recordsPath(dir, c.Output)},
	}
}

// shellQuote quotes s for a POSIX shell, if it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// asStored returns c as a state dir gives it back: stored as JSON, which
// replaces each byte that is not UTF-8 (in a seed from a file in another
// encoding) with U+FFFD. Compared as given, such a seed made the same
// command again another crawl, refused.
func (c crawlConfig) asStored() crawlConfig {
	b, err := json.Marshal(c)
	var s crawlConfig
	if err != nil || json.Unmarshal(b, &s) != nil {
		return c
	}
	return s
}

// setChange names how the set now differs from was: both in full when
// they are short, or else what was added and what dropped, a few of each
// by name (a seed list of 5,000 with one seed added had printed both
// lists, 300 KB, for one URL).
func setChange(name string, was, now []string) string {
	a, b := setOf(was), setOf(now)
	if len(a)+len(b) <= 8 {
		return fmt.Sprintf("%s %v (now %v)", name, was, now)
	}
	return fmt.Sprintf("%s: %d (now %d), %s added, %s dropped", name, len(a), len(b), few(minus(b, a)), few(minus(a, b)))
}

// minus returns the elements of the sorted set a that the sorted set b
// has not.
func minus(a, b []string) []string {
	var d []string
	for _, x := range a {
		if _, found := slices.BinarySearch(b, x); !found {
			d = append(d, x)
		}
	}
	return d
}

// few counts s and names its first three.
func few(s []string) string {
	switch {
	case len(s) == 0:
		return "none"
	case len(s) > 3:
		return fmt.Sprintf("%d %v…", len(s), s[:3])
	}
	return fmt.Sprintf("%d %v", len(s), s)
}

// setOf returns s sorted, without repeats.
func setOf(s []string) []string {
	return slices.Compact(slices.Sorted(slices.Values(s)))
}

// durable is a crawl kept in a state dir.
type durable struct {
	f        *crawler.DiskFrontier
	out      *crawler.Output
	stopTrim func() // ends the trimming of the C allocator's free pages
	recrawl  bool   // this pass fetches again what an earlier one recorded
	// resumedPass: the recrawl pass began in an earlier run; the pages
	// fetched before this run are not in its counts.
	resumedPass bool
	// recrawlLater: --recrawl was asked for while the first pass had not
	// ended; this run ends it, the next --recrawl starts the recrawl.
	recrawlLater bool
	// finished: the crawl in the state dir had ended before this run,
	// which was not asked to recrawl it.
	finished bool
	// earlier and earlierErrs count the records of this pass that the
	// runs before this one committed, and the errors among them.
	earlier, earlierErrs int64
	mu                   sync.Mutex // for buf and enc
	buf                  bytes.Buffer
	enc                  *json.Encoder

	unchanged, changed, added, gone atomic.Int64
}

// statePath returns the records file of a crawl with --state: -o if it
// names a file, DIR/pages.jsonl if -o is not given. Standard output is
// refused: the state dir keeps the length of the records file, to cut off
// after a crash the records it had not committed.
func statePath(o *crawlOptions, outputSet bool) (string, error) {
	path := o.out.output
	switch {
	case !outputSet:
		path = filepath.Join(o.state.dir, "pages.jsonl")
	case path == "-" || path == "":
		return "", usageErrorf("crawl: --state needs its records in a file (-o FILE, or DIR/pages.jsonl when -o is not given): the state dir keeps the file's length, which standard output has not")
	}
	// Refused before the state dir is made: a first run on /dev/stdout or
	// a pipe failed to cut it to length once the dir had stored its
	// config, which then refused any other -o.
	if st, err := os.Stat(path); err == nil && !st.Mode().IsRegular() {
		return "", usageErrorf("crawl: --state needs its records in a regular file: %s is not one, and the state dir cuts the file to the length it committed when it resumes", path)
	}
	return filepath.Abs(path)
}

// openDurable opens (or creates) the state dir of o, checks that it was
// made by the same command, and opens its records file, cut to the length
// last committed.
func openDurable(ctx context.Context, o *crawlOptions, seeds []string, outputSet bool, made *crawler.DiskFrontier) (*durable, error) {
	path, err := statePath(o, outputSet)
	if err != nil {
		closeMade(made)
		return nil, err
	}
	f := made
	if f == nil {
		if f, err = openState(o, seeds, path); err != nil {
			return nil, err
		}
	}
	d := &durable{f: f}
	if err := d.setUp(ctx, o, o.config(seeds, recordsName(o.state.dir, path)), path); err != nil {
		f.Close()
		return nil, err
	}
	if d.out, err = crawler.OpenOutput(f, path); err != nil {
		f.Close()
		return nil, fmt.Errorf("crawl: %w", err)
	}
	if err := d.countEarlier(path); err != nil {
		d.out.Close(ctx)
		f.Close()
		return nil, fmt.Errorf("crawl: records file: %w", err)
	}
	d.enc = json.NewEncoder(&d.buf)
	d.enc.SetEscapeHTML(false)
	keepRunningDuringSyncs(f)
	d.out.StartCommitter(ctx)
	d.stopTrim = trimMallocEvery(mallocTrimInterval)
	return d, nil
}

// openState opens (or creates) the state dir of o for a crawl of seeds
// whose records go to path.
func openState(o *crawlOptions, seeds []string, path string) (*crawler.DiskFrontier, error) {
	if err := checkNotFile(o.state.dir); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(o.state.dir)
	missing := errors.Is(err, fs.ErrNotExist)
	if err := checkOwnDir(o.state.dir, entries, path); err != nil {
		return nil, err
	}
	switch {
	case missing && o.state.recrawl:
		// Not created only to be refused: a mistyped DIR leaves nothing.
		return nil, usageErrorf("crawl: --recrawl: state dir %s does not exist", o.state.dir)
	case len(seeds) == 0 && len(entries) == 0 && (err == nil || missing):
		// A dir made for no seeds would refuse the seeds of the run
		// that follows as another crawl's.
		return nil, usageErrorf("crawl: --state: no seed URL given, so no state dir %s is made", o.state.dir)
	}
	f, err := crawler.OpenDiskFrontier(o.state.dir, nil)
	if err != nil {
		return nil, fmt.Errorf("crawl: %w", err)
	}
	return f, nil
}

// checkNotFile refuses a --state that names a file (or anything else but
// a directory) as bad usage: it failed, exit 1, only once the store was
// being made ("mkdir FILE: not a directory").
func checkNotFile(dir string) error {
	if st, err := os.Stat(dir); err == nil && !st.IsDir() {
		return usageErrorf("crawl: --state %s is a file, not a directory", dir)
	}
	return nil
}

// stateFiles are the names a state dir holds besides its store, db, and
// its records file.
var stateFiles = map[string]bool{"LOCK": true, "CLOSED": true, "TAIL": true}

// checkOwnDir refuses to make a state dir in a directory that holds files
// of its own (--state . in a project, or a home directory): the store,
// lock and records went in among them, and the dir, once a crawl's, is
// one a user may remove whole. A dir that holds a store is the crawl's.
func checkOwnDir(dir string, entries []os.DirEntry, records string) error {
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return nil // the store's open says what is wrong
	}
	var others []string
	for _, e := range entries {
		name := e.Name()
		if name == "db" {
			return nil
		}
		if stateFiles[name] || name == "lost+found" || // a fresh file system's root
			filepath.Join(absDir, name) == records || sameFile(filepath.Join(dir, name), records) {
			continue
		}
		others = append(others, name)
	}
	if len(others) == 0 {
		return nil
	}
	shown := strings.Join(others[:min(len(others), 3)], ", ")
	if len(others) > 3 {
		shown += ", ..."
	}
	return usageErrorf("crawl: --state %s: the directory holds files of its own (%s) and no crawl; give a new or empty directory", dir, shown)
}

// sameFile reports whether a and b name one existing file.
func sameFile(a, b string) bool {
	sa, err := os.Stat(a)
	if err != nil {
		return false
	}
	sb, err := os.Stat(b)
	return err == nil && os.SameFile(sa, sb)
}

// keepRunningDuringSyncs gives the runtime a second processor when it has
// one and the state dir's syncs would hold it (where the kernel's
// asynchronous syncs are not available). A goroutine in fdatasync holds
// its processor until the runtime's monitor takes it back: with one
// processor (a crawl pinned to one core) every commit's sync stalled the
// whole crawl (on bench/durable/throughput.sh's site, 16.9 s against 5.1 s
// with GOMAXPROCS=2). Where the syncs do not hold it, one processor is
// cheaper: a second one on one core cost the crawl about a quarter of its
// pages a second.
func keepRunningDuringSyncs(f *crawler.DiskFrontier) {
	if f.BlockingSyncs() && runtime.GOMAXPROCS(0) < 2 {
		runtime.GOMAXPROCS(2)
	}
}

// setUp records the config of a new state dir, or compares it with the
// stored one, and starts a recrawl pass when one is asked for. path is the
// records file.
func (d *durable) setUp(ctx context.Context, o *crawlOptions, cfg crawlConfig, path string) error {
	stored, ok, err := d.f.Meta("config")
	if err != nil {
		return fmt.Errorf("crawl: %w", err)
	}
	if ok {
		var was crawlConfig
		if err := json.Unmarshal(stored, &was); err != nil {
			return fmt.Errorf("crawl: state dir %s: config: %w", o.state.dir, err)
		}
		was.Output = recordsName(o.state.dir, was.Output) // stored by its absolute path before
		now := cfg.asStored()
		if diff := was.diff(now); len(diff) > 0 && !o.state.accept {
			return usageErrorf("crawl: state dir %s was made by another command: %s; run the same command, or `sluice crawl --state %s` with no seed, to resume it as it was made, or pass --accept-changes",
				o.state.dir, joinComma(diff), o.state.dir)
		}
		if was.Output != now.Output {
			if err := d.checkMoved(o.state.dir, recordsPath(o.state.dir, was.Output), path); err != nil {
				return err
			}
		}
	} else if o.state.recrawl {
		return usageErrorf("crawl: --recrawl: state dir %s holds no crawl to fetch again", o.state.dir)
	} else if err := checkUnused(o.state.dir, path); err != nil {
		return err
	}
	if !ok || o.state.accept {
		b, _ := json.Marshal(cfg)
		if err := d.f.SetMeta(ctx, "config", b); err != nil {
			return fmt.Errorf("crawl: %w", err)
		}
	}
	return d.startPass(ctx, o.state.recrawl)
}

// recordsName returns how a state dir's config names the records file at
// path (an absolute path): by its path in the dir when it is inside, so
// that the dir can be moved, or else by its absolute path.
func recordsName(dir, path string) string {
	abs, err := filepath.Abs(dir)
	if err != nil || !filepath.IsAbs(path) {
		return path
	}
	if rel, err := filepath.Rel(abs, path); err == nil && filepath.IsLocal(rel) {
		return rel
	}
	return path
}

// recordsPath returns the path of the records file a state dir's config
// names (see recordsName).
func recordsPath(dir, name string) string {
	if filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(dir, name)
}

// checkMoved refuses, before the new -o is stored, a records file at path
// that cannot be the one the state dir kept at was, moved there: one
// shorter than the records the state dir committed. (OpenOutput refuses
// it too, once the config names it.)
func (d *durable) checkMoved(dir, was, path string) error {
	var size int64
	if st, err := os.Stat(path); err == nil {
		size = st.Size()
	}
	if committed := d.f.Committed(); size < committed {
		return usageErrorf("crawl: state dir %s keeps its records in %s: -o %s has %d bytes, fewer than the %d it committed, so it is not that file moved; the records file cannot change, even with --accept-changes: give its -o, or move the file there",
			dir, was, path, size, committed)
	}
	return nil
}

// checkUnused refuses, before a new state dir stores its config, a
// records file that cannot be opened (the config would keep naming it) or
// that holds records: they are not this state dir's (its store was lost,
// or -o names another crawl's file), and the crawl would cut the file to
// the length it committed, nothing, and start afresh.
func checkUnused(dir, path string) error {
	file, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("crawl: records file: %w", err)
	}
	st, err := file.Stat()
	file.Close()
	switch {
	case err != nil:
		return fmt.Errorf("crawl: records file: %w", err)
	case st.Size() == 0:
		return nil
	}
	return fmt.Errorf("crawl: state dir %s holds no crawl, but its records file %s has %d bytes: they are not this state dir's, and a new crawl would cut them off; move the file away, or resume with the state dir they were written with",
		dir, path, st.Size())
}

// startPass starts a recrawl pass if one is asked for and the last pass
// has ended (if not, the run resumes it). The pass number is stored before
// the URLs are queued again, so a requeue cut short by a crash is finished
// by the next run.
func (d *durable) startPass(ctx context.Context, recrawl bool) error {
	pass := d.metaInt("pass")
	queued := d.metaInt("queued") // the pass whose URLs are all queued
	pending, inFlight, err := d.f.Counts(ctx)
	if err != nil {
		return fmt.Errorf("crawl: %w", err)
	}
	started, left := false, pending > 0 || inFlight > 0 || pass > queued
	if recrawl && pending == 0 && inFlight == 0 && queued == pass {
		pass++
		// Where the pass's records begin, for the exit status of a run
		// that resumes it (see countEarlier); stored first, so that a
		// pass is never without it.
		from := strconv.FormatInt(d.f.Committed(), 10)
		if err := d.f.SetMeta(ctx, passFrom(pass), []byte(from)); err != nil {
			return fmt.Errorf("crawl: %w", err)
		}
		if err := d.f.SetMeta(ctx, "pass", []byte(strconv.Itoa(pass))); err != nil {
			return fmt.Errorf("crawl: %w", err)
		}
		started = true
	}
	if pass > queued {
		if _, err := d.f.Recrawl(ctx); err != nil {
			return fmt.Errorf("crawl: %w", err)
		}
		if err := d.f.SetMeta(ctx, "queued", []byte(strconv.Itoa(pass))); err != nil {
			return fmt.Errorf("crawl: %w", err)
		}
	}
	d.recrawl = pass > 0
	d.resumedPass = d.recrawl && !started && left
	d.finished = !recrawl && pending == 0 && inFlight == 0 && d.f.Committed() > 0
	d.recrawlLater = recrawl && pass == 0 && (pending > 0 || inFlight > 0)
	return nil
}

// passFrom names the metadata that holds the records file's length when
// the recrawl pass pass began.
func passFrom(pass int) string { return "pass_from_" + strconv.Itoa(pass) }

// countEarlier counts the records of the pass under way that the runs
// before this one committed to the records file at path, and the errors
// among them, for the exit status: a crawl killed and resumed exited 0
// where one left to run to its end exited 1. A pass begun by a sluice
// that did not store where its records begin is not counted.
func (d *durable) countEarlier(path string) error {
	from := int64(0)
	if pass := d.metaInt("pass"); pass > 0 {
		v, ok, err := d.f.Meta(passFrom(pass))
		if err != nil || !ok {
			return err
		}
		if from, err = strconv.ParseInt(string(v), 10, 64); err != nil {
			return fmt.Errorf("state dir %s: %s: %w", d.f.Dir(), passFrom(pass), err)
		}
	}
	end := d.f.Committed()
	if end <= from {
		return nil
	}
	file, err := os.Open(path)
	if err != nil {
		return err
	}
	defer file.Close()
	d.earlier, d.earlierErrs, err = countRecords(io.NewSectionReader(file, from, end-from))
	return err
}

// countRecords counts the crawl records of r but those of URLs robots.txt
// denied, which are neither results nor errors, and the errors among them.
// A record's "error" and "skipped" come before its headers and body, in
// the first bytes of its line.
func countRecords(r io.Reader) (records, errs int64, err error) {
	br := bufio.NewReaderSize(r, 256<<10)
	head := true // the line read is at its start
	for {
		line, more, err := br.ReadLine()
		if errors.Is(err, io.EOF) {
			return records, errs, nil
		}
		if err != nil {
			return 0, 0, err
		}
		if head && !bytes.Contains(line, []byte(`"skipped":"robots.txt"`)) {
			records++
			if bytes.Contains(line, []byte(`"error":"`)) {
				errs++
			}
		}
		head = !more
	}
}

// failOn applies the --fail-on rule to the records of this run and of
// the runs before it in the same pass, which wrote one records file: run
// to its end at once, the crawl would have failed on all of them.
func (d *durable) failOn(f failOn, records, errs int64) error {
	return f.checkResumed("crawl", records, errs, d.earlier, d.earlierErrs, "URL")
}

func (d *durable) metaInt(name string) int {
	v, _, _ := d.f.Meta(name)
	n, _ := strconv.Atoi(string(v))
	return n
}

func joinComma(s []string) string {
	var b bytes.Buffer
	for i, x := range s {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(x)
	}
	return b.String()
}

// pageHeader returns the conditional headers of a URL recorded by an
// earlier pass. Its validators came with its queue entry: the lookup, like
// its visit's, reads no disk.
func (d *durable) pageHeader(ctx context.Context) func(string) http.Header {
	return func(url string) http.Header {
		v, ok, err := d.f.Validators(ctx, url)
		if err != nil || !ok || v.Status/100 != 2 {
			return nil
		}
		return conditional(v)
	}
}

// conditional returns the headers that ask whether a page with the
// validators v changed, built in canonical form (Header.Set would
// canonicalise each key again, for every page).
func conditional(v crawler.Validators) http.Header {
	switch {
	case v.ETag != "" && v.LastModified != "":
		return http.Header{"If-None-Match": {v.ETag}, "If-Modified-Since": {v.LastModified}}
	case v.ETag != "":
		return http.Header{"If-None-Match": {v.ETag}}
	case v.LastModified != "":
		return http.Header{"If-Modified-Since": {v.LastModified}}
	}
	return nil
}

// visit prepares the record of p: nil when p's record is in the file
// already (a page fetched again after a crash, for its links). It keeps
// p's validators and, in a recrawl, sorts p as unchanged, changed, new or
// gone.
func (d *durable) visit(ctx context.Context, p *crawler.Page) (*crawlRecord, error) {
	// Kept even for a page whose record is in the file already: a later
	// recrawl asks with them, and counts the page as changed or
	// unchanged, not new.
	digest := crawler.PageDigest(p)
	if err := d.keepValidators(ctx, p, digest); err != nil {
		return nil, err
	}
	if again, err := d.f.Recorded(ctx, p.URL); again || err != nil {
		return nil, err
	}
	r := toCrawlRecord(p)
	if d.recrawl {
		// The page is in flight until its Finish: its validators are
		// those of its queue entry, in memory.
		prev, had, err := d.f.Validators(ctx, p.URL)
		if err != nil {
			return nil, err
		}
		d.sort(r, p, digest, prev, had)
	}
	return r, nil
}

// keepValidators stores the validators of p's answer, with its digest. A
// URL that failed (no answer) is stored with none, status 0, unless an
// earlier pass stored some, which a later recrawl still asks with: the
// status says a later pass that it was recorded, failed.
func (d *durable) keepValidators(ctx context.Context, p *crawler.Page, digest uint64) error {
	resp := p.Response
	if resp != nil && resp.StatusCode != http.StatusNotModified {
		v := crawler.Validators{Status: resp.StatusCode, ETag: resp.Header.Get("ETag"),
			LastModified: resp.Header.Get("Last-Modified"), Digest: digest}
		return d.f.SetValidators(ctx, p.URL, v)
	}
	if resp != nil {
		return nil
	}
	if _, had, err := d.f.Validators(ctx, p.URL); had || err != nil {
		return err
	}
	return d.f.SetValidators(ctx, p.URL, crawler.Validators{})
}

// sort counts p, fetched again by a recrawl, as unchanged, changed, new or
// gone, from digest, that of its answer, and prev, its validators of the
// pass before (had: there were some). It marks its record r unchanged
// whenever it counts it so: on a 304, on an answer as the last pass's
// (same status, same digest: a server that sends no validators, or
// ignores them), and on the last pass's error status or failure again.
func (d *durable) sort(r *crawlRecord, p *crawler.Page, digest uint64, prev crawler.Validators, had bool) {
	status := 0 // failed, no answer
	if p.Response != nil {
		status = p.Response.StatusCode
	}
	switch {
	case status == http.StatusNotModified && had:
		r.Unchanged = true
		d.unchanged.Add(1)
	case !had:
		d.added.Add(1)
	case prev.Status/100 == 2 && (status == 0 || status == http.StatusNotFound || status == http.StatusGone):
		d.gone.Add(1) // it was there, and is not
	case status == prev.Status && digest != 0 && digest == prev.Digest:
		r.Unchanged = true
		d.unchanged.Add(1)
	case status/100 == 3 && prev.Digest != 0:
		d.changed.Add(1) // redirected elsewhere than last time
	case prev.Status/100 != 2 && status == prev.Status:
		// Asked without validators (see pageHeader), it answers as it
		// did, or fails as it did: a page gone in the last pass and
		// gone still. Marked as counted: a record left unmarked made
		// the records' unchanged fewer than the summary's (a robots.txt
		// denial, or a timeout, again).
		r.Unchanged = true
		d.unchanged.Add(1)
	default:
		d.changed.Add(1)
	}
}

// crawlOn puts c on d's frontier, with its validators on a recrawl, and
// returns the visit that records each page in d. With keep (--save or
// --include) the writer keeps the body before it writes the record, and
// each visit waits for it; otherwise the visit writes the record itself.
func (d *durable) crawlOn(ctx context.Context, c *crawler.Crawler, keep bool, records chan<- *crawlRecord) func(*crawler.Page) error {
	c.Frontier = d.f
	if d.recrawl {
		c.PageHeader = d.pageHeader(ctx)
	}
	if keep {
		c.VisitWorkers = c.MaxInFlight
		return d.visitFunc(ctx, records)
	}
	return d.storeFunc(ctx, records)
}

// visitFunc returns the visit function of a durable crawl: it hands the
// record to the writer and waits until it is written to the records file's
// buffer, not for its commit: the page's Finish, which follows, waits in
// the state dir's memory for the commit that makes the record durable.
func (d *durable) visitFunc(ctx context.Context, records chan<- *crawlRecord) func(*crawler.Page) error {
	return func(p *crawler.Page) error {
		r, err := d.visit(ctx, p)
		if err != nil || r == nil {
			return err
		}
		r.done = make(chan error, 1)
		records <- r
		if err := <-r.done; err != nil {
			return fmt.Errorf("%w: %w", errOutputFailed, err)
		}
		return nil
	}
}

// storeFunc returns the visit function of a durable crawl that keeps no
// bodies: it writes the record to the records file's buffer itself and
// hands it to the writer only to be counted, so that a visit does not wait
// for another goroutine (on bench/durable/throughput.sh's site, two
// goroutine switches a page, and a visit worker for each slot).
func (d *durable) storeFunc(ctx context.Context, records chan<- *crawlRecord) func(*crawler.Page) error {
	return func(p *crawler.Page) error {
		r, err := d.visit(ctx, p)
		if err != nil || r == nil {
			return err
		}
		r.resp = nil
		if err := d.write(r); err != nil {
			return fmt.Errorf("%w: %w", errOutputFailed, err)
		}
		r.stored = true
		records <- r
		return nil
	}
}

// write appends r to the records file. It is safe for concurrent use.
func (d *durable) write(r *crawlRecord) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.buf.Reset()
	if err := d.enc.Encode(r); err != nil {
		return err
	}
	return d.out.Write(r.key, d.buf.Bytes())
}

// seedRecorded reports whether a bad seed's record is in the file already.
func (d *durable) seedRecorded(ctx context.Context, seed string) bool {
	ok, _ := d.f.Recorded(ctx, seed)
	return ok
}

// printState prints the recrawl's counts, says that a run which fetched
// nothing found the crawl finished already, or, when queued URLs are left
// (the run stopped early), that the state dir keeps them.
func (d *durable) printState(w io.Writer, fetched, queued int64) {
	if d.finished && fetched == 0 {
		fmt.Fprintf(w, "  state: the crawl in %s had finished already, nothing was left to fetch; --recrawl fetches its pages again\n", d.f.Dir())
	}
	if queued > 0 {
		fmt.Fprintf(w, "  state: %s keeps them; the same command again, or sluice crawl --state %s, resumes the crawl\n", d.f.Dir(), shellQuote(d.f.Dir()))
	}
	if d.recrawlLater {
		fmt.Fprintln(w, "  recrawl: not started: this run resumed the crawl the state dir had not finished; run --recrawl again to fetch its pages again")
	}
	if d.recrawl {
		fmt.Fprintf(w, "  recrawl: %d unchanged, %d changed, %d new, %d gone",
			d.unchanged.Load(), d.changed.Load(), d.added.Load(), d.gone.Load())
		if d.resumedPass {
			fmt.Fprint(w, " in this run, which resumed a pass begun earlier: the pages fetched before it are not counted here")
		}
		fmt.Fprintln(w)
	}
}

// mallocTrimInterval is how often a crawl with --state hands the C
// allocator's free pages back (see trimMallocEvery). A trim walks the
// arenas' free lists and advises the kernel of every free page: 6-14 ms of
// CPU with the 40-odd MiB of arenas of bench/durable/large.sh, so under
// 0.3% of a core at this interval.
const mallocTrimInterval = 5 * time.Second

// close commits the last records and closes the file and the state dir.
func (d *durable) close(ctx context.Context) error {
	d.stopTrim()
	err := d.out.Close(ctx)
	if ferr := d.f.Close(); err == nil && ferr != nil {
		err = ferr
	}
	if err != nil {
		return fmt.Errorf("crawl: %w", err)
	}
	return nil
}
