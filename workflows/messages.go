package workflows

import (
	"fmt"
	"time"

	"ticketflow/internal/bus"
	"ticketflow/internal/lifecycle"
)

// The facts a booking's workflow publishes, each with its deterministic eventId
// (<bookingId>:<eventType>) and a time taken from workflow time, so a retried emit re-sends the
// same bytes.

func message(in lifecycle.BookingInput, topic string, at time.Time, payload any) bus.Message {
	m, err := bus.NewMessage(topic, in.BookingID, bus.FactID(in.BookingID, topic), at, payload)
	if err != nil {
		panic(fmt.Sprintf("encode %s: %v", topic, err)) // payloads are plain structs; cannot fail
	}
	return m
}

// announcement is booking.initiated, unless another producer already announced the booking.
func announcement(in lifecycle.BookingInput, at time.Time) []bus.Message {
	if in.Announced {
		return nil
	}
	return []bus.Message{message(in, bus.TopicBookingInitiated, at, bus.BookingInitiated{BookingID: in.BookingID,
		UserID: in.UserID, UserEmail: in.UserEmail, EventID: in.EventID, EventName: in.EventName, SeatIDs: in.SeatIDs,
		Quantities: in.Quantities, AmountMinor: in.AmountMinor, Currency: in.Currency, IdempotencyKey: in.IdempotencyKey})}
}

func seatsLockedMessage(in lifecycle.BookingInput, at time.Time) bus.Message {
	return message(in, bus.TopicSeatsLocked, at, bus.SeatsLocked{BookingID: in.BookingID, EventID: in.EventID,
		SeatIDs: in.SeatIDs, Quantities: in.Quantities, LockExpiresAt: in.HoldExpiresAt.UTC()})
}

func paymentRequestedMessage(in lifecycle.BookingInput, at time.Time) bus.Message {
	return message(in, bus.TopicPaymentRequested, at, bus.PaymentRequested{BookingID: in.BookingID, UserID: in.UserID,
		AmountMinor: in.AmountMinor, Currency: in.Currency, PaymentMethodToken: in.PaymentToken,
		IdempotencyKey: lifecycle.PaymentIdempotencyKey(in.BookingID)})
}

func confirmedMessage(in lifecycle.BookingInput, paymentID string, at time.Time) bus.Message {
	return message(in, bus.TopicBookingConfirmed, at, bus.BookingConfirmed{BookingID: in.BookingID, UserID: in.UserID,
		UserEmail: in.UserEmail, EventID: in.EventID, EventName: in.EventName, SeatIDs: in.SeatIDs,
		Quantities: in.Quantities, AmountMinor: in.AmountMinor, Currency: in.Currency, PaymentID: paymentID})
}

func releasedMessage(in lifecycle.BookingInput, reason string, at time.Time) bus.Message {
	return message(in, bus.TopicSeatsReleased, at, bus.SeatsReleased{BookingID: in.BookingID, EventID: in.EventID,
		SeatIDs: in.SeatIDs, Quantities: in.Quantities, Reason: reason})
}

func endedMessage(in lifecycle.BookingInput, status, reason string, at time.Time) bus.Message {
	topic := map[string]string{lifecycle.StatusFailed: bus.TopicBookingFailed, lifecycle.StatusExpired: bus.TopicBookingExpired,
		lifecycle.StatusCancelled: bus.TopicBookingCancelled}[status]
	return message(in, topic, at, bus.BookingEnded{BookingID: in.BookingID, UserID: in.UserID, EventID: in.EventID,
		SeatIDs: in.SeatIDs, Quantities: in.Quantities, Status: status, Reason: reason})
}
