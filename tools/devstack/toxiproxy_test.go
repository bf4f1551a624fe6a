package devstack

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/Shopify/toxiproxy/v2/stream"
	"github.com/Shopify/toxiproxy/v2/toxics"
)

// pipe runs a lost_reply toxic over chunks and returns what came out and whether the link was
// closed after them.
func pipe(t *testing.T, toxic *LostReplyToxic, chunks ...string) (out []string, closed bool) {
	t.Helper()
	in := make(chan *stream.StreamChunk)
	res := make(chan *stream.StreamChunk, len(chunks))
	stub := toxics.NewToxicStub(in, res)
	stub.State = toxic.NewState()
	done := make(chan struct{})
	go func() { toxic.Pipe(stub); close(done) }()
	for _, c := range chunks {
		select {
		case in <- &stream.StreamChunk{Data: []byte(c), Timestamp: time.Now()}:
		case <-done:
		}
	}
	select {
	case <-done:
		closed = true
	case <-time.After(100 * time.Millisecond):
		stub.Interrupt <- struct{}{}
		<-done
	}
	if !closed {
		close(res) // the toxic closes its output only when it ends the link
	}
	for c := range res {
		out = append(out, string(c.Data))
	}
	return out, closed
}

// The lost_reply toxic lets a connection's first bytes through, then loses a reply with its
// probability and ends the connection: nothing after it comes through, and the API counts it.
func TestLostReplyToxic(t *testing.T) {
	t.Run("first bytes pass, the next reply is lost", func(t *testing.T) {
		tx := &LostReplyToxic{Probability: 1, SkipBytes: 5}
		out, closed := pipe(t, tx, "hello", "reply", "more")
		if len(out) != 1 || out[0] != "hello" || !closed || tx.lost.Load() != 1 {
			t.Errorf("out %q, closed %v, lost %d; want [hello], closed, 1 lost", out, closed, tx.lost.Load())
		}
		var attrs map[string]any
		b, _ := json.Marshal(tx)
		if err := json.Unmarshal(b, &attrs); err != nil || attrs["lost"] != float64(1) {
			t.Errorf("the API shows %s; want lost 1", b)
		}
	})
	t.Run("probability 0 passes everything", func(t *testing.T) {
		tx := &LostReplyToxic{Probability: 0}
		out, closed := pipe(t, tx, "a", "b", "c")
		if len(out) != 3 || closed || tx.lost.Load() != 0 {
			t.Errorf("out %q, closed %v, lost %d; want all three, open, none lost", out, closed, tx.lost.Load())
		}
	})
	t.Run("lose_first loses the first reply past the skip at probability 0, and only that one", func(t *testing.T) {
		tx := &LostReplyToxic{Probability: 0, SkipBytes: 5, LoseFirst: true}
		out, closed := pipe(t, tx, "hello", "reply", "more")
		if len(out) != 1 || out[0] != "hello" || !closed || tx.lost.Load() != 1 {
			t.Errorf("out %q, closed %v, lost %d; want [hello], closed, 1 lost", out, closed, tx.lost.Load())
		}
		out, closed = pipe(t, tx, "hello", "reply", "more") // another connection of the same link
		if len(out) != 3 || closed || tx.lost.Load() != 1 {
			t.Errorf("second connection: out %q, closed %v, lost %d; want all three, open, still 1 lost", out, closed, tx.lost.Load())
		}
	})
	t.Run("a stalled reply holds the connection silent first", func(t *testing.T) {
		tx := &LostReplyToxic{Probability: 1, Stall: 50}
		began := time.Now()
		out, closed := pipe(t, tx, "reply")
		if len(out) != 0 || !closed || time.Since(began) < 50*time.Millisecond {
			t.Errorf("out %q, closed %v after %s; want nothing, closed after 50ms", out, closed, time.Since(began))
		}
	})
}
