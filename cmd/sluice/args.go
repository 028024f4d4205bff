// This file prepares the command line for pflag: single-dash long flags
// from the Go flag package's syntax keep working, a bool flag given a
// separate true/false or number is refused, and a bad flag gets a
// one-line error with a hint.

package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// normalizeArgs rewrites single-dash long flags (-per-host 4, -pages=5),
// which sluice accepted before it took GNU-style flags, to their double-dash
// form. Flags may stand anywhere on the line; "--" ends them. A bool flag
// followed by a bare true, false or number is a usage error: the word
// would otherwise become a URL.
func normalizeArgs(root *cobra.Command, args []string) ([]string, error) {
	cmd, _, err := root.Find(args)
	if err != nil || cmd == nil {
		return args, nil // cobra reports the unknown command
	}
	lookup := func(name string) *pflag.Flag {
		if f := cmd.Flags().Lookup(name); f != nil {
			return f
		}
		return cmd.InheritedFlags().Lookup(name)
	}
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			out = append(out, args[i:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			if a == "help" && urlArgs[cmdPath(cmd)] {
				return nil, usageErrorf("%s\"help\" is not a URL; for help, run %s -h", msgPrefix(cmd), cmd.CommandPath())
			}
			out = append(out, a)
			continue
		}
		name, _, hasValue := strings.Cut(strings.TrimPrefix(a[1:], "-"), "=")
		var f *pflag.Flag
		switch {
		case strings.HasPrefix(a, "--"):
			f = lookup(name)
		case len(name) > 1 && (lookup(name) != nil || name == "help" || name == "version"):
			a, f = "-"+a, lookup(name)
		case len(name) > 1 && (goToolFlags[name] || len(foreignFlags[name]) > 0):
			a = "-" + a // unknown: pflag names it, and flagError hints
		case len(name) == 1:
			f = cmd.Flags().ShorthandLookup(name)
			if f == nil {
				f = cmd.InheritedFlags().ShorthandLookup(name)
			}
			if f == nil && name == "s" && !hasValue && i+1 < len(args) {
				if err := scrapySetting(cmd, args[i+1]); err != nil {
					return nil, err
				}
			}
		}
		out = append(out, a)
		if f == nil || hasValue {
			continue
		}
		if f.NoOptDefVal != "" { // a bool flag takes no separate value
			if err := boolValue(cmd, f, args[i+1:]); err != nil {
				return nil, err
			}
			continue
		}
		if i+1 < len(args) { // the flag's value, whatever it looks like
			i++
			out = append(out, args[i])
		}
	}
	return out, nil
}

// urlArgs are the commands whose arguments are URLs. On them a bare
// "help", as in "sluice fetch help", asks for help, which only -h gives:
// taken as a URL, it was a bad-url record ("missing scheme"). After "--"
// it is an argument like any other.
var urlArgs = map[string]bool{"fetch": true, "crawl": true, "load": true, "queue push": true}

// boolValue refuses a bare true, false or number after bool flag f, which
// would otherwise be taken as a URL or file: --robots false, or hey's -q
// 10 (its rate per worker) where -q is --quiet.
func boolValue(cmd *cobra.Command, f *pflag.Flag, rest []string) error {
	if len(rest) == 0 {
		return nil
	}
	v := rest[0]
	var msg string
	switch _, err := strconv.ParseFloat(v, 64); {
	case v == "true" || v == "false":
		msg = fmt.Sprintf("%s--%s takes no separate value: write --%s=%s", msgPrefix(cmd), f.Name, f.Name, v)
	case err == nil:
		name := "--" + f.Name
		if f.Shorthand != "" {
			name = fmt.Sprintf("-%s (--%s)", f.Shorthand, f.Name)
		}
		msg = fmt.Sprintf("%s%s takes no value, yet %s follows it", msgPrefix(cmd), name, v)
	default:
		return nil
	}
	return &usageError{msg: msg, cmd: cmd.CommandPath()}
}

// flagError turns a flag parsing error into a usage error that names the
// flag, points to the command's help and, for a mistyped flag, names the
// closest one.
func flagError(cmd *cobra.Command, err error) error {
	msg := err.Error()
	var notExist *pflag.NotExistError
	var invalid *pflag.InvalidValueError
	var num *strconv.NumError
	switch {
	case errors.As(err, &notExist) && notExist.GetSpecifiedName() != "":
		name := notExist.GetSpecifiedName()
		if h, ok := foreignFlagOf(cmd, name); ok {
			msg += fmt.Sprintf(" (sluice %s spells it --%s: %s)", cmdPath(cmd), h.flag, h.how)
		} else if s := closestFlag(cmd, name); s != "" {
			msg += fmt.Sprintf(" (did you mean --%s?)", s)
		}
	case errors.As(err, &invalid):
		f, why := invalid.GetFlag(), invalid.Unwrap()
		if errors.As(why, &num) || strings.HasPrefix(why.Error(), "time: ") {
			why = fmt.Errorf("want %s", typeWord(f.Value.Type()))
		}
		msg = fmt.Sprintf("bad value %q for --%s: %v", invalid.GetValue(), f.Name, why)
		if v := invalid.GetValue(); f.Name == "duration" && f.Shorthand == "d" && cmd.Flags().Lookup("body") != nil && !numberLike(v) {
			// hey's -d is the request body; here it is wrk's -d.
			msg += " (hey's -d, the request body, is --body here: -d is --duration, as in wrk)"
		}
	}
	return &usageError{msg: msgPrefix(cmd) + msg, cmd: cmd.CommandPath()}
}

// numberLike reports whether v starts as a number does: a duration
// mistyped (30 for 30s) rather than another tool's value.
func numberLike(v string) bool {
	return v != "" && strings.IndexByte("0123456789.+-", v[0]) >= 0
}

// foreignFlag is the flag of sluice's that does what a flag of another
// tool does, and how.
type foreignFlag struct{ flag, how string }

// foreignFlags maps the long flags of the tools sluice's users come from
// (wget, curl, Scrapy's settings, wrk, hey, vegeta, colly) to sluice's,
// where the edit distance would name the wrong one (--delay is one edit
// from --deny, curl's --request from --requests) or none, and the
// one-letter flags of wrk, wrk2, hey, curl and wget (-t4 -R 2000, -z 10s,
// -X POST, -O FILE) that sluice lacks. A name is hinted only on a
// command that has the flag it maps to, the first such in its list:
// --continue maps to two, one a command, and wget's -t (tries) and -R
// (reject) come before wrk's.
var foreignFlags = map[string][]foreignFlag{
	"delay":                          {hintHostRate},
	"wait":                           {hintHostRate},
	"download-delay":                 {hintHostRate},
	"max-depth":                      {hintDepth},
	"level":                          {hintDepth},
	"depth-limit":                    {hintDepth},
	"limit":                          {hintMaxPages},
	"page-limit":                     {hintMaxPages},
	"threads":                        {hintConcurrency},
	"parallel":                       {hintConcurrency},
	"connections":                    {hintConcurrency},
	"jobs":                           {hintConcurrency},
	"exclude":                        {hintDeny},
	"reject-regex":                   {hintDeny},
	"accept-regex":                   {{"allow", "a regexp the URLs to follow must match"}},
	"retry":                          {hintRetries},
	"tries":                          {hintRetries},
	"max-time":                       {hintTimeout},
	"ignore-robots":                  {hintRobots},
	"no-robots":                      {hintRobots},
	"no-check-certificate":           {{"insecure", "skip TLS certificate checks (-k)"}},
	"jobdir":                         {hintState},
	"continue":                       {{"resume", "append to the -o file, skipping the input lines it has records for"}, hintState},
	"rps":                            {hintRate},
	"qps":                            {hintRate},
	"time":                           {hintDuration},
	"data":                           {hintBody},
	"data-binary":                    {hintBody},
	"data-raw":                       {hintBody},
	"request":                        {hintMethod}, // curl's; one edit from --requests
	"silent":                         {hintQuiet},
	"output-document":                {hintOutput},
	"connect-timeout":                {hintTimeout},
	"span-hosts":                     {{"scope", "--scope domain follows links to subdomains, --scope any to every host"}},
	"random-wait":                    {{"jitter", "spreads each host's delay over this fraction of it"}},
	"concurrent-requests":            {hintConcurrency},
	"max-workers":                    {hintConcurrency},
	"max-connections":                {hintConcurrency},
	"disable-keepalive":              {{"keepalive", "write --keepalive=false to open a connection per request"}},
	"h2":                             {hintHTTP2},
	"h2c":                            {hintHTTP2},
	"concurrent-requests-per-domain": {{"per-host", "requests in flight to one host at most"}},
	"t":                              {hintRetries, {"concurrency", "connections, each with its own sending worker; wrk's threads need no flag"}},
	"R":                              {hintDeny, hintRate},
	"z":                              {hintDuration},
	"D":                              {{"body", "the request body; --body @FILE reads it from a file"}},
	// curl's and wget's one-letter flags.
	"X": {hintMethod},
	"s": {hintQuiet},
	"O": {hintOutput},
	"x": {{"proxy", "an http://, https://, socks5:// or socks5h:// proxy for every request"}},
	"U": {{"user-agent", "the User-Agent header (-A)"}},
	"T": {hintTimeout},
	"w": {hintHostRate},
	"l": {hintDepth},
}

// goToolFlags are long flags of hey and vegeta, which take them after one
// dash as Go's flag package does, that sluice lacks. Given so, pflag read
// them as a shorthand and its value: hey's -disable-keepalive as -d
// isable-keepalive ("bad value for --duration"), -cpus 2 as -c pus.
var goToolFlags = map[string]bool{
	"disable-keepalive": true, "disable-compression": true, "disable-redirects": true,
	"h2": true, "h2c": true, "cpus": true, "host": true, "output": true,
	"max-workers": true, "max-connections": true, "format": true, "lazy": true,
	"chunked": true, "redirects": true, "laddr": true, "resolvers": true,
	"root-certs": true, "cert": true, "key": true, "session-tickets": true,
	"unix-socket": true, "proxy-header": true, "latency": true,
}

// The hints that foreignFlags gives for more than one name.
var (
	hintHostRate    = foreignFlag{"host-rate", "requests a second to each host, so --host-rate 2 waits 500ms between them"}
	hintDepth       = foreignFlag{"depth", "links followed from a seed at most"}
	hintMaxPages    = foreignFlag{"max-pages", "URLs taken in at most"}
	hintConcurrency = foreignFlag{"concurrency", "requests in flight at once (-c)"}
	hintDeny        = foreignFlag{"deny", "a regexp of URLs not to follow"}
	hintRetries     = foreignFlag{"retries", "attempts after the first"}
	hintRobots      = foreignFlag{"robots", "write --robots=false"}
	hintState       = foreignFlag{"state", "a crawl kept in a --state DIR resumes when the same command runs again"}
	hintRate        = foreignFlag{"rate", "requests started a second"}
	hintDuration    = foreignFlag{"duration", "how long to run"}
	hintBody        = foreignFlag{"body", "the request body"}
	hintMethod      = foreignFlag{"method", "the request method (-m)"}
	hintQuiet       = foreignFlag{"quiet", "no progress line on standard error (-q)"}
	hintOutput      = foreignFlag{"output", "the file the records go to (-o); --save DIR keeps the bodies"}
	hintTimeout     = foreignFlag{"timeout", "one request's time limit"}
	hintHTTP2       = foreignFlag{"http2", "HTTP/2, h2 over TLS and h2c over http"}
)

// foreignFlagOf returns the flag of cmd's that name, a flag of another
// tool, maps to, if cmd has one.
func foreignFlagOf(cmd *cobra.Command, name string) (foreignFlag, bool) {
	for _, h := range foreignFlags[name] {
		if cmd.Flags().Lookup(h.flag) != nil {
			return h, true
		}
	}
	return foreignFlag{}, false
}

// typeWord names a flag's value type the way its help would, not as Go
// spells it.
func typeWord(t string) string {
	switch t {
	case "int", "int64", "int32", "uint", "uint64":
		return "a whole number"
	case "float64", "float32":
		return "a number"
	case "duration":
		return "a duration such as 500ms, 10s or 2m"
	case "bool":
		return "true or false"
	}
	return t
}

// closestFlag returns the flag of cmd nearest to name by edit distance, or
// "" if none is within two edits.
func closestFlag(cmd *cobra.Command, name string) string {
	best, bestD := "", 3
	visit := func(f *pflag.Flag) {
		if d := editDistance(name, f.Name); d < bestD {
			best, bestD = f.Name, d
		}
	}
	cmd.Flags().VisitAll(visit)
	cmd.InheritedFlags().VisitAll(visit)
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// cmdPath is the name messages give a command: its path below sluice
// ("queue push", "load merge"), as the command's own errors name it; ""
// for sluice itself, whose messages "sluice:" already begins.
func cmdPath(cmd *cobra.Command) string {
	if !cmd.HasParent() {
		return ""
	}
	return strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ")
}

// msgPrefix is cmdPath followed by ": ", or "" for sluice itself.
func msgPrefix(cmd *cobra.Command) string {
	if p := cmdPath(cmd); p != "" {
		return p + ": "
	}
	return ""
}

// scrapySettings maps the Scrapy settings that users give with -s
// NAME=VALUE to sluice's flags for them.
var scrapySettings = map[string]string{
	"JOBDIR":                         "--state DIR",
	"DOWNLOAD_DELAY":                 "--host-rate (requests a second: DOWNLOAD_DELAY=0.5 is --host-rate 2)",
	"CONCURRENT_REQUESTS":            "-c",
	"CONCURRENT_REQUESTS_PER_DOMAIN": "--per-host",
	"DEPTH_LIMIT":                    "--depth",
	"ROBOTSTXT_OBEY":                 "--robots (--robots=false for False)",
	"CLOSESPIDER_PAGECOUNT":          "--max-pages",
	"USER_AGENT":                     "-A",
	"RETRY_TIMES":                    "--retries",
	"DOWNLOAD_TIMEOUT":               "--timeout (a duration: DOWNLOAD_TIMEOUT=30 is --timeout 30s)",
	"DOWNLOAD_MAXSIZE":               "--max-body",
	"COOKIES_ENABLED":                "--cookies",
}

// scrapySetting refuses Scrapy's -s NAME=VALUE on a command that has no
// -s, naming sluice's flag for the setting: pflag's own error ("unknown
// shorthand flag: 's'") left a Scrapy user with nothing to go on.
func scrapySetting(cmd *cobra.Command, setting string) error {
	name, _, ok := strings.Cut(setting, "=")
	if !ok || name == "" || strings.Trim(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != "" {
		return nil
	}
	msg := fmt.Sprintf("%s: -s %s: sluice takes no -s settings, only flags", cmd.Name(), setting)
	if flag, ok := scrapySettings[name]; ok {
		msg += fmt.Sprintf("; for %s use %s", name, flag)
	} else {
		msg += fmt.Sprintf("; see sluice %s --help", cmd.Name())
	}
	return &usageError{msg: msg, cmd: cmd.CommandPath()}
}
