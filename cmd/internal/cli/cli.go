// Package cli is what TicketFlow's two commands share: a context that SIGINT and SIGTERM cancel,
// how a command's error becomes its exit status, each subcommand's flags and usage (-h, --help),
// and the build's version (--version).
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
)

// ExitCode ends the program with a status and no further message.
type ExitCode int

func (e ExitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// Main runs run(ctx, command, arguments) for os.Args and exits: with 2 and usage when no command
// is given; 0 after -h/--help (the command's usage) or --version; with an ExitCode's status; or
// with 1 after printing any other error.
func Main(name, usage string, run func(ctx context.Context, cmd string, args []string) error) {
	os.Exit(main(name, usage, os.Args[1:], os.Stdout, os.Stderr, run))
}

func main(name, usage string, args []string, stdout, stderr io.Writer,
	run func(ctx context.Context, cmd string, args []string) error) int {
	if len(args) < 1 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	case "-version", "--version":
		fmt.Fprintln(stdout, Version(name))
		return 0
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, args[0], args[1:])
	stop()
	return Status(name+" "+args[0], err, stderr)
}

// Status is the exit status of a command that returned err (printed to stderr unless it is an
// ExitCode or a help request).
func Status(command string, err error, stderr io.Writer) int {
	var exit ExitCode
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &exit):
		return int(exit)
	}
	fmt.Fprintf(stderr, "%s: %v\n", command, err)
	return 1
}

// version and commit are set at build time: go build -ldflags "-X
// ticketflow/cmd/internal/cli.version=v1.2.3 -X ticketflow/cmd/internal/cli.commit=<sha>" (the
// Makefile's build does). Without them, the module version and the VCS stamp of the build info.
var version, commit string

// Version names the build: "ticketflow v1.2.3 (commit 1a2b3c4d5e6f, modified) go1.26.11".
func Version(name string) string {
	v, c, modified, goVersion := version, commit, false, ""
	if info, ok := debug.ReadBuildInfo(); ok {
		goVersion = info.GoVersion
		if v == "" {
			v = info.Main.Version
		}
		for _, s := range info.Settings {
			switch {
			case s.Key == "vcs.revision" && c == "":
				c = s.Value
			case s.Key == "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if v == "" {
		v = "(devel)"
	}
	if strings.HasSuffix(v, "-dirty") {
		modified = true
	}
	if c == "" {
		c = "unknown"
	}
	out := fmt.Sprintf("%s %s (commit %s", name, v, c)
	if modified {
		out += ", modified"
	}
	return strings.TrimSpace(out + ") " + goVersion)
}

// Flags is the flag set of a subcommand: command is its full name ("ticketflow replay"), synopsis
// its arguments after the flags, summary what it does. Its usage goes to stdout on -h/--help.
func Flags(command, synopsis, summary string) *flag.FlagSet {
	fs := flag.NewFlagSet(command, flag.ContinueOnError)
	fs.Usage = func() {
		out := fs.Output()
		line := "usage: " + command
		hasFlags := false
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			line += " [flags]"
		}
		if synopsis != "" {
			line += " " + synopsis
		}
		fmt.Fprintf(out, "%s\n\n%s\n", line, strings.TrimSpace(summary))
		if hasFlags {
			fmt.Fprintln(out, "\nflags:")
			fs.PrintDefaults()
		}
	}
	return fs
}

// Parse parses a subcommand's arguments. -h, -help or --help anywhere before "--" prints its
// usage to stdout and returns flag.ErrHelp, which Main turns into exit status 0; a bad flag is
// reported on stderr with the usage.
func Parse(fs *flag.FlagSet, args []string) error {
	return parse(fs, args, os.Stdout, os.Stderr)
}

func parse(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) error {
	if IsHelp(args) {
		fs.SetOutput(stdout)
		fs.Usage()
		return flag.ErrHelp
	}
	fs.SetOutput(stderr)
	return fs.Parse(args)
}

// IsHelp reports whether args ask for help: -h, -help or --help before any "--".
func IsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}
