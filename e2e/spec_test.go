//go:build integration

package e2e

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"ticketflow/openapi"
	"ticketflow/tools/devstack"
)

// Every request the suite sends through its client (and its raw reads of the API) is checked
// against openapi.json with kin-openapi's openapi3filter, with its answer, so the document cannot
// drift from the code:
//   - a request the document calls invalid must be refused with a 4xx;
//   - every answer must be one the document gives for its operation: its status, its required
//     headers, its body's schema (additionalProperties are false: a field the document lacks
//     is drift too);
//   - a path the document does not have is answered with a 4xx in the error envelope; a method
//     it does not have with a 4xx, and a 405 names in Allow exactly the documented methods;
//   - whatever the document says, a 201 and a booking's 202 carry Location, every 429 and 503
//     Retry-After, every 405 Allow.
//
// kin-openapi validates OpenAPI 3.1 documents with a JSON Schema 2020-12 validator
// (santhosh-tekuri/jsonschema v6, the one bus uses); the document keeps to what it validates.

type specChecker struct {
	doc    *openapi3.T
	router routers.Router
	skip   string // the Mailpit host: its /api is not ours

	mu        sync.Mutex
	exchanges int
	byOp      map[string]int
}

var checker = sync.OnceValues(func() (*specChecker, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(openapi.Document)
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, err
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, err
	}
	sc := &specChecker{doc: doc, router: router, byOp: map[string]int{}}
	if cfg, err := devstack.LoadSettings(); err == nil {
		if u, err := url.Parse(cfg.MailpitURL); err == nil {
			sc.skip = u.Host
		}
	}
	return sc, nil
})

// checkSpec validates one exchange: req (whose body was reqBody) and its answer resp (whose body
// was respBody, read in full; nil for a stream). It fails t with the route and the mismatch.
func checkSpec(t testing.TB, req *http.Request, reqBody []byte, resp *http.Response, respBody []byte) {
	t.Helper()
	p := req.URL.Path
	if !strings.HasPrefix(p, "/api/") && p != "/health" && p != "/health/all" {
		return // the web page and its assets
	}
	sc, err := checker()
	if err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if req.URL.Host == sc.skip {
		return
	}
	for _, problem := range sc.check(req, reqBody, resp, respBody) {
		t.Errorf("openapi.json vs %s %s → %d: %s", req.Method, req.URL.RequestURI(), resp.StatusCode, problem)
	}
}

func (sc *specChecker) count(op string) {
	sc.mu.Lock()
	sc.exchanges++
	sc.byOp[op]++
	sc.mu.Unlock()
}

func (sc *specChecker) check(req *http.Request, reqBody []byte, resp *http.Response, respBody []byte) []string {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	status, h := resp.StatusCode, resp.Header

	// The conventions, whatever the document says.
	switch {
	case status == http.StatusCreated && h.Get("Location") == "":
		bad("a 201 without Location")
	case status == http.StatusAccepted && strings.HasPrefix(req.URL.Path, "/api/bookings") && h.Get("Location") == "":
		bad("a booking's 202 without Location")
	case (status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable) && h.Get("Retry-After") == "":
		bad("a %d without Retry-After", status)
	case status == http.StatusMethodNotAllowed && h.Get("Allow") == "":
		bad("a 405 without Allow")
	}

	head := req.Method == http.MethodHead
	routed := req.Clone(context.Background())
	if head {
		routed.Method = http.MethodGet
	}
	routed.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, params, err := sc.router.FindRoute(routed)
	if err != nil {
		op := "(undocumented path)"
		if errors.Is(err, routers.ErrMethodNotAllowed) {
			op = "(undocumented method)"
		}
		sc.count(op)
		if status < 400 || status >= 500 && status != http.StatusServiceUnavailable {
			bad("%s, answered %d: the document does not have it, the code serves it", op, status)
		}
		if status == http.StatusMethodNotAllowed {
			if documented, allowed := sc.methods(routed), allowSet(h.Get("Allow")); !slices.Equal(documented, allowed) {
				bad("Allow %q, the document has %q", h.Get("Allow"), strings.Join(documented, ", "))
			}
		}
		if !head && status >= 400 {
			if err := sc.isError(respBody); err != nil {
				bad("the %d is not the error envelope: %v", status, err)
			}
		}
		return problems
	}
	opName := route.Method + " " + route.Path
	if head {
		opName = "HEAD " + route.Path
	}
	sc.count(opName)

	in := &openapi3filter.RequestValidationInput{Request: routed, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: bearerPresent, MultiError: true}}
	if reqErr := openapi3filter.ValidateRequest(context.Background(), in); reqErr != nil && (status < 400 || status >= 500) {
		bad("the document calls the request invalid, the code answered %d: %s", status, oneLine(reqErr))
	}

	if head { // ValidateResponse skips HEAD: the GET's status and required headers, no body
		if status != http.StatusNotModified {
			ref := route.Operation.Responses.Status(status)
			if ref == nil {
				bad("status %d is not documented", status)
			} else {
				for name, hdr := range ref.Value.Headers {
					if hdr.Value != nil && hdr.Value.Required && h.Get(name) == "" {
						bad("required header %s is missing", name)
					}
				}
			}
		}
		return problems
	}
	body := respBody
	if h.Get("Content-Encoding") == "gzip" && len(body) > 0 {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			bad("a gzipped body that does not unzip: %v", err)
			return problems
		}
		if body, err = io.ReadAll(zr); err != nil {
			bad("a gzipped body that does not unzip: %v", err)
			return problems
		}
	}
	opts := &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}
	if strings.HasPrefix(h.Get("Content-Type"), "text/event-stream") {
		opts.ExcludeResponseBody = true // a stream: its headers only
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: status, Header: h,
		Body: io.NopCloser(bytes.NewReader(body)), Options: opts}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		bad("the answer is not the documented one: %s", oneLine(err))
	}
	return problems
}

// methods lists the methods the document has for the request's path, as an Allow header would.
func (sc *specChecker) methods(req *http.Request) []string {
	var out []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		r := req.Clone(context.Background())
		r.Method = m
		if _, _, err := sc.router.FindRoute(r); err == nil {
			out = append(out, m)
			if m == http.MethodGet {
				out = append(out, http.MethodHead)
			}
		}
	}
	slices.Sort(out)
	return out
}

func allowSet(h string) []string {
	var out []string
	for _, m := range strings.Split(h, ",") {
		if m = strings.TrimSpace(m); m != "" {
			out = append(out, m)
		}
	}
	slices.Sort(out)
	return out
}

// isError checks a body against the document's error envelope.
func (sc *specChecker) isError(body []byte) error {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return err
	}
	return sc.doc.Components.Schemas["Error"].Value.VisitJSON(v, openapi3.EnableJSONSchema2020())
}

// bearerPresent is the document's bearerAuth as a client sees it: a Bearer token is sent. Whether
// the gateway accepts it is the answer's business (a 401 is documented).
func bearerPresent(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	if h := in.RequestValidationInput.Request.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return nil
	}
	return errors.New("no Bearer token")
}

func oneLine(err error) string {
	s := strings.Join(strings.Fields(err.Error()), " ")
	if len(s) > 600 {
		s = s[:600] + "…"
	}
	return s
}

// specSummary reports how much of the document the suite's traffic covered.
func specSummary() {
	sc, err := checker()
	if err != nil {
		return
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	var never []string
	for _, op := range sc.operations() {
		if sc.byOp[op] == 0 {
			never = append(never, op)
		}
	}
	fmt.Fprintf(os.Stderr, "openapi.json: %d exchanges validated, %d of %d operations exercised", sc.exchanges,
		len(sc.operations())-len(never), len(sc.operations()))
	if len(never) > 0 {
		fmt.Fprintf(os.Stderr, "; not exercised: %s", strings.Join(never, ", "))
	}
	fmt.Fprintln(os.Stderr)
}

func (sc *specChecker) operations() []string {
	var out []string
	for path, item := range sc.doc.Paths.Map() {
		for method := range item.Operations() {
			out = append(out, method+" "+path)
		}
	}
	slices.Sort(out)
	return out
}
