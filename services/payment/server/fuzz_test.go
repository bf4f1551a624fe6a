package server

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"ticketflow/internal/httpapi"
	"ticketflow/internal/ids"
	"ticketflow/services/payment"
)

// FuzzRefundRequest: POST /internal/payments/refund bodies, decoded and checked as the handler
// does, never panic and are refused with a 400; an accepted request names a booking id and a
// reason that is one trimmed line of 1..200 characters without control characters, and tidying it
// again changes nothing.
func FuzzRefundRequest(f *testing.F) {
	const b = "6f1c2f4e-1b7a-4c0e-9d7e-0a1b2c3d4e5f"
	for _, s := range []string{
		`{"bookingId":"` + b + `","reason":"cancelled by the buyer"}`,
		`{"bookingId":"` + b + `","reason":""}`,
		`{"bookingId":"` + b + `","reason":"  line one\r\nline two\u0085\u2028 "}`,
		`{"bookingId":"` + b + `","reason":"` + strings.Repeat("ü", 300) + `"}`,
		`{"bookingId":"` + b + `","reason":"\u001b[31mred"}`,
		`{"bookingId":"' OR 1=1--","reason":"x"}`,
		`{"bookingId":{"$ne":null}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var req payment.RefundRequest
		err := httpapi.DecodeBytes(raw, &req)
		if err == nil {
			err = checkRefund(&req)
		}
		if err != nil {
			var e *httpapi.Error
			if !errors.As(err, &e) || e.Status != http.StatusBadRequest {
				t.Fatalf("refusal %v (%T), want a 400 *httpapi.Error", err, err)
			}
			return
		}
		r := req.Reason
		if !ids.IsUUID(req.BookingID) || r == "" || !utf8.ValidString(r) || utf8.RuneCountInString(r) > maxReasonLen ||
			strings.TrimSpace(r) != r {
			t.Fatalf("accepted %+v", req)
		}
		for _, c := range r {
			if unicode.IsControl(c) || (unicode.IsSpace(c) && c != ' ') {
				t.Fatalf("reason %q keeps %U", r, c)
			}
		}
		if cleanReason(r) != r {
			t.Fatalf("cleanReason is not idempotent: %q -> %q", r, cleanReason(r))
		}
	})
}
