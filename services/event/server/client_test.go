package server

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"ticketflow/internal/httpapi"
	"ticketflow/services/event"
)

// Client reads what the internal route writes (Event.Info), and a 404 is ErrNoEvent.
func TestClientReadsTheInternalEvent(t *testing.T) {
	date := time.Date(2027, 3, 12, 19, 0, 0, 0, time.UTC)
	e := &Event{ID: "e-1", Name: "Gig", Currency: "EUR", Date: date, SeatCount: 12, SeatsLoaded: true,
		CreatedAt: date.Add(-48 * time.Hour)}
	r := chi.NewRouter()
	r.Get("/internal/events/{id}", httpapi.Handle(func(w http.ResponseWriter, r *http.Request) error {
		if chi.URLParam(r, "id") != e.ID {
			return httpapi.NotFound("event")
		}
		httpapi.WriteJSON(w, http.StatusOK, e.Info())
		return nil
	}))
	srv := httptest.NewServer(r)
	defer srv.Close()
	c := event.NewClient([]string{srv.URL}, "", time.Second)

	got, err := c.Info(t.Context(), e.ID)
	if err != nil || got != e.Info() {
		t.Fatalf("Info: %+v %v, want %+v", got, err, e.Info())
	}
	if got.MaxSeatsPerBuyer != event.DefaultMaxSeatsPerBuyer || !got.SalesEndAt.Equal(date) || got.SalesStatus(date) != event.SalesClosed {
		t.Fatalf("defaults not applied: %+v", got)
	}
	if _, err := c.Info(t.Context(), "e-2"); !errors.Is(err, event.ErrNoEvent) {
		t.Fatalf("missing event: %v, want ErrNoEvent", err)
	}
}
