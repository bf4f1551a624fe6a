package bus

import "testing"

func TestCommitNeverPassesAnUnhandledOffset(t *testing.T) {
	tr := newCommitTracker()
	for _, o := range []int64{10, 11, 12, 13} {
		tr.add(0, o)
	}
	tr.add(1, 5)
	steps := []struct {
		partition int
		offset    int64
		want      int64
		ok        bool
	}{
		{0, 12, 0, false}, // 10 and 11 still pending
		{0, 10, 10, true}, // 10 done; 11 still pending
		{1, 5, 5, true},   // other partitions are independent
		{0, 11, 12, true}, // 11 done: 11 and 12 both committable
		{0, 13, 13, true},
	}
	for i, s := range steps {
		got, ok := tr.done(s.partition, s.offset)
		if got != s.want || ok != s.ok {
			t.Fatalf("step %d: done(%d,%d) = %d,%v; want %d,%v", i, s.partition, s.offset, got, ok, s.want, s.ok)
		}
	}
}

func TestLanesKeepOneKeyTogether(t *testing.T) {
	for _, key := range []string{"a", "booking-1", "7c9e6679-7425-40de-944b-e07fc1f90ae7"} {
		first := laneOf([]byte(key), 8)
		for i := 0; i < 10; i++ {
			if laneOf([]byte(key), 8) != first {
				t.Fatalf("key %q moved lanes", key)
			}
		}
	}
}
