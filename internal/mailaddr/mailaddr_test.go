package mailaddr

import (
	"errors"
	"strings"
	"testing"
)

// Cases is shared with the bus's schema test (bus/schemas_test.go), so the JSON Schema and this
// function are seen to agree.
func TestParse(t *testing.T) {
	for _, c := range Cases {
		got, err := Parse(c.In)
		if c.Want == "" {
			if err == nil || !errors.Is(err, ErrInvalid) {
				t.Errorf("Parse(%q) = %q, %v; want a refusal", c.In, got, err)
			}
			continue
		}
		if err != nil || got != c.Want {
			t.Errorf("Parse(%q) = %q, %v; want %q", c.In, got, err, c.Want)
		}
		if again, err := Parse(got); err != nil || again != got {
			t.Errorf("Parse is not idempotent on %q: %q, %v", got, again, err)
		}
	}
	long := strings.Repeat("a", 64) + "@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 61)
	if len(long) != 254 || !Valid(long) || Valid("x"+long) {
		t.Errorf("the 254-byte limit: %d bytes, valid %v", len(long), Valid(long))
	}
}
