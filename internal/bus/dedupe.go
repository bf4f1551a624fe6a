package bus

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/segmentio/kafka-go"
)

// kafka-go has no idempotent producer: when the broker dies after writing a batch but before
// acknowledging it, a retry writes the batch again and the topic holds the same fact twice.
// Consumers drop such duplicates by eventId, but the contract wants each fact on its topic once,
// so a writer that is unsure whether a message landed looks for it at the tail of its partition
// before writing it again.

// tailWindow is how many of a partition's last messages are searched for an unsure message. A
// retry follows its failure within seconds, while the broker was down: far fewer get written in
// between.
const tailWindow = 5000

// absent returns the messages whose eventId is not among the last tailWindow messages of the
// partition their key maps to.
func (w *Writer) absent(ctx context.Context, msgs []kafka.Message) ([]kafka.Message, error) {
	type tp struct {
		topic     string
		partition int
	}
	byPartition := map[tp][]int{}
	for i, m := range msgs {
		p, err := w.partitionOf(ctx, m)
		if err != nil {
			return nil, err
		}
		k := tp{m.Topic, p}
		byPartition[k] = append(byPartition[k], i)
	}
	present := map[int]bool{}
	for k, idx := range byPartition {
		seen, err := w.tailEventIDs(ctx, k.topic, k.partition)
		if err != nil {
			return nil, err
		}
		for _, i := range idx {
			if seen[Header(msgs[i], HeaderEventID)] {
				present[i] = true
			}
		}
	}
	out := msgs[:0:0]
	for i, m := range msgs {
		if !present[i] {
			out = append(out, m)
		}
	}
	return out, nil
}

// partitionOf is the partition the writer's balancer sends m to.
func (w *Writer) partitionOf(ctx context.Context, m kafka.Message) (int, error) {
	w.mu.Lock()
	parts, ok := w.partitions[m.Topic]
	w.mu.Unlock()
	if !ok {
		conn, err := (&kafka.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, "tcp", w.brokers[0])
		if err != nil {
			return 0, err
		}
		ps, err := conn.ReadPartitions(m.Topic)
		conn.Close()
		if err != nil {
			return 0, err
		}
		for _, p := range ps {
			parts = append(parts, p.ID)
		}
		sort.Ints(parts)
		w.mu.Lock()
		w.partitions[m.Topic] = parts
		w.mu.Unlock()
	}
	if len(parts) == 0 {
		return 0, fmt.Errorf("topic %s has no partitions", m.Topic)
	}
	return (&kafka.Murmur2Balancer{}).Balance(m, parts...), nil
}

// tailEventIDs reads the eventId header of a partition's last tailWindow messages.
func (w *Writer) tailEventIDs(ctx context.Context, topic string, partition int) (map[string]bool, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := (&kafka.Dialer{Timeout: 5 * time.Second}).DialLeader(ctx, "tcp", w.brokers[0], topic, partition)
	if err != nil {
		return nil, err
	}
	first, last, err := conn.ReadOffsets()
	conn.Close()
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	if last <= first {
		return seen, nil
	}
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: w.brokers, Topic: topic, Partition: partition,
		MaxWait: 50 * time.Millisecond, MaxBytes: 16 << 20})
	defer r.Close()
	if err := r.SetOffset(max(first, last-tailWindow)); err != nil {
		return nil, err
	}
	for {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			return nil, err
		}
		seen[Header(m, HeaderEventID)] = true
		if m.Offset >= last-1 {
			return seen, nil
		}
	}
}
