package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"
)

// CreateTopics creates every topic of the contract and its dead-letter topic on brokers, with
// partitions partitions and replicationFactor copies each; a topic that exists is left as it is.
// The local stack calls it at start-up, `ticketflow setup` on servers it did not start.
func CreateTopics(ctx context.Context, brokers []string, partitions, replicationFactor int) error {
	if partitions < 1 || replicationFactor < 1 {
		return fmt.Errorf("create topics: %d partitions and replication factor %d: both must be at least 1", partitions, replicationFactor)
	}
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second}
	var topics []kafka.TopicConfig
	for _, t := range AllTopics() {
		topics = append(topics, kafka.TopicConfig{Topic: t, NumPartitions: partitions, ReplicationFactor: replicationFactor})
	}
	resp, err := client.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: topics})
	if err != nil {
		return fmt.Errorf("create topics: %w", err)
	}
	for topic, err := range resp.Errors {
		if err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
			return fmt.Errorf("create topic %s: %w", topic, err)
		}
	}
	return nil
}
