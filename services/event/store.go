package event

import (
	"context"
	"regexp"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"ticketflow/mongodb"
)

// store is the event service's MongoDB access. On FerretDB there are no transactions and no
// atomic conditional updates, so anything that must happen once rests on an insert under a
// unique _id.
type store struct {
	venues, events, idem *mongo.Collection
}

func newStore(db *mongo.Database) *store {
	return &store{venues: db.Collection("venues"), events: db.Collection("events"), idem: db.Collection("idempotency")}
}

func (s *store) ensureIndexes(ctx context.Context) error {
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

// claimIdempotencyKey records that key (per admin) made eventID; when the key was used before it
// returns the event that use made instead.
func (s *store) claimIdempotencyKey(ctx context.Context, userID, key, eventID string) (existing string, err error) {
	_, err = s.idem.InsertOne(ctx, bson.M{"_id": userID + ":" + key, "eventId": eventID, "createdAt": time.Now().UTC()})
	if err == nil {
		return "", nil
	}
	if !mongodb.IsDuplicateKey(err) {
		return "", err
	}
	var prior struct {
		EventID string `bson:"eventId"`
	}
	if err := s.idem.FindOne(ctx, bson.M{"_id": userID + ":" + key}).Decode(&prior); err != nil {
		return "", err
	}
	return prior.EventID, nil
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

func (s *store) listEvents(ctx context.Context, search string, page, limit int) ([]Event, int64, error) {
	filter := bson.M{}
	if search != "" {
		// Case-insensitive match of the literal text in the name, description or tags.
		re := bson.M{"$regex": regexp.QuoteMeta(search), "$options": "i"}
		filter = bson.M{"$or": bson.A{bson.M{"name": re}, bson.M{"description": re}, bson.M{"tags": re}}}
	}
	total, err := s.events.CountDocuments(ctx, filter)
	if err != nil {
		return nil, 0, err
	}
	cur, err := s.events.Find(ctx, filter, options.Find().
		SetSort(bson.D{{Key: "date", Value: 1}, {Key: "_id", Value: 1}}).
		SetSkip(int64((page-1)*limit)).SetLimit(int64(limit)).
		SetProjection(bson.M{"sections": 0}))
	if err != nil {
		return nil, 0, err
	}
	out := []Event{}
	if err := cur.All(ctx, &out); err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

func (s *store) updateEvent(ctx context.Context, id string, set bson.M) error {
	set["updatedAt"] = time.Now().UTC()
	res, err := s.events.UpdateOne(ctx, bson.M{"_id": id}, bson.M{"$set": set})
	if err != nil {
		return err
	}
	if res.MatchedCount == 0 {
		return mongodb.ErrNoDocuments
	}
	return nil
}

func (s *store) markSeatsLoaded(ctx context.Context, id string) error {
	return s.updateEvent(ctx, id, bson.M{"seatsLoaded": true})
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
