// This file holds the command tree: the root command, help, version,
// shell completion and man pages, and how errors become exit codes.

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"unicode"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/internal/buildinfo"
	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// env is what every subcommand's run gets besides its context and flags:
// the process's streams and the abort signal.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	abort          <-chan struct{} // closed at the second SIGINT or SIGTERM
}

// newRoot builds the command tree. Each subcommand lives in its own file
// as newXxxCmd(e); a subcommand may have subcommands of its own.
func newRoot(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "sluice",
		Short: "Fetch URL lists, crawl sites and load-test HTTP endpoints",
		Long: `sluice fetches URL lists, crawls sites politely and load-tests HTTP
endpoints, with bounded concurrency. fetch and crawl write one JSON line per
URL; load prints a report.

` + exitHelp,
		Version:           version(),
		SilenceErrors:     true,
		SilenceUsage:      true,
		CompletionOptions: cobra.CompletionOptions{HiddenDefaultCmd: false},
		RunE: func(cmd *cobra.Command, args []string) error {
			cmd.SetOut(e.stderr)
			_ = cmd.Usage()
			return usageErrorf("no command given")
		},
	}
	root.SetIn(e.stdin)
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.SetFlagErrorFunc(flagError)
	root.SetUsageFunc(usage)
	root.SetHelpCommand(newHelpCmd())
	root.AddCommand(
		newFetchCmd(e),
		newCrawlCmd(e),
		newLoadCmd(e),
		newDemoCmd(e),
		newQueueCmd(e),
		newManCmd(),
		newVersionCmd(),
	)
	// cobra adds its completion command as the command runs, as a group
	// of one command per shell that shows its help and exits 0 whatever
	// follows: "sluice completion tcsh" seemed to work. Added now, it
	// answers as sluice queue does.
	root.InitDefaultCompletionCmd()
	if c, _, err := root.Find([]string{"completion"}); err == nil && c != root {
		c.Args = cobra.ArbitraryArgs
		c.RunE = groupRunE(e)
		for _, sub := range c.Commands() {
			sub.Long = wrapLines(sub.Long, helpColumns)
		}
	}
	return root
}

// helpColumns is the width help is wrapped to: a terminal's default.
const helpColumns = 80

// usage is cobra's usage, written in Go as cobra's own default is, with
// the flag descriptions wrapped to helpColumns and indented under their
// column; cobra's runs each on one line, up to 300 columns for the
// longest. A usage template would do it in a line, but text/template's
// reflection makes the linker keep every exported method of the program
// (see .ci/run).
func usage(c *cobra.Command) error {
	var b strings.Builder
	b.WriteString("Usage:")
	if c.Runnable() {
		fmt.Fprintf(&b, "\n  %s", c.UseLine())
	}
	if c.HasAvailableSubCommands() {
		fmt.Fprintf(&b, "\n  %s [command]", c.CommandPath())
	}
	if c.HasExample() {
		fmt.Fprintf(&b, "\n\nExamples:\n%s", c.Example)
	}
	if c.HasAvailableSubCommands() {
		b.WriteString("\n\nAvailable Commands:")
		for _, sub := range c.Commands() {
			if sub.IsAvailableCommand() || sub.Name() == "help" {
				fmt.Fprintf(&b, "\n  %-*s %s", sub.NamePadding(), sub.Name(), sub.Short)
			}
		}
	}
	if c.HasAvailableLocalFlags() {
		fmt.Fprintf(&b, "\n\nFlags:\n%s", strings.TrimRightFunc(c.LocalFlags().FlagUsagesWrapped(helpColumns), unicode.IsSpace))
	}
	if c.HasAvailableInheritedFlags() {
		fmt.Fprintf(&b, "\n\nGlobal Flags:\n%s", strings.TrimRightFunc(c.InheritedFlags().FlagUsagesWrapped(helpColumns), unicode.IsSpace))
	}
	if c.HasAvailableSubCommands() {
		fmt.Fprintf(&b, "\n\nUse \"%s [command] --help\" for more information about a command.", c.CommandPath())
	}
	b.WriteString("\n")
	_, err := io.WriteString(c.OutOrStderr(), b.String())
	return err
}

// wrapLines breaks each line of s wider than cols at its last space that
// fits, the rest indented as the line was: for help text written
// elsewhere (cobra's completion commands).
func wrapLines(s string, cols int) string {
	lines := strings.Split(s, "\n")
	var out []string
	for _, line := range lines {
		indent := line[:len(line)-len(strings.TrimLeft(line, " \t"))]
		for len(line) > cols {
			i := strings.LastIndexByte(line[:cols+1], ' ')
			if i <= len(indent) {
				break
			}
			out = append(out, line[:i])
			line = indent + line[i+1:]
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

// execute runs args through the command tree and returns the exit code.
func (e *env) execute(ctx context.Context, args []string) int {
	root := newRoot(e)
	args, err := normalizeArgs(root, args)
	if err == nil {
		root.SetArgs(args)
		err = root.ExecuteContext(ctx)
	}
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(e.stderr, "sluice:", err)
	var ue *usageError
	if errors.As(err, &ue) && ue.cmd != "" {
		fmt.Fprintf(e.stderr, "Run '%s --help' for usage.\n", ue.cmd)
	}
	return exitCode(err)
}

// newHelpCmd replaces cobra's help command, which answers an unknown topic
// with the top-level usage and exit status 0.
func newHelpCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command",
		Long:  "Help prints the help of any command: sluice help crawl, sluice help load.",
		RunE: func(c *cobra.Command, args []string) error {
			cmd, rest, err := c.Root().Find(args)
			if err != nil || len(rest) > 0 {
				return &usageError{msg: fmt.Sprintf("unknown help topic %q", strings.Join(args, " ")), cmd: "sluice"}
			}
			cmd.InitDefaultHelpFlag()
			return cmd.Help()
		},
		ValidArgsFunction: func(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			cmd, _, err := c.Root().Find(args)
			if err != nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var names []cobra.Completion
			for _, sub := range cmd.Commands() {
				if sub.IsAvailableCommand() && strings.HasPrefix(sub.Name(), toComplete) {
					names = append(names, sub.Name())
				}
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		},
	}
}

// newManCmd writes man pages for every command; it is hidden from the
// command list because packagers, not users, run it.
func newManCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "man DIR",
		Short:  "Write man pages for sluice and its commands to DIR",
		Hidden: true,
		Args:   exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("man: %w", err)
			}
			hdr := &doc.GenManHeader{Title: "SLUICE", Section: "1", Source: "sluice " + version()}
			root := cmd.Root()
			root.DisableAutoGenTag = true
			if err := doc.GenManTree(root, hdr, dir); err != nil {
				return fmt.Errorf("man: %w", err)
			}
			return nil
		},
	}
}

// newVersionCmd answers "sluice version", as kubectl, docker and helm
// users type it, with what --version prints; it is hidden, --version
// being the spelling the help shows. It was an unknown command.
func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "version",
		Short:  "Print the version sluice was built from",
		Hidden: true,
		Args:   exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "sluice version %s\n", cmd.Root().Version)
			return err
		},
	}
}

// version returns the module version the binary was built from, as the Go
// toolchain recorded it ("devel" for a build outside version control),
// with the VCS revision when it is known.
func version() string {
	v := buildinfo.Version()
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && !strings.Contains(v, shortRev(s.Value)) {
			v += " (" + shortRev(s.Value) + ")"
		}
	}
	return v
}

func shortRev(r string) string { return r[:min(len(r), 12)] }

// userAgent is the User-Agent fetch, crawl and load send by default, the
// library's own: the product token "sluice" (which robots.txt groups
// match) and the version --version prints.
func userAgent() string { return sluice.DefaultUserAgent }
