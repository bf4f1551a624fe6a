package inventory

import (
	"errors"
	"strings"
	"time"

	"ticketflow/internal/lifecycle"
)

// Decision is the seat decision a hold's answer makes: the one translation of the inventory's
// answer into a booking's lifecycle.HoldResult, used by the booking service within the request
// and by the workflow's DecideHold activity alike, so that both answer the same code for the same
// cause.
//
//   - nil: held until `until` (HoldOK);
//   - *SeatsError wrapping ErrUnavailable: CodeSeatsUnavailable with the seats taken and the
//     general-admission areas with fewer places left than asked for;
//   - *SeatsError wrapping ErrUnknownSeat: lifecycle.HoldSeatNotFound with the unknown seats and
//     areas;
//   - ErrNoSeatPlan (the event has no seats in inventory): lifecycle.HoldNoSeatPlan;
//   - ErrBuyerLimit (*BuyerLimitError): CodeBuyerLimit;
//   - ErrBookingReleased (the booking was released before this hold arrived) and anything that is
//     not a refusal (the inventory could not be reached, timed out or failed): lifecycle.HoldFailed
//     — nothing is known to be held, and whatever a late hold took must be released.
func Decision(err error, until time.Time) lifecycle.HoldResult {
	var se *SeatsError
	switch {
	case err == nil:
		return lifecycle.HoldResult{Held: true, Code: lifecycle.HoldOK, HoldExpiresAt: until}
	case errors.As(err, &se) && errors.Is(err, ErrUnavailable):
		reason := "seats unavailable"
		if len(se.Sections) > 0 {
			reason = "seats unavailable: too few places left in " + strings.Join(se.Sections, ", ")
		}
		return lifecycle.HoldResult{Code: CodeSeatsUnavailable, UnavailableSeatIDs: se.SeatIDs,
			UnavailableSections: se.Sections, Reason: reason}
	case errors.As(err, &se) && errors.Is(err, ErrUnknownSeat):
		return lifecycle.HoldResult{Code: lifecycle.HoldSeatNotFound, UnknownSeatIDs: se.SeatIDs,
			UnknownSections: se.Sections, Reason: "unknown seats"}
	case errors.Is(err, ErrNoSeatPlan):
		return lifecycle.HoldResult{Code: lifecycle.HoldNoSeatPlan, Reason: "the event has no seats"}
	case errors.Is(err, ErrBuyerLimit):
		return lifecycle.HoldResult{Code: CodeBuyerLimit, Reason: err.Error()}
	}
	return lifecycle.HoldResult{Code: lifecycle.HoldFailed, Reason: err.Error()}
}
