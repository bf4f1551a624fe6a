package payment

import (
	"net/http"
	"strings"
	"unicode"

	"github.com/go-chi/chi/v5"

	"ticketflow/auth"
	"ticketflow/httpapi"
	"ticketflow/ids"
)

const maxReasonLen = 200

type api struct {
	svc *service
}

func (a *api) routes(r chi.Router, secret []byte, internalToken string) {
	r.Group(func(r chi.Router) {
		r.Use(httpapi.Authenticate(secret))
		r.Get("/api/payments/{id}", httpapi.Handle(a.getPayment))
		r.Get("/api/payments/booking/{bookingId}", httpapi.Handle(a.getBookingPayment))
	})
	r.Group(func(r chi.Router) {
		r.Use(httpapi.InternalOnly(internalToken))
		r.Post("/internal/payments/refund", httpapi.Handle(a.refund))
		r.Get("/internal/payments/booking/{bookingId}", httpapi.Handle(a.internalBookingPayment))
	})
}

// uuidParam is a path id; anything but a UUID cannot name a payment or booking, so it is a 404
// like any unknown one.
func uuidParam(r *http.Request, name string) (string, error) {
	v := chi.URLParam(r, name)
	if !ids.IsUUID(v) {
		return "", httpapi.NotFound("payment")
	}
	return v, nil
}

// visible reports whether who may see p: its owner or an admin. Anyone else gets the same 404 as
// for a payment that does not exist, so payment ids cannot be probed.
func visible(p *Payment, who auth.Identity) bool {
	return who.Admin() || (p.UserID != "" && p.UserID == who.UserID)
}

func (a *api) getPayment(w http.ResponseWriter, r *http.Request) error {
	id, err := uuidParam(r, "id")
	if err != nil {
		return err
	}
	return a.answerOwned(w, r, func() (*Payment, error) { return a.svc.store.payment(r.Context(), id) })
}

func (a *api) getBookingPayment(w http.ResponseWriter, r *http.Request) error {
	bookingID, err := uuidParam(r, "bookingId")
	if err != nil {
		return err
	}
	return a.answerOwned(w, r, func() (*Payment, error) { return a.svc.store.paymentOfBooking(r.Context(), bookingID) })
}

func (a *api) answerOwned(w http.ResponseWriter, r *http.Request, load func() (*Payment, error)) error {
	who, ok := httpapi.Identity(r.Context())
	if !ok {
		return httpapi.Unauthorized("a Bearer token is required")
	}
	p, err := load()
	if notFound(err) {
		return httpapi.NotFound("payment")
	}
	if err != nil {
		return err
	}
	if !visible(p, who) {
		return httpapi.NotFound("payment")
	}
	httpapi.WriteJSON(w, http.StatusOK, p.view())
	return nil
}

func (a *api) internalBookingPayment(w http.ResponseWriter, r *http.Request) error {
	bookingID, err := uuidParam(r, "bookingId")
	if err != nil {
		return err
	}
	p, err := a.svc.store.paymentOfBooking(r.Context(), bookingID)
	if notFound(err) {
		return httpapi.NotFound("payment")
	}
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, p.view())
	return nil
}

type refundRequest struct {
	BookingID string `json:"bookingId"`
	Reason    string `json:"reason"`
}

func (q *refundRequest) check() error {
	if !ids.IsUUID(q.BookingID) {
		return httpapi.FieldError("bookingId", "must be a booking id")
	}
	q.Reason = cleanReason(q.Reason)
	return nil
}

// cleanReason makes a refund reason fit to store and publish: one line, at most maxReasonLen
// characters, never empty. It tidies rather than refuses: the saga builds reasons from error
// texts, and a refund must not fail over the wording of its reason.
func cleanReason(s string) string {
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }), " ")
	if r := []rune(s); len(r) > maxReasonLen {
		s = string(r[:maxReasonLen-1]) + "…"
	}
	if s == "" {
		return "requested"
	}
	return s
}

// refund is POST /internal/payments/refund {bookingId, reason}: see refundBooking.
func (a *api) refund(w http.ResponseWriter, r *http.Request) error {
	var req refundRequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	if err := req.check(); err != nil {
		return err
	}
	out, err := a.svc.refundBooking(r.Context(), req.BookingID, req.Reason)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, out)
	return nil
}
