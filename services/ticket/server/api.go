package server

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5"

	"ticketflow/internal/auth"
	"ticketflow/internal/httpapi"
	"ticketflow/internal/ids"
	"ticketflow/internal/mailaddr"
	"ticketflow/internal/seatplan"
	"ticketflow/services/event"
	"ticketflow/services/ticket"
	"ticketflow/services/user"
)

type api struct {
	store      *store
	keys       *keyring
	users      *user.Client
	events     *event.Client
	eventLasts time.Duration
	now        func() time.Time
}

func (a *api) routes(r chi.Router, secret []byte, internalToken string) {
	r.Get("/api/tickets/keys", httpapi.Handle(a.jwks))
	r.Group(func(r chi.Router) {
		r.Use(httpapi.Authenticate(secret))
		r.Get("/api/tickets/my", httpapi.Handle(a.mine))
		r.Get("/api/tickets/{id}", httpapi.Handle(a.one))
		r.Post("/api/tickets/{id}/transfer", httpapi.Handle(a.transfer))
		r.Get("/api/bookings/{id}/tickets", httpapi.Handle(a.ofBooking))
		r.With(httpapi.RequireAdmin).Post("/api/tickets/keys/rotate", httpapi.Handle(a.rotate))
		r.With(httpapi.RequireScanner).Get("/api/events/{id}/revocations", httpapi.Handle(a.revocations))
		r.With(httpapi.RequireScanner).Post("/api/checkins", httpapi.Handle(a.checkIn))
		r.With(httpapi.RequireScanner).Post("/api/checkins/batch", httpapi.Handle(a.checkInBatch))
	})
	r.Group(func(r chi.Router) {
		r.Use(httpapi.InternalOnly(internalToken))
		r.Post("/internal/bookings/{id}/tickets", httpapi.Handle(a.issue))
		r.Get("/internal/bookings/{id}/tickets", httpapi.Handle(a.bookingInternal))
		r.Post("/internal/bookings/{id}/tickets/revoke", httpapi.Handle(a.revoke))
		r.Get("/internal/tickets/{id}", httpapi.Handle(a.oneInternal))
	})
}

// --- views ------------------------------------------------------------------------------------

// view is a ticket as a caller may see it: the credential and its QR code only for its holder
// (or an admin, or an internal caller) and only while it is valid. An internal caller gets no QR
// code: it draws its own (the notification service, an image per email attachment), and drawing
// one is most of the cost of answering.
func view(t row, secrets, qr bool) ticket.Ticket {
	out := t.Ticket
	if !secrets || t.RevokedAt != nil {
		out.Credential = ""
		return out
	}
	if qr {
		out.QR = qrDataURI(out.Credential)
	}
	return out
}

// qrDataURI draws a credential as a QR code (ticket.QR), a PNG as a data: URI, which a page shows
// as an <img>.
func qrDataURI(credential string) string {
	png, err := ticket.QR(credential)
	if err != nil {
		return ""
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(png)
}

func views(ts []row, show func(row) bool) []ticket.Ticket {
	out := make([]ticket.Ticket, 0, len(ts))
	for _, t := range ts {
		out = append(out, view(t, show(t), true))
	}
	return out
}

// internalViews are the tickets with their credentials and no QR codes (view).
func internalViews(ts []row) []ticket.Ticket {
	out := make([]ticket.Ticket, 0, len(ts))
	for _, t := range ts {
		out = append(out, view(t, true, false))
	}
	return out
}

func identity(r *http.Request) auth.Identity {
	id, _ := httpapi.Identity(r.Context())
	return id
}

// --- public routes ----------------------------------------------------------------------------

// jwks is GET /api/tickets/keys: the public keys that verify ticket credentials (RFC 7517 JWK
// Set of RFC 8037 OKP/Ed25519 keys), cacheable for a minute.
func (a *api) jwks(w http.ResponseWriter, r *http.Request) error {
	set, err := a.keys.jwks(r.Context())
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "public, max-age=60")
	httpapi.WriteJSON(w, http.StatusOK, set)
	return nil
}

// rotate is POST /api/tickets/keys/rotate (ADMIN): a new key signs every ticket from now on; the
// old ones stay published until their events are over.
func (a *api) rotate(w http.ResponseWriter, r *http.Request) error {
	kid, err := a.keys.rotate(r.Context(), true)
	if err != nil {
		return err
	}
	httpapi.Created(w, "/api/tickets/keys", map[string]string{"kid": kid})
	return nil
}

// mine is GET /api/tickets/my: the tickets the caller holds (valid ones first, soonest event
// first), with their credentials and QR codes.
func (a *api) mine(w http.ResponseWriter, r *http.Request) error {
	page, limit, err := httpapi.Page(r)
	if err != nil {
		return err
	}
	ts, total, err := a.store.held(r.Context(), identity(r).UserID, limit, (page-1)*limit)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"tickets": views(ts, func(row) bool { return true }),
		"total": total, "page": page, "limit": limit})
	return nil
}

// one is GET /api/tickets/{id}: the ticket, for its holder or an admin (404 for anyone else).
func (a *api) one(w http.ResponseWriter, r *http.Request) error {
	id := identity(r)
	t, err := a.find(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	if t.HolderUserID != id.UserID && !id.Admin() {
		return httpapi.NotFound("ticket")
	}
	httpapi.WriteJSON(w, http.StatusOK, view(t, true, true))
	return nil
}

func (a *api) find(ctx context.Context, id string) (row, error) {
	if !ids.IsUUID(id) {
		return row{}, httpapi.NotFound("ticket")
	}
	t, err := a.store.get(ctx, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return row{}, httpapi.NotFound("ticket")
	}
	return t, err
}

// ofBooking is GET /api/bookings/{id}/tickets: the booking's tickets for its owner or an admin
// (404 for anyone else, and until the booking's tickets are issued). A ticket transferred to
// someone else shows without its credential to the booking's owner.
func (a *api) ofBooking(w http.ResponseWriter, r *http.Request) error {
	id := identity(r)
	bookingID := chi.URLParam(r, "id")
	if !ids.IsUUID(bookingID) {
		return httpapi.NotFound("tickets")
	}
	ts, owner, err := a.store.booking(r.Context(), bookingID)
	if err != nil {
		return err
	}
	if owner == "" || (owner != id.UserID && !id.Admin()) {
		return httpapi.NotFound("tickets")
	}
	httpapi.WriteJSON(w, http.StatusOK, ticket.Issued{Tickets: views(ts, func(t row) bool {
		return t.HolderUserID == id.UserID || id.Admin()
	})})
	return nil
}

type transferRequest struct {
	Email string `json:"email"`
}

// transfer is POST /api/tickets/{id}/transfer {"email"}: the holder hands the ticket to another
// registered account. 201 with the new ticket (its credential is the new holder's, so it is not
// shown here); the old one is revoked.
func (a *api) transfer(w http.ResponseWriter, r *http.Request) error {
	id := identity(r)
	var req transferRequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	email, err := mailaddr.Parse(strings.TrimSpace(req.Email))
	if err != nil {
		return httpapi.FieldError("email", "must be a single email address such as ann@example.com")
	}
	t, err := a.find(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	if t.HolderUserID != id.UserID {
		return httpapi.NotFound("ticket")
	}
	to, err := a.users.ByEmail(r.Context(), email)
	switch {
	case errors.Is(err, user.ErrNoUser):
		return httpapi.NewError(http.StatusNotFound, ticket.CodeRecipientNotFound, "no TicketFlow account is registered with this email address")
	case err != nil:
		return unavailable("user", err)
	case to.ID == id.UserID:
		return httpapi.FieldError("email", "is your own account: the ticket is yours already")
	}
	sk := a.keys.current()
	moved, err := a.store.transfer(r.Context(), t.ID, id.UserID, recipient{ID: to.ID, Name: to.Name, Email: to.Email}, sk,
		func(start time.Time) time.Time { return start.Add(a.eventLasts) })
	if err != nil {
		return err
	}
	httpapi.Created(w, "/api/tickets/"+moved.ID, view(moved, false, false))
	return nil
}

// revocations is GET /api/events/{id}/revocations (SCANNER or ADMIN): the ids of the event's
// revoked tickets, for scanners that check offline. Its ETag changes with the list; If-None-Match
// answers 304.
func (a *api) revocations(w http.ResponseWriter, r *http.Request) error {
	eventID := chi.URLParam(r, "id")
	if !ids.IsUUID(eventID) {
		return httpapi.NotFound("event")
	}
	revoked, err := a.store.revocations(r.Context(), eventID)
	if err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(strings.Join(revoked, ",")))
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	w.Header().Set("ETag", etag)
	w.Header().Set("Cache-Control", "private, no-cache")
	if match := r.Header.Get("If-None-Match"); match != "" && slices.Contains(strings.Split(strings.ReplaceAll(match, " ", ""), ","), etag) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"eventId": eventID, "revoked": revoked, "count": len(revoked),
		"asOf": a.now().UTC().Truncate(time.Second)})
	return nil
}

type checkInRequest struct {
	Credential string `json:"credential"`
	Gate       string `json:"gate"`
	EventID    string `json:"eventId,omitempty"`
}

type admitted struct {
	Admitted    bool      `json:"admitted"`
	TicketID    string    `json:"ticketId"`
	EventID     string    `json:"eventId"`
	EventName   string    `json:"eventName"`
	SeatID      string    `json:"seatId"`
	HolderName  string    `json:"holderName"`
	Gate        string    `json:"gate"`
	CheckedInAt time.Time `json:"checkedInAt"`
}

func checkGate(gate, eventID string) error {
	if err := httpapi.Required("gate", gate, 100); err != nil {
		return err
	}
	if eventID != "" && !ids.IsUUID(eventID) {
		return httpapi.FieldError("eventId", "must be an event id (a UUID)")
	}
	return nil
}

// checkIn is POST /api/checkins (SCANNER or ADMIN) {credential, gate, eventId?}: 200 with the
// holder and seat the first time; 409 ALREADY_CHECKED_IN (with the first scan's time and gate)
// after; 409 TICKET_REVOKED; 422 WRONG_EVENT when eventId names another event; 400
// CREDENTIAL_MALFORMED, 422 CREDENTIAL_UNKNOWN_KEY or CREDENTIAL_BAD_SIGNATURE for a code that
// is not a ticket of ours.
func (a *api) checkIn(w http.ResponseWriter, r *http.Request) error {
	var req checkInRequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	if err := checkGate(req.Gate, req.EventID); err != nil {
		return err
	}
	claims, _, err := a.keys.verify(r.Context(), req.Credential)
	if err != nil {
		return err
	}
	c, err := a.store.checkIn(r.Context(), scan{claims: claims, event: req.EventID, gate: req.Gate,
		scannerID: identity(r).UserID, at: a.now().UTC().Truncate(time.Microsecond)})
	if err != nil {
		return err
	}
	if c.outcome == ticket.ScanDuplicate {
		return httpapi.Conflict(ticket.CodeAlreadyCheckedIn, fmt.Sprintf("already checked in at %s, gate %s",
			c.firstAt.UTC().Format(time.RFC3339), c.gate)).WithDetails(map[string]any{"ticketId": c.ticket.ID,
			"checkedInAt": c.firstAt.UTC(), "gate": c.gate, "seatId": c.ticket.SeatID, "holderName": c.ticket.HolderName})
	}
	httpapi.WriteJSON(w, http.StatusOK, admitted{Admitted: true, TicketID: c.ticket.ID, EventID: c.ticket.EventID,
		EventName: c.ticket.EventName, SeatID: c.ticket.SeatID, HolderName: c.ticket.HolderName, Gate: c.gate,
		CheckedInAt: c.firstAt.UTC()})
	return nil
}

type offlineScan struct {
	Credential string    `json:"credential"`
	Gate       string    `json:"gate"`
	ScannedAt  time.Time `json:"scannedAt"`
}

type batchRequest struct {
	EventID string        `json:"eventId,omitempty"`
	Scans   []offlineScan `json:"scans"`
}

type scanResult struct {
	Index       int        `json:"index"`
	Outcome     string     `json:"outcome"`
	TicketID    string     `json:"ticketId,omitempty"`
	SeatID      string     `json:"seatId,omitempty"`
	HolderName  string     `json:"holderName,omitempty"`
	Code        string     `json:"code,omitempty"`
	Message     string     `json:"message,omitempty"`
	CheckedInAt *time.Time `json:"checkedInAt,omitempty"`
	Gate        string     `json:"gate,omitempty"`
}

// maxBatch is how many offline scans one upload may carry.
const maxBatch = 500

// checkInBatch is POST /api/checkins/batch (SCANNER or ADMIN): scans made offline, uploaded
// later. They are applied in the order they were made, so the earliest scan of a ticket wins
// (also against a check-in recorded online later than it); each result, in the request's order,
// says ADMITTED, DUPLICATE (with the winning scan's time and gate) or REFUSED (with the code a
// single scan would have answered).
func (a *api) checkInBatch(w http.ResponseWriter, r *http.Request) error {
	var req batchRequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	if len(req.Scans) == 0 || len(req.Scans) > maxBatch {
		return httpapi.FieldError("scans", fmt.Sprintf("must hold 1 to %d scans", maxBatch))
	}
	if req.EventID != "" && !ids.IsUUID(req.EventID) {
		return httpapi.FieldError("eventId", "must be an event id (a UUID)")
	}
	now := a.now().UTC()
	for i, s := range req.Scans {
		if err := checkGate(s.Gate, ""); err != nil {
			return httpapi.FieldError(fmt.Sprintf("scans[%d].gate", i), "is required: the gate's name, at most 100 characters")
		}
		if s.ScannedAt.IsZero() || s.ScannedAt.After(now.Add(time.Minute)) {
			return httpapi.FieldError(fmt.Sprintf("scans[%d].scannedAt", i), "must be the scan's time (RFC 3339), not in the future")
		}
	}
	order := make([]int, len(req.Scans))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(x, y int) bool { return req.Scans[order[x]].ScannedAt.Before(req.Scans[order[y]].ScannedAt) })
	results := make([]scanResult, len(req.Scans))
	counts := map[string]int{}
	for _, i := range order {
		s := req.Scans[i]
		res := scanResult{Index: i}
		claims, _, err := a.keys.verify(r.Context(), s.Credential)
		var c checkin
		if err == nil {
			res.TicketID = claims.TicketID
			c, err = a.store.checkIn(r.Context(), scan{claims: claims, event: req.EventID, gate: s.Gate,
				scannerID: identity(r).UserID, at: s.ScannedAt.UTC().Truncate(time.Microsecond), offline: true})
		}
		var he *httpapi.Error
		switch {
		case errors.As(err, &he):
			res.Outcome, res.Code, res.Message = ticket.ScanRefused, he.Code, he.Message
		case err != nil:
			return err
		default:
			at := c.firstAt.UTC()
			res.Outcome, res.SeatID, res.HolderName, res.CheckedInAt, res.Gate = c.outcome, c.ticket.SeatID, c.ticket.HolderName, &at, c.gate
		}
		counts[res.Outcome]++
		results[i] = res
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"results": results, "admitted": counts[ticket.ScanAdmitted],
		"duplicates": counts[ticket.ScanDuplicate], "refused": counts[ticket.ScanRefused]})
	return nil
}

// --- internal routes --------------------------------------------------------------------------

func unavailable(service string, err error) error {
	return httpapi.Unavailable(service + " service could not answer: " + err.Error())
}

// issue is POST /internal/bookings/{id}/tickets (ticket.Client.Issue): one ticket per seat of a
// confirmed booking, once per booking.
func (a *api) issue(w http.ResponseWriter, r *http.Request) error {
	var req ticket.IssueRequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	if req.BookingID != chi.URLParam(r, "id") || !ids.IsUUID(req.BookingID) {
		return httpapi.FieldError("bookingId", "must be the booking id of the path")
	}
	if !ids.IsUUID(req.UserID) || !ids.IsUUID(req.EventID) {
		return httpapi.Validation("userId and eventId must be UUIDs")
	}
	if _, err := mailaddr.Parse(req.UserEmail); err != nil {
		return httpapi.FieldError("userEmail", "must be one email address")
	}
	quantities, err := seatplan.CheckBooking(req.SeatIDs, req.Quantities)
	if err != nil {
		return err
	}
	req.Quantities = quantities
	ctx := r.Context()
	if ts, owner, err := a.store.booking(ctx, req.BookingID); err != nil || owner != "" {
		if err != nil {
			return err
		}
		httpapi.WriteJSON(w, http.StatusOK, ticket.Issued{Tickets: views(ts, func(row) bool { return false })})
		return nil
	}
	holder := req.UserEmail
	switch u, err := a.users.Get(ctx, req.UserID); {
	case err == nil:
		holder = u.Name
	case !errors.Is(err, user.ErrNoUser):
		return unavailable("user", err)
	}
	info, err := a.events.Info(ctx, req.EventID)
	if errors.Is(err, event.ErrNoEvent) {
		return httpapi.FieldError("eventId", "no such event")
	}
	if err != nil {
		return unavailable("event", err)
	}
	name := req.EventName
	if strings.TrimSpace(name) == "" {
		name = info.Name
	}
	if _, err := a.store.issue(ctx, issuance{req: req, holderName: holder, eventName: name, eventStart: info.Date,
		eventEnd: info.Date.Add(a.eventLasts)}, a.keys.current()); err != nil {
		return err
	}
	ts, _, err := a.store.booking(ctx, req.BookingID)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, ticket.Issued{Tickets: views(ts, func(row) bool { return false })})
	return nil
}

// bookingInternal is GET /internal/bookings/{id}/tickets (ticket.Client.Tickets): every ticket
// of the booking with its credential (no QR code: the emails draw their own), for the emails.
func (a *api) bookingInternal(w http.ResponseWriter, r *http.Request) error {
	id := chi.URLParam(r, "id")
	if !ids.IsUUID(id) {
		return httpapi.NotFound("booking")
	}
	ts, _, err := a.store.booking(r.Context(), id)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, ticket.Issued{Tickets: internalViews(ts)})
	return nil
}

// revoke is POST /internal/bookings/{id}/tickets/revoke (ticket.Client.Revoke).
func (a *api) revoke(w http.ResponseWriter, r *http.Request) error {
	var req ticket.RevokeRequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	if req.BookingID != chi.URLParam(r, "id") || !ids.IsUUID(req.BookingID) {
		return httpapi.FieldError("bookingId", "must be the booking id of the path")
	}
	if err := httpapi.Required("reason", req.Reason, 500); err != nil {
		return err
	}
	n, err := a.store.revoke(r.Context(), req.BookingID, req.Reason)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]int{"revoked": n})
	return nil
}

// oneInternal is GET /internal/tickets/{id} (ticket.Client.Get): the ticket with its credential.
func (a *api) oneInternal(w http.ResponseWriter, r *http.Request) error {
	t, err := a.find(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, view(t, true, false))
	return nil
}
