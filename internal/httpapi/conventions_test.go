package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

type strictSample struct {
	EventID       string `json:"eventId"`
	PaymentMethod *struct {
		Type string `json:"type"`
	} `json:"paymentMethod"`
	SeatIDs []string `json:"seatIds"`
}

// Keys match field names exactly and appear once: encoding/json took {"EventId":...} as eventId
// and kept the last of two keys; json/v2 semantics refuse both, naming the field.
func TestDecodeIsCaseSensitiveAndRefusesDuplicateKeys(t *testing.T) {
	for _, c := range []struct{ body, want string }{
		{`{"EventId":"a"}`, "EventId: unknown field"},
		{`{"EVENTID":"a"}`, "EVENTID: unknown field"},
		{`{"eventId":"a","paymentMethod":{"Type":"card"}}`, "paymentMethod.Type: unknown field"},
		{`{"eventId":"a","eventId":"b"}`, "eventId: appears more than once"},
		{`{"paymentMethod":{"type":"card","type":"card"}}`, "paymentMethod.type: appears more than once"},
		{`{"seatIds":["A",1]}`, "seatIds[1]: must be a string"},
		{`{"paymentMethod":{"type":7}}`, "paymentMethod.type: must be a string"},
	} {
		var dst strictSample
		err := DecodeBytes([]byte(c.body), &dst)
		var e *Error
		if !errors.As(err, &e) || e.Status != http.StatusBadRequest || !strings.Contains(e.Message, c.want) {
			t.Errorf("%s: %v, want a 400 saying %q", c.body, err, c.want)
		}
	}
	var dst strictSample
	if err := DecodeBytes([]byte(`{"eventId":"a","paymentMethod":{"type":"card"},"seatIds":["A"]}`), &dst); err != nil ||
		dst.EventID != "a" || dst.PaymentMethod.Type != "card" {
		t.Fatalf("exact keys: %v %+v", err, dst)
	}
}

// nullable is a field with its own decoding, as request types use for "absent, null or a value".
type nullable struct{ set, null bool }

func (n *nullable) UnmarshalJSON(b []byte) error {
	n.set, n.null = true, string(b) == "null"
	if !n.null && b[0] != '"' {
		return FieldError("when", "must be a string or null")
	}
	return nil
}

// A field's own UnmarshalJSON still sees null, and its refusal reaches the client as it is.
func TestDecodeKeepsFieldsOwnDecoding(t *testing.T) {
	var dst struct {
		When nullable `json:"when"`
	}
	if err := DecodeBytes([]byte(`{"when":null}`), &dst); err != nil || !dst.When.set || !dst.When.null {
		t.Fatalf("null: %v %+v", err, dst)
	}
	err := DecodeBytes([]byte(`{"when":3}`), &dst)
	var e *Error
	if !errors.As(err, &e) || e.Message != "when: must be a string or null" {
		t.Fatalf("own refusal: %v", err)
	}
}

// Every 429 and 503 carries Retry-After, whichever writer wrote it; an error's own value wins.
func TestRetryAfterOnEvery429And503(t *testing.T) {
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	for name, write := range map[string]func(w http.ResponseWriter){
		"WriteError 503": func(w http.ResponseWriter) { WriteError(w, req, Unavailable("down")) },
		"WriteError 429": func(w http.ResponseWriter) { WriteError(w, req, RateLimited("slow down")) },
		"WriteJSON 503": func(w http.ResponseWriter) {
			WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "down"})
		},
		"WriteRaw 429": func(w http.ResponseWriter) { WriteRaw(w, http.StatusTooManyRequests, []byte(`{}`)) },
		"Handle 503": func(w http.ResponseWriter) {
			Handle(func(http.ResponseWriter, *http.Request) error { return Unavailable("x") })(w, req)
		},
		"Handle 429 of 30": func(w http.ResponseWriter) {
			Handle(func(http.ResponseWriter, *http.Request) error { return RateLimited("x").WithRetryAfter(30) })(w, req)
		},
	} {
		rec := httptest.NewRecorder()
		write(rec)
		want := "1"
		if strings.HasSuffix(name, "of 30") {
			want = "30"
		}
		if got := rec.Header().Get("Retry-After"); got != want {
			t.Errorf("%s: %d Retry-After %q, want %q", name, rec.Code, got, want)
		}
	}
	rec := httptest.NewRecorder()
	WriteJSON(rec, http.StatusOK, map[string]string{})
	if rec.Header().Get("Retry-After") != "" {
		t.Error("a 200 carries Retry-After")
	}
}

func TestCreatedCarriesLocation(t *testing.T) {
	rec := httptest.NewRecorder()
	Created(rec, "/api/venues/7", map[string]string{"id": "7"})
	var body map[string]string
	if rec.Code != http.StatusCreated || rec.Header().Get("Location") != "/api/venues/7" ||
		json.Unmarshal(rec.Body.Bytes(), &body) != nil || body["id"] != "7" {
		t.Fatalf("%d %v %s", rec.Code, rec.Header(), rec.Body)
	}
}
