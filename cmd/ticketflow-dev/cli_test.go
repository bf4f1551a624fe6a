package main

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestMain runs main itself when the test binary is started by runMain (a real process, so its
// exit status is main's).
func TestMain(m *testing.M) {
	if args, ok := os.LookupEnv("TICKETFLOW_DEV_TEST_MAIN_ARGS"); ok {
		os.Args = append([]string{"ticketflow-dev"}, strings.Split(args, "\x1f")...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runMain runs `ticketflow-dev args...` as a process and returns its exit status and output.
func runMain(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "TICKETFLOW_DEV_TEST_MAIN_ARGS="+strings.Join(args, "\x1f"))
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, stdout.String(), stderr.String()
	case errors.As(err, &exit):
		return exit.ExitCode(), stdout.String(), stderr.String()
	}
	t.Fatal(err)
	return 0, "", ""
}

// Every subcommand answers -h and --help with its usage on stdout and exit status 0, before it
// reads any configuration or reaches any server.
func TestEverySubcommandHasHelp(t *testing.T) {
	for _, sub := range [][]string{{"dev"}, {"stack"}, {"stack", "up"}, {"stack", "down"}, {"stack", "status"}, {"seed"},
		{"bench"}, {"chaos"}, {"infra"}, {"infra", "ferretdb"}} {
		for _, flag := range []string{"-h", "--help"} {
			code, stdout, stderr := runMain(t, append(sub, flag)...)
			if code != 0 || !strings.HasPrefix(stdout, "usage: ticketflow-dev "+sub[0]) {
				t.Errorf("ticketflow-dev %v %s: exit %d, stdout %q, stderr %q", sub, flag, code, stdout, stderr)
			}
		}
	}
	code, stdout, _ := runMain(t, "--help")
	if code != 0 || !strings.Contains(stdout, "usage: ticketflow-dev <command>") {
		t.Errorf("ticketflow-dev --help: %d %q", code, stdout)
	}
	if code, _, stderr := runMain(t, "bench", "--bogus"); code == 0 || !strings.Contains(stderr, "usage: ticketflow-dev bench") {
		t.Errorf("a bad flag: exit %d, stderr %q", code, stderr)
	}
}

// --version prints the build's version and commit.
func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"-version"}} {
		code, stdout, _ := runMain(t, args...)
		if code != 0 || !strings.HasPrefix(stdout, "ticketflow-dev ") || !strings.Contains(stdout, "(commit ") {
			t.Errorf("%v: exit %d, %q", args, code, stdout)
		}
	}
}
