package server

import (
	"context"
	"errors"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"ticketflow/internal/ids"
	"ticketflow/internal/mongodb"
	"ticketflow/services/payment"
)

// store is the payment service's MongoDB access.
//
// FerretDB has no transactions and applies a conditional update as read-modify-write, so two
// racing updates of one payment can both "win". What must happen once therefore rests on unique
// keys, which hold across any number of replicas on FerretDB and MongoDB alike: a payment per
// idempotency key and per booking, one settlement per payment (the first outcome — the provider's
// answer or a void — to be inserted wins), one refund per booking (or per stray capture). No
// process lock is needed: two replicas racing a charge and a refund of one booking settle it once.
type store struct {
	payments, refunds, settlements *mongo.Collection
}

func newStore(db *mongo.Database) *store {
	return &store{payments: db.Collection("payments"), refunds: db.Collection("refunds"),
		settlements: db.Collection("settlements")}
}

// settlement is the one outcome of a payment: _id is the payment's, so the first to be inserted
// decides it.
type settlement struct {
	PaymentID     string    `bson:"_id"`
	Status        string    `bson:"status"` // SUCCEEDED or FAILED
	FailureReason string    `bson:"failureReason"`
	ProviderRef   string    `bson:"providerRef"`
	SettledAt     time.Time `bson:"settledAt"`
}

// settle decides a pending payment's outcome, once: it returns the outcome that won (o, or the
// one another process inserted first) and brings the payment document to it.
func (s *store) settle(ctx context.Context, o settlement) (winner settlement, won bool, err error) {
	if _, err := s.settlements.InsertOne(ctx, o); err == nil {
		winner, won = o, true
	} else if !mongodb.IsDuplicateKey(err) {
		return settlement{}, false, err
	} else if err := s.settlements.FindOne(ctx, bson.M{"_id": o.PaymentID}).Decode(&winner); err != nil {
		return settlement{}, false, err
	}
	return winner, won, s.apply(ctx, winner)
}

// apply writes a settlement into its payment (the same values whoever writes them) while the
// payment is still PENDING. A payment already settled is left alone: by then a refund may have
// moved it on to REFUNDED, and a late apply of a process that stalled between its settle and its
// apply would put it back to SUCCEEDED (seen with two replicas racing a charge and a refund).
func (s *store) apply(ctx context.Context, o settlement) error {
	// The payment as stored (not through findPayment, which settles a PENDING payment by apply).
	var cur struct {
		Status string `bson:"status"`
	}
	if err := s.payments.FindOne(ctx, bson.M{"_id": o.PaymentID}).Decode(&cur); err != nil {
		return err
	}
	if cur.Status != payment.StatusPending {
		return nil
	}
	_, err := s.payments.UpdateOne(ctx, bson.M{"_id": o.PaymentID}, bson.M{"$set": bson.M{"status": o.Status,
		"failureReason": o.FailureReason, "providerRef": o.ProviderRef, "settledAt": o.SettledAt, "updatedAt": o.SettledAt}})
	return err
}

// settled returns p as settled when a settlement was inserted for it but the process that won
// stopped before writing it into the payment; p as it is otherwise.
func (s *store) settled(ctx context.Context, p *Payment) (*Payment, error) {
	if p.Status == payment.StatusSucceeded || (p.Status == payment.StatusFailed && p.voided()) {
		return s.refundedIfGivenBack(ctx, p)
	}
	if p.Status != payment.StatusPending {
		return p, nil
	}
	var o settlement
	err := s.settlements.FindOne(ctx, bson.M{"_id": p.ID}).Decode(&o)
	if notFound(err) {
		return p, nil
	}
	if err != nil {
		return nil, err
	}
	if err := s.apply(ctx, o); err != nil {
		return nil, err
	}
	cp := *p
	cp.Status, cp.FailureReason, cp.ProviderRef, cp.SettledAt, cp.UpdatedAt = o.Status, o.FailureReason, o.ProviderRef,
		o.SettledAt, o.SettledAt
	if cp.Status == payment.StatusSucceeded {
		return s.refundedIfGivenBack(ctx, &cp)
	}
	return &cp, nil
}

// refundedIfGivenBack returns a payment whose capture was refunded as REFUNDED, with the capture's
// reference (ProviderRef) and the refund's (RefundRef), and brings the stored payment to it. The
// booking's refund document is the truth, when it names this payment and the provider's refund
// reference:
//   - a SUCCEEDED payment whose capture (its ProviderRef) was refunded. The status field can be
//     put back to SUCCEEDED by a replica that applied its settlement late — FerretDB makes a
//     read-then-write of a status racy across processes — so a refunded payment never reads
//     SUCCEEDED;
//   - a voided payment whose capture the provider answered after the void (the refund's
//     ChargeRef): the record tells the whole story of its money — voided, captured late, refunded —
//     as payment.refunded announced it, never FAILED with no reference.
func (s *store) refundedIfGivenBack(ctx context.Context, p *Payment) (*Payment, error) {
	var r Refund
	err := s.refunds.FindOne(ctx, bson.M{"_id": p.BookingID}).Decode(&r)
	if notFound(err) {
		return p, nil
	}
	if err != nil {
		return nil, err
	}
	if r.PaymentID != p.ID || r.ChargeRef == "" || r.ProviderRef == "" || (!p.voided() && r.ChargeRef != p.ProviderRef) {
		return p, nil
	}
	set := bson.M{"status": payment.StatusRefunded, "providerRef": r.ChargeRef, "refundRef": r.ProviderRef}
	if _, err := s.payments.UpdateOne(ctx, bson.M{"_id": p.ID}, bson.M{"$set": set}); err != nil {
		return nil, err
	}
	cp := *p
	cp.Status, cp.ProviderRef, cp.RefundRef = payment.StatusRefunded, r.ChargeRef, r.ProviderRef
	return &cp, nil
}

// errStale means a conditional update found the payment no longer in the expected state.
var errStale = errors.New("payment changed concurrently")

// EnsureIndexes creates the indexes, one call each: FerretDB v1.24 drops the connection (a panic
// on its side) when one createIndexes call names several indexes that all exist already, that is
// on every restart.
func (s *store) EnsureIndexes(ctx context.Context) error {
	return mongodb.EnsureIndexes(ctx, s.payments,
		// A redelivered payment.requested finds its payment instead of charging again.
		mongo.IndexModel{Keys: bson.D{{Key: "idempotencyKey", Value: 1}}, Options: options.Index().SetUnique(true).SetName("idempotencyKey_unique")},
		// One payment per booking, whatever key a producer sends: the contract's booking has one
		// payment, refunds and lookups address it by booking, and a void that comes before the
		// request must block any later charge of that booking.
		mongo.IndexModel{Keys: bson.D{{Key: "bookingId", Value: 1}}, Options: options.Index().SetUnique(true).SetName("bookingId_unique")})
}

func (s *store) insertPayment(ctx context.Context, p *Payment) error {
	_, err := s.payments.InsertOne(ctx, p)
	return err
}

// findPayment reads a payment; a PENDING one whose settlement was inserted comes back settled.
func (s *store) findPayment(ctx context.Context, filter bson.M) (*Payment, error) {
	var p Payment
	if err := s.payments.FindOne(ctx, filter).Decode(&p); err != nil {
		return nil, err
	}
	return s.settled(ctx, &p)
}

func (s *store) payment(ctx context.Context, id string) (*Payment, error) {
	return s.findPayment(ctx, bson.M{"_id": id})
}

// paymentID is the id of a booking's payment (one per booking): found by primary key.
func paymentID(bookingID string) string { return ids.Derived("payment", bookingID) }

func (s *store) paymentOfBooking(ctx context.Context, bookingID string) (*Payment, error) {
	p, err := s.findPayment(ctx, bson.M{"_id": paymentID(bookingID)})
	if notFound(err) {
		// Payments stored before ids were derived from the booking: a scan, on misses only.
		return s.findPayment(ctx, bson.M{"bookingId": bookingID})
	}
	return p, err
}

func (s *store) paymentWithKey(ctx context.Context, key string) (*Payment, error) {
	return s.findPayment(ctx, bson.M{"idempotencyKey": key})
}

// transition sets fields of payment id if its status is still from; errStale otherwise. It is
// used only where a unique insert already decided the change (a refund), so a race can only write
// the same values twice.
//
// The status is read first and the update addresses the payment by _id alone: FerretDB's SQLite
// backend answers a filter other than {_id} by decoding every document of the collection, which
// made each update cost a scan of all payments.
func (s *store) transition(ctx context.Context, id, from string, set bson.M) error {
	cur, err := s.payment(ctx, id)
	if err != nil {
		return err
	}
	if cur.Status != from {
		return errStale
	}
	_, err = s.payments.UpdateOne(ctx, bson.M{"_id": id}, bson.M{"$set": set})
	return err
}

// fillPlaceholder gives a placeholder payment (made by an early void) the owner and amount of
// the request that finally arrived for its booking.
func (s *store) fillPlaceholder(ctx context.Context, id, userID string, amountMinor int64, currency string) error {
	cur, err := s.payment(ctx, id)
	if err != nil {
		return err
	}
	if !cur.Placeholder {
		return errStale
	}
	_, err = s.payments.UpdateOne(ctx, bson.M{"_id": id},
		bson.M{"$set": bson.M{"userId": userID, "amountMinor": amountMinor, "currency": currency},
			"$unset": bson.M{"placeholder": ""}})
	return err
}

func (s *store) insertRefund(ctx context.Context, r *Refund) error {
	_, err := s.refunds.InsertOne(ctx, r)
	return err
}

func (s *store) refund(ctx context.Context, bookingID string) (*Refund, error) {
	var r Refund
	if err := s.refunds.FindOne(ctx, bson.M{"_id": bookingID}).Decode(&r); err != nil {
		return nil, err
	}
	return &r, nil
}

// setRefundRef records the provider's reference of a refund once the provider has made it.
func (s *store) setRefundRef(ctx context.Context, bookingID, ref string) error {
	_, err := s.refunds.UpdateOne(ctx, bson.M{"_id": bookingID}, bson.M{"$set": bson.M{"providerRef": ref}})
	return err
}

// notFound tells "no such document" apart from a failure of the store.
func notFound(err error) bool { return mongodb.NotFound(err) }
