package payment

import (
	"context"
	"errors"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"ticketflow/ids"
	"ticketflow/mongodb"
)

// store is the payment service's MongoDB access.
//
// FerretDB has no transactions and applies a conditional update as read-modify-write, so two
// racing updates of one payment can both "win". What must happen once therefore rests on unique
// keys (a payment per idempotency key and per booking, a refund per booking), and changes of one
// payment are serialised by the service (see bookingLocks). The conditional filters below are
// still written as if they were atomic: on real MongoDB they are, which covers several replicas.
type store struct {
	payments, refunds *mongo.Collection
}

func newStore(db *mongo.Database) *store {
	return &store{payments: db.Collection("payments"), refunds: db.Collection("refunds")}
}

// errStale means a conditional update found the payment no longer in the expected state.
var errStale = errors.New("payment changed concurrently")

// ensureIndexes creates the indexes, one call each: FerretDB v1.24 drops the connection (a panic
// on its side) when one createIndexes call names several indexes that all exist already, that is
// on every restart.
func (s *store) ensureIndexes(ctx context.Context) error {
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

func (s *store) findPayment(ctx context.Context, filter bson.M) (*Payment, error) {
	var p Payment
	if err := s.payments.FindOne(ctx, filter).Decode(&p); err != nil {
		return nil, err
	}
	return &p, nil
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

// transition sets fields of payment id if its status is still from; errStale otherwise.
//
// The status is read first and the update addresses the payment by _id alone: FerretDB's SQLite
// backend answers a filter other than {_id} by decoding every document of the collection, which
// made each update cost a scan of all payments. The check and the update are not one atomic step
// on FerretDB either way (it has no atomic conditional update); within a process the per-booking
// lock makes them so, and Kafka's key gives each booking one consumer.
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
