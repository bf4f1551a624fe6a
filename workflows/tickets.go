package workflows

import (
	"go.temporal.io/sdk/workflow"

	"ticketflow/services/ticket"
)

// The booking's tickets (generation 8 on, genTickets): issued by the ticket service once the
// booking is CONFIRMED and before booking.confirmed goes out, so the confirmation email carries
// them; revoked first when a confirmed booking is cancelled. Issuing never un-confirms a booking:
// the step is retried until the ticket service answers (idempotent per booking), and a refusal
// is logged and the booking stays CONFIRMED.

// issueTickets issues the booking's tickets, one per seat and one per place of its
// general-admission areas.
func (b *booking) issueTickets(ctx workflow.Context) {
	if b.gen < genTickets {
		return
	}
	b.state.Step = "issuing tickets"
	req := ticket.IssueRequest{BookingID: b.in.BookingID, UserID: b.in.UserID, UserEmail: b.in.UserEmail,
		EventID: b.in.EventID, EventName: b.in.EventName, SeatIDs: b.in.SeatIDs, Quantities: b.in.Quantities}
	if err := b.step(ctx, "issue tickets", a.IssueTickets, req, nil); err != nil {
		workflow.GetLogger(ctx).Error("tickets refused; the booking stays CONFIRMED", "bookingId", b.in.BookingID, "err", err)
	}
}

// revokeTickets revokes the booking's tickets (a booking with none yet is marked, so that none
// are issued later).
func (b *booking) revokeTickets(ctx workflow.Context, reason string) {
	if b.gen < genTickets {
		return
	}
	if err := b.step(ctx, "revoke tickets", a.RevokeTickets, ticket.RevokeRequest{BookingID: b.in.BookingID, Reason: reason}, nil); err != nil {
		workflow.GetLogger(ctx).Error("ticket revocation refused", "bookingId", b.in.BookingID, "err", err)
	}
}
