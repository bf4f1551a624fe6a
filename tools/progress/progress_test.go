package progress

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// While a phase runs, a line comes at least every two seconds with the phase, done/total and
// the rate; each phase ends with its final line.
func TestAPhasePrintsALineEveryInterval(t *testing.T) {
	var out syncBuffer
	r := New(&out, "bench")
	r.every = 20 * time.Millisecond
	r.Phase("sale", 100, "buyers")
	for range 10 {
		r.Add(5)
		time.Sleep(10 * time.Millisecond)
	}
	r.Phase("drain", 0, "")
	time.Sleep(50 * time.Millisecond)
	r.End()
	r.End() // twice is fine
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var sale, final int
	for _, l := range lines {
		if strings.HasPrefix(l, "bench sale: ") && strings.Contains(l, "/100 buyers (") && strings.Contains(l, "/s)") {
			sale++
		}
		if strings.HasSuffix(l, ", done") {
			final++
		}
	}
	if sale < 3 || final != 2 || !strings.Contains(out.String(), "bench sale: 50/100 buyers") ||
		!strings.Contains(out.String(), "bench drain: working") {
		t.Fatalf("lines:\n%s", out.String())
	}
	if Every > 2*time.Second {
		t.Fatalf("Every = %s, more than two seconds", Every)
	}
}

func TestLine(t *testing.T) {
	for _, c := range []struct {
		done, total int64
		unit, want  string
	}{
		{1200, 5000, "buyers", "bench sale: 1200/5000 buyers (400.0/s), 3s"},
		{7, 0, "bookings", "bench sale: 7 bookings (2.3/s), 3s"},
		{0, 0, "", "bench sale: working, 3s"},
	} {
		if got := Line("bench", "sale", c.done, c.total, c.unit, 3*time.Second, false); got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
	var r *Reporter // a nil reporter is silent
	r.Phase("x", 1, "y")
	r.Add(1)
	r.End()
}
