//go:build integration

package server

// These tests run the notification service's code against the real local stack: FerretDB (a
// database of their own, dropped afterwards), Mailpit over SMTP and its HTTP API, and Kafka (on
// topics the test creates and deletes, so the running services never see the test's facts).

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"ticketflow/internal/auth"
	"ticketflow/internal/bus"
	"ticketflow/internal/config"
	"ticketflow/internal/ids"
	"ticketflow/internal/mongodb/mongodbtest"
	"ticketflow/internal/router"
	"ticketflow/services/ticket"
	"ticketflow/tools/devstack"
)

func uniq() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

type harness struct {
	t   *testing.T
	ctx context.Context
	cfg *devstack.Settings
	svc *service
	// userRegistered and bookingConfirmed are svc's consumer handlers, as Run wires them.
	userRegistered, bookingConfirmed bus.Handler
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	cfg, err := devstack.LoadSettings() // the test stack's, Mailpit's API among them
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	db := mongodbtest.Database(t, ctx, cfg.Config, "ticketflow_notifications_test_")
	st := newStore(db)
	if err := st.EnsureIndexes(ctx); err != nil {
		t.Fatal(err)
	}
	from, err := mail.ParseAddress(cfg.MailFrom)
	if err != nil {
		t.Fatal(err)
	}
	svc := &service{store: st, mail: &smtpMailer{addr: cfg.SMTPAddr, timeout: 10 * time.Second},
		from: from.Address, header: from.String(),
		tickets: ticket.NewClient(cfg.Endpoints[config.Ticket], auth.InternalToken([]byte(cfg.JWTSecret)), 10*time.Second)}
	return &harness{t: t, ctx: ctx, cfg: cfg, svc: svc,
		userRegistered:   bus.Handle(bus.TopicUserRegistered, svc.handleUserRegistered),
		bookingConfirmed: bus.Handle(bus.TopicBookingConfirmed, svc.handleBookingConfirmed)}
}

func (h *harness) message(topic, key string, payload any) (kafka.Message, string) {
	h.t.Helper()
	id := bus.FactID(key, topic)
	m, err := bus.NewMessage(topic, key, id, time.Now(), payload)
	if err != nil {
		h.t.Fatal(err)
	}
	km, err := m.Kafka()
	if err != nil {
		h.t.Fatal(err)
	}
	return km, id
}

func (h *harness) welcome() (kafka.Message, string, bus.UserRegistered) {
	p := bus.UserRegistered{UserID: ids.New(), Email: "ann-" + uniq() + "@example.com", Name: "Ann " + uniq()}
	m, id := h.message(bus.TopicUserRegistered, p.UserID, p)
	return m, id, p
}

func (h *harness) confirmation(userID, email string) (kafka.Message, string, bus.BookingConfirmed) {
	p := bus.BookingConfirmed{BookingID: ids.New(), UserID: userID, UserEmail: email, EventID: ids.New(),
		EventName: "Rock Night " + uniq(), SeatIDs: []string{"FLOOR-A-1", "FLOOR-A-2"}, AmountMinor: 15000,
		Currency: "EUR", PaymentID: ids.New()}
	m, id := h.message(bus.TopicBookingConfirmed, p.BookingID, p)
	return m, id, p
}

func (h *harness) notification(id string) *Notification {
	h.t.Helper()
	n, err := h.svc.store.get(h.ctx, id)
	if err != nil {
		h.t.Fatalf("notification %s: %v", id, err)
	}
	return n
}

type mailpitMessage struct {
	ID        string `json:"ID"`
	MessageID string `json:"MessageID"`
	Subject   string `json:"Subject"`
	To        []struct {
		Address string `json:"Address"`
	} `json:"To"`
}

// mailpit returns the messages Mailpit holds with this eventId's Message-ID.
func (h *harness) mailpit(eventID string) []mailpitMessage {
	h.t.Helper()
	mid := strings.Trim(messageID(eventID), "<>")
	u := h.cfg.MailpitURL + "/api/v1/search?query=" + url.QueryEscape(`message-id:"`+mid+`"`)
	resp, err := http.Get(u)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	var res struct {
		Messages []mailpitMessage `json:"messages"`
	}
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("GET %s: %s", u, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		h.t.Fatal(err)
	}
	var out []mailpitMessage
	for _, m := range res.Messages {
		if m.MessageID == mid {
			out = append(out, m)
		}
	}
	return out
}

// emailsOf waits for the email of eventID to arrive, then checks that exactly want arrived.
func (h *harness) emailsOf(eventID string, want int) []mailpitMessage {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(h.mailpit(eventID)) < want && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // room for a duplicate to show up, if there were one
	got := h.mailpit(eventID)
	if len(got) != want {
		h.t.Fatalf("%d emails with the Message-ID of %s, want %d", len(got), eventID, want)
	}
	return got
}

// A restart creates the indexes again over the existing ones.
func TestIndexesSurviveARestart(t *testing.T) {
	h := newHarness(t)
	for i := 0; i < 2; i++ {
		if err := h.svc.store.EnsureIndexes(h.ctx); err != nil {
			t.Fatalf("EnsureIndexes again (%d): %v", i+1, err)
		}
	}
}

func TestWelcomeHandledTwiceSendsOneEmail(t *testing.T) {
	h := newHarness(t)
	m, id, p := h.welcome()
	for i := 0; i < 2; i++ {
		if err := h.userRegistered(h.ctx, m); err != nil {
			t.Fatalf("delivery %d: %v", i+1, err)
		}
	}
	got := h.emailsOf(id, 1)
	if got[0].Subject != "Welcome to TicketFlow, "+p.Name+"!" || len(got[0].To) != 1 || got[0].To[0].Address != p.Email {
		t.Fatalf("email %+v", got[0])
	}
	n := h.notification(id)
	if n.Status != StatusSent || n.Type != TypeWelcome || n.UserID != p.UserID || n.RecipientEmail != p.Email ||
		len(n.Attempts) != 1 || !n.Attempts[0].OK || n.SentAt == nil {
		t.Fatalf("notification %+v", n)
	}
}

func TestConfirmationEmailArrivesWithTheBookingsDetails(t *testing.T) {
	h := newHarness(t)
	m, id, p := h.confirmation(ids.New(), "bob-"+uniq()+"@example.com")
	if err := h.bookingConfirmed(h.ctx, m); err != nil {
		t.Fatal(err)
	}
	got := h.emailsOf(id, 1)
	resp, err := http.Get(h.cfg.MailpitURL + "/api/v1/message/" + got[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var full struct {
		Subject string `json:"Subject"`
		Text    string `json:"Text"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&full); err != nil {
		t.Fatal(err)
	}
	if full.Subject != "Your booking for "+p.EventName+" is confirmed" {
		t.Fatalf("subject %q", full.Subject)
	}
	for _, want := range []string{p.EventName, "FLOOR-A-1, FLOOR-A-2", "150.00 EUR", p.BookingID, p.PaymentID} {
		if !strings.Contains(full.Text, want) {
			t.Errorf("email text lacks %q:\n%s", want, full.Text)
		}
	}
	if n := h.notification(id); n.Type != TypeBookingConfirmed || n.UserID != p.UserID || n.Status != StatusSent {
		t.Fatalf("notification %+v", n)
	}
}

func TestFailedSendIsRecordedThenRetriedToOneEmail(t *testing.T) {
	h := newHarness(t)
	// A port nobody listens on: the mail server is down.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := ln.Addr().String()
	ln.Close()
	good := h.svc.mail
	h.svc.mail = &smtpMailer{addr: down, timeout: 2 * time.Second}

	m, id, _ := h.welcome()
	if err := h.userRegistered(h.ctx, m); err == nil {
		t.Fatal("a send that failed returned nil: the consumer would not retry it")
	}
	n := h.notification(id)
	if n.Status != StatusFailed || len(n.Attempts) != 1 || n.Attempts[0].OK || n.Attempts[0].Error == "" || n.LastError == "" {
		t.Fatalf("after the failure: %+v", n)
	}
	h.emailsOf(id, 0)

	h.svc.mail = good
	for i := 0; i < 2; i++ {
		if err := h.userRegistered(h.ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	h.emailsOf(id, 1)
	n = h.notification(id)
	if n.Status != StatusSent || len(n.Attempts) != 2 || n.Attempts[0].OK || !n.Attempts[1].OK || n.SentAt == nil {
		t.Fatalf("after the retry: %+v", n)
	}
}

func TestMyNotificationsShowsOnlyTheCallersNewestFirst(t *testing.T) {
	h := newHarness(t)
	wm, welcomeID, user := h.welcome()
	if err := h.userRegistered(h.ctx, wm); err != nil {
		t.Fatal(err)
	}
	var confirmations []string
	for i := 0; i < 2; i++ {
		time.Sleep(5 * time.Millisecond) // distinct creation times
		cm, id, _ := h.confirmation(user.UserID, user.Email)
		if err := h.bookingConfirmed(h.ctx, cm); err != nil {
			t.Fatal(err)
		}
		confirmations = append(confirmations, id)
	}
	om, otherID, other := h.welcome()
	if err := h.userRegistered(h.ctx, om); err != nil {
		t.Fatal(err)
	}

	secret := []byte(h.cfg.JWTSecret)
	router := router.NewRouter(h.cfg.MaxBodyBytes)
	(&api{store: h.svc.store}).routes(router, secret)
	get := func(userID, query string) []map[string]any {
		tok, _, err := auth.Sign(secret, auth.Identity{UserID: userID, Role: auth.RoleUser}, time.Hour, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodGet, "/api/notifications/my"+query, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		router.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", query, rec.Code, rec.Body)
		}
		var out []map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("not a JSON array: %s", rec.Body)
		}
		return out
	}
	idsOf := func(list []map[string]any) string {
		var s []string
		for _, n := range list {
			s = append(s, fmt.Sprint(n["id"]))
		}
		return strings.Join(s, ",")
	}

	mine := get(user.UserID, "")
	want := strings.Join([]string{confirmations[1], confirmations[0], welcomeID}, ",")
	if idsOf(mine) != want {
		t.Fatalf("ids %s, want %s (newest first)", idsOf(mine), want)
	}
	n := mine[2]
	if len(n) != 6 || n["type"] != TypeWelcome || n["recipientEmail"] != user.Email || n["status"] != StatusSent ||
		n["subject"] != "Welcome to TicketFlow, "+user.Name+"!" || n["createdAt"] == nil {
		t.Fatalf("notification %v", n)
	}
	if got := idsOf(get(user.UserID, "?page=2&limit=2")); got != welcomeID {
		t.Fatalf("page 2 of 2: %s", got)
	}
	if got := idsOf(get(other.UserID, "")); got != otherID {
		t.Fatalf("the other user sees %s", got)
	}
	if got := get(ids.New(), ""); len(got) != 0 {
		t.Fatalf("a user without notifications sees %v", got)
	}
}

// The real consumer over Kafka: a fact delivered twice is one email, garbage is dead-lettered.
func TestConsumerOverKafkaSendsOneEmailPerFact(t *testing.T) {
	h := newHarness(t)
	topic := "test.user.registered." + uniq()
	admin := &kafka.Client{Addr: kafka.TCP(h.cfg.KafkaBrokers...)}
	names := []string{topic, bus.DLT(topic)}
	var tc []kafka.TopicConfig
	for _, n := range names {
		tc = append(tc, kafka.TopicConfig{Topic: n, NumPartitions: 1, ReplicationFactor: 1})
	}
	if _, err := admin.CreateTopics(h.ctx, &kafka.CreateTopicsRequest{Topics: tc}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = admin.DeleteTopics(context.Background(), &kafka.DeleteTopicsRequest{Topics: names}) })
	w := bus.NewWriter(h.cfg.KafkaBrokers, "notification-test")
	defer w.Close()

	m, id, _ := h.welcome()
	m.Topic = topic
	garbage := kafka.Message{Topic: topic, Key: m.Key, Value: []byte(`{"eventId":"g","eventType":"user.registered","occurredAt":"2026-01-01T00:00:00Z","payload":{"userId":"nope"}}`)}
	var err error
	for i := 0; i < 50; i++ { // the new topic needs a leader first
		if err = w.PublishRaw(h.ctx, m, garbage, m); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(h.ctx)
	c := bus.NewConsumer(bus.ConsumerConfig{Brokers: h.cfg.KafkaBrokers, GroupID: "notification-test-" + uniq(), Topic: topic,
		Handler: h.userRegistered, Attempts: 2, DLT: w})
	done := make(chan struct{})
	go func() { defer close(done); _ = c.Run(ctx) }()
	defer func() { cancel(); <-done }()

	r := kafka.NewReader(kafka.ReaderConfig{Brokers: h.cfg.KafkaBrokers, Topic: bus.DLT(topic), Partition: 0, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	rctx, rcancel := context.WithTimeout(h.ctx, 30*time.Second)
	defer rcancel()
	dl, err := r.ReadMessage(rctx)
	if err != nil {
		t.Fatalf("nothing dead-lettered: %v", err)
	}
	if string(dl.Value) != string(garbage.Value) {
		t.Fatalf("dead letter %s", dl.Value)
	}
	// Both copies are handled (one sends, one finds the email SENT); the garbage is not.
	deadline := time.Now().Add(15 * time.Second)
	for c.Stats().Handled < 2 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if s := c.Stats(); s.Handled != 2 || s.DeadLet != 1 {
		t.Fatalf("consumer stats %+v", s)
	}
	h.emailsOf(id, 1)
}
