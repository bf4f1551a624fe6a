package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// A service with several replicas: requests are spread over them, and a replica that is down
// (its connection refused) is skipped without the caller noticing.
func TestBalancedClientSpreadsRequestsAndSkipsAReplicaThatIsDown(t *testing.T) {
	var hits [2]atomic.Int64
	servers := make([]*httptest.Server, 2)
	for i := range servers {
		servers[i] = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits[i].Add(1)
			WriteJSON(w, http.StatusOK, map[string]int{"replica": i})
		}))
		defer servers[i].Close()
	}
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close() // a replica that is not running: connections are refused
	c := NewBalancedClient([]string{servers[0].URL, downURL, servers[1].URL}, "", time.Second)
	for i := 0; i < 30; i++ {
		var out map[string]int
		if err := c.Post(context.Background(), "/x", map[string]int{"n": i}, &out); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if hits[0].Load() < 5 || hits[1].Load() < 5 || hits[0].Load()+hits[1].Load() != 30 {
		t.Fatalf("hits %d and %d: requests are not spread over the replicas that are up", hits[0].Load(), hits[1].Load())
	}
	all := NewBalancedClient([]string{downURL}, "", time.Second)
	if err := all.Get(context.Background(), "/x", nil); err == nil || !Unreachable(err) {
		t.Fatalf("every replica down: %v, want an unreachable error", err)
	}
}
