// Package clitest runs a command's main function as a real process from its tests, so that they
// see its exit status and output as a shell does. Only tests import it.
package clitest

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

const argsEnv = "TICKETFLOW_CLITEST_ARGS"

// Main is the TestMain of a command's tests: started by Run, the test binary runs the command's
// main with the arguments Run was given (as the program name); otherwise it runs the tests.
func Main(m *testing.M, name string, main func()) {
	if args, ok := os.LookupEnv(argsEnv); ok {
		os.Args = append([]string{name}, strings.Split(args, "\x1f")...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// Run runs the command with args as a process and returns its exit status, stdout and stderr.
func Run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), argsEnv+"="+strings.Join(args, "\x1f"))
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		code = exit.ExitCode()
	default:
		t.Fatal(err)
	}
	return code, out.String(), errOut.String()
}
