package clock

import (
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{{"", 0, true}, {"2m", 2 * time.Minute, true}, {"-2m", -2 * time.Minute, true}, {"-90s", -90 * time.Second, true},
		{"2", 0, false}, {"two minutes", 0, false}} {
		got, err := Parse(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("Parse(%q) = %s, %v; want %s, ok %v", c.in, got, err, c.want, c.ok)
		}
	}
}

// Now is the system clock moved by the offset.
func TestNowIsMovedByTheOffset(t *testing.T) {
	defer func(o time.Duration) { offset = o }(offset)
	offset = -2 * time.Minute
	if d := time.Since(Now()); d < 2*time.Minute-time.Second || d > 2*time.Minute+time.Second {
		t.Errorf("with an offset of -2m, Now is %s behind the system clock", d)
	}
}
