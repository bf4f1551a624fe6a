package traces

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const jaegerAnswer = `{"data":[{"traceID":"abc","processes":{"p1":{"serviceName":"ticketflow-gateway"},"p2":{"serviceName":"ticketflow-booking"}},
"spans":[
 {"spanID":"2","operationName":"POST /api/bookings","references":[{"refType":"CHILD_OF","spanID":"1"}],"startTime":1000500,"duration":20000,"processID":"p2","tags":[]},
 {"spanID":"1","operationName":"POST /api/bookings","references":[],"startTime":1000000,"duration":25000,"processID":"p1","tags":[]},
 {"spanID":"3","operationName":"RunActivity:Emit","references":[{"refType":"CHILD_OF","spanID":"gone"}],"startTime":1030000,"duration":3000,"processID":"p2","tags":[{"key":"error","value":true}]}
]}]}`

func TestABookingsTracesPrintAsATree(t *testing.T) {
	var query string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		query = r.URL.RawQuery
		_, _ = w.Write([]byte(jaegerAnswer))
	}))
	defer srv.Close()
	got, err := OfBooking(context.Background(), srv.URL, "b-1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(query, "booking.id") || !strings.Contains(query, "b-1") {
		t.Errorf("query %q does not ask for the booking's id", query)
	}
	var out bytes.Buffer
	Print(&out, got[0])
	want := `trace abc: 3 spans, 2 services, 1970-01-01T00:00:01Z
    0.0ms    25.0ms  ticketflow-gateway       POST /api/bookings
    0.5ms    20.0ms    ticketflow-booking       POST /api/bookings
   30.0ms     3.0ms  ticketflow-booking       RunActivity:Emit  ERROR
`
	if out.String() != want {
		t.Errorf("printed\n%s\nwant\n%s", out.String(), want)
	}
}
