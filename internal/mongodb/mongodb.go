// Package mongodb connects the MongoDB-backed services (event, payment, notification) to their
// database: real MongoDB under docker-compose, FerretDB in the local stack.
package mongodb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Connect opens a client to uri and returns the named database once the server answers (waiting
// up to wait for it).
func Connect(ctx context.Context, uri, database string, wait time.Duration) (*mongo.Database, error) {
	client, err := mongo.Connect(options.Client().ApplyURI(uri).
		SetServerSelectionTimeout(2 * time.Second).
		SetMaxPoolSize(100))
	if err != nil {
		return nil, fmt.Errorf("mongo connect: %w", err)
	}
	deadline := time.Now().Add(wait)
	for {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err = client.Ping(pctx, nil)
		cancel()
		if err == nil {
			return client.Database(database), nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			_ = client.Disconnect(context.Background())
			return nil, fmt.Errorf("mongo %s unreachable: %w", database, err)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// Store is a service's store on MongoDB: it creates the indexes it needs (idempotently).
type Store interface {
	EnsureIndexes(ctx context.Context) error
}

// Open is how a MongoDB-backed service opens its store: it connects to the named database
// (waiting up to 30 s for the server), builds the store on it with newStore and creates its
// indexes. closeDB disconnects; the database is returned too, for health checks and anything
// else the service keeps in it.
func Open[S Store](ctx context.Context, uri, database string, newStore func(*mongo.Database) S) (st S, db *mongo.Database, closeDB func(), err error) {
	db, err = Connect(ctx, uri, database, 30*time.Second)
	if err != nil {
		return st, nil, nil, err
	}
	closeDB = func() { _ = db.Client().Disconnect(context.WithoutCancel(ctx)) }
	st = newStore(db)
	if err := st.EnsureIndexes(ctx); err != nil {
		closeDB()
		return st, nil, nil, err
	}
	return st, db, closeDB, nil
}

// Ping checks the database's server.
func Ping(db *mongo.Database) func(ctx context.Context) error {
	return func(ctx context.Context) error { return db.Client().Ping(ctx, nil) }
}

// IsDuplicateKey reports whether err is a unique-index violation (E11000).
func IsDuplicateKey(err error) bool {
	return mongo.IsDuplicateKeyError(err)
}

// ErrNoDocuments is the driver's "nothing matched", re-exported so services need not import it.
var ErrNoDocuments = mongo.ErrNoDocuments

// NotFound reports whether err means no document matched.
func NotFound(err error) bool { return errors.Is(err, mongo.ErrNoDocuments) }

// EnsureIndexes creates each index that is missing, one call per index: FerretDB 1.24 drops the
// connection when a single createIndexes call names two or more indexes that all exist already
// (seen on every restart of a service that used CreateMany).
func EnsureIndexes(ctx context.Context, coll *mongo.Collection, models ...mongo.IndexModel) error {
	for _, m := range models {
		if _, err := coll.Indexes().CreateOne(ctx, m); err != nil {
			return fmt.Errorf("index on %s: %w", coll.Name(), err)
		}
	}
	return nil
}
