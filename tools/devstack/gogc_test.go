package devstack

import (
	"os"
	"testing"
)

// The stack's processes collect garbage less often than Go's default, unless the environment
// says otherwise.
func TestTheStackSetsGOGCUnlessItIsSet(t *testing.T) {
	t.Setenv("GOGC", "")
	collectLessOften()
	if got := os.Getenv("GOGC"); got != stackGOGC {
		t.Fatalf("GOGC %q, want %q", got, stackGOGC)
	}
	t.Setenv("GOGC", "50")
	collectLessOften()
	if got := os.Getenv("GOGC"); got != "50" {
		t.Fatalf("GOGC %q, want the environment's 50", got)
	}
}
