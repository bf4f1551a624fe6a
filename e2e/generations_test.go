//go:build integration

package e2e

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"ticketflow/workflows"
)

// `ticketflow generations` counts the open runs of each generation: a confirmed booking's run
// (open until its event) is of the current generation, so the command says no run needs the
// legacy code (exit 0 with --need-none 3) and that runs of the current generation are open (exit 1
// with --need-none <current>).
func TestGenerationsCountsOpenRunsByGeneration(t *testing.T) {
	e := newEvent(t, 2, 1000)
	c, _ := register(t)
	r := book(c, e.ID, []string{"FLOOR-A-1"}, "tok_visa")
	if r.status != 202 {
		t.Fatalf("POST /api/bookings = %d %s", r.status, r.body)
	}
	var b booking
	r.decode(t, &b)
	waitStatus(t, c, b.ID, "CONFIRMED", 30*time.Second)

	bin := os.Getenv("TICKETFLOW_BIN")
	if bin == "" {
		bin, _ = filepath.Abs("../bin/ticketflow")
	}
	run := func(args ...string) (string, int) {
		cmd := exec.Command(bin, append([]string{"generations"}, args...)...)
		cmd.Env = append(os.Environ(), "TICKETFLOW_ENV=local")
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		switch {
		case err == nil:
			return string(out), 0
		case errors.As(err, &exit):
			return string(out), exit.ExitCode()
		}
		t.Fatalf("ticketflow generations: %v\n%s", err, out)
		return "", -1
	}
	// Visibility is eventually consistent: the run's generation marker may take a moment to show.
	eventually(t, 20*time.Second, func() error {
		current := strconv.Itoa(workflows.HistoryGeneration)
		out, code := run("--need-none", current)
		if code != 1 || !strings.Contains(out, "open run(s) still need generations up to "+current) {
			return errors.New("the open run of the current generation is not counted:\n" + out)
		}
		return nil
	})
	out, code := run("--need-none", "3")
	if code != 0 || !strings.Contains(out, "generation 0-3 ") || !strings.Contains(out, "no open run needs generations up to 3") {
		t.Fatalf("--need-none 3: exit %d\n%s", code, out)
	}
}
