// Command apimprobe tells, with evidence, whether Azure API Management can
// work from the subnet it runs in, and what exactly must change. This file is
// wiring only: flags in, a plan and a report out.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/apimprobe/apimprobe/internal/azure/arm"
	"github.com/apimprobe/apimprobe/internal/cli"
	"github.com/apimprobe/apimprobe/internal/report"
	"github.com/apimprobe/apimprobe/internal/run"
	"github.com/apimprobe/apimprobe/internal/state"
	"github.com/apimprobe/apimprobe/output"
)

// Set at build time with -ldflags "-X main.version=… -X main.commit=…".
var (
	version = "dev"
	commit  = ""
)

func main() {
	// Go's own collector pacing (GOGC=100). A run keeps about 3 MB live
	// and now allocates some 13 MB (the service tag list from the disk
	// cache, no receive buffer per waiting DNS question, the JSON report
	// indented once): with GOGC=400 nothing was collected and all of it
	// stayed resident (28.5 MB peak in the lab, 24 MB with the default),
	// for no wall time saved on the full run.
	os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `apimprobe tells whether Azure API Management can work from this subnet.

Usage:
  apimprobe run [flags]    probe every dependency and report (exit 0 ready,
                           1 blocked, 2 usage, 130/143 interrupted)
  apimprobe plan [flags]   list the checks run would make, sending nothing
  apimprobe version        version, commit and Go version

Run 'apimprobe help COMMAND' or 'apimprobe COMMAND --help' for its flags.
`

// commandHelp is each command's help: what it does and examples; the flags
// follow, wrapped to the terminal.
var commandHelp = map[string]string{
	"run": `Usage: apimprobe run [flags]

Discovers the context (metadata service, Resource Manager), runs every check
at once, prints the diagnosis and exits 0 (ready, or degraded without
--strict), 1 (blocked) or 2 (usage).

Examples:
  apimprobe run --service contoso --storage-account contosostore \
      --sql-server contoso-sql --key-vault contoso-kv
  apimprobe run --service contoso --mode external -v
  apimprobe run --service contoso -o markdown=ticket.md --redact
  apimprobe run --service contoso -o json=/var/lib/apimprobe/last.json --strict
`,
	"plan": `Usage: apimprobe plan [flags]

Lists the checks that run would make (id, target, port, required or
optional, why) without sending a packet: the list a firewall team needs.

Examples:
  apimprobe plan --service contoso --mode internal
  apimprobe plan --service contoso -o markdown=firewall-request.md
`,
}

func dispatch(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "apimprobe: a command is needed: run, plan or version (apimprobe --help says more)")
		return 2
	}
	switch args[0] {
	case "run", "plan":
		return command(args[0], args[1:], stdout, stderr)
	case "version", "--version":
		if len(args) > 1 {
			fmt.Fprintf(stderr, "apimprobe version: unexpected argument %q\n", args[1])
			return 2
		}
		return say(stdout, stderr, versionLine()+"\n")
	case "help", "--help", "-h":
		if len(args) > 1 && (args[1] == "run" || args[1] == "plan") {
			return command(args[1], []string{"--help"}, stdout, stderr)
		}
		return say(stdout, stderr, usage)
	}
	fmt.Fprintf(stderr, "apimprobe: unknown command %q (want run, plan or version)\n", args[0])
	return 2
}

// say writes text that is the whole of the command's answer: if it cannot
// be written (a full disk, a closed pipe), the command did not do its job.
func say(stdout, stderr io.Writer, text string) int {
	if _, err := io.WriteString(stdout, text); err != nil {
		fmt.Fprintf(stderr, "apimprobe: writing to standard output: %s\n", cli.ErrLine(err))
		return 2
	}
	return 0
}

func versionLine() string {
	c := commitOrEmpty()
	if c == "" {
		c = "unknown"
	}
	return fmt.Sprintf("apimprobe %s (commit %s, %s %s/%s)", version, c, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func command(name string, args []string, stdout, stderr io.Writer) int {
	c, fs, err := cli.Parse(name, args)
	if errors.Is(err, pflag.ErrHelp) {
		return say(stdout, stderr, fmt.Sprintf("%s\nFlags:\n%s", commandHelp[name], fs.FlagUsagesWrapped(helpWidth(stdout))))
	}
	if err != nil {
		fmt.Fprintf(stderr, "apimprobe %s: %s\n", name, cli.ErrLine(err))
		return 2
	}
	cfg, err := c.RunConfig()
	if err != nil {
		fmt.Fprintf(stderr, "apimprobe %s: %s\n", name, cli.ErrLine(err))
		return 2
	}
	specs, err := output.ParseSpecs(c.Outputs, isTerminal(stdout))
	if err != nil {
		fmt.Fprintf(stderr, "apimprobe %s: %s\n", name, cli.ErrLine(err))
		return 2
	}
	cfg.Log = newLogger(*c, stderr)
	arm.LogSDK(cfg.Log)
	cfg.Tool = report.Tool{Name: "apimprobe", Version: version, Commit: commitOrEmpty()}
	cfg.Command = cli.CommandLine(name, args)
	opts := output.Options{Color: colorFor(c.Color, stdout), Width: termWidth(stdout), Verbose: c.Verbose, Strict: c.Strict}

	if name == "plan" {
		checks, err := run.Plan(cfg)
		if err == nil {
			err = output.WritePlan(specs, checks, stdout, opts)
		}
		if err != nil {
			fmt.Fprintf(stderr, "apimprobe plan: %s\n", cli.ErrLine(err))
			return 2
		}
		return 0
	}

	// The selection is checked before anything is sent: plan builds the
	// same list.
	if _, err := run.Plan(cfg); err != nil {
		fmt.Fprintf(stderr, "apimprobe run: %s\n", cli.ErrLine(err))
		return 2
	}
	if c.StateFile != "" {
		if err := cli.CheckStateFile(c.StateFile, specs); err != nil {
			fmt.Fprintf(stderr, "apimprobe run: %s\n", cli.ErrLine(err))
			return 2
		}
	}
	if cfg.Azure.CacheDir, err = c.ResolveCacheDir(); err != nil {
		fmt.Fprintf(stderr, "apimprobe run: %s\n", cli.ErrLine(err))
		return 2
	}
	return probe(cfg, *c, specs, opts, stdout, stderr)
}

// probe is one run as a health job makes it: under the lock of the files it
// writes (a second run waits for the first, the wait spending the run's one
// --deadline), with the --state file read after the lock, and signals that
// end it unjudged.
func probe(cfg run.Config, c cli.Flags, specs []output.Spec, opts output.Options, stdout, stderr io.Writer) int {
	// Which Resource Manager reads the run waits for, on a terminal only.
	if isTerminal(stderr) {
		cfg.Progress = stderr
	}
	ctx, stop := run.OnSignals(context.Background())
	defer stop()
	files := output.Files(specs)
	if c.StateFile != "" {
		files = append(files, c.StateFile)
	}
	// One deadline: the wait for the lock spends it, and Run gets the rest.
	cfg, unlock, err := run.Lock(ctx, cfg, files)
	if intr, ok := run.Interrupted(ctx); ok {
		fmt.Fprintf(stderr, "apimprobe run: %v while waiting for another run: nothing was probed\n", intr)
		return intr.ExitCode()
	}
	if err != nil {
		fmt.Fprintf(stderr, "apimprobe run: %s\n", cli.ErrLine(err))
		return 2
	}
	defer unlock()
	// Under the lock no other run is writing: a temporary copy beside a
	// file is a killed run's.
	for _, f := range files {
		if gone := output.RemoveStale(f, time.Now()); len(gone) > 0 {
			cfg.Log.Info().Strs("removed", gone).Str("beside", f).Msg("temporary copies a killed run left")
		}
	}
	if c.StateFile != "" {
		if cfg.State, err = state.Open(c.StateFile); err != nil {
			fmt.Fprintf(stderr, "apimprobe run: %s\n", cli.ErrLine(err))
			return 2
		}
		for _, d := range cfg.State.Dropped() {
			cfg.Log.Warn().Str("state", c.StateFile).Str("entry", d).Msg("--state: an entry that is not the report's own was dropped")
		}
	}

	rep, err := run.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "apimprobe run: %s\n", cli.ErrLine(err))
		return 2
	}
	if c.Redact {
		if err := run.Redact(rep, cfg); err != nil {
			fmt.Fprintf(stderr, "apimprobe run: redacting the report: %s\n", cli.ErrLine(err))
			return 2
		}
	}
	if intr, ok := run.Interrupted(ctx); ok && rep.Interrupted {
		// SPEC: no report file is replaced; standard output still shows
		// what had finished.
		output.WriteAll(output.OnlyStdout(specs), rep, stdout, opts)
		fmt.Fprintf(stderr, "apimprobe run: %v: %d checks had finished; nothing judged, no report file replaced\n", intr, len(rep.Checks))
		return intr.ExitCode()
	}
	if err := output.WriteAll(specs, rep, stdout, opts); err != nil {
		fmt.Fprintf(stderr, "apimprobe run: writing the report: %s\n", cli.ErrLine(err))
		return 2
	}
	if cfg.State != nil {
		if err := cfg.State.Save(); err != nil {
			fmt.Fprintf(stderr, "apimprobe run: %s\n", cli.ErrLine(err))
			return 2
		}
	}
	return rep.ExitCode(c.Strict)
}

func commitOrEmpty() string {
	if commit != "" {
		return commit
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
	}
	return ""
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// colorFor decides --color: always and never are what they say; auto is
// colour on a terminal unless NO_COLOR is set or TERM is dumb.
func colorFor(when string, w io.Writer) bool {
	switch when {
	case "always":
		return true
	case "never":
		return false
	}
	if _, set := os.LookupEnv("NO_COLOR"); set {
		return false
	}
	if os.Getenv("TERM") == "dumb" {
		return false
	}
	return isTerminal(w)
}

// helpWidth is the terminal's width for --help, at most 100 columns; 80
// without a terminal, as the table.
func helpWidth(w io.Writer) int {
	if n := termWidth(w); n > 0 {
		return min(n, 100)
	}
	return output.DefaultWidth
}

func newLogger(c cli.Flags, stderr io.Writer) zerolog.Logger {
	level, _ := zerolog.ParseLevel(c.LogLevel)
	var w io.Writer = stderr
	if c.LogFormat == "console" {
		w = zerolog.ConsoleWriter{Out: stderr, NoColor: !colorFor(c.Color, stderr), TimeFormat: time.TimeOnly}
	}
	return zerolog.New(w).Level(level).With().Timestamp().Logger()
}

func termWidth(w io.Writer) int {
	if f, ok := w.(*os.File); ok {
		if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 0 {
			return cols
		}
	}
	// Not a terminal: COLUMNS, as the shell exports it or as the user sets
	// it for a pipe (COLUMNS=120 apimprobe run | less); else the default.
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 0 && n <= 1000 {
		return n
	}
	return 0
}
