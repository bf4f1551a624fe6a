package server

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"ticketflow/internal/router"
	"ticketflow/openapi"
)

// Every public route is in openapi.json, and every operation it gives this service is routed.
func TestRoutesAreTheDocumentedOnes(t *testing.T) {
	r := router.NewRouter(1 << 20)
	(&api{}).routes(r, "internal")
	openapi.CheckRoutes(t, "inventory", r)
}

// Snapshots are served whole: a Range header gets the whole body (200), and no Accept-Ranges is
// offered (the API documents no partial content).
func TestSnapshotsAreServedWholeWhateverTheRange(t *testing.T) {
	body := []byte(`{"seats":[]}`)
	req := httptest.NewRequest(http.MethodGet, "/api/inventory/events/e/seats", nil)
	req.Header.Set("Range", "bytes=0-3")
	rec := httptest.NewRecorder()
	serveCached(rec, req, `"7"`, "no-cache", body, func() []byte { return nil })
	if rec.Code != http.StatusOK || rec.Body.String() != string(body) || rec.Header().Get("Accept-Ranges") != "" {
		t.Fatalf("%d %q Accept-Ranges %q", rec.Code, rec.Body, rec.Header().Get("Accept-Ranges"))
	}
}
