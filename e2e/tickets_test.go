//go:build integration

package e2e

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"ticketflow/internal/bus"
)

// Tickets (issue 27) on the real stack: issued on confirmation, verified with a JOSE library
// against the published keys (not with the ticket service's own verifier), scanned once, revoked,
// transferred, mailed.

type ticketView struct {
	ID            string     `json:"id"`
	BookingID     string     `json:"bookingId"`
	EventID       string     `json:"eventId"`
	SeatID        string     `json:"seatId"`
	HolderName    string     `json:"holderName"`
	HolderEmail   string     `json:"holderEmail"`
	Status        string     `json:"status"`
	Kid           string     `json:"kid"`
	Credential    string     `json:"credential"`
	QR            string     `json:"qr"`
	RevokedAt     *time.Time `json:"revokedAt"`
	RevokedReason string     `json:"revokedReason"`
	ReplacedBy    string     `json:"replacedBy"`
	CheckedInAt   *time.Time `json:"checkedInAt"`
}

// credentialClaims are a credential's payload, as the issue names them.
type credentialClaims struct {
	TicketID string `json:"tid"`
	EventID  string `json:"eid"`
	SeatID   string `json:"seat"`
	Holder   string `json:"name"`
	IssuedAt int64  `json:"iat"`
}

// bookedTickets is a confirmed booking and its tickets.
type bookedTickets struct {
	buyer   *client
	user    user
	event   event
	booking booking
	tickets []ticketView
}

// bookTickets books seats of e for a new buyer with tok_visa, waits for CONFIRMED, then for the
// booking's tickets (issued by its workflow before booking.confirmed).
func bookTickets(t testing.TB, e event, seats ...string) bookedTickets {
	t.Helper()
	c, u := register(t)
	r := book(c, e.ID, seats, "tok_visa")
	if r.status != 202 {
		t.Fatalf("POST /api/bookings = %d %s", r.status, r.body)
	}
	var b booking
	r.decode(t, &b)
	b = waitStatus(t, c, b.ID, "CONFIRMED", 45*time.Second)
	return bookedTickets{buyer: c, user: u, event: e, booking: b, tickets: ticketsOf(t, c, b.ID, len(seats))}
}

// ticketsOf waits until the booking has n tickets and returns them.
func ticketsOf(t testing.TB, c *client, bookingID string, n int) []ticketView {
	t.Helper()
	var out struct {
		Tickets []ticketView `json:"tickets"`
	}
	poll(t, 20*time.Second, 300*time.Millisecond, func() error {
		r := c.do("GET", "/api/bookings/"+bookingID+"/tickets", nil)
		if r.status != 200 {
			return fmt.Errorf("GET tickets of %s = %d %s", bookingID, r.status, r.body)
		}
		r.decode(t, &out)
		if len(out.Tickets) < n {
			return fmt.Errorf("%d tickets, want %d", len(out.Tickets), n)
		}
		return nil
	})
	return out.Tickets
}

// jwks reads GET /api/tickets/keys (public) as go-jose's JSON Web Key Set, checking each key is
// an Ed25519 OKP key in the raw JSON too.
func jwks(t testing.TB) jose.JSONWebKeySet {
	t.Helper()
	r := newClient(t).expect(200, "GET", "/api/tickets/keys", nil, nil)
	var raw struct {
		Keys []map[string]any `json:"keys"`
	}
	r.decode(t, &raw)
	for _, k := range raw.Keys {
		if k["kty"] != "OKP" || k["crv"] != "Ed25519" || k["alg"] != "EdDSA" || k["kid"] == "" || k["d"] != nil {
			t.Fatalf("a published key is not a public OKP Ed25519 key with a kid: %v", k)
		}
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(r.body, &set); err != nil || len(set.Keys) == 0 {
		t.Fatalf("JWKS %s: %v", r.body, err)
	}
	return set
}

// verifyWithJOSE checks a credential with go-jose against the published keys: a compact JWS, alg
// EdDSA, a kid of the set, a signature that verifies, and its claims.
func verifyWithJOSE(t testing.TB, set jose.JSONWebKeySet, credential string) (credentialClaims, string) {
	t.Helper()
	jws, err := jose.ParseSignedCompact(credential, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		t.Fatalf("credential %q is not a compact EdDSA JWS: %v", credential, err)
	}
	kid := jws.Signatures[0].Header.KeyID
	keys := set.Key(kid)
	if kid == "" || len(keys) != 1 {
		t.Fatalf("credential's kid %q is not one of the published keys", kid)
	}
	if _, ok := keys[0].Key.(ed25519.PublicKey); !ok {
		t.Fatalf("key %s is a %T, not Ed25519", kid, keys[0].Key)
	}
	payload, err := jws.Verify(keys[0])
	if err != nil {
		t.Fatalf("credential does not verify against key %s: %v", kid, err)
	}
	var c credentialClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		t.Fatal(err)
	}
	return c, kid
}

// scanner makes a door-staff account (an admin's job) and returns a client logged in as it.
func scanner(t testing.TB) (*client, user) {
	t.Helper()
	email := "door-" + uniq() + "@example.com"
	var created struct {
		User user `json:"user"`
	}
	admin(t).expect(201, "POST", "/api/users/scanners", map[string]string{"name": "Door " + uniq(), "email": email,
		"password": "door-password-1"}, &created)
	if created.User.Role != "SCANNER" {
		t.Fatalf("created %+v", created.User)
	}
	c := newClient(t)
	var a authAnswer
	c.expect(200, "POST", "/api/users/login", map[string]string{"email": email, "password": "door-password-1"}, &a)
	return c.as(a.Token), a.User
}

func scan(c *client, credential, gate, eventID string) response {
	body := map[string]string{"credential": credential, "gate": gate}
	if eventID != "" {
		body["eventId"] = eventID
	}
	return c.do("POST", "/api/checkins", body)
}

func TestAConfirmedBookingHasOneTicketPerSeatThatVerifiesWithJOSEAgainstTheJWKS(t *testing.T) {
	t.Parallel()
	e := newEvent(t, 4, 2500)
	bt := bookTickets(t, e, "FLOOR-A-1", "FLOOR-A-2")
	set := jwks(t)
	var seats []string
	seen := map[string]bool{}
	for _, tk := range bt.tickets {
		seats = append(seats, tk.SeatID)
		if tk.Status != "VALID" || tk.BookingID != bt.booking.ID || tk.EventID != e.ID || seen[tk.ID] ||
			tk.HolderName != bt.user.Name || !strings.HasPrefix(tk.QR, "data:image/png;base64,") {
			t.Fatalf("ticket %+v", tk)
		}
		seen[tk.ID] = true
		png, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(tk.QR, "data:image/png;base64,"))
		if err != nil || !strings.HasPrefix(string(png), "\x89PNG") {
			t.Fatalf("QR of %s is not a PNG: %v", tk.ID, err)
		}
		claims, kid := verifyWithJOSE(t, set, tk.Credential)
		if claims.TicketID != tk.ID || claims.EventID != e.ID || claims.SeatID != tk.SeatID || claims.Holder != bt.user.Name ||
			kid != tk.Kid || time.Since(time.Unix(claims.IssuedAt, 0)) > time.Minute {
			t.Fatalf("claims %+v (kid %s) of ticket %+v", claims, kid, tk)
		}
	}
	slices.Sort(seats)
	if !slices.Equal(seats, []string{"FLOOR-A-1", "FLOOR-A-2"}) {
		t.Fatalf("tickets for seats %v", seats)
	}
	// The holder finds them under "my tickets"; nobody else sees the booking's tickets.
	var mine struct {
		Tickets []ticketView `json:"tickets"`
	}
	bt.buyer.expect(200, "GET", "/api/tickets/my", nil, &mine)
	if len(mine.Tickets) != 2 || mine.Tickets[0].Credential == "" {
		t.Fatalf("my tickets %+v", mine.Tickets)
	}
	other, _ := register(t)
	refusedWith(t, other.do("GET", "/api/bookings/"+bt.booking.ID+"/tickets", nil), 404, "NOT_FOUND")
	refusedWith(t, newClient(t).do("GET", "/api/bookings/"+bt.booking.ID+"/tickets", nil), 401, "UNAUTHORIZED")
	admin(t).expect(200, "GET", "/api/bookings/"+bt.booking.ID+"/tickets", nil, nil)
}

// A booking of a seat and two places of a general-admission area has three tickets: the seat's,
// and one per place (PIT#1, PIT#2), each verifiable and admitted once like any other.
func TestABookingOfPlacesHasOneTicketPerPlace(t *testing.T) {
	t.Parallel()
	e := newGAEvent(t, 2, 10, 2500)
	c, u := register(t)
	r := bookPlaces(c, e.ID, 2, []string{"FLOOR-A-1"}, "tok_visa")
	if r.status != 202 {
		t.Fatalf("POST /api/bookings = %d %s", r.status, r.body)
	}
	var b booking
	r.decode(t, &b)
	waitStatus(t, c, b.ID, "CONFIRMED", 45*time.Second)
	tickets := ticketsOf(t, c, b.ID, 3)
	set := jwks(t)
	var seats []string
	for _, tk := range tickets {
		claims, _ := verifyWithJOSE(t, set, tk.Credential)
		if tk.Status != "VALID" || claims.SeatID != tk.SeatID || claims.EventID != e.ID || claims.Holder != u.Name {
			t.Fatalf("ticket %+v claims %+v", tk, claims)
		}
		seats = append(seats, tk.SeatID)
	}
	slices.Sort(seats)
	if !slices.Equal(seats, []string{"FLOOR-A-1", "PIT#1", "PIT#2"}) {
		t.Fatalf("tickets for %v, want the seat and one per place", seats)
	}
	door, _ := scanner(t)
	for _, tk := range tickets {
		if r := scan(door, tk.Credential, "north", e.ID); r.status != 200 {
			t.Fatalf("scan of %s: %d %s", tk.SeatID, r.status, r.body)
		}
	}
}

func TestATicketIsAdmittedOnceAndASecondScanIs409WithTheFirstScan(t *testing.T) {
	t.Parallel()
	e := newEvent(t, 2, 1000)
	bt := bookTickets(t, e, "FLOOR-A-1")
	door, doorUser := scanner(t)
	tk := bt.tickets[0]
	var in struct {
		Admitted    bool      `json:"admitted"`
		TicketID    string    `json:"ticketId"`
		SeatID      string    `json:"seatId"`
		HolderName  string    `json:"holderName"`
		Gate        string    `json:"gate"`
		CheckedInAt time.Time `json:"checkedInAt"`
	}
	r := scan(door, tk.Credential, "North 1", e.ID)
	if r.status != 200 {
		t.Fatalf("first scan = %d %s", r.status, r.body)
	}
	r.decode(t, &in)
	if !in.Admitted || in.TicketID != tk.ID || in.SeatID != "FLOOR-A-1" || in.HolderName != bt.user.Name || in.Gate != "North 1" {
		t.Fatalf("admitted %+v", in)
	}
	e2 := refusedWith(t, scan(door, tk.Credential, "South 3", e.ID), 409, "ALREADY_CHECKED_IN")
	if e2.Error.Details["gate"] != "North 1" || e2.Error.Details["checkedInAt"] != in.CheckedInAt.Format(time.RFC3339Nano) {
		t.Fatalf("second scan's details %v, want the first scan's gate and time %s", e2.Error.Details, in.CheckedInAt.Format(time.RFC3339Nano))
	}
	// The check-in is on Kafka once, keyed by the booking, with the ticket as the fact's subject.
	cfg := loadConfig(t)
	eventually(t, 15*time.Second, func() error {
		recs, err := readTopicWithKafkaGo(testContext(t, 10*time.Second), cfg.KafkaBrokers, bus.TopicTicketCheckedIn,
			map[string]bool{bt.booking.ID: true})
		if err != nil {
			return err
		}
		if len(recs) != 1 {
			return fmt.Errorf("%d ticket.checked_in messages for the booking, want 1", len(recs))
		}
		if err := bus.ValidateMessage(bus.TopicTicketCheckedIn, []byte(recs[0].Value)); err != nil {
			return err
		}
		var env struct {
			EventID string              `json:"eventId"`
			Payload bus.TicketCheckedIn `json:"payload"`
		}
		_ = json.Unmarshal([]byte(recs[0].Value), &env)
		if env.EventID != tk.ID+":ticket.checked_in" || env.Payload.Gate != "North 1" || env.Payload.ScannerID != doorUser.ID {
			return fmt.Errorf("message %s", recs[0].Value)
		}
		return nil
	})
}

func TestTwoGatesScanningOneTicketAtOnceAdmitItOnce(t *testing.T) {
	t.Parallel()
	e := newEvent(t, 4, 1000)
	bt := bookTickets(t, e, "FLOOR-A-1", "FLOOR-A-2", "FLOOR-A-3")
	gateA, _ := scanner(t)
	gateB, _ := scanner(t)
	for _, tk := range bt.tickets {
		var wg sync.WaitGroup
		statuses := make([]int, 2)
		start := make(chan struct{})
		for i, door := range []*client{gateA, gateB} {
			wg.Go(func() {
				<-start
				statuses[i] = scan(door, tk.Credential, fmt.Sprintf("Gate %d", i+1), e.ID).status
			})
		}
		close(start)
		wg.Wait()
		slices.Sort(statuses)
		if !slices.Equal(statuses, []int{200, 409}) {
			t.Fatalf("ticket %s scanned at two gates at once: %v, want one 200 and one 409", tk.ID, statuses)
		}
	}
}

func TestEveryBadCredentialIsRefusedWithItsOwn4xx(t *testing.T) {
	t.Parallel()
	e := newEvent(t, 2, 1000)
	other := newEvent(t, 1, 1000)
	bt := bookTickets(t, e, "FLOOR-A-1")
	door, _ := scanner(t)
	cred := bt.tickets[0].Credential
	parts := strings.Split(cred, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(payload), "FLOOR-A-1", "FLOOR-A-2", 1))) + "." + parts[2]
	// A credential of the right shape signed by a key TicketFlow never published.
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: jose.JSONWebKey{Key: priv, KeyID: "k-forged"}},
		(&jose.SignerOptions{}).WithType("ticketflow-ticket+jwt"))
	if err != nil {
		t.Fatal(err)
	}
	forgedJWS, _ := signer.Sign(payload)
	forged, _ := forgedJWS.CompactSerialize()
	for _, c := range []struct {
		name, credential, eventID string
		status                    int
		code                      string
	}{
		{"garbage", "not a ticket at all", "", 400, "CREDENTIAL_MALFORMED"},
		{"the booking id, as the original frontend's QR held", bt.booking.ID, "", 400, "CREDENTIAL_MALFORMED"},
		{"three segments of garbage", "a.b.c", "", 400, "CREDENTIAL_MALFORMED"},
		{"a tampered seat", tampered, "", 422, "CREDENTIAL_BAD_SIGNATURE"},
		{"an unknown kid", forged, "", 422, "CREDENTIAL_UNKNOWN_KEY"},
		{"another event's door", cred, other.ID, 422, "WRONG_EVENT"},
		{"an empty credential", "", "", 400, "CREDENTIAL_MALFORMED"},
	} {
		t.Run(c.name, func(t *testing.T) {
			refusedWith(t, scan(door, c.credential, "Gate 1", c.eventID), c.status, c.code)
		})
	}
	// None of them admitted the ticket; the right door does.
	door.expect(200, "POST", "/api/checkins", map[string]string{"credential": cred, "gate": "Gate 1", "eventId": e.ID}, nil)
	// Only door staff scan: a buyer is 403, no token 401.
	refusedWith(t, scan(bt.buyer, cred, "Gate 1", ""), 403, "FORBIDDEN")
	refusedWith(t, scan(newClient(t), cred, "Gate 1", ""), 401, "UNAUTHORIZED")
	refusedWith(t, door.do("POST", "/api/checkins", map[string]string{"credential": cred}), 400, "VALIDATION_ERROR")
}

func TestCancellingAConfirmedBookingRevokesItsTicketsForOnlineAndOfflineScanners(t *testing.T) {
	t.Parallel()
	e := newEvent(t, 3, 1000)
	keep := bookTickets(t, e, "FLOOR-A-1")
	bt := bookTickets(t, e, "FLOOR-A-2", "FLOOR-A-3")
	door, _ := scanner(t)
	// Before: nothing revoked; the list has an ETag that answers 304.
	r := door.expect(200, "GET", "/api/events/"+e.ID+"/revocations", nil, nil)
	etag := r.header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag on the revocation list")
	}
	if r := door.do("GET", "/api/events/"+e.ID+"/revocations", nil, "If-None-Match", etag); r.status != 304 {
		t.Fatalf("If-None-Match with the current ETag = %d", r.status)
	}
	bt.buyer.expect(200, "POST", "/api/bookings/"+bt.booking.ID+"/cancel", nil, nil)
	waitStatus(t, bt.buyer, bt.booking.ID, "CANCELLED", 30*time.Second)
	var list struct {
		Revoked []string `json:"revoked"`
		Count   int      `json:"count"`
	}
	poll(t, 15*time.Second, 300*time.Millisecond, func() error {
		r := door.expect(200, "GET", "/api/events/"+e.ID+"/revocations", nil, &list)
		if r.header.Get("ETag") == etag || list.Count != 2 {
			return fmt.Errorf("revocations %+v (ETag %s)", list, r.header.Get("ETag"))
		}
		return nil
	})
	for _, tk := range bt.tickets {
		if !slices.Contains(list.Revoked, tk.ID) {
			t.Fatalf("ticket %s is not on the list %v", tk.ID, list.Revoked)
		}
		refusedWith(t, scan(door, tk.Credential, "Gate 1", e.ID), 409, "TICKET_REVOKED")
	}
	if slices.Contains(list.Revoked, keep.tickets[0].ID) {
		t.Fatal("another booking's ticket was revoked")
	}
	var after struct {
		Tickets []ticketView `json:"tickets"`
	}
	bt.buyer.expect(200, "GET", "/api/bookings/"+bt.booking.ID+"/tickets", nil, &after)
	for _, tk := range after.Tickets {
		if tk.Status != "REVOKED" || tk.Credential != "" || tk.RevokedAt == nil {
			t.Fatalf("after the cancel: %+v", tk)
		}
	}
	// Only door staff read the list.
	refusedWith(t, bt.buyer.do("GET", "/api/events/"+e.ID+"/revocations", nil), 403, "FORBIDDEN")
	refusedWith(t, newClient(t).do("GET", "/api/events/"+e.ID+"/revocations", nil), 401, "UNAUTHORIZED")
}

// waitMail waits for the emails to an address and returns their summaries.
func waitMail(t testing.TB, to string, n int) []mailSummary {
	t.Helper()
	var res struct {
		Messages []mailSummary `json:"messages"`
	}
	eventually(t, 30*time.Second, func() error {
		if err := getJSON(loadConfig(t).MailpitURL+"/api/v1/search?query="+urlQuery("to:"+to), &res); err != nil {
			return err
		}
		if len(res.Messages) < n {
			return fmt.Errorf("%d emails to %s, want %d", len(res.Messages), to, n)
		}
		return nil
	})
	return res.Messages
}

type mailSummary struct {
	ID      string `json:"ID"`
	Subject string `json:"Subject"`
}

type mailMessage struct {
	Subject     string `json:"Subject"`
	Text        string `json:"Text"`
	Attachments []struct {
		FileName    string `json:"FileName"`
		ContentType string `json:"ContentType"`
	} `json:"Attachments"`
	Inline []struct {
		FileName    string `json:"FileName"`
		ContentType string `json:"ContentType"`
	} `json:"Inline"`
}

func readMail(t testing.TB, id string) mailMessage {
	t.Helper()
	var m mailMessage
	if err := getJSON(loadConfig(t).MailpitURL+"/api/v1/message/"+id, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// pngs names the PNG images an email carries, attached or inline.
func (m mailMessage) pngs() []string {
	var out []string
	for _, a := range append(m.Attachments, m.Inline...) {
		if a.ContentType == "image/png" {
			out = append(out, a.FileName)
		}
	}
	slices.Sort(out)
	return out
}

func TestTheConfirmationEmailCarriesEachTicketsCodeAndQRCode(t *testing.T) {
	t.Parallel()
	e := newEvent(t, 2, 1000)
	bt := bookTickets(t, e, "FLOOR-A-1", "FLOOR-A-2")
	var confirmation mailMessage
	for _, s := range waitMail(t, bt.user.Email, 2) { // the welcome, and the confirmation
		if strings.HasPrefix(s.Subject, "Your booking for") {
			confirmation = readMail(t, s.ID)
		}
	}
	if !slices.Equal(confirmation.pngs(), []string{"ticket-FLOOR-A-1.png", "ticket-FLOOR-A-2.png"}) {
		t.Fatalf("the confirmation carries the images %v, want one QR code per seat: %+v", confirmation.pngs(), confirmation)
	}
	for _, tk := range bt.tickets {
		if !strings.Contains(confirmation.Text, tk.Credential) {
			t.Fatalf("the confirmation's text lacks ticket %s's code:\n%s", tk.ID, confirmation.Text)
		}
	}
}

func TestATransferRevokesTheOldCredentialIssuesANewOneAndMailsBothHolders(t *testing.T) {
	t.Parallel()
	e := newEvent(t, 2, 1000)
	bt := bookTickets(t, e, "FLOOR-A-1")
	friend, friendUser := register(t)
	old := bt.tickets[0]
	// Refused: an unknown address, one's own, a ticket one does not hold.
	refusedWith(t, bt.buyer.do("POST", "/api/tickets/"+old.ID+"/transfer", map[string]string{"email": "nobody-" + uniq() + "@example.com"}),
		404, "RECIPIENT_NOT_FOUND")
	refusedWith(t, bt.buyer.do("POST", "/api/tickets/"+old.ID+"/transfer", map[string]string{"email": bt.user.Email}), 400, "VALIDATION_ERROR")
	refusedWith(t, friend.do("POST", "/api/tickets/"+old.ID+"/transfer", map[string]string{"email": bt.user.Email}), 404, "NOT_FOUND")

	var moved ticketView
	r := bt.buyer.expect(201, "POST", "/api/tickets/"+old.ID+"/transfer", map[string]string{"email": friendUser.Email}, &moved)
	if r.header.Get("Location") != "/api/tickets/"+moved.ID || moved.SeatID != old.SeatID || moved.HolderName != friendUser.Name ||
		moved.Credential != "" {
		t.Fatalf("transfer answered %+v (Location %s)", moved, r.header.Get("Location"))
	}
	// The new holder has it, with a credential that verifies and names them.
	var mine struct {
		Tickets []ticketView `json:"tickets"`
	}
	friend.expect(200, "GET", "/api/tickets/my", nil, &mine)
	if len(mine.Tickets) != 1 || mine.Tickets[0].ID != moved.ID {
		t.Fatalf("the new holder's tickets %+v", mine.Tickets)
	}
	claims, _ := verifyWithJOSE(t, jwks(t), mine.Tickets[0].Credential)
	if claims.TicketID != moved.ID || claims.Holder != friendUser.Name || claims.SeatID != old.SeatID {
		t.Fatalf("new credential's claims %+v", claims)
	}
	// The old credential is revoked; the new one admits; capacity is unchanged (one seat sold).
	door, _ := scanner(t)
	refusedWith(t, scan(door, old.Credential, "Gate 1", e.ID), 409, "TICKET_REVOKED")
	door.expect(200, "POST", "/api/checkins", map[string]string{"credential": mine.Tickets[0].Credential, "gate": "Gate 1"}, nil)
	if sm := readSeatMap(t, e.ID); sm.status("FLOOR-A-1") != "RESERVED" || sm.status("FLOOR-A-2") != "AVAILABLE" {
		t.Fatalf("seats after the transfer: %+v", sm.Summary)
	}
	var booked struct {
		Tickets []ticketView `json:"tickets"`
	}
	bt.buyer.expect(200, "GET", "/api/bookings/"+bt.booking.ID+"/tickets", nil, &booked)
	for _, tk := range booked.Tickets {
		if tk.ID == old.ID && (tk.Status != "REVOKED" || tk.ReplacedBy != moved.ID) {
			t.Fatalf("the old ticket %+v", tk)
		}
		if tk.ID == moved.ID && tk.Credential != "" {
			t.Fatal("the buyer sees the new holder's credential")
		}
	}
	// Refused after check-in.
	refusedWith(t, friend.do("POST", "/api/tickets/"+moved.ID+"/transfer", map[string]string{"email": bt.user.Email}), 409, "TICKET_CHECKED_IN")
	// Both holders got an email; the new one carries the new ticket's QR code.
	var sent, got mailMessage
	for _, s := range waitMail(t, bt.user.Email, 3) {
		if strings.HasPrefix(s.Subject, "You transferred") {
			sent = readMail(t, s.ID)
		}
	}
	for _, s := range waitMail(t, friendUser.Email, 2) {
		if strings.HasSuffix(s.Subject, "was transferred to you") {
			got = readMail(t, s.ID)
		}
	}
	if !strings.Contains(sent.Text, friendUser.Email) || !slices.Equal(got.pngs(), []string{"ticket-FLOOR-A-1.png"}) ||
		!strings.Contains(got.Text, mine.Tickets[0].Credential) {
		t.Fatalf("transfer emails: sent %+v, received %+v", sent, got)
	}
}

func TestATicketCannotBeTransferredOnceItsEventHasBegun(t *testing.T) {
	t.Parallel()
	adm := admin(t)
	starts := time.Now().Add(25 * time.Second).UTC().Truncate(time.Second)
	var e event
	adm.expect(201, "POST", "/api/events", map[string]any{"name": "Soon " + uniq(), "description": "starts soon",
		"venueId": venueIn(t, adm, "Europe/Oslo"), "date": starts.Format(time.RFC3339), "currency": "EUR", "tags": []string{"test"},
		"sections": []map[string]any{{"name": "Floor", "priceMinor": 1000, "rows": []map[string]any{{"label": "A", "seats": 1}}}}}, &e)
	bt := bookTickets(t, e, "FLOOR-A-1")
	_, friendUser := register(t)
	time.Sleep(time.Until(starts) + time.Second)
	refusedWith(t, bt.buyer.do("POST", "/api/tickets/"+bt.tickets[0].ID+"/transfer", map[string]string{"email": friendUser.Email}),
		409, "EVENT_OVER")
}

func TestOfflineScansUploadedLaterAreReconciledEarliestFirst(t *testing.T) {
	t.Parallel()
	e := newEvent(t, 3, 1000)
	bt := bookTickets(t, e, "FLOOR-A-1", "FLOOR-A-2")
	door, _ := scanner(t)
	first, second := bt.tickets[0], bt.tickets[1]
	// The first ticket is scanned online now...
	door.expect(200, "POST", "/api/checkins", map[string]string{"credential": first.Credential, "gate": "Main", "eventId": e.ID}, nil)
	// ...but an offline gate had admitted it ten minutes ago; the second was scanned twice offline.
	now := time.Now().UTC()
	var res struct {
		Results []struct {
			Index       int        `json:"index"`
			Outcome     string     `json:"outcome"`
			TicketID    string     `json:"ticketId"`
			Code        string     `json:"code"`
			Gate        string     `json:"gate"`
			CheckedInAt *time.Time `json:"checkedInAt"`
		} `json:"results"`
		Admitted, Duplicates, Refused int
	}
	door.expect(200, "POST", "/api/checkins/batch", map[string]any{"eventId": e.ID, "scans": []map[string]any{
		{"credential": second.Credential, "gate": "Side B", "scannedAt": now.Add(-2 * time.Minute)},
		{"credential": first.Credential, "gate": "Side A", "scannedAt": now.Add(-10 * time.Minute)},
		{"credential": second.Credential, "gate": "Side A", "scannedAt": now.Add(-5 * time.Minute)},
		{"credential": "garbage", "gate": "Side A", "scannedAt": now.Add(-time.Minute)},
	}}, &res)
	want := []struct{ outcome, gate, code string }{
		{"DUPLICATE", "Side A", ""}, // the second ticket's earlier scan, at Side A, won
		{"ADMITTED", "Side A", ""},  // earlier than the online check-in: it wins
		{"ADMITTED", "Side A", ""},
		{"REFUSED", "", "CREDENTIAL_MALFORMED"},
	}
	for i, w := range want {
		got := res.Results[i]
		if got.Index != i || got.Outcome != w.outcome || got.Gate != w.gate || got.Code != w.code {
			t.Fatalf("result %d = %+v, want %+v (all: %+v)", i, got, w, res.Results)
		}
	}
	if res.Admitted != 2 || res.Duplicates != 1 || res.Refused != 1 {
		t.Fatalf("counts %+v", res)
	}
	// The record now names the earliest scan: a later online scan is told so.
	e2 := refusedWith(t, scan(door, first.Credential, "Main", e.ID), 409, "ALREADY_CHECKED_IN")
	if e2.Error.Details["gate"] != "Side A" {
		t.Fatalf("after reconciliation the first scan is %v, want Side A", e2.Error.Details)
	}
}

func TestARotatedKeySignsNewTicketsWhileTheOldOneStaysPublished(t *testing.T) {
	e := newEvent(t, 3, 1000)
	before := bookTickets(t, e, "FLOOR-A-1")
	adm := admin(t)
	var rotated struct {
		Kid string `json:"kid"`
	}
	adm.expect(201, "POST", "/api/tickets/keys/rotate", nil, &rotated)
	if rotated.Kid == "" || rotated.Kid == before.tickets[0].Kid {
		t.Fatalf("rotation answered %+v (the old key is %s)", rotated, before.tickets[0].Kid)
	}
	refusedWith(t, before.buyer.do("POST", "/api/tickets/keys/rotate", nil), 403, "FORBIDDEN")
	after := bookTickets(t, e, "FLOOR-A-2")
	set := jwks(t)
	if set.Keys[0].KeyID != rotated.Kid || len(set.Key(before.tickets[0].Kid)) != 1 {
		t.Fatalf("JWKS %v: want the new key first and the old one still there", set.Keys)
	}
	if _, kid := verifyWithJOSE(t, set, after.tickets[0].Credential); kid != rotated.Kid {
		t.Fatalf("a ticket issued after the rotation is signed with %s, want %s", kid, rotated.Kid)
	}
	if _, kid := verifyWithJOSE(t, set, before.tickets[0].Credential); kid != before.tickets[0].Kid {
		t.Fatalf("the old ticket's kid %s", kid)
	}
	// Both admit at the door.
	door, _ := scanner(t)
	for _, tk := range []ticketView{before.tickets[0], after.tickets[0]} {
		if r := scan(door, tk.Credential, "Gate 1", e.ID); r.status != http.StatusOK {
			t.Fatalf("ticket signed with %s: %d %s", tk.Kid, r.status, r.body)
		}
	}
}
