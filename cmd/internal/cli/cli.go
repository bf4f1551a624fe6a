// Package cli is what TicketFlow's two commands share: a context that SIGINT and SIGTERM cancel,
// and how a command's error becomes its exit status.
package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// ExitCode ends the program with a status and no further message.
type ExitCode int

func (e ExitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// Main runs run(ctx, command, arguments) for os.Args and exits: with 2 and usage when no command
// is given, with an ExitCode's status, or with 1 after printing any other error.
func Main(name, usage string, run func(ctx context.Context, cmd string, args []string) error) {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1], os.Args[2:])
	stop()
	var exit ExitCode
	switch {
	case errors.As(err, &exit):
		os.Exit(int(exit))
	case err != nil:
		fmt.Fprintf(os.Stderr, "%s %s: %v\n", name, os.Args[1], err)
		os.Exit(1)
	}
}
