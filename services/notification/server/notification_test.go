package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"ticketflow/internal/auth"
	"ticketflow/internal/bus"
	"ticketflow/internal/ids"
	"ticketflow/internal/router"
	"ticketflow/services/ticket"
)

func TestConfirmationEmailShowsTheCurrencysDecimals(t *testing.T) {
	for _, c := range []struct {
		minor    int64
		currency string
		want     string
	}{
		{15000, "EUR", "Amount:  150.00 EUR\n"},
		{1500, "JPY", "Amount:  1500 JPY\n"},
		{1234, "KWD", "Amount:  1.234 KWD\n"},
	} {
		p := confirmed()
		p.AmountMinor, p.Currency = c.minor, c.currency
		e, err := confirmationEmail(p, nil)
		if err != nil || !strings.Contains(e.Body, c.want) {
			t.Errorf("%d %s: %v\n%s", c.minor, c.currency, err, e.Body)
		}
	}
}

func confirmed() *bus.BookingConfirmed {
	return &bus.BookingConfirmed{BookingID: ids.New(), UserID: ids.New(), UserEmail: "ann@example.com", EventID: ids.New(),
		EventName: "Rock Night", SeatIDs: []string{"FLOOR-A-1", "FLOOR-A-2"}, AmountMinor: 15000, Currency: "EUR", PaymentID: ids.New()}
}

func TestConfirmationEmailSaysWhatWasBooked(t *testing.T) {
	p := confirmed()
	e, err := confirmationEmail(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if e.Type != TypeBookingConfirmed || e.UserID != p.UserID || e.To != "ann@example.com" ||
		e.Subject != "Your booking for Rock Night is confirmed" {
		t.Fatalf("email %+v", e)
	}
	for _, want := range []string{"Rock Night", "FLOOR-A-1, FLOOR-A-2", "150.00 EUR", p.BookingID, p.PaymentID, "Seats:"} {
		if !strings.Contains(e.Body, want) {
			t.Errorf("body lacks %q:\n%s", want, e.Body)
		}
	}
	p.SeatIDs = []string{"B-1"}
	p.EventName = ""
	e, _ = confirmationEmail(p, nil)
	if !strings.Contains(e.Body, "Seat:    B-1") || e.Subject != "Your booking for your event is confirmed" {
		t.Fatalf("one seat, no event name: %q\n%s", e.Subject, e.Body)
	}
}

func TestWelcomeEmailCannotBeTurnedIntoHeaders(t *testing.T) {
	e, err := welcomeEmail(&bus.UserRegistered{UserID: ids.New(), Email: "Ann@Example.com", Name: "Ann\r\nBcc: victim@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(e.Subject, "\r\n") || e.Subject != "Welcome to TicketFlow, Ann Bcc: victim@example.com!" {
		t.Fatalf("subject %q", e.Subject)
	}
	if e.Type != TypeWelcome || e.To != "Ann@example.com" || !strings.Contains(e.Body, "Hi Ann Bcc: victim@example.com,") {
		t.Fatalf("email %+v", e)
	}
}

func TestUndeliverableRecipientsAreMalformed(t *testing.T) {
	for _, addr := range []string{"not-an-address", "", "Ann <ann@example.com>", "a@b.c, d@e.f", "ann@example.com\r\nBcc: x@y.z",
		"<ann@example.com>", " ann@example.com ", "dot.@example.test", "a..b@example.test"} {
		if _, err := recipient(addr); !errors.Is(err, bus.ErrMalformed) {
			t.Errorf("recipient(%q): err = %v, want ErrMalformed", addr, err)
		}
	}
	if got, err := recipient("ann@example.com"); err != nil || got != "ann@example.com" {
		t.Fatalf("plain address: %q, %v", got, err)
	}
}

func TestMessageIDIsAFunctionOfTheFact(t *testing.T) {
	id := "7c9e6679-7425-40de-944b-e07fc1f90ae7:booking.confirmed"
	if got := messageID(id); got != "<"+id+"@ticketflow.local>" {
		t.Fatalf("messageID = %q", got)
	}
	evil := "x>\r\nBcc: someone@example.com"
	got := messageID(evil)
	if got != messageID(evil) || strings.ContainsAny(got, "\r\n ") || !strings.HasSuffix(got, "@ticketflow.local>") || got == messageID("y") {
		t.Fatalf("messageID of an unsafe eventId = %q", got)
	}
}

func TestBuiltMessageIsWellFormedAndTheSameOnEveryAttempt(t *testing.T) {
	e, _ := confirmationEmail(confirmed(), nil)
	e.Subject = "Votre réservation pour Café Olé est confirmée"
	n := &Notification{ID: "b1:booking.confirmed", Type: e.Type, RecipientEmail: e.To, Subject: e.Subject, Body: e.Body,
		CreatedAt: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}
	raw, err := buildMessage(n, `"TicketFlow" <tickets@ticketflow.local>`)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := buildMessage(n, `"TicketFlow" <tickets@ticketflow.local>`)
	if !bytes.Equal(raw, again) {
		t.Fatal("two builds of one notification differ")
	}
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil || subject != e.Subject {
		t.Fatalf("subject %q (%v), want %q", subject, err, e.Subject)
	}
	to, err := mail.ParseAddress(m.Header.Get("To"))
	if err != nil || to.Address != e.To {
		t.Fatalf("To %q (%v), want %s", m.Header.Get("To"), err, e.To)
	}
	if m.Header.Get("Message-ID") != "<b1:booking.confirmed@ticketflow.local>" ||
		m.Header.Get("Date") != "Wed, 25 Nov 2026 10:00:00 +0000" {
		t.Fatalf("headers %v", m.Header)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(m.Body))
	if err != nil {
		t.Fatal(err)
	}
	if strings.ReplaceAll(string(body), "\r\n", "\n") != e.Body {
		t.Fatalf("body %q, want %q", body, e.Body)
	}
}

// A legal name (200 characters) or event name makes a Subject that RFC 5322 allows: encoded-words
// (RFC 2047) folded onto lines of at most 78 octets (998 at most for a word too long to fold), and
// one that decodes to the subject meant.
func TestLongAccentedNamesMakeFoldedHeadersThatDecodeToTheSubject(t *testing.T) {
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	names := map[string]string{
		"accented words":       string([]rune(strings.Repeat("Émilie-Zoë Ångström ", 12))[:200]),
		"one accented word":    strings.Repeat("é", 200),
		"four-byte characters": strings.Repeat("🎟", 200),
		"ascii words":          strings.TrimSpace(strings.Repeat("Annabel ", 25)),
		"one ascii word":       strings.Repeat("a", 200),
	}
	for name, full := range names {
		welcome, err := welcomeEmail(&bus.UserRegistered{UserID: ids.New(), Email: "ann@example.com", Name: full})
		if err != nil {
			t.Fatal(err)
		}
		p := confirmed()
		p.EventName = full
		confirmation, _ := confirmationEmail(p, nil)
		for _, e := range []email{welcome, confirmation} {
			n := &Notification{ID: ids.New() + ":x", Type: e.Type, RecipientEmail: e.To, Subject: e.Subject, Body: e.Body, CreatedAt: at}
			raw, err := buildMessage(n, `"TicketFlow" <tickets@ticketflow.local>`)
			if err != nil {
				t.Fatal(err)
			}
			head, body, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
			limit := 78 // RFC 5322's recommendation, for headers that can be folded
			if strings.HasPrefix(name, "one ascii") {
				limit = 998 // no whitespace to fold at: its limit
			}
			for part, max := range map[string]int{string(head): limit, string(body): 76} { // body: quoted-printable
				for _, line := range strings.Split(part, "\r\n") {
					if len(line) > max {
						t.Errorf("%s, %s: a line of %d octets (at most %d):\n%s", name, e.Type, len(line), max, line)
					}
				}
			}
			m, err := mail.ReadMessage(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			subject, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
			if err != nil || subject != e.Subject {
				t.Errorf("%s, %s: subject decodes to %q (%v), want %q", name, e.Type, subject, err, e.Subject)
			}
		}
	}
}

func TestMalformedMessagesAreDeadLettered(t *testing.T) {
	s := &service{} // no store: refused before anything is touched
	encode := func(topic string, payload any) kafka.Message {
		m, err := bus.NewMessage(topic, "k", "id-1", time.Now(), payload)
		if err != nil {
			t.Fatal(err)
		}
		km, _ := m.Kafka()
		return km
	}
	bad := confirmed()
	bad.UserEmail = "nobody"
	welcome := bus.Handle(bus.TopicUserRegistered, s.handleUserRegistered)
	confirmation := bus.Handle(bus.TopicBookingConfirmed, s.handleBookingConfirmed)
	cases := []struct {
		name    string
		handler bus.Handler
		m       kafka.Message
	}{
		{"welcome not json", welcome, kafka.Message{Value: []byte("nope")}},
		{"welcome on the wrong topic", welcome, encode(bus.TopicBookingConfirmed, confirmed())},
		{"welcome without user id", welcome, encode(bus.TopicUserRegistered, bus.UserRegistered{Email: "a@b.co", Name: "A"})},
		{"welcome to no address", welcome, encode(bus.TopicUserRegistered, bus.UserRegistered{UserID: ids.New(), Email: "x", Name: "A"})},
		{"confirmation without seats", confirmation, encode(bus.TopicBookingConfirmed, func() *bus.BookingConfirmed {
			p := confirmed()
			p.SeatIDs = nil
			return p
		}())},
		{"confirmation to no address", confirmation, encode(bus.TopicBookingConfirmed, bad)},
	}
	for _, c := range cases {
		if err := c.handler(context.Background(), c.m); !errors.Is(err, bus.ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", c.name, err)
		}
	}
}

func TestMyNotificationsNeedsATokenAndAValidPage(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	r := router.NewRouter(1 << 20)
	(&api{}).routes(r, secret)
	tok, _, _ := auth.Sign(secret, auth.Identity{UserID: ids.New(), Role: auth.RoleUser}, time.Hour, time.Now())
	cases := []struct {
		authz, query string
		status       int
	}{
		{"", "", http.StatusUnauthorized},
		{"Bearer garbage", "", http.StatusUnauthorized},
		{"Bearer " + tok, "?page=0", http.StatusBadRequest},
		{"Bearer " + tok, "?limit=101", http.StatusBadRequest},
		{"Bearer " + tok, "?limit=abc", http.StatusBadRequest},
	}
	for _, c := range cases {
		req := httptest.NewRequest(http.MethodGet, "/api/notifications/my"+c.query, nil)
		if c.authz != "" {
			req.Header.Set("Authorization", c.authz)
		}
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		if rec.Code != c.status {
			t.Errorf("%q %q: %d %s, want %d", c.authz, c.query, rec.Code, rec.Body, c.status)
		}
	}
}

// An email with tickets is multipart/mixed: the text, with each ticket's code, then one PNG QR
// code per ticket, the same bytes at every attempt.
func TestEmailWithTicketsAttachesOneQRCodePerTicket(t *testing.T) {
	tickets := []MailTicket{{ID: "t-1", SeatID: "FLOOR-A-1", Credential: "eyJhbGciOiJFZERTQSJ9.eyJ0aWQiOiIxIn0.c2ln"},
		{ID: "t-2", SeatID: "FLOOR-A-2", Credential: "eyJhbGciOiJFZERTQSJ9.eyJ0aWQiOiIyIn0.c2ln"}}
	e, err := confirmationEmail(confirmed(), tickets)
	if err != nil {
		t.Fatal(err)
	}
	n := &Notification{ID: "b1:booking.confirmed", Type: e.Type, RecipientEmail: e.To, Subject: e.Subject, Body: e.Body,
		Tickets: e.Tickets, CreatedAt: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}
	raw, err := buildMessage(n, "tickets@ticketflow.local")
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := buildMessage(n, "tickets@ticketflow.local"); !bytes.Equal(raw, again) {
		t.Fatal("two builds of one notification differ")
	}
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	mediaType, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/mixed" {
		t.Fatalf("Content-Type %q: %v", m.Header.Get("Content-Type"), err)
	}
	r := multipart.NewReader(m.Body, params["boundary"])
	text, err := r.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(text) // multipart.Reader decodes quoted-printable
	for _, tk := range tickets {
		if !strings.Contains(string(body), tk.Credential) || !strings.Contains(string(body), tk.SeatID) {
			t.Errorf("text lacks ticket %s:\n%s", tk.ID, body)
		}
	}
	for _, tk := range tickets {
		p, err := r.NextPart()
		if err != nil {
			t.Fatal(err)
		}
		png, err := io.ReadAll(base64.NewDecoder(base64.StdEncoding, p))
		want, _ := ticket.QR(tk.Credential)
		if err != nil || !bytes.Equal(png, want) || p.FileName() != "ticket-"+tk.SeatID+".png" {
			t.Fatalf("attachment %q: %d bytes (%v), want the QR code of %s", p.FileName(), len(png), err, tk.ID)
		}
	}
	if _, err := r.NextPart(); err != io.EOF {
		t.Fatalf("a part more than the text and the tickets: %v", err)
	}
}
