package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sluicehq/sluice/internal/hostile"
	"github.com/spf13/cobra"
)

// cliSite is a small site for the command-line tests: a home page linking
// to nine pages, each linking on to deeper ones; /private/ is denied by
// robots.txt; /404 is missing; /big is 4 KiB.
func cliSite(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/robots.txt", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "User-agent: *\nDisallow: /private/\n")
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(strings.Repeat("x", 4096)))
	})
	mux.HandleFunc("/404", http.NotFound)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		depth := strings.Count(strings.Trim(r.URL.Path, "/"), "/")
		if r.URL.Path == "/" {
			depth = -1
		}
		fmt.Fprintf(w, "<title>%s</title>", r.URL.Path)
		if depth < 3 {
			for i := range 3 {
				fmt.Fprintf(w, `<a href="%s/%d">x</a>`, strings.TrimSuffix(r.URL.Path, "/"), i)
			}
		}
		if r.URL.Path == "/" {
			fmt.Fprint(w, `<a href="/private/x">p</a><a href="/404">m</a><a href="/big">b</a>`)
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// TestCLIFindings reproduces, one row each, what a new user met on the
// command line, and checks what sluice does now.
func TestCLIFindings(t *testing.T) {
	site := cliSite(t)
	u := site.URL
	dead := hostile.RefusedURL(t)
	dir := t.TempDir()
	tests := []struct {
		name     string
		args     []string
		stdin    string
		code     int
		stdout   []string // fragments of standard output
		stderr   []string // fragments of standard error
		noStdout []string
		check    func(t *testing.T, stdout, stderr string)
	}{
		// 1. Flags after a URL are flags; -- ends them.
		{name: "flag after the URL", args: []string{"crawl", u + "/", "--depth", "1", "-q"}, code: 0,
			check: func(t *testing.T, out, _ string) {
				recs := decodeCrawl(t, out)
				if len(recs) != 7 { // home, 3 pages, private, 404, big
					t.Errorf("%d records, want 7", len(recs))
				}
				for _, r := range recs {
					if r.Depth > 1 || strings.HasPrefix(r.URL, "-") || r.URL == "1" {
						t.Errorf("record %+v", r)
					}
				}
			}},
		{name: "quiet after the URL", args: []string{"fetch", u + "/0", "-q"}, code: 0,
			check: func(t *testing.T, out, errOut string) {
				if n := len(decodeRecords(t, out)); n != 1 || errOut != "" {
					t.Errorf("%d records, stderr %q", n, errOut)
				}
			}},
		{name: "bool flag with a separate value", args: []string{"crawl", "--robots", "false", u + "/"}, code: 2,
			stderr: []string{"sluice: crawl: --robots takes no separate value: write --robots=false", "Run 'sluice crawl --help'"}},
		{name: "double dash ends the flags", args: []string{"fetch", "-q", "--", "-q"}, code: 1,
			stdout: []string{`"url":"-q"`, `missing scheme`}},
		{name: "single-dash long flag as before", args: []string{"fetch", "-q", "-per-host", "2", "-timeout=5s", u + "/0"}, code: 0},

		// 3. Exit codes.
		{name: "fetch all failed", args: []string{"fetch", "--retries", "0", dead}, code: 1,
			stderr: []string{"1 of 1 URL failed"}},
		{name: "crawl of a refused host", args: []string{"crawl", "--retries", "0", dead}, code: 1,
			stderr: []string{"0 pages fetched (0 with status 4xx/5xx), 1 failed, 0 denied by robots.txt", "failed: robots 1"}},
		{name: "crawl of a refused host, --fail-on never", args: []string{"crawl", "--retries", "0", "--fail-on", "never", dead}, code: 0},
		{name: "fetch some failed, --fail-on all", args: []string{"fetch", "--retries", "0", "--fail-on=all", dead, u + "/0"}, code: 0},
		{name: "fetch all failed, --fail-on all", args: []string{"fetch", "--retries", "0", "--fail-on=all", dead}, code: 1},
		{name: "load of a refused host", args: []string{"load", "-n", "20", "-c", "2", dead}, code: 1,
			stdout: []string{"failed     20: 0 with status 400 and above, 20 without a response\n             (connect: 20)"}},
		{name: "load of 404s", args: []string{"load", "-n", "20", "-c", "2", u + "/404"}, code: 1,
			stdout: []string{"failed     20: 20 with status 400 and above, 0 without a response"}, noStdout: []string{"errors     none"}},
		{name: "bad --fail-on", args: []string{"fetch", "--fail-on", "some"}, code: 2, stderr: []string{`bad value "some" for --fail-on`}},

		// 4. Help.
		{name: "help crawl", args: []string{"help", "crawl"}, code: 0,
			stdout: []string{"Crawl starts from the seed URLs", "-c, --concurrency int", "Exit status:", "130"}},
		// fetch and crawl give a bad URL argument a record: exit 1, not
		// the 2 the help said.
		{name: "help tells which bad URL is bad usage", args: []string{"fetch", "-h"}, code: 0,
			stdout: []string{"2    bad usage: unknown command or flag, bad flag value, a URL load", "(fetch and crawl give a bad URL an error record: 1)"}},
		{name: "help bogus", args: []string{"help", "bogus"}, code: 2, stderr: []string{`unknown help topic "bogus"`}},
		{name: "crawl -h on stdout", args: []string{"crawl", "-h"}, code: 0, stdout: []string{"Usage:", "sluice crawl [flags] URL..."}},
		{name: "crawl -h tells of --state", args: []string{"crawl", "-h"}, code: 0,
			stdout: []string{"With --state DIR", "--accept-changes", "fresh start", "--recrawl"}},
		// 501 and 505 are not retried, 408 is: the help said "429, 5xx".
		{name: "fetch -h says which statuses are retried", args: []string{"fetch", "-h"}, code: 0,
			stdout: []string{"timeouts, 408, 429, 500, 502, 503,"}, noStdout: []string{"429, 5xx"}},
		{name: "fetch -h tells of --resume", args: []string{"fetch", "-h"}, code: 0,
			stdout: []string{"With --resume and -o FILE"}},
		{name: "load long forms", args: []string{"load", "--help"}, code: 0,
			stdout: []string{"-c, --concurrency int", "-d, --duration duration", "-n, --requests int", "-A, --user-agent string", "-k, --insecure"}},
		{name: "mistyped flag", args: []string{"crawl", "--dpeth", "2", u + "/"}, code: 2,
			check: func(t *testing.T, out, errOut string) {
				want := "sluice: crawl: unknown flag: --dpeth (did you mean --depth?)\nRun 'sluice crawl --help' for usage.\n"
				if errOut != want || out != "" {
					t.Errorf("stderr %q, stdout %q; want %q", errOut, out, want)
				}
			}},
		{name: "another tool's flag", args: []string{"crawl", "--delay", "1s", u + "/"}, code: 2,
			stderr: []string{"unknown flag: --delay (sluice crawl spells it --host-rate: requests a second to each host, so --host-rate 2 waits 500ms between them)"}},
		{name: "another tool's flag, two commands", args: []string{"crawl", "--continue", u + "/"}, code: 2,
			stderr: []string{"unknown flag: --continue (sluice crawl spells it --state:"}},
		{name: "another tool's flag, fetch", args: []string{"fetch", "--continue", u + "/"}, code: 2,
			stderr: []string{"unknown flag: --continue (sluice fetch spells it --resume:"}},
		// An error of the load package's says "load:" once, under the
		// command's own.
		{name: "load stages", args: []string{"load", "--stages", "bad", u + "/"}, code: 2,
			check: func(t *testing.T, _, errOut string) {
				if want := "sluice: load: --stages: stage 1 \"bad\": want DURATION:RATE"; !strings.HasPrefix(errOut, want) {
					t.Errorf("stderr %q; want it to start %q", errOut, want)
				}
			}},
		// "help" after a command that takes URLs asks for help: it was
		// fetched as a URL, a bad-url record ("missing scheme").
		{name: "fetch help", args: []string{"fetch", "help"}, code: 2, noStdout: []string{"bad-url"},
			stderr: []string{`sluice: fetch: "help" is not a URL; for help, run sluice fetch -h`}},
		{name: "crawl help", args: []string{"crawl", u + "/", "help"}, code: 2, noStdout: []string{"bad-url"},
			stderr: []string{`sluice: crawl: "help" is not a URL; for help, run sluice crawl -h`}},
		{name: "load help", args: []string{"load", "help"}, code: 2,
			stderr: []string{`sluice: load: "help" is not a URL; for help, run sluice load -h`}, noStdout: []string{"missing scheme"}},
		{name: "queue push help", args: []string{"queue", "push", "help"}, code: 2,
			stderr: []string{`sluice: queue push: "help" is not a URL; for help, run sluice queue push -h`}},
		{name: "help as a flag's value", args: []string{"fetch", "-A", "help", "-q", u + "/"}, code: 0},
		// wrk, wrk2 and hey name their flags with one letter.
		{name: "wrk's threads", args: []string{"load", "-t4", "-c", "100", "-d", "30s", u + "/"}, code: 2,
			stderr: []string{"unknown shorthand flag: 't' in -t4 (sluice load spells it --concurrency: "}},
		{name: "wrk2's rate", args: []string{"load", "-R", "2000", u + "/"}, code: 2,
			stderr: []string{"unknown shorthand flag: 'R' in -R (sluice load spells it --rate: requests started a second)"}},
		{name: "hey's duration", args: []string{"load", "-z", "10s", u + "/"}, code: 2,
			stderr: []string{"unknown shorthand flag: 'z' in -z (sluice load spells it --duration: how long to run)"}},
		{name: "hey's body", args: []string{"load", "-m", "POST", "-d", `{"a":1}`, u + "/"}, code: 2,
			stderr: []string{`bad value "{\"a\":1}" for --duration: want a duration such as 500ms, 10s or 2m (hey's -d, the request body, is --body here: -d is --duration, as in wrk)`}},
		{name: "hey's body, form", args: []string{"load", "-d", "name=x", u + "/"}, code: 2,
			stderr: []string{"(hey's -d, the request body, is --body here"}},
		{name: "wrk's duration without a unit", args: []string{"load", "-d", "30", u + "/"}, code: 2,
			stderr: []string{`bad value "30" for --duration: want a duration such as 500ms, 10s or 2m`},
			check: func(t *testing.T, _, errOut string) {
				if strings.Contains(errOut, "--body") {
					t.Errorf("stderr %q hints --body for a number", errOut)
				}
			}},
		{name: "hey's body file", args: []string{"load", "-D", "body.json", u + "/"}, code: 2,
			stderr: []string{"unknown shorthand flag: 'D' in -D (sluice load spells it --body: the request body; --body @FILE reads it from a file)"}},
		// curl's --request is the method; the nearest flag was --requests,
		// a count, and the hint said "did you mean --requests?".
		{name: "curl's request", args: []string{"load", "--request", "POST", u + "/"}, code: 2,
			stderr: []string{"unknown flag: --request (sluice load spells it --method: the request method (-m))"}, noStdout: []string{"requests"}},
		{name: "curl's -X", args: []string{"load", "-X", "POST", u + "/"}, code: 2,
			stderr: []string{"unknown shorthand flag: 'X' in -X (sluice load spells it --method: "}},
		{name: "curl's -sL", args: []string{"fetch", "-sL", u + "/"}, code: 2,
			stderr: []string{"unknown shorthand flag: 's' in -sL (sluice fetch spells it --quiet: "}},
		{name: "wget's -O", args: []string{"fetch", "-O", "page.html", u + "/"}, code: 2,
			stderr: []string{"unknown shorthand flag: 'O' in -O (sluice fetch spells it --output: the file the records go to (-o); --save DIR keeps the bodies)"}},
		{name: "wget's -l", args: []string{"crawl", "-l", "2", u + "/"}, code: 2,
			stderr: []string{"unknown shorthand flag: 'l' in -l (sluice crawl spells it --depth: "}},
		// hey and vegeta take long flags after one dash; pflag read
		// -disable-keepalive as -d isable-keepalive, a bad duration.
		{name: "hey's -disable-keepalive", args: []string{"load", "-disable-keepalive", "-n", "1", u + "/"}, code: 2,
			stderr: []string{"unknown flag: --disable-keepalive (sluice load spells it --keepalive: write --keepalive=false"}, noStdout: []string{"duration"}},
		{name: "hey's -h2", args: []string{"load", "-h2", "-n", "1", u + "/"}, code: 2,
			stderr: []string{"unknown flag: --h2 (sluice load spells it --http2: "}},
		{name: "hey's -cpus", args: []string{"load", "-cpus", "2", "-n", "1", u + "/"}, code: 2,
			check: func(t *testing.T, _, errOut string) {
				if want := "sluice: load: unknown flag: --cpus\n"; !strings.HasPrefix(errOut, want) {
					t.Errorf("stderr %q; want it to start %q", errOut, want)
				}
			}},
		{name: "vegeta's -max-workers", args: []string{"load", "-max-workers=10", u + "/"}, code: 2,
			stderr: []string{"unknown flag: --max-workers (sluice load spells it --concurrency: "}},
		{name: "single-dash foreign flag", args: []string{"load", "-rps", "100", u + "/"}, code: 2,
			stderr: []string{"unknown flag: --rps (sluice load spells it --rate: "}},
		{name: "single-dash sluice flag still works", args: []string{"load", "-requests=3", "-concurrency", "1", u + "/0"}, code: 0,
			stdout: []string{"requests   3 (3 ok"}},
		// hey's -q N is a rate per worker; here -q is --quiet, and the 10
		// was taken as a second URL.
		{name: "hey's rate", args: []string{"load", "-q", "10", "-n", "5", u + "/"}, code: 2,
			stderr: []string{"sluice: load: -q (--quiet) takes no value, yet 10 follows it"}},
		{name: "another tool's flag the command lacks", args: []string{"fetch", "--max-depth", "2", u + "/"}, code: 2,
			check: func(t *testing.T, _, errOut string) {
				if want := "sluice: fetch: unknown flag: --max-depth\n"; !strings.HasPrefix(errOut, want) {
					t.Errorf("stderr %q; want it to start %q", errOut, want)
				}
			}},
		{name: "version", args: []string{"--version"}, code: 0, stdout: []string{"sluice "}},
		{name: "version command", args: []string{"version"}, code: 0,
			check: func(t *testing.T, out, _ string) {
				if _, want, _ := runFetchCLI(context.Background(), "", "--version"); out != want {
					t.Errorf("sluice version printed %q, --version %q", out, want)
				}
			}},
		// It was "sluice: sluice: unknown flag", and "sluice: push:" for
		// sluice queue push.
		{name: "unknown flag of sluice itself", args: []string{"--bogus"}, code: 2,
			check: func(t *testing.T, _, errOut string) {
				if want := "sluice: unknown flag: --bogus\n"; !strings.HasPrefix(errOut, want) {
					t.Errorf("stderr %q; want it to start %q", errOut, want)
				}
			}},
		{name: "unknown command", args: []string{"fecth"}, code: 2, stderr: []string{`unknown command "fecth"`, "fetch"}},
		{name: "unknown queue subcommand", args: []string{"queue", "stat"}, code: 2,
			stderr: []string{`unknown command "stat" for "sluice queue"`, "Did you mean this?\n\tstats"}},
		{name: "misspelt queue subcommand", args: []string{"queue", "psuh"}, code: 2, stderr: []string{`unknown command "psuh" for "sluice queue"`, "Did you mean this?\n\tpush"}},
		// push and stats take no URLs from the queue: a --worker name
		// was accepted and meant nothing.
		{name: "queue push has no --worker", args: []string{"queue", "push", "--redis", "redis://127.0.0.1:1/0", "--queue", "q", "--worker", "w", "http://x/"}, code: 2,
			stderr: []string{"sluice: queue push: unknown flag: --worker"}},
		{name: "queue stats has no --worker", args: []string{"queue", "stats", "--worker", "w"}, code: 2,
			stderr: []string{"sluice: queue stats: unknown flag: --worker"}},
		{name: "queue push -h", args: []string{"queue", "push", "-h"}, code: 0,
			stdout: []string{"--redis string", "the Redis the queue is kept in"}, noStdout: []string{"--worker", "share the work"}},
		{name: "no queue subcommand", args: []string{"queue"}, code: 2, stderr: []string{"queue: no subcommand given", "Available Commands"}},
		{name: "load merge without reports", args: []string{"load", "merge"}, code: 2,
			stderr: []string{"merge: want at least 1 argument(s), got 0", "Run 'sluice load merge --help' for usage."}},
		{name: "no command", args: nil, code: 2, stderr: []string{"no command given", "Available Commands"}},
		{name: "completion", args: []string{"completion", "bash"}, code: 0, stdout: []string{"bash completion", "sluice"}},
		// These printed the help and exited 0.
		{name: "completion of an unknown shell", args: []string{"completion", "tcsh"}, code: 2,
			stderr: []string{`unknown command "tcsh" for "sluice completion"`}},
		{name: "completion of a misspelt shell", args: []string{"completion", "bsh"}, code: 2,
			stderr: []string{`unknown command "bsh" for "sluice completion"`, "Did you mean this?\n\tbash"}},
		{name: "completion without a shell", args: []string{"completion"}, code: 2,
			stderr: []string{"completion: no subcommand given", "Available Commands"}},

		// 5. One message per mistake.
		{name: "missing scheme in fetch", args: []string{"fetch", "example.com"}, code: 1,
			stdout: []string{`bad URL \"example.com\": missing scheme (want http:// or https://)`}},
		{name: "missing scheme in crawl", args: []string{"crawl", "example.com"}, code: 1,
			stdout: []string{`bad URL \"example.com\": missing scheme (want http:// or https://)`}},
		{name: "missing scheme in load", args: []string{"load", "example.com"}, code: 2,
			stderr: []string{`bad URL "example.com": missing scheme (want http:// or https://)`}},
		{name: "empty and comment arguments in fetch", args: []string{"fetch", "", "#x"}, code: 1,
			stdout: []string{`"url":"","bytes":0`, `"url":"#x","bytes":0`, `missing scheme`}},
		{name: "unsupported scheme in fetch", args: []string{"fetch", "ftp://example.com/"}, code: 1,
			stdout: []string{`bad URL \"ftp://example.com/\": unsupported scheme \"ftp\" (want http or https)`}},
		{name: "unsupported scheme in crawl", args: []string{"crawl", "ftp://example.com/"}, code: 1,
			stdout: []string{`bad URL \"ftp://example.com/\": unsupported scheme \"ftp\" (want http or https)`}},
		{name: "mailto: in fetch", args: []string{"fetch", "mailto:a@example.com", "javascript:void(0)", "localhost:8080"}, code: 1,
			stdout: []string{`bad URL \"mailto:a@example.com\": unsupported scheme \"mailto\" (want http or https)`,
				`bad URL \"javascript:void(0)\": unsupported scheme \"javascript\" (want http or https)`,
				`bad URL \"localhost:8080\": missing scheme (want http:// or https://)`}},
		{name: "data: in crawl", args: []string{"crawl", "data:text/html,hi"}, code: 1,
			stdout: []string{`bad URL \"data:text/html,hi\": unsupported scheme \"data\" (want http or https)`}},
		{name: "unsupported scheme in load", args: []string{"load", "ftp://example.com/"}, code: 2,
			stderr: []string{`bad URL "ftp://example.com/": unsupported scheme "ftp" (want http or https)`}},
		{name: "port out of range in fetch", args: []string{"fetch", "http://127.0.0.1:99999/"}, code: 1,
			stdout: []string{`bad URL \"http://127.0.0.1:99999/\": port 99999 out of range (0 to 65535)`, `"attempts":0`, `"error_kind":"bad-url"`}},
		{name: "port out of range in crawl", args: []string{"crawl", "http://127.0.0.1:99999/"}, code: 1,
			stdout: []string{`bad URL \"http://127.0.0.1:99999/\": port 99999 out of range (0 to 65535)`, `"error_kind":"bad-url"`}},
		{name: "port out of range in load", args: []string{"load", "http://127.0.0.1:99999/"}, code: 2,
			stderr: []string{`bad URL "http://127.0.0.1:99999/": port 99999 out of range (0 to 65535)`}},
		{name: "password in a bad URL", args: []string{"fetch", "ftp://u:s3cret@x/", "http://u:s3cret@h:99999/", "http://u:s3cret@[::1/"}, code: 1,
			stdout: []string{`bad URL \"ftp://u:xxxxx@x/\"`, `bad URL \"http://u:xxxxx@h:99999/\"`, `bad URL \"http://u:xxxxx@[::1/\"`}, noStdout: []string{"s3cret"}},
		{name: "password in a bad seed", args: []string{"crawl", "ftp://u:s3cret@x/"}, code: 1,
			stdout: []string{`"url":"ftp://u:xxxxx@x/"`}, noStdout: []string{"s3cret"}},
		{name: "password in a bad load URL", args: []string{"load", "ftp://u:s3cret@x/"}, code: 2,
			stderr: []string{`bad URL "ftp://u:xxxxx@x/"`}, check: func(t *testing.T, _, errOut string) {
				if strings.Contains(errOut, "s3cret") {
					t.Errorf("stderr shows the password: %s", errOut)
				}
			}},
		{name: "bad value in fetch", args: []string{"fetch", "-c", "x"}, code: 2, stderr: []string{`fetch: bad value "x" for --concurrency: want a whole number`}},
		{name: "bad value in crawl", args: []string{"crawl", "-c", "x"}, code: 2, stderr: []string{`crawl: bad value "x" for --concurrency: want a whole number`}},
		{name: "bad value in load", args: []string{"load", "-c", "x"}, code: 2, stderr: []string{`load: bad value "x" for --concurrency: want a whole number`}},
		{name: "duration without unit", args: []string{"crawl", "--grace", "5"}, code: 2, stderr: []string{`crawl: bad value "5" for --grace: want a duration such as 500ms, 10s or 2m`}},
		{name: "bad number", args: []string{"load", "--rate", "abc"}, code: 2, stderr: []string{`load: bad value "abc" for --rate: want a number`}},
		{name: "zero --max-links", args: []string{"crawl", "--max-links", "0", u}, code: 2, stderr: []string{"crawl: --max-links must be at least 1, got 0"}},
		{name: "--max-queue below -1", args: []string{"crawl", "--max-queue", "-2", u}, code: 2, stderr: []string{"crawl: --max-queue must be -1 (no cap) or more, got -2"}},
		{name: "NaN --jitter", args: []string{"crawl", "--jitter", "NaN", u}, code: 2, stderr: []string{"crawl: --jitter must be between 0 and 1, got NaN"}},
		{name: "negative --grace", args: []string{"fetch", "--grace", "-2s", u}, code: 2, stderr: []string{"fetch: --grace must not be negative, got -2s"}},
		{name: "too many demo pages", args: []string{"demo", "--pages", "100000000000"}, code: 2,
			stderr: []string{"demo: --pages must be at most 1000000, got 100000000000"}},
		{name: "too much demo concurrency", args: []string{"demo", "-c", "20000"}, code: 2,
			stderr: []string{"demo: --concurrency must be at most 10000, got 20000"}},
		{name: "zero concurrency in fetch", args: []string{"fetch", "-c", "0"}, code: 2, stderr: []string{"fetch: --concurrency must be at least 1, got 0"}},
		{name: "zero concurrency in crawl", args: []string{"crawl", "-c", "0", u}, code: 2, stderr: []string{"crawl: --concurrency must be at least 1, got 0"}},
		{name: "zero concurrency in load", args: []string{"load", "-c", "0", u}, code: 2, stderr: []string{"load: --concurrency must be at least 1, got 0"}},

		// 6. - is standard input or output everywhere.
		{name: "fetch -i - -o -", args: []string{"fetch", "-q", "-i", "-", "-o", "-"}, stdin: u + "/0\n", code: 0, stdout: []string{`"status":200`}},
		{name: "crawl -o -", args: []string{"crawl", "-q", "--depth", "0", "-o", "-", u + "/"}, code: 0, stdout: []string{`"status":200`}},
		{name: "load --json -", args: []string{"load", "-n", "5", "-c", "1", "--json", "-", u + "/0"}, code: 0,
			stderr: []string{"closed model"},
			check: func(t *testing.T, out, _ string) {
				if !json.Valid([]byte(out)) {
					t.Errorf("stdout is not JSON alone:\n%s", out)
				}
			}},
		{name: "load --targets -", args: []string{"load", "-n", "3", "-c", "1", "--targets", "-"}, stdin: "GET " + u + "/0\n", code: 0,
			stdout: []string{"requests   3 (3 ok"}},
		{name: "load --json - and --html -", args: []string{"load", "--json", "-", "--html", "-", u}, code: 2, stderr: []string{"only one of --json and --html"}},
		{name: "output to a missing directory", args: []string{"fetch", "-o", filepath.Join(dir, "no", "x"), u}, code: 2, stderr: []string{"sluice: fetch: -o: open ", "no such file"}},
		{name: "fetch input a directory", args: []string{"fetch", "-i", dir}, code: 2, stderr: []string{"sluice: fetch: -i: " + dir + " is a directory"}},
		{name: "crawl input a directory", args: []string{"crawl", "-i", dir}, code: 2, stderr: []string{"sluice: crawl: -i: " + dir + " is a directory"}},
		{name: "queue push input missing", args: []string{"queue", "push", "--redis", "redis://127.0.0.1:1/0", "--queue", "q", "-i", filepath.Join(dir, "none")}, code: 2,
			stderr: []string{"sluice: queue push: -i: stat "}},
		{name: "crawl output to a missing directory", args: []string{"crawl", "-o", filepath.Join(dir, "no", "x"), u}, code: 2, stderr: []string{"sluice: crawl: -o: open ", "no such file"}},

		// 7. Counts and pluralisation.
		{name: "one URL", args: []string{"fetch", u + "/0"}, code: 0, stderr: []string{"fetched 1 URL in", "1 response (0 with status 4xx/5xx), 0 failed"}},
		{name: "robots denials are not errors", args: []string{"crawl", "--depth", "1", u + "/"}, code: 0,
			stdout: []string{`"skipped":"robots.txt"`},
			stderr: []string{"crawled 7 URLs", "6 pages fetched (1 with status 4xx/5xx), 0 failed, 1 denied by robots.txt"}},
		{name: "crawl records say truncated", args: []string{"crawl", "-q", "--depth", "1", "--max-body", "1000", u + "/"}, code: 0,
			stdout: []string{`"links":0,"bytes":1000,"truncated":true`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runFetchCLI(context.Background(), tt.stdin, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, out, errOut)
			}
			for _, w := range tt.stdout {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tt.noStdout {
				if strings.Contains(out, w) {
					t.Errorf("stdout has %q:\n%s", w, out)
				}
			}
			for _, w := range tt.stderr {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
			if tt.check != nil {
				tt.check(t, out, errOut)
			}
		})
	}
}

// TestExitCodes runs one command per exit code.
func TestExitCodes(t *testing.T) {
	site := cliSite(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		ctx  context.Context
		args []string
		code int
	}{
		{context.Background(), []string{"fetch", "-q", site.URL + "/0"}, exitOK},
		{context.Background(), []string{"fetch", "-q", site.URL + "/0", "nope"}, exitFailed},
		{context.Background(), []string{"fetch", "--nope"}, exitUsage},
		{ctx, []string{"crawl", "-q", site.URL + "/"}, exitInterrupted},
	} {
		if code, _, errOut := runFetchCLI(tc.ctx, "", tc.args...); code != tc.code {
			t.Errorf("%q: exit %d, want %d: %s", tc.args, code, tc.code, errOut)
		}
	}
}

// TestSummariesMatchRecords checks the counts of the summaries against the
// records they summarise.
func TestSummariesMatchRecords(t *testing.T) {
	site := cliSite(t)
	dead := hostile.RefusedURL(t)
	num := func(t *testing.T, s, pattern string) int {
		t.Helper()
		m := regexp.MustCompile(pattern).FindStringSubmatch(s)
		if m == nil {
			t.Fatalf("summary lacks %q:\n%s", pattern, s)
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}
	t.Run("fetch", func(t *testing.T) {
		in := strings.Join([]string{site.URL + "/0", site.URL + "/404", dead, "nope", site.URL + "/big", "# comment", ""}, "\n")
		_, out, errOut := runFetchCLI(context.Background(), in, "fetch", "--retries", "0")
		recs := decodeRecords(t, out)
		var ok, failed, httpErr int
		for _, r := range recs {
			switch {
			case r.Error != "":
				failed++
			case r.Status >= 400:
				httpErr++
				ok++
			default:
				ok++
			}
		}
		if num(t, errOut, `fetched (\d+) URLs`) != len(recs) || num(t, errOut, `(\d+) responses`) != ok ||
			num(t, errOut, `\((\d+) with status 4xx/5xx\)`) != httpErr || num(t, errOut, `(\d+) failed`) != failed ||
			num(t, errOut, `(\d+) of \d+ URLs failed`) != failed || failed != 2 || httpErr != 1 {
			t.Errorf("records: %d, %d responses (%d 4xx/5xx), %d failed; summary:\n%s", len(recs), ok, httpErr, failed, errOut)
		}
	})
	t.Run("crawl", func(t *testing.T) {
		_, out, errOut := runFetchCLI(context.Background(), "", "crawl", "--retries", "0", site.URL+"/", dead, "nope")
		recs := decodeCrawl(t, out)
		var fetched, denied, failed, httpErr int
		for _, r := range recs {
			switch {
			case r.Skipped != "":
				denied++
			case r.Error != "":
				failed++
			default:
				fetched++
				if r.Status >= 400 {
					httpErr++
				}
			}
		}
		if num(t, errOut, `crawled (\d+) URLs`) != len(recs) || num(t, errOut, `(\d+) pages fetched`) != fetched ||
			num(t, errOut, `\((\d+) with status 4xx/5xx\)`) != httpErr || num(t, errOut, `(\d+) failed,`) != failed ||
			num(t, errOut, `(\d+) denied by robots.txt`) != denied || denied != 1 || failed != 2 {
			t.Errorf("records: %d, %d fetched (%d 4xx/5xx), %d failed, %d denied; summary:\n%s", len(recs), fetched, httpErr, failed, denied, errOut)
		}
	})
}

// TestFetchDurationIncludesRetries checks that duration_ms runs from the
// first attempt to the last, for a success after a retry as for a failure.
func TestFetchDurationIncludesRetries(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(60 * time.Millisecond)
		if r.URL.Path == "/flaky" && hits.Add(1) == 1 || r.URL.Path == "/down" {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	_, out, errOut := runFetchCLI(context.Background(), "", "fetch", "--retries", "1", srv.URL+"/flaky", srv.URL+"/down")
	recs := decodeRecords(t, out)
	if len(recs) != 2 {
		t.Fatalf("%d records: %s", len(recs), errOut)
	}
	for _, r := range recs {
		if r.Attempts != 2 || r.DurationMS < 120 {
			t.Errorf("%s: %d attempts in %.1f ms; want 2 attempts of 60 ms each counted", r.URL, r.Attempts, r.DurationMS)
		}
	}
}

func TestStatusLine(t *testing.T) {
	var b strings.Builder
	s := newStatusLine(&b)
	now := s.start.Add(2 * time.Second)
	s.now = func() time.Time { return now }
	s.show(3, "URLs", func() string { return "crawl: 3 URLs, 0 failed" })
	now = now.Add(99 * time.Millisecond)
	s.show(4, "URLs", func() string { t.Error("redrawn within 100ms"); return "" })
	now = now.Add(time.Millisecond)
	s.show(5, "URLs", func() string { return "crawl: 5 URLs, 0 failed" })
	s.clear()
	want := "\r\033[Kcrawl: 3 URLs, 0 failed (1.5 URLs/s)" +
		"\r\033[Kcrawl: 5 URLs, 0 failed (2.4 URLs/s)\r\033[K"
	if got := b.String(); got != want {
		t.Errorf("status line %q, want %q", got, want)
	}
}

func TestPlural(t *testing.T) {
	for n, want := range map[int]string{0: "0 URLs", 1: "1 URL", 2: "2 URLs"} {
		if got := plural(n, "URL"); got != want {
			t.Errorf("plural(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestManPages(t *testing.T) {
	dir := t.TempDir()
	if code, _, errOut := runFetchCLI(context.Background(), "", "man", dir); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, name := range []string{"sluice.1", "sluice-crawl.1", "sluice-fetch.1", "sluice-load.1"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || !strings.Contains(string(b), ".TH") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestDemoCounts checks that the demo's summary shows its 404s and 503s
// as pages with an HTTP error status, not as "0 errors" alone.
func TestDemoCounts(t *testing.T) {
	code, _, errOut := runFetchCLI(context.Background(), "", "demo", "--pages", "1")
	if code != 0 || !strings.Contains(errOut, "demo: the site served 1 distinct page and 0 duplicate fetches") {
		t.Fatalf("one page: exit %d:\n%s", code, errOut)
	}
	code, _, errOut = runFetchCLI(context.Background(), "", "demo", "--pages", "200")
	if code != 0 || !strings.Contains(errOut, "200 pages fetched (6 with status 4xx/5xx), 0 failed") {
		t.Fatalf("exit %d:\n%s", code, errOut)
	}
}

// TestSubcommandsExtend checks the shape later commands rely on: one more
// subcommand of load leaves 'sluice load URL' and its flags after the URL
// working.
func TestSubcommandsExtend(t *testing.T) {
	site := cliSite(t)
	var stdout, stderr strings.Builder
	e := &env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr}
	root := newRoot(e)
	load, _, err := root.Find([]string{"load"})
	if err != nil {
		t.Fatal(err)
	}
	ran := false
	probe := &cobra.Command{Use: "probe", RunE: func(*cobra.Command, []string) error { ran = true; return nil }}
	load.AddCommand(probe)
	for _, tc := range []struct {
		args []string
		ok   func() bool
	}{
		{[]string{"load", "probe"}, func() bool { return ran }},
		{[]string{"load", site.URL + "/0", "-n", "3", "-c", "1"}, func() bool { return strings.Contains(stdout.String(), "requests   3") }},
	} {
		args, err := normalizeArgs(root, tc.args)
		if err != nil {
			t.Fatal(err)
		}
		root.SetArgs(args)
		if err := root.ExecuteContext(context.Background()); err != nil || !tc.ok() {
			t.Errorf("%q: %v\n%s%s", tc.args, err, stdout.String(), stderr.String())
		}
	}
}

// TestForeignFlags checks that each flag another tool's name is mapped to
// is a flag of sluice's, and that none of those names is one: a renamed
// flag would leave a hint naming nothing, and a new flag of that name
// would never be hinted.
func TestForeignFlags(t *testing.T) {
	root := newRoot(&env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard})
	has := func(name string) bool {
		for _, c := range root.Commands() {
			if c.Flags().Lookup(name) != nil || len(name) == 1 && c.Flags().ShorthandLookup(name) != nil {
				return true
			}
		}
		return false
	}
	for name, hints := range foreignFlags {
		if has(name) {
			t.Errorf("--%s is a flag of sluice's, yet mapped to another", name)
		}
		for _, h := range hints {
			if !has(h.flag) {
				t.Errorf("--%s maps to --%s, which no command has", name, h.flag)
			}
		}
	}
}

// TestHelpFitsEightyColumns prints the help of every command, hidden ones
// included, and checks that no line is wider than a terminal of 80
// columns: flag descriptions ran on to 301 columns, and examples and the
// command list to 86 and more.
func TestHelpFitsEightyColumns(t *testing.T) {
	root := newRoot(&env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard})
	var paths [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		paths = append(paths, path)
		for _, sub := range c.Commands() {
			walk(sub, append(append([]string(nil), path...), sub.Name()))
		}
	}
	walk(root, nil)
	for _, path := range paths {
		t.Run(strings.Join(append([]string{"sluice"}, path...), " "), func(t *testing.T) {
			code, out, errOut := runCLI(context.Background(), append(path, "-h")...)
			if code != 0 || out == "" {
				t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
			}
			for i, line := range strings.Split(out, "\n") {
				if n := utf8.RuneCountInString(line); n > 80 {
					t.Errorf("line %d is %d columns:\n%s", i+1, n, line)
				}
			}
		})
	}
}

// TestScrapySettings gives crawl Scrapy's -s NAME=VALUE: a usage error
// naming sluice's flag for the setting, where pflag had said only
// "unknown shorthand flag: 's'"; and each flag named is one of crawl's.
func TestScrapySettings(t *testing.T) {
	root := newRoot(&env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard})
	crawl, _, err := root.Find([]string{"crawl"})
	if err != nil {
		t.Fatal(err)
	}
	for name, use := range scrapySettings {
		flag, _, _ := strings.Cut(use, " ")
		if f := strings.TrimLeft(flag, "-"); crawl.Flags().Lookup(f) == nil && crawl.Flags().ShorthandLookup(f) == nil {
			t.Errorf("%s maps to %s, which crawl lacks", name, flag)
		}
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"crawl", "-s", "JOBDIR=crawls/x", "http://127.0.0.1:1/"}, "-s JOBDIR=crawls/x: sluice takes no -s settings, only flags; for JOBDIR use --state DIR"},
		{[]string{"crawl", "http://127.0.0.1:1/", "-s", "DEPTH_LIMIT=2"}, "for DEPTH_LIMIT use --depth"},
		{[]string{"crawl", "-s", "LOG_LEVEL=INFO", "http://127.0.0.1:1/"}, "-s LOG_LEVEL=INFO: sluice takes no -s settings, only flags; see sluice crawl --help"},
		{[]string{"crawl", "-s", "http://127.0.0.1:1/"}, "unknown shorthand flag: 's' in -s"},
	}
	for _, tc := range tests {
		code, _, errOut := runFetchCLI(context.Background(), "", tc.args...)
		if code != exitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d: %s\nwant %d and %q", tc.args, code, errOut, exitUsage, tc.want)
		}
	}
}
