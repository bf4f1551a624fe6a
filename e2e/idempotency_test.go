//go:build integration

package e2e

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"ticketflow/openapi"
)

// keyedRequests makes, for each operation that takes an Idempotency-Key, a caller and two
// requests with different meanings.
var keyedRequests = map[string]func(t *testing.T) (c *client, path string, a, b any){
	"POST /api/bookings": func(t *testing.T) (*client, string, any, any) {
		e := newEvent(t, 3, 1500)
		c, _ := register(t)
		a := map[string]any{"eventId": e.ID, "seatIds": []string{"FLOOR-A-1"},
			"paymentMethod": map[string]string{"type": "card", "token": "tok_noResponse"}}
		b := map[string]any{"eventId": e.ID, "seatIds": []string{"FLOOR-A-2"},
			"paymentMethod": map[string]string{"type": "card", "token": "tok_noResponse"}}
		return c, "/api/bookings", a, b
	},
	"POST /api/events": func(t *testing.T) (*client, string, any, any) {
		adm := admin(t)
		var v venue
		adm.expect(201, "POST", "/api/venues", map[string]string{"name": "V " + uniq(), "address": "a", "city": "c",
			"country": "NO", "timezone": "Europe/Oslo"}, &v)
		ev := func(name string) map[string]any {
			return map[string]any{"name": name, "description": "", "venueId": v.ID, "date": inDays(40), "currency": "EUR",
				"tags": []string{}, "sections": []map[string]any{{"name": "F", "priceMinor": 100,
					"rows": []map[string]any{{"label": "A", "seats": 2}}}}}
		}
		return adm, "/api/events", ev("First " + uniq()), ev("Second " + uniq())
	},
}

// Every operation the document says takes an Idempotency-Key follows the one rule
// (draft-ietf-httpapi-idempotency-key-header): the same key and body get the first answer again,
// status and body; the same key with another body is 422 IDEMPOTENCY_KEY_REUSED, and makes
// nothing. The operations are read from openapi.json, so a new one cannot be missed.
func TestEveryIdempotencyKeyEndpointRefusesTheKeyWithAnotherBody(t *testing.T) {
	t.Parallel()
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct {
				Ref string `json:"$ref"`
			} `json:"parameters"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(openapi.Document, &doc); err != nil {
		t.Fatal(err)
	}
	var ops []string
	for path, methods := range doc.Paths {
		for method, op := range methods {
			for _, p := range op.Parameters {
				if p.Ref == "#/components/parameters/idempotencyKey" {
					ops = append(ops, strings.ToUpper(method)+" "+path)
				}
			}
		}
	}
	slices.Sort(ops)
	if len(ops) < 2 {
		t.Fatalf("operations with an Idempotency-Key: %v", ops)
	}
	for _, op := range ops {
		t.Run(op, func(t *testing.T) {
			mk, ok := keyedRequests[op]
			if !ok {
				t.Fatalf("%s takes an Idempotency-Key: give it two requests in keyedRequests", op)
			}
			c, path, a, b := mk(t)
			key := "rule-" + uniq()
			first := c.do("POST", path, a, "Idempotency-Key", key)
			if first.status >= 300 {
				t.Fatalf("first: %d %s", first.status, first.body)
			}
			again := c.do("POST", path, a, "Idempotency-Key", key)
			if again.status != first.status || string(again.body) != string(first.body) ||
				again.header.Get("Location") != first.header.Get("Location") {
				t.Errorf("same key and body: %d %s (Location %q); first %d %s (Location %q)", again.status, again.body,
					again.header.Get("Location"), first.status, first.body, first.header.Get("Location"))
			}
			other := c.do("POST", path, b, "Idempotency-Key", key)
			if other.status != http.StatusUnprocessableEntity || other.err(t).Error.Code != "IDEMPOTENCY_KEY_REUSED" {
				t.Fatalf("same key, another body: %d %s", other.status, other.body)
			}
			// With a key of its own the other body is made (a booking: the refused request held no seat).
			if fresh := c.do("POST", path, b, "Idempotency-Key", "rule-"+uniq()); fresh.status >= 300 {
				t.Fatalf("the other body with its own key: %d %s", fresh.status, fresh.body)
			}
		})
	}
}
