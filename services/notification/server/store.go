package server

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"ticketflow/internal/mongodb"
)

// store is the notification service's MongoDB access. "One email per fact" rests on the insert
// under the fact's eventId; later changes of a notification are made by the one consumer lane
// that handles its fact's key, so FerretDB's non-atomic updates never race.
type store struct {
	notifications *mongo.Collection
}

func newStore(db *mongo.Database) *store {
	return &store{notifications: db.Collection("notifications")}
}

func (s *store) EnsureIndexes(ctx context.Context) error {
	return mongodb.EnsureIndexes(ctx, s.notifications, mongo.IndexModel{
		Keys: bson.D{{Key: "userId", Value: 1}, {Key: "createdAt", Value: -1}},
	})
}

func (s *store) insert(ctx context.Context, n *Notification) error {
	_, err := s.notifications.InsertOne(ctx, n)
	return err
}

func (s *store) get(ctx context.Context, id string) (*Notification, error) {
	var n Notification
	if err := s.notifications.FindOne(ctx, bson.M{"_id": id}).Decode(&n); err != nil {
		return nil, err
	}
	return &n, nil
}

// recordAttempt appends an attempt and sets the notification's status after it.
func (s *store) recordAttempt(ctx context.Context, id string, a Attempt) error {
	set := bson.M{"updatedAt": a.At}
	if a.OK {
		set["status"], set["sentAt"] = StatusSent, a.At
	} else {
		set["status"], set["lastError"] = StatusFailed, a.Error
	}
	_, err := s.notifications.UpdateOne(ctx, bson.M{"_id": id}, bson.M{"$set": set, "$push": bson.M{"attempts": a}})
	return err
}

// forUser lists a user's notifications, newest first.
func (s *store) forUser(ctx context.Context, userID string, page, limit int) ([]Notification, error) {
	cur, err := s.notifications.Find(ctx, bson.M{"userId": userID}, options.Find().
		SetSort(bson.D{{Key: "createdAt", Value: -1}, {Key: "_id", Value: -1}}).
		SetSkip(int64((page-1)*limit)).SetLimit(int64(limit)).
		SetProjection(bson.M{"body": 0, "attempts": 0}))
	if err != nil {
		return nil, err
	}
	out := []Notification{}
	if err := cur.All(ctx, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// now is the time the service stamps on what it stores, in Mongo's millisecond precision.
func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }
