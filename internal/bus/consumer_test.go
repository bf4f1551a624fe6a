package bus

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

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

// Handle decodes once, before its function: a message that does not decode is refused with
// ErrMalformed and never reaches it; one that does arrives decoded, with its envelope.
func TestHandleDecodesBeforeItsFunction(t *testing.T) {
	var got []UserRegistered
	h := Handle(TopicUserRegistered, func(_ context.Context, env Envelope, p UserRegistered, m kafka.Message) error {
		if env.EventID != "u1:user.registered" || string(m.Key) != "u1" {
			t.Errorf("envelope %+v, key %q", env, m.Key)
		}
		got = append(got, p)
		return nil
	})
	encode := func(topic string, payload any) kafka.Message {
		msg, err := NewMessage(topic, "u1", FactID("u1", topic), time.Now(), payload)
		if err != nil {
			t.Fatal(err)
		}
		return kafka.Message{Topic: topic, Key: []byte(msg.Key), Value: wire(t, msg)}
	}
	good := UserRegistered{UserID: "7c9e6679-7425-40de-944b-e07fc1f90ae7", Email: "a@example.com", Name: "A"}
	for name, m := range map[string]kafka.Message{
		"not json":           {Value: []byte("nope")},
		"another topic's":    encode(TopicBookingConfirmed, good),
		"against the schema": encode(TopicUserRegistered, UserRegistered{Email: "a@example.com", Name: "A"}),
		"against the rules":  encode(TopicUserRegistered, UserRegistered{UserID: good.UserID, Email: "a@b", Name: "A"}),
	} {
		if err := h(context.Background(), m); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
	if len(got) != 0 {
		t.Fatalf("a malformed message reached the function: %+v", got)
	}
	if err := h(context.Background(), encode(TopicUserRegistered, good)); err != nil || len(got) != 1 || got[0] != good {
		t.Fatalf("err %v, got %+v", err, got)
	}
}
