package server

import (
	"testing"

	"ticketflow/internal/router"
	"ticketflow/openapi"
)

// Every public route is in openapi.json, and every operation it gives this service is routed.
func TestRoutesAreTheDocumentedOnes(t *testing.T) {
	r := router.NewRouter(1 << 20)
	(&api{}).routes(r, []byte("secret"), "internal")
	openapi.CheckRoutes(t, "ticket", r)
}
