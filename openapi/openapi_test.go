package openapi

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"ticketflow/internal/router"
)

// load parses the document with kin-openapi, as the e2e suite's validator does.
func load(t *testing.T) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(Document)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// The document is valid OpenAPI 3.1, its examples match their schemas, and it states the
// conventions every operation keeps.
func TestTheDocumentIsValidOpenAPI31(t *testing.T) {
	doc := load(t)
	if !doc.IsOpenAPI31OrLater() {
		t.Fatalf("openapi %q, want 3.1", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background(), openapi3.EnableExamplesValidation()); err != nil {
		t.Fatal(err)
	}
	services := map[string]bool{"gateway": true, "user": true, "event": true, "booking": true, "inventory": true,
		"payment": true, "notification": true, "ticket": true}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			name := method + " " + path
			if svc, _ := op.Extensions["x-service"].(string); !services[svc] {
				t.Errorf("%s: x-service %v", name, op.Extensions["x-service"])
			}
			if op.OperationID == "" || op.Summary == "" {
				t.Errorf("%s: no operationId or summary", name)
			}
			for code, resp := range op.Responses.Map() {
				headers := resp.Value.Headers
				required := func(h string) bool { return headers[h] != nil && headers[h].Value.Required }
				switch {
				case code == "201" && !required("Location"),
					code == "202" && !required("Location"),
					(code == "429" || code == "503") && !required("Retry-After"):
					t.Errorf("%s: a %s without its required header", name, code)
				}
				if code >= "400" {
					media := resp.Value.Content.Get("application/json")
					if strings.HasPrefix(path, "/api/") && code != "503" || path == "/health" {
						if media == nil || media.Schema.Ref != "#/components/schemas/Error" {
							t.Errorf("%s: %s is not the error envelope", name, code)
						}
					}
				}
			}
			if strings.HasPrefix(path, "/api/") && path != "/api/openapi.json" {
				for _, code := range []string{"429", "500", "503"} {
					if op.Responses.Status(atoi(code)) == nil {
						t.Errorf("%s does not document %s", name, code)
					}
				}
			}
		}
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// Compare finds a route the document lacks and an operation the router lacks.
func TestCompareFindsBothKindsOfDrift(t *testing.T) {
	r := router.NewRouter(1 << 10)
	noop := func(http.ResponseWriter, *http.Request) {}
	r.Get("/api/notifications/my", noop)
	r.Delete("/api/notifications/my", noop)
	r.Get("/health", noop) // not documented for this service: not compared
	diff, err := Compare("notification", r)
	if err != nil {
		t.Fatal(err)
	}
	if len(diff) != 1 || !strings.Contains(diff[0], "DELETE /api/notifications/my") {
		t.Fatalf("diff %q", diff)
	}
	diff, _ = Compare("payment", r)
	if len(diff) != 4 { // its two routes missing, two routes not its own
		t.Fatalf("diff %q", diff)
	}
}

// A proxied prefix's bare route forwards every method: Compare leaves it out, and only it.
func TestCompareLeavesOutProxiedPrefixes(t *testing.T) {
	r := router.NewRouter(1 << 10)
	noop := func(http.ResponseWriter, *http.Request) {}
	r.Get("/health", noop)
	r.Get("/health/all", noop)
	r.Get("/api/openapi.json", noop)
	r.Post("/api/events/{id}/queue", noop)
	r.Get("/api/events/{id}/queue", noop)
	r.Delete("/api/events/{id}/queue", noop)
	r.Get("/api/events/{id}/queue/stream", noop)
	r.Handle("/api/users", http.HandlerFunc(noop))
	r.Get("/api/users/me", noop) // under a proxied prefix, but the gateway's own route: compared
	diff, err := Compare("gateway", r, "/api/users")
	if err != nil {
		t.Fatal(err)
	}
	if len(diff) != 1 || !strings.Contains(diff[0], "GET /api/users/me") {
		t.Fatalf("diff %q", diff)
	}
}

// Every service's operations sit under prefixes of its own.
func TestServicePrefixes(t *testing.T) {
	got, err := ServicePrefixes()
	if err != nil {
		t.Fatal(err)
	}
	for prefix, service := range map[string]string{"/api/users": "user", "/api/events": "event",
		"/api/inventory": "inventory", "/api/notifications": "notification"} {
		if got[prefix] != service {
			t.Errorf("%s: %q, want %q", prefix, got[prefix], service)
		}
	}
	if _, ok := got["/api/openapi.json"]; ok {
		t.Error("the gateway's own /api/openapi.json is listed as a service prefix")
	}
}
