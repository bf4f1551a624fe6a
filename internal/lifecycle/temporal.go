package lifecycle

import (
	"strconv"
	"time"

	"ticketflow/internal/bus"
	"ticketflow/internal/seatplan"
)

// Names clients rely on (the contract's Temporal section).
const (
	BookingWorkflowName = "BookingWorkflow"
	// CancelConfirmedWorkflowName was started by generations up to 3 to cancel a booking whose
	// workflow had completed; it is still registered so those runs finish and replay. Nothing
	// starts it any more: a booking's own workflow stays open until its event and cancels it.
	CancelConfirmedWorkflowName = "CancelConfirmedBookingWorkflow"

	// UpdateHold answers with the seat decision (HoldResult) once it is made. The booking service
	// decides it within the request and passes it in BookingInput.Hold; when its own hold had an
	// unknown outcome it asks the workflow with this update (Update-with-Start), and the workflow
	// holds.
	UpdateHold = "hold"
	// UpdateCancel cancels the booking; the caller gets the final status (CancelResult), or the
	// refusal ErrNotCancellable.
	UpdateCancel = "cancel"
	// QueryStatus returns the booking's live state (BookingState).
	QueryStatus = "status"
	// SignalPaymentResult carries a PaymentResult from the bridge.
	SignalPaymentResult = "payment-result"
)

// ErrNotCancellable is the "cancel" update's refusal (its application error type) for a booking
// that already ended.
const ErrNotCancellable = "BookingNotCancellable"

// Modes of a BookingWorkflow run (BookingInput.Mode).
const (
	// ModeNew runs the saga of a new booking from its seat decision.
	ModeNew = ""
	// ModeRepair is started by the booking service's reconciler for a booking whose earlier run
	// ended without ending the booking (terminated, timed out or failed): it ends the booking
	// consistently from what the stores say (BookingInput.Status is the record's status).
	ModeRepair = "repair"
	// ModeConfirmed keeps a CONFIRMED booking whose earlier run has closed: it serves the status
	// query and cancels until the event (a run started to cancel such a booking, or a repair).
	ModeConfirmed = "confirmed"
)

// BookingInput is everything BookingWorkflow needs; the booking service has already stored the
// booking (PENDING) with the price it computed from the seat data. Amounts are in minor units of
// Currency.
type BookingInput struct {
	BookingID      string    `json:"bookingId"`
	UserID         string    `json:"userId"`
	UserEmail      string    `json:"userEmail"`
	EventID        string    `json:"eventId"`
	EventName      string    `json:"eventName"`
	SeatIDs        []string  `json:"seatIds"`
	AmountMinor    int64     `json:"amountMinor"`
	Currency       string    `json:"currency"`
	PaymentToken   string    `json:"paymentToken"`
	IdempotencyKey string    `json:"idempotencyKey"`
	HoldExpiresAt  time.Time `json:"holdExpiresAt"`
	// Announced is true when the booking came from a booking.initiated message of another
	// producer: the fact is already on the topic, so the workflow does not publish it again.
	Announced bool `json:"announced,omitempty"`

	// Fields below were added with generation 4 ("one-decider"); earlier inputs lack them.

	// Hold is the seat decision the booking service made within the request: held, or refused
	// with nothing held. Nil when its outcome is unknown (the inventory did not answer in time):
	// the workflow then holds itself, idempotently, and answers the "hold" update.
	Hold *HoldResult `json:"hold,omitempty"`
	// EventStartsAt is when the event begins: a CONFIRMED booking's workflow stays open until
	// then, so that its status query and search attributes stay the booking's one truth.
	EventStartsAt time.Time `json:"eventStartsAt,omitempty"`
	// MaxSeatsPerBuyer is the event's limit, enforced by the hold (0: none).
	MaxSeatsPerBuyer int `json:"maxSeatsPerBuyer,omitempty"`
	// Mode is ModeNew, ModeRepair or ModeConfirmed; Status and PaymentID are the record's when
	// the run was started in one of the latter two.
	Mode      string `json:"mode,omitempty"`
	Status    string `json:"status,omitempty"`
	PaymentID string `json:"paymentId,omitempty"`

	// Quantities are the places the booking asks of general-admission areas (by key, in key
	// order: seatplan.CheckBooking), held, confirmed and released with its seats. Absent for a
	// booking of seats only, and in inputs made before general admission.
	Quantities []seatplan.Quantity `json:"quantities,omitempty"`
}

// Places counts the seats and places the booking asks for.
func (in BookingInput) Places() int { return len(in.SeatIDs) + seatplan.Places(in.Quantities) }

// Outcomes of the seat decision that are the decision's own (HoldResult.Code). A refusal by the
// seats' owner carries the inventory's code instead (inventory.CodeSeatsUnavailable,
// inventory.CodeBuyerLimit), and a booking announced on Kafka outside its event's sales window
// the event's sales state (event.SalesNotStarted, event.SalesClosed): each code has one constant,
// in the package of the service that answers it.
const (
	HoldOK           = "HELD"
	HoldSeatNotFound = "SEAT_NOT_FOUND"
	HoldNoSeatPlan   = "NO_SEAT_PLAN" // the event has no seats in inventory (answered 404 "event")
	HoldFailed       = "HOLD_FAILED"  // the hold could not be decided (inventory unreachable)
)

// HoldResult is the seat decision: the answer of the "hold" update, BookingInput.Hold, and the
// decision stored with the booking record.
type HoldResult struct {
	Held bool `json:"held"`
	// Code is HoldOK when Held, else the refusal's code (see HoldOK).
	Code               string    `json:"code"`
	HoldExpiresAt      time.Time `json:"holdExpiresAt"`
	UnavailableSeatIDs []string  `json:"unavailableSeatIds,omitempty"`
	UnknownSeatIDs     []string  `json:"unknownSeatIds,omitempty"`
	// UnavailableSections and UnknownSections name general-admission areas (by key) with fewer
	// places left than asked for, and areas the event does not have.
	UnavailableSections []string `json:"unavailableSections,omitempty"`
	UnknownSections     []string `json:"unknownSections,omitempty"`
	// Reason words a refusal for the booking record and booking.failed.
	Reason string `json:"reason,omitempty"`
}

// CancelResult is the answer of the "cancel" update and of CancelConfirmedBookingWorkflow.
type CancelResult struct {
	Status    string `json:"status"`
	Cancelled bool   `json:"cancelled"`
	Refunded  bool   `json:"refunded"`
}

// BookingState is what the "status" query returns, and the workflow's result: the booking's live
// state. AmountMinor is in minor units of Currency.
type BookingState struct {
	BookingID string   `json:"bookingId"`
	Status    string   `json:"status"`
	Step      string   `json:"step"`
	EventID   string   `json:"eventId"`
	SeatIDs   []string `json:"seatIds"`
	// Quantities are the places of general-admission areas (BookingInput.Quantities).
	Quantities    []seatplan.Quantity `json:"quantities,omitempty"`
	AmountMinor   int64               `json:"amountMinor"`
	Currency      string              `json:"currency"`
	HoldExpiresAt time.Time           `json:"holdExpiresAt"`
	PaymentID     string              `json:"paymentId,omitempty"`
	FailureReason string              `json:"failureReason,omitempty"`
	Refunded      bool                `json:"refunded"`
	// RetryingStep names a step that keeps failing and is being retried with backoff (also the
	// RetryingStep search attribute); empty otherwise.
	RetryingStep string `json:"retryingStep,omitempty"`
}

// CancelConfirmedInput is the input of CancelConfirmedBookingWorkflow.
type CancelConfirmedInput struct {
	BookingID string   `json:"bookingId"`
	UserID    string   `json:"userId"`
	EventID   string   `json:"eventId"`
	SeatIDs   []string `json:"seatIds"`
	Reason    string   `json:"reason"`
}

// PaymentResult is the "payment-result" signal's payload: a payment.processed as it arrived on
// Kafka, or as an operator typed it. The workflow acts on the payment service's record of the
// booking's payment, never on a claim: the bridge, which checks every payment.processed against
// the record, sends the record it checked — its status in RecordStatus — sealed (Seal,
// auth.PaymentSeal), and the workflow acts on a sealed record at once; anything else, it reads the
// record itself. (Results signalled before the seal carry neither field.)
type PaymentResult struct {
	bus.PaymentProcessed
	// RecordStatus is the payment of record's status (PENDING, SUCCEEDED, FAILED, REFUNDED).
	RecordStatus string `json:"recordStatus,omitempty"`
	Seal         string `json:"seal,omitempty"`
}

// SealFields are the fields of r a seal covers, in order.
func (r PaymentResult) SealFields() []string {
	return []string{r.BookingID, r.PaymentID, r.RecordStatus, strconv.FormatInt(r.AmountMinor, 10), r.Currency,
		r.ProviderRef, r.FailureReason}
}
