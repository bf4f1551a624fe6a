package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ticketflow/tools/loadgen"
)

// A crowd process that writes what the bench cannot read (a pipe's worth and more), or that dies
// before its figures, ends the run with an error naming it: the bench neither hangs on a crowd
// blocked on a full pipe nor waits out the sale for a crowd that is gone.
func TestACrowdThatTalksNonsenseOrDiesEndsTheRunWithAnError(t *testing.T) {
	for name, tc := range map[string]struct {
		script string
		ends   bool // ends by itself, before the bench asks for its figures
	}{
		// ~200 KB of lines that are no message, then it waits, as a crowd does, for its stdin to close.
		"nonsense": {"yes 'not a message' | head -c 200000\ncat >/dev/null\n", false},
		"dies":     {"exit 3\n", true},
	} {
		t.Run(name, func(t *testing.T) {
			bin := filepath.Join(t.TempDir(), "crowd")
			if err := os.WriteFile(bin, []byte("#!/bin/sh\n"+tc.script), 0o755); err != nil {
				t.Fatal(err)
			}
			run := &onSaleRun{r: &OnSaleResult{}, ev: loadgen.Event{ID: "event"}, o: OnSaleOptions{CrowdBinary: bin}}
			c, err := run.startCrowd(t.Context(), nil, 0, nil)
			if err != nil {
				t.Fatal(err)
			}
			for deadline := time.Now().Add(10 * time.Second); tc.ends && !c.finished(1); time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("the run does not see that the crowd has ended")
				}
			}
			done := make(chan error, 1)
			go func() { done <- c.stop(run, nil) }()
			select {
			case err = <-done:
			case <-time.After(20 * time.Second):
				t.Fatal("stop hangs")
			}
			if err == nil || !strings.Contains(err.Error(), "onsale-crowd") {
				t.Fatalf("stop: %v, want an error naming the crowd", err)
			}
		})
	}
}
