// Package lifecycle is a booking's lifecycle as every process sees it: the statuses a booking
// goes through and the changes the booking record allows, the rule for a captured payment the
// booking does not keep, the ids derived from a booking id, and everything that crosses the
// Temporal boundary — the workflow, update, query and signal names, the search attributes, and
// the inputs and answers of the booking's workflow with their JSON shapes.
//
// A booking is stored PENDING by the booking service; from then on only its workflow decides it:
// CONFIRMED, FAILED, EXPIRED or CANCELLED, and a CONFIRMED booking may still be CANCELLED.
//
// Callers: services/booking (stores bookings, checks each status change with Allowed, starts each
// booking's workflow and asks it), workflows (the workflow, which decides), bridge (signals
// payment results, refunds a payment arriving after the workflow closed with OwesRefund), worker
// (registers the workflows by name), cmd/ticketflow and tools/devstack (register the search
// attributes), and tools and e2e tests. It does no I/O. The names and the JSON shapes here are
// in the committed histories (workflows/testdata) and in stored booking records: they must not
// change.
package lifecycle

import "strings"

// Booking statuses (the contract's lifecycle).
const (
	StatusPending   = "PENDING"
	StatusConfirmed = "CONFIRMED"
	StatusFailed    = "FAILED"
	StatusExpired   = "EXPIRED"
	StatusCancelled = "CANCELLED"
)

// Terminal reports whether a status is final (CONFIRMED may still become CANCELLED by cancel).
func Terminal(status string) bool { return status != StatusPending && status != "" }

// Allowed reports whether the booking record may move from one status to another: PENDING to
// any terminal status, CONFIRMED to CANCELLED; nothing else changes a terminal status.
func Allowed(from, to string) bool {
	switch from {
	case StatusPending:
		return Terminal(to)
	case StatusConfirmed:
		return to == StatusCancelled
	}
	return false
}

// bookingKeeps reports whether a booking keeps a captured payment: only a CONFIRMED booking keeps
// the payment it was confirmed with.
func bookingKeeps(bookingStatus, confirmedPaymentID, paymentID string) bool {
	return bookingStatus == StatusConfirmed && confirmedPaymentID != "" && confirmedPaymentID == paymentID
}

// OwesRefund is the rule for a captured payment (one whose money is kept by the payment service)
// that has arrived for a booking: it is given back when the booking has ended and does not keep
// it (a PENDING booking is left to the run that decides it). The booking's workflow applies it
// while it is open, the bridge once it has closed; nothing else decides it.
func OwesRefund(bookingStatus, confirmedPaymentID, paymentID string) bool {
	return Terminal(bookingStatus) && !bookingKeeps(bookingStatus, confirmedPaymentID, paymentID)
}

// WorkflowID is the id of a booking's workflow: booking-<bookingId>.
func WorkflowID(bookingID string) string { return "booking-" + bookingID }

// CancelWorkflowID is the id of the workflow generations up to 3 started to cancel a booking
// already CONFIRMED (see CancelConfirmedWorkflowName).
func CancelWorkflowID(bookingID string) string { return "booking-" + bookingID + "-cancel" }

// BookingIDOf is the booking id a workflow id names (WorkflowID or CancelWorkflowID); ok is false
// for a workflow of no booking.
func BookingIDOf(workflowID string) (id string, ok bool) {
	id, ok = strings.CutPrefix(workflowID, "booking-")
	id = strings.TrimSuffix(id, "-cancel")
	return id, ok && id != ""
}

// PaymentIdempotencyKey is the key the payment service charges a booking under
// (booking-<bookingId>-payment, in payment.requested): one charge per booking, however often the
// message is delivered.
func PaymentIdempotencyKey(bookingID string) string { return "booking-" + bookingID + "-payment" }
