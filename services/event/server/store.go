package server

import (
	"context"
	"regexp"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"ticketflow/internal/idempotency"
	"ticketflow/internal/mongodb"
)

// store is the event service's MongoDB access. On FerretDB there are no transactions and no
// atomic conditional updates, so anything that must happen once rests on an insert under a
// unique _id.
type store struct {
	venues, events *mongo.Collection
	keys           keyStore
}

func newStore(db *mongo.Database) *store {
	return &store{venues: db.Collection("venues"), events: db.Collection("events"), keys: keyStore{db.Collection("idempotency")}}
}

func (s *store) EnsureIndexes(ctx context.Context) error {
	return mongodb.EnsureIndexes(ctx, s.events,
		mongo.IndexModel{Keys: bson.D{{Key: "date", Value: 1}}},
		mongo.IndexModel{Keys: bson.D{{Key: "seatsLoaded", Value: 1}}})
}

func (s *store) insertVenue(ctx context.Context, v *Venue) error {
	_, err := s.venues.InsertOne(ctx, v)
	return err
}

func (s *store) venue(ctx context.Context, id string) (*Venue, error) {
	var v Venue
	if err := s.venues.FindOne(ctx, bson.M{"_id": id}).Decode(&v); err != nil {
		return nil, err
	}
	return &v, nil
}

func (s *store) listVenues(ctx context.Context, page, limit int) ([]Venue, int64, error) {
	total, err := s.venues.CountDocuments(ctx, bson.M{})
	if err != nil {
		return nil, 0, err
	}
	cur, err := s.venues.Find(ctx, bson.M{}, options.Find().SetSort(bson.D{{Key: "name", Value: 1}, {Key: "_id", Value: 1}}).
		SetSkip(int64((page-1)*limit)).SetLimit(int64(limit)))
	if err != nil {
		return nil, 0, err
	}
	out := []Venue{}
	if err := cur.All(ctx, &out); err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

// keyStore keeps the event service's Idempotency-Keys (idempotency.Store) in the idempotency
// collection, one document per admin and key; the key's resource is the event id. FerretDB has
// no transactions: a key is made once by an insert under its unique _id, and a replace compares
// in its filter (atomic on MongoDB; on FerretDB two retries may both take a key over, with the
// same event id, which the event's own insert under that id makes once).
type keyStore struct{ coll *mongo.Collection }

// keyDoc is a key as stored. A key stored before the rule was shared has only eventId and
// createdAt: no fingerprint (any request matches), no state (answered), no answer (the event as
// it stands).
type keyDoc struct {
	ID          string    `bson:"_id"`
	EventID     string    `bson:"eventId"`
	Fingerprint string    `bson:"fingerprint,omitempty"`
	State       string    `bson:"state,omitempty"`
	LeaseUntil  time.Time `bson:"leaseUntil,omitempty"`
	CreatedAt   time.Time `bson:"createdAt"`
	Status      int       `bson:"status,omitempty"`
	Body        []byte    `bson:"body,omitempty"`
}

func keyID(userID, key string) string { return userID + ":" + key }

func toKeyDoc(id string, r idempotency.Record) keyDoc {
	return keyDoc{ID: id, EventID: r.ResourceID, Fingerprint: r.Fingerprint, State: string(r.State),
		LeaseUntil: r.LeaseUntil, CreatedAt: r.CreatedAt, Status: r.Status, Body: r.Body}
}

// keyFilter matches the key while it is still old.
func keyFilter(id string, old idempotency.Record) bson.M {
	f := bson.M{"_id": id, "eventId": old.ResourceID, "state": old.State, "leaseUntil": old.LeaseUntil}
	if old.State == "" {
		f["state"] = bson.M{"$exists": false}
	}
	if old.LeaseUntil.IsZero() {
		f["leaseUntil"] = bson.M{"$exists": false}
	}
	return f
}

func (s keyStore) Insert(ctx context.Context, userID, key string, rec idempotency.Record) (bool, error) {
	_, err := s.coll.InsertOne(ctx, toKeyDoc(keyID(userID, key), rec))
	if mongodb.IsDuplicateKey(err) {
		return false, nil
	}
	return err == nil, err
}

func (s keyStore) Get(ctx context.Context, userID, key string) (idempotency.Record, error) {
	var d keyDoc
	err := s.coll.FindOne(ctx, bson.M{"_id": keyID(userID, key)}).Decode(&d)
	if mongodb.NotFound(err) {
		return idempotency.Record{}, idempotency.ErrNoKey
	}
	if err != nil {
		return idempotency.Record{}, err
	}
	return idempotency.Record{Fingerprint: d.Fingerprint, ResourceID: d.EventID, State: idempotency.State(d.State),
		LeaseUntil: d.LeaseUntil, CreatedAt: d.CreatedAt, Status: d.Status, Body: d.Body}, nil
}

func (s keyStore) Replace(ctx context.Context, userID, key string, old, rec idempotency.Record) (bool, error) {
	id := keyID(userID, key)
	res, err := s.coll.ReplaceOne(ctx, keyFilter(id, old), toKeyDoc(id, rec))
	if err != nil {
		return false, err
	}
	return res.MatchedCount == 1, nil
}

func (s keyStore) Delete(ctx context.Context, userID, key string, old idempotency.Record) error {
	_, err := s.coll.DeleteOne(ctx, keyFilter(keyID(userID, key), old))
	return err
}

func (s *store) insertEvent(ctx context.Context, e *Event) error {
	_, err := s.events.InsertOne(ctx, e)
	return err
}

func (s *store) event(ctx context.Context, id string) (*Event, error) {
	var e Event
	if err := s.events.FindOne(ctx, bson.M{"_id": id}).Decode(&e); err != nil {
		return nil, err
	}
	return &e, nil
}

// Which events a list shows (?when=).
const (
	whenUpcoming = "upcoming" // not yet begun, soonest first (the default)
	whenPast     = "past"     // begun, most recent first
	whenAll      = "all"      // upcoming ones first, soonest first, then past ones, most recent first
)

// listEvents lists a page of the events matching search, as `when` orders them relative to now.
func (s *store) listEvents(ctx context.Context, search, when string, now time.Time, page, limit int) ([]Event, int64, error) {
	filter := bson.M{}
	if search != "" {
		// Case-insensitive match of the literal text in the name, description or tags.
		re := bson.M{"$regex": regexp.QuoteMeta(search), "$options": "i"}
		filter = bson.M{"$or": bson.A{bson.M{"name": re}, bson.M{"description": re}, bson.M{"tags": re}}}
	}
	upcoming := and(filter, bson.M{"date": bson.M{"$gte": now.UTC()}})
	past := and(filter, bson.M{"date": bson.M{"$lt": now.UTC()}})
	skip, out := int64((page-1)*limit), []Event{}
	switch when {
	case whenUpcoming:
		return s.findEvents(ctx, upcoming, 1, skip, int64(limit), out)
	case whenPast:
		return s.findEvents(ctx, past, -1, skip, int64(limit), out)
	}
	// all: the upcoming events, then the past ones, paged as one list.
	out, nUp, err := s.findEvents(ctx, upcoming, 1, skip, int64(limit), out)
	if err != nil {
		return nil, 0, err
	}
	pastSkip := max(skip-nUp, 0)
	if left := int64(limit - len(out)); left > 0 {
		out, nPast, err := s.findEvents(ctx, past, -1, pastSkip, left, out)
		return out, nUp + nPast, err
	}
	nPast, err := s.events.CountDocuments(ctx, past)
	return out, nUp + nPast, err
}

func and(a, b bson.M) bson.M {
	if len(a) == 0 {
		return b
	}
	return bson.M{"$and": bson.A{a, b}}
}

// findEvents appends a page of the events matching filter, by date in direction dir (1 or -1),
// to out, and counts all that match.
func (s *store) findEvents(ctx context.Context, filter bson.M, dir int, skip, limit int64, out []Event) ([]Event, int64, error) {
	total, err := s.events.CountDocuments(ctx, filter)
	if err != nil {
		return nil, 0, err
	}
	if skip >= total {
		return out, total, nil
	}
	cur, err := s.events.Find(ctx, filter, options.Find().
		SetSort(bson.D{{Key: "date", Value: dir}, {Key: "_id", Value: dir}}).SetSkip(skip).SetLimit(limit))
	if err != nil {
		return nil, 0, err
	}
	var page []Event
	if err := cur.All(ctx, &page); err != nil {
		return nil, 0, err
	}
	return append(out, page...), total, nil
}

// updateEvent sets the fields of set and removes those of unset (either may be nil).
func (s *store) updateEvent(ctx context.Context, id string, set, unset bson.M) error {
	if set == nil {
		set = bson.M{}
	}
	set["updatedAt"] = time.Now().UTC().Truncate(time.Millisecond)
	update := bson.M{"$set": set}
	if len(unset) > 0 {
		update["$unset"] = unset
	}
	res, err := s.events.UpdateOne(ctx, bson.M{"_id": id}, update)
	if err != nil {
		return err
	}
	if res.MatchedCount == 0 {
		return mongodb.ErrNoDocuments
	}
	return nil
}

func (s *store) markSeatsLoaded(ctx context.Context, id string) error {
	return s.updateEvent(ctx, id, bson.M{"seatsLoaded": true}, nil)
}

// unloaded lists events created more than `after` ago whose seats inventory may not have yet.
func (s *store) unloaded(ctx context.Context, after time.Duration) ([]Event, error) {
	cur, err := s.events.Find(ctx, bson.M{"seatsLoaded": false, "createdAt": bson.M{"$lt": time.Now().Add(-after).UTC()}},
		options.Find().SetLimit(50))
	if err != nil {
		return nil, err
	}
	var out []Event
	err = cur.All(ctx, &out)
	return out, err
}
