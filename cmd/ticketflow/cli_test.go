package main

import (
	"strings"
	"testing"

	"ticketflow/cmd/internal/clitest"
)

func TestMain(m *testing.M) { clitest.Main(m, "ticketflow", main) }

// Every subcommand answers -h and --help with its usage on stdout and exit status 0, before it
// reads any configuration or reaches any server.
func TestEverySubcommandHasHelp(t *testing.T) {
	for _, sub := range []string{"serve", "setup", "replay", "version"} {
		for _, flag := range []string{"-h", "--help"} {
			code, stdout, stderr := clitest.Run(t, sub, flag)
			if code != 0 || !strings.HasPrefix(stdout, "usage: ticketflow "+sub) {
				t.Errorf("ticketflow %s %s: exit %d, stdout %q, stderr %q", sub, flag, code, stdout, stderr)
			}
		}
	}
	code, stdout, _ := clitest.Run(t, "--help")
	if code != 0 || !strings.Contains(stdout, "usage: ticketflow <command>") {
		t.Errorf("ticketflow --help: %d %q", code, stdout)
	}
	if code, _, stderr := clitest.Run(t, "replay", "--bogus"); code == 0 || !strings.Contains(stderr, "usage: ticketflow replay") {
		t.Errorf("a bad flag: exit %d, stderr %q", code, stderr)
	}
}

// --version (and the version command) print the build's version and commit.
func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"version"}} {
		code, stdout, _ := clitest.Run(t, args...)
		if code != 0 || !strings.HasPrefix(stdout, "ticketflow ") || !strings.Contains(stdout, "(commit ") {
			t.Errorf("%v: exit %d, %q", args, code, stdout)
		}
	}
}
