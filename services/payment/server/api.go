package server

import (
	"net/http"
	"strings"
	"unicode"

	"github.com/go-chi/chi/v5"

	"ticketflow/internal/auth"
	"ticketflow/internal/bus"
	"ticketflow/internal/httpapi"
	"ticketflow/internal/ids"
	"ticketflow/internal/money"
	"ticketflow/services/payment"
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
		r.Post("/internal/payments/verify", httpapi.Handle(a.verify))
		if _, ok := a.svc.provider.(*MockProvider); ok {
			r.Post("/internal/payments/mock-captures", httpapi.Handle(a.mockCapture))
		}
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

// checkRefund refuses a refund request without a booking id, and tidies its reason.
func checkRefund(q *payment.RefundRequest) error {
	if !ids.IsUUID(q.BookingID) {
		return httpapi.FieldError("bookingId", "must be a booking id")
	}
	if len(q.PaymentID) > 64 {
		return httpapi.FieldError("paymentId", "must be a payment id")
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

// refund is POST /internal/payments/refund {bookingId, paymentId?, reason}: see refundBooking.
func (a *api) refund(w http.ResponseWriter, r *http.Request) error {
	var req payment.RefundRequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	if err := checkRefund(&req); err != nil {
		return err
	}
	out, err := a.svc.refund(r.Context(), req)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, out)
	return nil
}

// verify is POST /internal/payments/verify with a payment.processed payload: see verifyClaim.
func (a *api) verify(w http.ResponseWriter, r *http.Request) error {
	var claim bus.PaymentProcessed
	if err := httpapi.Decode(r, &claim); err != nil {
		return err
	}
	if err := bus.CheckPayload(bus.TopicPaymentProcessed, &claim); err != nil {
		return httpapi.Validation("%s", strings.TrimPrefix(err.Error(), bus.ErrMalformed.Error()+": "))
	}
	v, err := a.svc.verifyClaim(r.Context(), &claim)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, v)
	return nil
}

// mockCapture is POST /internal/payments/mock-captures (Client.MockCapture), served only with
// the mock provider: it makes the provider capture money outside any payment of record — as a
// charge made from a provider's dashboard, or by another integration, would — so that tests and
// the chaos run can send a payment.processed for a capture nobody expected. Answers the charge (200).
func (a *api) mockCapture(w http.ResponseWriter, r *http.Request) error {
	var req payment.MockCapture
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	if err := httpapi.Required("key", req.Key, 200); err != nil {
		return err
	}
	if req.AmountMinor <= 0 || !money.Known(req.Currency) {
		return httpapi.FieldError("amountMinor", "must be positive, with an ISO 4217 currency")
	}
	res, err := a.svc.provider.Charge(r.Context(), ChargeRequest{IdempotencyKey: "mock-capture:" + req.Key, Token: TokenVisa,
		AmountMinor: req.AmountMinor, Currency: req.Currency})
	if err != nil {
		return err
	}
	// 200, not 201: the capture is the provider's, not a resource of this API a Location could name.
	httpapi.WriteJSON(w, http.StatusOK, payment.MockCaptured{ProviderRef: res.ProviderRef, Approved: res.Approved,
		AmountMinor: req.AmountMinor, Currency: req.Currency})
	return nil
}
