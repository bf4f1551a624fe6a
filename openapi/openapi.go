// Package openapi holds the OpenAPI 3.1 document of TicketFlow's REST API (openapi.json), which
// the gateway serves at GET /api/openapi.json, and the checks that keep it and the routers equal.
package openapi

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/go-chi/chi/v5"
)

// Document is openapi.json, byte for byte.
//
//go:embed openapi.json
var Document []byte

// Operation is one method of one path of the document, with the process that serves it
// (x-service: a service's name, or gateway).
type Operation struct {
	Method, Path, Service string
}

func (o Operation) String() string { return o.Method + " " + o.Path }

// Operations lists the document's operations, sorted by path and method.
func Operations() ([]Operation, error) {
	var doc struct {
		Paths map[string]map[string]struct {
			Service string `json:"x-service"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(Document, &doc); err != nil {
		return nil, fmt.Errorf("openapi.json: %w", err)
	}
	var out []Operation
	for path, item := range doc.Paths {
		for method, op := range item {
			out = append(out, Operation{Method: strings.ToUpper(method), Path: path, Service: op.Service})
		}
	}
	slices.SortFunc(out, func(a, b Operation) int { return strings.Compare(a.Path+" "+a.Method, b.Path+" "+b.Method) })
	return out, nil
}

// gateway is the x-service of the operations the gateway answers itself.
const gateway = "gateway"

// ServicePrefixes maps the prefix /api/<segment> of every operation a service serves (x-service
// other than gateway) to that service: the prefixes the gateway must proxy, and where. A prefix
// belongs to the service with the most operations under it; an operation of another service under
// it (the ticket service's /api/bookings/{id}/tickets) is mapped by its own path, which the gateway
// routes as it is. Two services with as many operations under one prefix are an error.
func ServicePrefixes() (map[string]string, error) {
	ops, err := Operations()
	if err != nil {
		return nil, err
	}
	counts := map[string]map[string]int{} // prefix → service → operations
	prefixOf := map[Operation]string{}
	for _, op := range ops {
		if op.Service == gateway {
			continue
		}
		rest, ok := strings.CutPrefix(op.Path, "/api/")
		if !ok {
			return nil, fmt.Errorf("openapi.json: %s of %s is not under /api", op, op.Service)
		}
		segment, _, _ := strings.Cut(rest, "/")
		prefix := "/api/" + segment
		if counts[prefix] == nil {
			counts[prefix] = map[string]int{}
		}
		counts[prefix][op.Service]++
		prefixOf[op] = prefix
	}
	out := map[string]string{}
	for prefix, by := range counts {
		best, tie := "", false
		for service, n := range by {
			switch {
			case best == "" || n > by[best]:
				best, tie = service, false
			case n == by[best]:
				tie = true
			}
		}
		if tie {
			return nil, fmt.Errorf("openapi.json: %s is documented for several services alike (%v)", prefix, by)
		}
		out[prefix] = best
	}
	for op, prefix := range prefixOf {
		if out[prefix] != op.Service {
			if other, ok := out[op.Path]; ok && other != op.Service {
				return nil, fmt.Errorf("openapi.json: %s is documented for both %s and %s", op.Path, other, op.Service)
			}
			out[op.Path] = op.Service
		}
	}
	return out, nil
}

// Compare lists the differences between the routes a process's router serves and the operations
// the document gives that process (x-service): a route under /api the document lacks, or an
// operation the router lacks. Routes outside /api (health, internal, profiling) are compared only
// where the document names them for this process (the gateway's /health). Paths are compared as
// chi writes them ({id} is {id}); HEAD, answered for every GET, is not listed. A route whose path
// is one of proxied (the gateway's bare service prefixes, which take every method and forward
// it), or ends in a wildcard, forwards rather than serves and is not compared.
func Compare(service string, r chi.Routes, proxied ...string) ([]string, error) {
	ops, err := Operations()
	if err != nil {
		return nil, err
	}
	documented, paths := map[Operation]bool{}, map[string]bool{}
	for _, op := range ops {
		if op.Service == service {
			documented[Operation{Method: op.Method, Path: op.Path}] = true
			paths[op.Path] = true
		}
	}
	routed := map[Operation]bool{}
	err = chi.Walk(r, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		route = strings.TrimSuffix(route, "/")
		if (strings.HasPrefix(route, "/api/") || paths[route]) && !strings.HasSuffix(route, "*") &&
			!slices.Contains(proxied, route) {
			routed[Operation{Method: method, Path: route}] = true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var diff []string
	for op := range routed {
		if !documented[op] {
			diff = append(diff, fmt.Sprintf("%s routes %s, which openapi.json does not document for it", service, op))
		}
	}
	for op := range documented {
		if !routed[op] {
			diff = append(diff, fmt.Sprintf("openapi.json documents %s on %s, which has no such route", op, service))
		}
	}
	slices.Sort(diff)
	return diff, nil
}

// T is the part of *testing.T that CheckRoutes uses (this package is linked into the gateway;
// it does not import testing).
type T interface {
	Helper()
	Errorf(format string, args ...any)
	Fatal(args ...any)
}

// CheckRoutes fails t with every difference Compare finds between the process's router and the
// document: each service's tests call it with the router its routes() builds, the gateway's with
// its proxied prefixes.
func CheckRoutes(t T, service string, r chi.Routes, proxied ...string) {
	t.Helper()
	diff, err := Compare(service, r, proxied...)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range diff {
		t.Errorf("%s", d)
	}
}
