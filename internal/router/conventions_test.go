package router

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"ticketflow/internal/httpapi"
)

func conventionRouter() chi.Router {
	r := NewRouter(1 << 10)
	ok := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"1"`)
		httpapi.WriteJSON(w, http.StatusOK, map[string]string{"method": r.Method})
	}
	r.Get("/things/{id}", ok)
	r.Post("/things/{id}", ok)
	r.Post("/only-post", ok)
	r.Route("/sub", func(r chi.Router) {
		r.Put("/{id}", ok)
	})
	return r
}

// Every 405 names the path's methods in Allow, HEAD with GET, from routes at any depth.
func TestMethodNotAllowedCarriesAllow(t *testing.T) {
	h := conventionRouter()
	for _, c := range []struct{ method, path, allow string }{
		{http.MethodDelete, "/things/7", "GET, HEAD, POST"},
		{http.MethodPut, "/things/7", "GET, HEAD, POST"},
		{http.MethodGet, "/only-post", "POST"},
		{http.MethodHead, "/only-post", "POST"},
		{http.MethodGet, "/sub/7", "PUT"},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(c.method, c.path, nil))
		if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != c.allow {
			t.Errorf("%s %s: %d Allow %q, want 405 Allow %q", c.method, c.path, rec.Code, rec.Header().Get("Allow"), c.allow)
		}
		if c.method != http.MethodHead && !strings.Contains(rec.Body.String(), `"code":"METHOD_NOT_ALLOWED"`) {
			t.Errorf("%s %s: body %s", c.method, c.path, rec.Body)
		}
	}
}

// HEAD is answered by every GET route: the GET's status and headers, no body.
func TestHeadIsAnsweredByEveryGet(t *testing.T) {
	srv := httptest.NewServer(conventionRouter())
	defer srv.Close()
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		req, _ := http.NewRequest(method, srv.URL+"/things/7", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 64)
		n, _ := resp.Body.Read(buf)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("ETag") != `"1"` || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: %d %v", method, resp.StatusCode, resp.Header)
		}
		if method == http.MethodHead && n != 0 {
			t.Errorf("HEAD answered a body: %q", buf[:n])
		}
		if method == http.MethodGet && !strings.Contains(string(buf[:n]), `"method":"GET"`) {
			t.Errorf("GET body %q", buf[:n])
		}
	}
}

// A path no route matches is a 404 in the contract's shape, with a request id.
func TestAnUnknownRouteIsA404InTheContractShape(t *testing.T) {
	rec := httptest.NewRecorder()
	conventionRouter().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/nowhere", nil))
	if rec.Code != 404 || !strings.Contains(rec.Body.String(), `"code":"NOT_FOUND"`) || rec.Header().Get(httpapi.HeaderRequestID) == "" {
		t.Fatalf("404: %d %s", rec.Code, rec.Body)
	}
}
