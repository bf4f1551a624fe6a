package server

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"ticketflow/internal/clock"
	"ticketflow/internal/lifecycle"
	"ticketflow/internal/process"
	"ticketflow/services/booking"
)

// orchestrator is the booking service's side of each booking's workflow: it builds the workflow's
// input from the booking record and goes through lifecycle.Door, the one way into the workflow.
// It never changes a booking's status itself.
type orchestrator struct {
	door   *lifecycle.Door
	store  *store
	events *eventCache
}

// input is the workflow input of a booking record, for a run in mode.
func input(b *booking.Booking, mode string) lifecycle.BookingInput {
	in := lifecycle.BookingInput{BookingID: b.ID, UserID: b.UserID, UserEmail: b.UserEmail, EventID: b.EventID,
		EventName: b.EventName, SeatIDs: b.SeatIDs, Quantities: b.Quantities, AmountMinor: b.AmountMinor, Currency: b.Currency,
		PaymentToken: b.PaymentToken, HoldExpiresAt: b.HoldExpiresAt.UTC(), Announced: b.Origin == originKafka,
		Hold: b.HoldDecision, MaxSeatsPerBuyer: b.MaxSeatsPerBuyer, Mode: mode}
	if b.IdempotencyKey != nil {
		in.IdempotencyKey = *b.IdempotencyKey
	}
	if b.EventStartsAt != nil {
		in.EventStartsAt = b.EventStartsAt.UTC()
	}
	if mode != lifecycle.ModeNew {
		in.Status = b.Status
		if b.PaymentID != nil {
			in.PaymentID = *b.PaymentID
		}
	}
	return in
}

// start starts a new booking's workflow; one that already runs or ran for it is left alone.
func (o *orchestrator) start(ctx context.Context, b *booking.Booking) error {
	if err := o.door.Start(ctx, input(b, lifecycle.ModeNew)); err != nil {
		return err
	}
	return o.store.markStarted(context.WithoutCancel(ctx), b.ID)
}

// startSoon starts the workflow in the background, retrying while Temporal is unreachable. The
// buyer already has the seat decision and the decision is stored with the booking, so a start that
// waits (or a process that dies first: see reconcile) delays the saga; it never changes it. The
// start belongs to the request's trace (ctx's values, not its deadline).
func (o *orchestrator) startSoon(ctx context.Context, b *booking.Booking) {
	base := context.WithoutCancel(ctx)
	go func() {
		backoff := 100 * time.Millisecond
		for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); {
			ctx, cancel := context.WithTimeout(base, 10*time.Second)
			err := o.start(ctx, b)
			cancel()
			if err == nil {
				return
			}
			slog.WarnContext(base, "start booking workflow; retrying", "booking", b.ID, "err", err)
			time.Sleep(backoff)
			backoff = min(2*backoff, 5*time.Second)
		}
	}()
}

// askHold hands a booking whose seat decision is unknown to its workflow (starting it if need be)
// and waits for the workflow's decision. ok is false when the workflow has closed already.
func (o *orchestrator) askHold(ctx context.Context, b *booking.Booking) (res lifecycle.HoldResult, ok bool, err error) {
	res, err = o.door.AskHold(ctx, input(b, lifecycle.ModeNew))
	if err == nil || errors.Is(err, lifecycle.ErrClosed) {
		// It exists (or existed). After any other error it may not: the reconciler looks again.
		_ = o.store.markStarted(context.WithoutCancel(ctx), b.ID)
	}
	switch {
	case err == nil:
		return res, true, nil
	case errors.Is(err, lifecycle.ErrClosed):
		return res, false, nil
	}
	return res, false, err
}

// cancel cancels a PENDING or CONFIRMED booking through its workflow and returns the status it
// ended with. A booking whose workflow has closed gets a run that takes it up (ModeConfirmed for a
// CONFIRMED booking before its event, which begins at starts, ModeRepair for one its run left
// PENDING), with the cancel as its first message; current re-reads the record.
func (o *orchestrator) cancel(ctx context.Context, b *booking.Booking, starts time.Time, current func(context.Context) (*booking.Booking, error)) (lifecycle.CancelResult, error) {
	res, err := o.updateCancel(ctx, b, lifecycle.ModeNew)
	if !errors.Is(err, lifecycle.ErrClosed) {
		return res, err
	}
	if b, err = current(ctx); err != nil {
		return res, err
	}
	mode := ""
	switch {
	case b.Status == lifecycle.StatusConfirmed && clock.Now().Before(starts):
		mode = lifecycle.ModeConfirmed
	case b.Status == lifecycle.StatusPending:
		mode = lifecycle.ModeRepair
	default:
		return lifecycle.CancelResult{Status: b.Status}, nil
	}
	b.EventStartsAt = &starts // the run that takes it up waits for the event's date as it is now
	res, err = o.updateCancel(ctx, b, mode)
	if errors.Is(err, lifecycle.ErrClosed) {
		if b, err = current(ctx); err == nil {
			return lifecycle.CancelResult{Status: b.Status}, nil
		}
	}
	return res, err
}

func (o *orchestrator) updateCancel(ctx context.Context, b *booking.Booking, mode string) (lifecycle.CancelResult, error) {
	res, err := o.door.Cancel(ctx, input(b, mode))
	switch {
	case errors.Is(err, lifecycle.ErrCannotCancel):
		return lifecycle.CancelResult{Status: b.Status}, nil
	case err == nil:
		_ = o.store.markStarted(context.WithoutCancel(ctx), b.ID)
	}
	return res, err
}

// --- reconciler ---------------------------------------------------------------------------------

// Reconciliation finds, whatever their number, every booking whose record is not matched by a live
// workflow, and repairs it:
//   - bookings whose workflow was never started (a process died between answering and starting
//     it): an indexed scan of exactly those rows (bookings_unstarted), older than startGrace so a
//     request still deciding is left to finish;
//   - bookings whose latest run closed without ending the booking (terminated or timed out in the
//     Temporal UI or CLI, failed): found in Temporal's visibility store by execution status, and
//     given a run in ModeRepair (PENDING or ended records) or ModeConfirmed (CONFIRMED records).
const (
	reconcileEvery = 15 * time.Second
	startGrace     = time.Minute
	reconcilePage  = 200
)

func (o *orchestrator) reconcile(ctx context.Context) {
	var closedSince time.Time // zero: the first pass looks at every closed run
	process.Every(ctx, reconcileEvery, process.AfterInterval, func(ctx context.Context) {
		if err := o.startUnstarted(ctx); err != nil && ctx.Err() == nil {
			slog.Warn("reconcile: unstarted bookings", "err", err)
		}
		pass := time.Now()
		if err := o.repairClosed(ctx, closedSince); err != nil {
			if ctx.Err() == nil {
				slog.Warn("reconcile: closed workflows", "err", err)
			}
			return
		}
		closedSince = pass.Add(-time.Minute) // overlap: visibility is eventually consistent
	})
}

// startUnstarted starts the workflow of every booking whose workflow is not known to exist.
func (o *orchestrator) startUnstarted(ctx context.Context) error {
	before := time.Now().Add(-startGrace)
	afterAt, afterID := time.Time{}, "00000000-0000-0000-0000-000000000000"
	for {
		page, err := o.store.unstarted(ctx, before, afterAt, afterID, reconcilePage)
		if err != nil {
			return err
		}
		for _, b := range page {
			if err := o.start(ctx, b); err != nil {
				slog.Warn("reconcile: start the workflow of a booking", "booking", b.ID, "err", err)
				continue
			}
			reconcileRepairs.WithLabelValues("unstarted").Inc()
			slog.Warn("reconcile: workflow started for a booking that had none", "booking", b.ID)
		}
		if len(page) < reconcilePage {
			return nil
		}
		afterAt, afterID = page[len(page)-1].CreatedAt, page[len(page)-1].ID
	}
}

// repairClosed gives a new run to every booking whose latest run closed abnormally since `since`.
func (o *orchestrator) repairClosed(ctx context.Context, since time.Time) error {
	return o.door.ClosedAbnormally(ctx, since, func(id string) {
		if err := o.repair(ctx, id); err != nil {
			slog.Warn("reconcile: repair a booking whose workflow closed", "booking", id, "err", err)
		}
	})
}

// repair starts a run for a booking whose latest run closed abnormally (and is still the latest).
func (o *orchestrator) repair(ctx context.Context, bookingID string) error {
	abnormal, closedAs, err := o.door.LatestClosedAbnormally(ctx, bookingID)
	if err != nil || !abnormal {
		return err // running, or completed: its booking has its decider or its end
	}
	b, err := o.store.get(ctx, bookingID)
	if err != nil {
		return err
	}
	mode := lifecycle.ModeRepair
	if b.Status == lifecycle.StatusConfirmed {
		ev, err := o.events.get(ctx, b.EventID) // the event's date now, not the booking's copy
		if err != nil {
			return err
		}
		if !clock.Now().Before(ev.Date) {
			return nil // the event has begun: nothing is left to keep
		}
		mode = lifecycle.ModeConfirmed
	}
	// Either mode follows a run that closed abnormally: started with ModeRepair's reuse policy.
	in := input(b, mode)
	if err := o.door.Repair(ctx, in); err != nil {
		return err
	}
	reconcileRepairs.WithLabelValues("closed").Inc()
	slog.Warn("reconcile: booking taken up by a new run after its workflow closed", "booking", bookingID,
		"status", b.Status, "mode", mode, "closedAs", closedAs)
	return nil
}
