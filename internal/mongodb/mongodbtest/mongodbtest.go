// Package mongodbtest gives integration tests a throwaway database on the stack's MongoDB
// server (FerretDB locally), dropped when the test ends.
package mongodbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"ticketflow/internal/config"
	"ticketflow/internal/mongodb"
)

// Database connects to a new database named prefix + a random suffix.
func Database(t testing.TB, ctx context.Context, cfg *config.Config, prefix string) *mongo.Database {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	db, err := mongodb.Connect(ctx, cfg.MongoURI, prefix+hex.EncodeToString(b), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = db.Drop(context.Background())
		_ = db.Client().Disconnect(context.Background())
	})
	return db
}
