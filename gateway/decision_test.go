package gateway

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"strings"
	"testing"
	"time"
)

// An admitted buyer's booking is timed from when its whole body is here, so that a slow upload is
// never a slow decision (which would slow everyone's admission); the body goes on whole.
func TestAnAdmittedBookingIsTimedFromItsWholeBody(t *testing.T) {
	in := httptest.NewRequest(http.MethodPost, "/api/bookings", strings.NewReader(`{"eventId":"e","seatIds":["A-1"]}`))
	pr := &httputil.ProxyRequest{In: in, Out: in.Clone(in.Context())}
	before := time.Now()
	stampDecision(pr)
	sent, ok := pr.Out.Context().Value(sentAtKey{}).(time.Time)
	if !ok || sent.Before(before) {
		t.Fatalf("not stamped after the body was read: %v %v", sent, ok)
	}
	body, _ := io.ReadAll(pr.Out.Body)
	if string(body) != `{"eventId":"e","seatIds":["A-1"]}` || pr.Out.ContentLength != int64(len(body)) {
		t.Fatalf("body %q, length %d", body, pr.Out.ContentLength)
	}

	// A body that cannot be read goes on failing, unstamped: the proxy answers its error and the
	// meter counts nothing.
	tooBig := &http.MaxBytesError{Limit: 10}
	in = httptest.NewRequest(http.MethodPost, "/api/bookings", io.NopCloser(failingReader{tooBig}))
	pr = &httputil.ProxyRequest{In: in, Out: in.Clone(in.Context())}
	stampDecision(pr)
	if _, ok := pr.Out.Context().Value(sentAtKey{}).(time.Time); ok {
		t.Fatal("stamped a request whose body failed")
	}
	if _, err := pr.Out.Body.Read(make([]byte, 8)); !errors.As(err, &tooBig) {
		t.Fatalf("the body's error is lost: %v", err)
	}
}
