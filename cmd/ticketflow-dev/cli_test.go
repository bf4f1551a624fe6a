package main

import (
	"strings"
	"testing"

	"ticketflow/cmd/internal/clitest"
)

func TestMain(m *testing.M) { clitest.Main(m, "ticketflow-dev", main) }

// Every subcommand answers -h and --help with its usage on stdout and exit status 0, before it
// reads any configuration or reaches any server.
func TestEverySubcommandHasHelp(t *testing.T) {
	for _, sub := range [][]string{{"dev"}, {"stack"}, {"stack", "up"}, {"stack", "down"}, {"stack", "status"}, {"seed"},
		{"bench"}, {"chaos"}, {"infra"}, {"infra", "ferretdb"}, {"infra", "toxiproxy"}} {
		for _, flag := range []string{"-h", "--help"} {
			code, stdout, stderr := clitest.Run(t, append(sub, flag)...)
			if code != 0 || !strings.HasPrefix(stdout, "usage: ticketflow-dev "+sub[0]) {
				t.Errorf("ticketflow-dev %v %s: exit %d, stdout %q, stderr %q", sub, flag, code, stdout, stderr)
			}
		}
	}
	code, stdout, _ := clitest.Run(t, "--help")
	if code != 0 || !strings.Contains(stdout, "usage: ticketflow-dev <command>") {
		t.Errorf("ticketflow-dev --help: %d %q", code, stdout)
	}
	if code, _, stderr := clitest.Run(t, "bench", "--bogus"); code == 0 || !strings.Contains(stderr, "usage: ticketflow-dev bench") {
		t.Errorf("a bad flag: exit %d, stderr %q", code, stderr)
	}
}

// --version prints the build's version and commit.
func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"-version"}} {
		code, stdout, _ := clitest.Run(t, args...)
		if code != 0 || !strings.HasPrefix(stdout, "ticketflow-dev ") || !strings.Contains(stdout, "(commit ") {
			t.Errorf("%v: exit %d, %q", args, code, stdout)
		}
	}
}
