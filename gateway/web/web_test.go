package web

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
)

func get(t *testing.T, method, target string) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	Handler().ServeHTTP(w, httptest.NewRequest(method, target, nil))
	return w
}

func TestServesThePageAndItsAssets(t *testing.T) {
	for _, tc := range []struct{ path, contentType, contains string }{
		{"/", "text/html", `data-testid="seat-map"`},
		{"/app.js", "javascript", "/api/bookings"},
		{"/style.css", "text/css", ".seat"},
	} {
		w := get(t, "GET", tc.path)
		if w.Code != 200 || !strings.Contains(w.Header().Get("Content-Type"), tc.contentType) ||
			!strings.Contains(w.Body.String(), tc.contains) {
			t.Errorf("GET %s = %d %q, body lacks %q", tc.path, w.Code, w.Header().Get("Content-Type"), tc.contains)
		}
		if w.Header().Get("Content-Security-Policy") == "" {
			t.Errorf("GET %s has no Content-Security-Policy", tc.path)
		}
	}
}

func TestUnknownPathsAndMethodsAreEnvelopes(t *testing.T) {
	for _, tc := range []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", "/nope.js", 404, "NOT_FOUND"},
		{"GET", "/../web.go", 404, "NOT_FOUND"},
		{"GET", "/static/index.html", 404, "NOT_FOUND"},
		{"POST", "/", 405, "METHOD_NOT_ALLOWED"},
	} {
		w := get(t, tc.method, tc.path)
		var env struct {
			Error struct{ Code, Message string }
		}
		if w.Code != tc.status || json.Unmarshal(w.Body.Bytes(), &env) != nil || env.Error.Code != tc.code {
			t.Errorf("%s %s = %d %s", tc.method, tc.path, w.Code, w.Body)
		}
	}
}

// The page shows money by the server's one currency list.
func TestCurrenciesComeFromTheServersList(t *testing.T) {
	w := get(t, "GET", "/currencies.json")
	var exps map[string]int
	if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &exps) != nil {
		t.Fatalf("GET /currencies.json = %d %s", w.Code, w.Body)
	}
	if exps["JPY"] != 0 || exps["EUR"] != 2 || exps["KWD"] != 3 || len(exps) < 150 {
		t.Fatalf("exponents: JPY %d, EUR %d, KWD %d, %d codes", exps["JPY"], exps["EUR"], exps["KWD"], len(exps))
	}
	if _, ok := exps["ZZZ"]; ok {
		t.Fatal("ZZZ is listed")
	}
	if js := get(t, "GET", "/app.js").Body.String(); !strings.Contains(js, "/currencies.json") {
		t.Fatal("the page does not read /currencies.json")
	}
}

// The page may connect to the room servers it follows a place at, and to no other origin.
func TestThePageMayCallTheRoomServersOnly(t *testing.T) {
	for _, c := range []struct {
		connect []string
		want    string
	}{
		{nil, "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"},
		{[]string{"https://queue.example.com"}, "default-src 'self'; connect-src 'self' https://queue.example.com; img-src 'self' data:; frame-ancestors 'none'"},
	} {
		w := httptest.NewRecorder()
		Handler(c.connect...).ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
		if got := w.Header().Get("Content-Security-Policy"); got != c.want {
			t.Errorf("connect %v: Content-Security-Policy %q, want %q", c.connect, got, c.want)
		}
	}
}
