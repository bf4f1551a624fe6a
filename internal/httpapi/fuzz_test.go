package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// Representative request bodies of the services: flat strings, nested objects, arrays of
// objects, pointers, numbers of both kinds, times and booleans.
type fuzzBooking struct {
	EventID       string   `json:"eventId"`
	SeatIDs       []string `json:"seatIds"`
	PaymentMethod *struct {
		Type  string `json:"type"`
		Token string `json:"token"`
	} `json:"paymentMethod"`
}

type fuzzEvent struct {
	Name     string    `json:"name"`
	VenueID  string    `json:"venueId"`
	Date     time.Time `json:"date"`
	Currency string    `json:"currency"`
	Tags     []string  `json:"tags"`
	Sections []struct {
		Name       string `json:"name"`
		PriceMinor int64  `json:"priceMinor"`
		Rows       []struct {
			Label string `json:"label"`
			Seats int    `json:"seats"`
		} `json:"rows"`
	} `json:"sections"`
}

type fuzzUpdate struct {
	Name    *string    `json:"name"`
	Date    *time.Time `json:"date"`
	Tags    *[]string  `json:"tags"`
	Enabled *bool      `json:"enabled"`
	Ratio   float64    `json:"ratio"`
}

// fuzzTargets make a fresh destination of each representative type.
var fuzzTargets = []func() any{
	func() any { return new(fuzzBooking) },
	func() any { return new(fuzzEvent) },
	func() any { return new(fuzzUpdate) },
}

// checkRefusal fails unless err is the contract's 400 (or, where allowed, 413).
func checkRefusal(t *testing.T, err error, allow413 bool) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *httpapi.Error", err, err)
	}
	switch {
	case e.Status == http.StatusBadRequest && e.Code == "VALIDATION_ERROR":
	case allow413 && e.Status == http.StatusRequestEntityTooLarge && e.Code == "PAYLOAD_TOO_LARGE":
	default:
		t.Fatalf("refusal %d %s, want 400 VALIDATION_ERROR", e.Status, e.Code)
	}
	if e.Message == "" || !utf8.ValidString(e.Message) {
		t.Fatalf("refusal without a readable message: %q", e.Message)
	}
	if _, err := json.Marshal(e); err != nil {
		t.Fatalf("refusal cannot be written as JSON: %v", err)
	}
}

// FuzzDecode: DecodeBytes never panics; it refuses with a 400 *Error; what it accepts is one
// valid, UTF-8, shallow JSON object without unknown fields, and it round-trips (encoding the
// decoded value and decoding it again gives the same value). Decode over HTTP with a body cap
// agrees with DecodeBytes below the cap and answers 413 above it.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"eventId":"6f1c2f4e-1b7a-4c0e-9d7e-0a1b2c3d4e5f","seatIds":["FLOOR-A-1"],"paymentMethod":{"type":"card","token":"tok_visa"}}`,
		`{"name":"Zoë","venueId":"x","date":"2027-06-01T20:00:00+02:00","currency":"EUR","tags":["a"],"sections":[{"name":"Floor","priceMinor":100,"rows":[{"label":"A","seats":10}]}]}`,
		`{"name":null,"date":null,"tags":[],"enabled":false,"ratio":1e308}`,
		`{"eventId":"a","price":1}`,
		`{"EVENTID":"case"}`,
		`{"eventId":"a","eventId":"b"}`,
		`{"eventId":"\u0000"}`,
		`{"eventId":"\ud800"}`,
		"{\"eventId\":\"\xff\"}",
		`{"seatIds":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`,
		`{"eventId":"\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}`,
		`{"sections":[{"priceMinor":1e3}]}`,
		`{"sections":[{"priceMinor":99999999999999999999}]}`,
		`{"date":"2027-13-45T99:99:99Z"}`,
		`{"eventId":{"$gt":""}}`,
		`{} {}`,
		`{}garbage`,
		`[]`,
		`null`,
		"",
		"   ",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		for _, mk := range fuzzTargets {
			dst := mk()
			err := DecodeBytes(raw, dst)
			if err != nil {
				checkRefusal(t, err, false)
			} else {
				checkAccepted(t, raw, dst, mk)
			}

			// Over HTTP, with a cap of 64 bytes.
			const limit = 64
			req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(raw))
			req.Header.Set("Content-Type", "application/json")
			req.Body = http.MaxBytesReader(httptest.NewRecorder(), req.Body, limit)
			herr := Decode(req, mk())
			switch {
			case len(raw) > limit:
				if herr == nil {
					t.Fatalf("a %d-byte body passed a %d-byte cap", len(raw), limit)
				}
				checkRefusal(t, herr, true)
				var e *Error
				if errors.As(herr, &e) && e.Status != http.StatusRequestEntityTooLarge {
					t.Fatalf("a body over the cap answered %d, want 413", e.Status)
				}
			case (herr == nil) != (err == nil):
				t.Fatalf("Decode and DecodeBytes disagree on %q: %v vs %v", raw, herr, err)
			case herr != nil:
				checkRefusal(t, herr, false)
			}
		}
	})
}

func checkAccepted(t *testing.T, raw []byte, dst any, mk func() any) {
	t.Helper()
	if !utf8.Valid(raw) {
		t.Fatalf("accepted invalid UTF-8: %q", raw)
	}
	if !json.Valid(raw) {
		t.Fatalf("accepted invalid JSON: %q", raw)
	}
	if d := depth(raw); d > MaxDepth {
		t.Fatalf("accepted nesting %d > %d", d, MaxDepth)
	}
	if trimmed := bytes.TrimSpace(raw); len(trimmed) == 0 || trimmed[0] != '{' {
		t.Fatalf("accepted a body that is not an object: %q", raw)
	}
	// Strict decoding by the standard library agrees.
	strict := json.NewDecoder(bytes.NewReader(raw))
	strict.DisallowUnknownFields()
	if err := strict.Decode(mk()); err != nil {
		t.Fatalf("accepted %q that encoding/json refuses: %v", raw, err)
	}
	// Round trip.
	enc, err := json.Marshal(dst)
	if err != nil {
		t.Fatalf("accepted value cannot be encoded: %v", err)
	}
	again := mk()
	if err := DecodeBytes(enc, again); err != nil {
		t.Fatalf("re-encoded %s is refused: %v", enc, err)
	}
	enc2, err := json.Marshal(again)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(enc, enc2) {
		t.Fatalf("round trip changed the value:\n%s\n%s", enc, enc2)
	}
	if reflect.TypeOf(dst) != reflect.TypeOf(again) {
		t.Fatal("type changed")
	}
}
