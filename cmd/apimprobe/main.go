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
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/apimprobe/apimprobe/internal/report"
	"github.com/apimprobe/apimprobe/internal/run"
	"github.com/apimprobe/apimprobe/output"
)

// Set at build time with -ldflags "-X main.version=… -X main.commit=…".
var (
	version = "dev"
	commit  = ""
)

func main() {
	// A run lives for well under a second and keeps a few MB live; Go's
	// default collector (GOGC=100) spent a sixth of a healthy run's wall time
	// collecting a heap that small. Four times the headroom left peak RSS as
	// it was (measured in the lab). GOGC in the environment still decides.
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(400)
	}
	os.Exit(cli(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `apimprobe tells whether Azure API Management can work from this subnet.

Usage:
  apimprobe run [flags]      probe every dependency and report (exit 0 ready, 1 blocked, 2 usage)
  apimprobe plan [flags]     list the checks run would make, without sending a packet
  apimprobe version          version, commit and Go version

Run 'apimprobe COMMAND --help' for the flags of a command.
`

func cli(args []string, stdout, stderr io.Writer) int {
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
		return say(stdout, stderr, usage)
	}
	fmt.Fprintf(stderr, "apimprobe: unknown command %q (want run, plan or version)\n", args[0])
	return 2
}

// say writes text that is the whole of the command's answer: if it cannot
// be written (a full disk, a closed pipe), the command did not do its job.
func say(stdout, stderr io.Writer, text string) int {
	if _, err := io.WriteString(stdout, text); err != nil {
		fmt.Fprintf(stderr, "apimprobe: writing to standard output: %v\n", err)
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
	var c config
	fs := newFlagSet(name, &c)
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return say(stdout, stderr, fmt.Sprintf("Usage: apimprobe %s [flags]\n\nFlags:\n%s", name, fs.FlagUsages()))
		}
		fmt.Fprintf(stderr, "apimprobe %s: %v\n", name, err)
		return 2
	}
	c.cloudGiven = fs.Changed("cloud")
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "apimprobe %s: unexpected argument %q\n", name, fs.Arg(0))
		return 2
	}
	cfg, err := c.runConfig()
	if err != nil {
		fmt.Fprintf(stderr, "apimprobe %s: %v\n", name, err)
		return 2
	}
	specs, err := outputSpecs(c.outputs, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "apimprobe %s: %v\n", name, err)
		return 2
	}
	cfg.Log = newLogger(c, stderr)
	cfg.Tool = report.Tool{Name: "apimprobe", Version: version, Commit: commitOrEmpty()}
	opts := output.Options{Color: colorFor(stdout), Width: termWidth(stdout)}

	if name == "plan" {
		checks, err := run.Plan(cfg)
		if err == nil {
			err = output.WritePlan(specs, checks, stdout, opts)
		}
		if err != nil {
			fmt.Fprintf(stderr, "apimprobe plan: %v\n", err)
			return 2
		}
		return 0
	}

	// The selection is checked before anything is sent: plan builds the
	// same list.
	if _, err := run.Plan(cfg); err != nil {
		fmt.Fprintf(stderr, "apimprobe run: %v\n", err)
		return 2
	}
	// Which Resource Manager reads the run waits for, on a terminal only.
	if isTerminal(stderr) {
		cfg.Progress = stderr
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := run.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "apimprobe run: %v\n", err)
		return 2
	}
	if err := output.WriteAll(specs, rep, stdout, opts); err != nil {
		fmt.Fprintf(stderr, "apimprobe run: writing the report: %v\n", err)
		return 2
	}
	return rep.ExitCode(c.strict)
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

func outputSpecs(raw []string, stdout io.Writer) ([]output.Spec, error) {
	if len(raw) == 0 {
		raw = []string{output.DefaultFormat(isTerminal(stdout))}
	}
	specs := make([]output.Spec, 0, len(raw))
	for _, s := range raw {
		sp, err := output.ParseSpec(s)
		if err != nil {
			return nil, fmt.Errorf("-o %s: %v", s, err)
		}
		specs = append(specs, sp)
	}
	return specs, output.Validate(specs)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// colorFor: colour only on a terminal, and never when NO_COLOR is set.
func colorFor(w io.Writer) bool {
	if _, set := os.LookupEnv("NO_COLOR"); set {
		return false
	}
	return isTerminal(w)
}

func newLogger(c config, stderr io.Writer) zerolog.Logger {
	level, _ := zerolog.ParseLevel(c.logLevel)
	var w io.Writer = stderr
	if c.logFormat == "console" {
		w = zerolog.ConsoleWriter{Out: stderr, NoColor: !colorFor(stderr), TimeFormat: time.TimeOnly}
	}
	return zerolog.New(w).Level(level).With().Timestamp().Logger()
}

func termWidth(w io.Writer) int {
	if f, ok := w.(*os.File); ok {
		if cols, _, err := term.GetSize(int(f.Fd())); err == nil {
			return cols
		}
	}
	return 0
}
