package server

import (
	"errors"
	"log/slog"
	"net/http"

	"ticketflow/internal/admission"
	"ticketflow/internal/clock"
	"ticketflow/internal/httpapi"
	"ticketflow/services/booking"
	"ticketflow/services/event"
)

// admitted checks the waiting room of a booking request: for an event whose room is on, the
// request must carry an Admission-Token the gateway gave this account for this event, still
// valid (403 ADMISSION_REQUIRED without one, 403 ADMISSION_INVALID for any other). An event
// without a room, or one that does not exist (the decision answers 404), passes. It runs before
// the Idempotency-Key is claimed, as authentication does: a refusal binds no key, so the buyer
// retries the same request once admitted.
func (a *api) admitted(r *http.Request, userID, eventID string) error {
	ev, err := a.events.get(r.Context(), eventID)
	if errors.Is(err, event.ErrNoEvent) {
		return nil
	}
	if err != nil {
		return upstream(r.Context(), "event", err)
	}
	if !ev.WaitingRoom.Enabled {
		return nil
	}
	tok := r.Header.Get(admission.Header)
	if tok == "" {
		return httpapi.NewError(http.StatusForbidden, booking.CodeAdmissionRequired,
			"this event has a waiting room: join its line (POST /api/events/"+eventID+"/queue) and book with the Admission-Token it gives you")
	}
	if _, err := admission.Verify(a.admissionKey, tok, userID, eventID, clock.Now()); err != nil {
		slog.InfoContext(r.Context(), "admission refused", "event", eventID, "reason", err)
		return httpapi.NewError(http.StatusForbidden, booking.CodeAdmissionInvalid,
			"the Admission-Token is not valid for this booking ("+err.Error()+"): join the event's line again")
	}
	return nil
}
