package httpapi

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

type sample struct {
	Name  string   `json:"name"`
	Count int      `json:"count"`
	Tags  []string `json:"tags"`
}

func TestDecodeRefusesWithA400NamingTheProblem(t *testing.T) {
	cases := []struct {
		name, contentType, body, wantCode, wantIn string
	}{
		{"unknown field", "application/json", `{"name":"a","price":1}`, "VALIDATION_ERROR", "price"},
		{"wrong type", "application/json", `{"count":"three"}`, "VALIDATION_ERROR", "count"},
		{"malformed", "application/json", `{"name":`, "VALIDATION_ERROR", "malformed"},
		{"two values", "application/json", `{"name":"a"}{"name":"b"}`, "VALIDATION_ERROR", "exactly one"},
		{"empty", "application/json", ``, "VALIDATION_ERROR", "empty"},
		{"not an object", "application/json", `[1,2]`, "VALIDATION_ERROR", "object"},
		{"invalid utf-8", "application/json", "{\"name\":\"\xff\xfe\"}", "VALIDATION_ERROR", "UTF-8"},
		{"nul escape", "application/json", `{"name":"a\u0000b"}`, "VALIDATION_ERROR", "NUL"},
		{"too deep", "application/json", `{"tags":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`, "VALIDATION_ERROR", "nested"},
		{"form content type", "application/x-www-form-urlencoded", `name=a`, "VALIDATION_ERROR", "Content-Type"},
		{"no content type", "", `{"name":"a"}`, "VALIDATION_ERROR", "Content-Type"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(c.body))
			if c.contentType != "" {
				r.Header.Set("Content-Type", c.contentType)
			}
			var dst sample
			err := Decode(r, &dst)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if e.Status != http.StatusBadRequest || e.Code != c.wantCode || !strings.Contains(e.Message, c.wantIn) {
				t.Fatalf("got %d %s %q, want 400 %s mentioning %q", e.Status, e.Code, e.Message, c.wantCode, c.wantIn)
			}
		})
	}
}

func TestDecodeAcceptsAStrictBody(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"name":"Zoë","count":3,"tags":["a"]}`))
	r.Header.Set("Content-Type", "application/json; charset=utf-8")
	var dst sample
	if err := Decode(r, &dst); err != nil {
		t.Fatal(err)
	}
	if dst.Name != "Zoë" || dst.Count != 3 || len(dst.Tags) != 1 {
		t.Fatalf("decoded %+v", dst)
	}
}

func TestOversizedBodyIs413(t *testing.T) {
	mux := http.NewServeMux()
	h := RequestIDs(Recover(LimitBody(16)(mux)))
	mux.Handle("POST /", Handle(func(w http.ResponseWriter, r *http.Request) error {
		var dst sample
		return Decode(r, &dst)
	}))
	for _, chunked := range []bool{false, true} {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"name":"`+strings.Repeat("a", 100)+`"}`))
		req.Header.Set("Content-Type", "application/json")
		if chunked {
			req.ContentLength = -1
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusRequestEntityTooLarge || !strings.Contains(rec.Body.String(), `"PAYLOAD_TOO_LARGE"`) {
			t.Fatalf("chunked=%v: %d %s", chunked, rec.Code, rec.Body)
		}
	}
}

func TestErrorsHaveTheContractShapeAndHideInternals(t *testing.T) {
	mux := http.NewServeMux()
	h := RequestIDs(Recover(LimitBody(1 << 10)(mux)))
	mux.Handle("GET /boom", Handle(func(w http.ResponseWriter, r *http.Request) error {
		return errors.New(`pq: relation "secret_table" does not exist`)
	}))
	mux.HandleFunc("GET /panic", func(w http.ResponseWriter, r *http.Request) { panic("kaboom at secret.go:42") })
	for _, path := range []string{"/boom", "/panic"} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set(HeaderRequestID, "req-123")
		h.ServeHTTP(rec, req)
		body := rec.Body.String()
		if rec.Code != 500 || body != `{"error":{"code":"INTERNAL","message":"internal error","requestId":"req-123"}}`+"\n" {
			t.Fatalf("%s: %d %s", path, rec.Code, body)
		}
	}
}

func TestHealthIsDownWhenAStoreIsUnreachable(t *testing.T) {
	up := Check{Name: "redis", Ping: func(context.Context) error { return nil }}
	down := Check{Name: "postgres", Ping: func(context.Context) error { return errors.New("connection refused") }}
	rec := httptest.NewRecorder()
	Health("inventory", up, down)(rec, httptest.NewRequest(http.MethodGet, "/health", nil))
	want := `{"checks":{"postgres":"down"},"service":"inventory","status":"down"}` + "\n"
	if rec.Code != http.StatusServiceUnavailable || rec.Body.String() != want {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	Health("inventory", up)(rec, httptest.NewRequest(http.MethodGet, "/health", nil))
	if rec.Code != http.StatusOK || rec.Body.String() != `{"service":"inventory","status":"up"}`+"\n" {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}
