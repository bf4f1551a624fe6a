//go:build experiment && integration

package payment

import (
	"context"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"ticketflow/config"
	"ticketflow/mongodb"
)

func TestExperimentIndexes(t *testing.T) {
	cfg, _ := config.Load()
	ctx := context.Background()
	specs := map[string]mongo.IndexModel{
		"plain":         {Keys: bson.D{{Key: "a", Value: 1}}},
		"named":         {Keys: bson.D{{Key: "a", Value: 1}}, Options: options.Index().SetName("a_x")},
		"unique":        {Keys: bson.D{{Key: "a", Value: 1}}, Options: options.Index().SetUnique(true)},
		"unique-named":  {Keys: bson.D{{Key: "a", Value: 1}}, Options: options.Index().SetUnique(true).SetName("a_unique")},
		"compound-desc": {Keys: bson.D{{Key: "a", Value: 1}, {Key: "b", Value: -1}}},
	}
	for name, spec := range specs {
		db, err := mongodb.Connect(ctx, cfg.MongoURI, "ticketflow_exp_"+uniq(), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c := db.Collection("c")
		_, err1 := c.Indexes().CreateOne(ctx, spec)
		_, err2 := c.Indexes().CreateOne(ctx, spec)
		t.Logf("%s: first %v, second %v", name, err1, err2)
		_ = db.Drop(ctx)
	}
	// CreateMany with two
	db, _ := mongodb.Connect(ctx, cfg.MongoURI, "ticketflow_exp_"+uniq(), 5*time.Second)
	c := db.Collection("c")
	two := []mongo.IndexModel{{Keys: bson.D{{Key: "a", Value: 1}}, Options: options.Index().SetUnique(true)}, {Keys: bson.D{{Key: "b", Value: 1}}, Options: options.Index().SetUnique(true)}}
	_, e1 := c.Indexes().CreateMany(ctx, two)
	_, e2 := c.Indexes().CreateMany(ctx, two)
	t.Logf("many: %v, %v", e1, e2)
	_ = db.Drop(ctx)
}
