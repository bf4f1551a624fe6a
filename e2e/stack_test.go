//go:build integration

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/smtp"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	"github.com/segmentio/kafka-go"
	"go.mongodb.org/mongo-driver/v2/bson"
	tclient "go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"ticketflow/internal/bus"
	"ticketflow/internal/config"
	"ticketflow/internal/mongodb"
)

// The foundation's checks: each real server answers a real client.

func TestPostgresHasEachServiceDatabaseMigrated(t *testing.T) {
	t.Parallel()
	cfg := loadConfig(t)
	for _, db := range config.PostgresDatabases {
		t.Run(db, func(t *testing.T) {
			ctx := testContext(t, 10*time.Second)
			conn, err := pgx.Connect(ctx, cfg.PostgresDSN(db))
			if err != nil {
				t.Fatalf("connect %s: %v", db, err)
			}
			defer conn.Close(ctx)
			var n int
			if err := conn.QueryRow(ctx, "SELECT count(*) FROM schema_migrations").Scan(&n); err != nil {
				t.Fatalf("query %s: %v", db, err)
			}
			if n < 1 {
				t.Fatalf("%s has no applied migration", db)
			}
		})
	}
}

func TestRedisRoundTrip(t *testing.T) {
	t.Parallel()
	cfg := loadConfig(t)
	ctx := testContext(t, 5*time.Second)
	rdb := redis.NewClient(&redis.Options{Addr: cfg.RedisAddr})
	defer rdb.Close()
	key, want := "e2e:"+uniq(), "value-"+uniq()
	if err := rdb.Set(ctx, key, want, time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	got, err := rdb.Get(ctx, key).Result()
	if err != nil || got != want {
		t.Fatalf("GET %s = %q, %v; want %q", key, got, err, want)
	}
}

func TestKafkaRoundTripInConsumerGroup(t *testing.T) {
	t.Parallel()
	cfg := loadConfig(t)
	ctx := testContext(t, 60*time.Second)
	topic := "e2e.roundtrip." + uniq()
	admin := &kafka.Client{Addr: kafka.TCP(cfg.KafkaBrokers...)}
	if _, err := admin.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{
		{Topic: topic, NumPartitions: 1, ReplicationFactor: 1}}}); err != nil {
		t.Fatal(err)
	}
	defer admin.DeleteTopics(context.Background(), &kafka.DeleteTopicsRequest{Topics: []string{topic}})

	w := &kafka.Writer{Addr: kafka.TCP(cfg.KafkaBrokers...), Topic: topic, RequiredAcks: kafka.RequireAll,
		BatchTimeout: 5 * time.Millisecond, AllowAutoTopicCreation: false}
	defer w.Close()
	want := []string{"one-" + uniq(), "two-" + uniq()}
	for _, v := range want {
		if err := writeRetry(ctx, w, kafka.Message{Key: []byte("k"), Value: []byte(v)}); err != nil {
			t.Fatal(err)
		}
	}
	group := "e2e-" + uniq()
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: cfg.KafkaBrokers, Topic: topic, GroupID: group,
		StartOffset: kafka.FirstOffset, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	for i, v := range want {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			t.Fatalf("fetch %d: %v", i, err)
		}
		if string(m.Value) != v {
			t.Fatalf("message %d = %q, want %q", i, m.Value, v)
		}
		if err := r.CommitMessages(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	// The group's committed offset is past both messages.
	resp, err := admin.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: {0}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Topics[topic][0].CommittedOffset; got != 2 {
		t.Fatalf("committed offset = %d, want 2", got)
	}
}

func TestKcatListsEveryTopicWithItsDLT(t *testing.T) {
	t.Parallel()
	cfg := loadConfig(t)
	out, err := exec.Command("kcat", "-b", cfg.KafkaBrokers[0], "-L", "-J", "-m", "10").Output()
	if err != nil {
		t.Fatalf("kcat -L: %v", err)
	}
	var md struct {
		Topics []struct {
			Topic      string `json:"topic"`
			Partitions []any  `json:"partitions"`
		} `json:"topics"`
	}
	if err := json.Unmarshal(out, &md); err != nil {
		t.Fatalf("kcat -J output: %v", err)
	}
	have := map[string]int{}
	for _, tp := range md.Topics {
		have[tp.Topic] = len(tp.Partitions)
	}
	for _, topic := range bus.AllTopics() {
		if have[topic] != cfg.KafkaPartitions {
			t.Errorf("topic %s: %d partitions, want %d", topic, have[topic], cfg.KafkaPartitions)
		}
	}
}

func TestMongoInsertFindOnFerretDB(t *testing.T) {
	t.Parallel()
	cfg := loadConfig(t)
	ctx := testContext(t, 15*time.Second)
	db, err := mongodb.Connect(ctx, cfg.MongoURI, "ticketflow_e2e", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Client().Disconnect(context.Background())
	id := uniq()
	if _, err := db.Collection("probe").InsertOne(ctx, bson.M{"_id": id, "n": 42}); err != nil {
		t.Fatal(err)
	}
	var got struct {
		N int `bson:"n"`
	}
	if err := db.Collection("probe").FindOne(ctx, bson.M{"_id": id}).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got.N != 42 {
		t.Fatalf("n = %d, want 42", got.N)
	}
}

func echoWorkflow(ctx workflow.Context, name string) (string, error) {
	if err := workflow.Sleep(ctx, 10*time.Millisecond); err != nil {
		return "", err
	}
	return "hello " + name, nil
}

func TestTemporalRunsAWorkflowToCompletion(t *testing.T) {
	t.Parallel()
	cfg := loadConfig(t)
	ctx := testContext(t, 30*time.Second)
	c, err := tclient.DialContext(ctx, tclient.Options{HostPort: cfg.TemporalAddr, Namespace: cfg.TemporalNS})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.CheckHealth(ctx, &tclient.CheckHealthRequest{}); err != nil {
		t.Fatal(err)
	}
	queue := "e2e-" + uniq()
	w := worker.New(c, queue, worker.Options{})
	w.RegisterWorkflow(echoWorkflow)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	run, err := c.ExecuteWorkflow(ctx, tclient.StartWorkflowOptions{ID: "e2e-echo-" + uniq(), TaskQueue: queue}, echoWorkflow, "stack")
	if err != nil {
		t.Fatal(err)
	}
	var got string
	if err := run.Get(ctx, &got); err != nil {
		t.Fatal(err)
	}
	if got != "hello stack" {
		t.Fatalf("result = %q", got)
	}
}

func TestMailSentOverSMTPIsReadBackFromMailpit(t *testing.T) {
	t.Parallel()
	cfg := loadConfig(t)
	subject := "e2e probe " + uniq()
	msg := "From: e2e@ticketflow.local\r\nTo: probe@example.com\r\nSubject: " + subject + "\r\n\r\nhello\r\n"
	if err := smtp.SendMail(cfg.SMTPAddr, nil, "e2e@ticketflow.local", []string{"probe@example.com"}, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() error {
		var res struct {
			Messages []struct {
				Subject string `json:"Subject"`
			} `json:"messages"`
		}
		if err := getJSON(cfg.MailpitURL+"/api/v1/search?query="+urlQuery("subject:\""+subject+"\""), &res); err != nil {
			return err
		}
		for _, m := range res.Messages {
			if m.Subject == subject {
				return nil
			}
		}
		return fmt.Errorf("no message with subject %q yet", subject)
	})
}

func TestEveryServiceIsUpBehindTheGateway(t *testing.T) {
	cfg := loadConfig(t)
	var body struct {
		Gateway  string `json:"gateway"`
		Services []struct {
			Name, Status string
		} `json:"services"`
	}
	if err := getJSON(cfg.URLs[config.Gateway]+"/health/all", &body, t); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range body.Services {
		if s.Status != "up" {
			t.Errorf("%s is %s", s.Name, s.Status)
		}
		names = append(names, s.Name)
	}
	if got, want := strings.Join(names, ","), strings.Join(config.Services, ","); got != want {
		t.Fatalf("services = %s, want %s", got, want)
	}
}
