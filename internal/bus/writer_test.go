package bus

import (
	"fmt"
	"io"
	"testing"

	"github.com/segmentio/kafka-go"
)

// Only an error the broker answers before it appends anything may be retried blind.
func TestOnlyRefusalsBeforeAppendAreRetriedBlind(t *testing.T) {
	for err, want := range map[error]bool{
		kafka.NotLeaderForPartition:                            true,
		kafka.LeaderNotAvailable:                               true,
		kafka.UnknownTopicOrPartition:                          true,
		kafka.NotEnoughReplicas:                                true,
		fmt.Errorf("produce: %w", kafka.NotLeaderForPartition): true,
		kafka.NotEnoughReplicasAfterAppend:                     false,
		kafka.RequestTimedOut:                                  false,
		io.ErrUnexpectedEOF:                                    false,
	} {
		if got := refusedUnwritten(err); got != want {
			t.Errorf("%v: retried blind %v, want %v", err, got, want)
		}
	}
}
