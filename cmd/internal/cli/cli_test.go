package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"strings"
	"testing"
)

func TestHelpIsExitZeroWithTheCommandsUsage(t *testing.T) {
	run := func(_ context.Context, cmd string, args []string) error {
		fs := Flags("tf "+cmd, "<thing>", "Does the thing.")
		fs.Int("n", 3, "how many")
		var out bytes.Buffer
		if err := parse(fs, args, &out, &out); err != nil {
			if errors.Is(err, flag.ErrHelp) && !strings.Contains(out.String(), "usage: tf "+cmd+" [flags] <thing>\n\nDoes the thing.\n\nflags:\n  -n int") {
				t.Errorf("usage of %s: %q", cmd, out.String())
			}
			return err
		}
		return nil
	}
	for _, c := range []struct {
		args []string
		want int
	}{
		{[]string{"thing", "-h"}, 0},
		{[]string{"thing", "--help"}, 0},
		{[]string{"thing", "-n", "2", "-help"}, 0},
		{[]string{"thing", "--", "-h"}, 0}, // after --, not a flag: runs
		{[]string{"thing", "-bogus"}, 1},
		{[]string{"--help"}, 0},
		{[]string{"-h"}, 0},
		{[]string{"--version"}, 0},
		{nil, 2},
	} {
		var stdout, stderr bytes.Buffer
		if got := main("tf", "usage: tf <command>\n", c.args, &stdout, &stderr, run); got != c.want {
			t.Errorf("%q: exit %d, want %d (%s%s)", c.args, got, c.want, stdout.String(), stderr.String())
		}
	}
	if Status("tf x", ExitCode(3), nil) != 3 {
		t.Error("ExitCode")
	}
}

func TestVersionNamesTheBuildsVersionAndCommit(t *testing.T) {
	defer func(v, c string) { version, commit = v, c }(version, commit)
	version, commit = "v1.4.0-3-g1a2b3c4-dirty", "1a2b3c4d5e6f"
	got := Version("ticketflow")
	if !strings.HasPrefix(got, "ticketflow v1.4.0-3-g1a2b3c4-dirty (commit 1a2b3c4d5e6f, modified) go1.") {
		t.Fatalf("Version = %q", got)
	}
	version, commit = "", ""
	if got := Version("ticketflow"); !strings.Contains(got, "(commit ") || !strings.HasPrefix(got, "ticketflow ") {
		t.Fatalf("Version without ldflags = %q", got)
	}
	var stdout bytes.Buffer
	main("ticketflow", "", []string{"--version"}, &stdout, &stdout, nil)
	if !strings.HasPrefix(stdout.String(), "ticketflow ") {
		t.Fatalf("--version printed %q", stdout.String())
	}
}
