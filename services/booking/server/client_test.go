package server

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"ticketflow/internal/httpapi"
	"ticketflow/internal/lifecycle"
	"ticketflow/services/booking"
)

// The internal API and its Client share their bodies: what the handlers write, Client reads back.
func TestClientReadsWhatTheInternalAPIAnswers(t *testing.T) {
	reason, payment := "payment declined", "p-1"
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	stored := &booking.Booking{ID: "b-1", UserID: "u-1", UserEmail: "not shown", EventID: "e-1", EventName: "Gig",
		SeatIDs: []string{"A-1"}, AmountMinor: 1250, Currency: "EUR", Status: lifecycle.StatusFailed,
		FailureReason: &reason, HoldExpiresAt: at, PaymentID: &payment, CreatedAt: at, UpdatedAt: at}
	var got booking.StatusChange
	r := chi.NewRouter()
	r.Get("/internal/bookings/{id}", func(w http.ResponseWriter, r *http.Request) {
		httpapi.WriteJSON(w, http.StatusOK, stored)
	})
	r.Post("/internal/bookings/{id}/status", httpapi.Handle(func(w http.ResponseWriter, r *http.Request) error {
		if err := httpapi.Decode(r, &got); err != nil {
			return err
		}
		got.BookingID = chi.URLParam(r, "id")
		return booking.TransitionRefusal(ErrBadTransition, booking.RecordedStatus{Status: stored.Status, FailureReason: reason})
	}))
	srv := httptest.NewServer(r)
	defer srv.Close()
	c := booking.NewClient([]string{srv.URL}, "", time.Second)

	b, err := c.Get(t.Context(), "b-1")
	if err != nil {
		t.Fatal(err)
	}
	want := *stored
	want.UserEmail = "" // not in the contract's shape
	if !reflect.DeepEqual(*b, want) {
		t.Fatalf("Get: %+v, want %+v", *b, want)
	}

	change := booking.StatusChange{BookingID: "b-1", Status: lifecycle.StatusCancelled, Reason: "cancelled by the buyer", At: at}
	err = c.RecordStatus(t.Context(), change)
	var te *booking.TransitionError
	if !errors.As(err, &te) || te.Recorded != (booking.RecordedStatus{Status: lifecycle.StatusFailed, FailureReason: reason}) {
		t.Fatalf("RecordStatus: %v, want a *TransitionError naming FAILED", err)
	}
	if got != change {
		t.Fatalf("the handler decoded %+v, want %+v", got, change)
	}
}
