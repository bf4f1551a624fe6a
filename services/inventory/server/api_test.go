package server

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// cachedServer serves one body as the seat-map routes do, with its gzip bytes built once.
func cachedServer(body []byte, etag string) http.Handler {
	gz := gzipBytes(body)
	return compressed(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		serveCached(w, r, etag, "no-cache", body, func() []byte { return gz })
	}))
}

func get(h http.Handler, headers ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", "/api/inventory/events/x/seats", nil)
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// Accept-Encoding is read by its q-values (RFC 9110 section 12.5.3): q=0, in any spelling, refuses
// gzip. The gzip and identity bodies are two representations with two strong ETags (section
// 8.8.3.3), and If-None-Match answers 304 for the one the request would get.
func TestSeatMapsNegotiateGzipByQValueAndTagEachEncoding(t *testing.T) {
	body := []byte(strings.Repeat(`{"id":"FLOOR-A-1","status":"AVAILABLE"},`, 200))
	h := cachedServer(body, `"42.0"`)
	for ae, wantGzip := range map[string]bool{
		"":                         false,
		"gzip":                     true,
		"GZIP":                     true,
		"gzip, br":                 true,
		"br;q=1, gzip;q=0.5":       true,
		"gzip;q=0":                 false,
		"gzip; q=0":                false,
		"gzip;q=0.000":             false,
		"gzip;Q=0":                 false,
		"identity, gzip;q=0":       false,
		"br":                       false,
		"deflate, gzip;q=0.0, br":  false,
		"gzip;q=0.001":             true,
		"x-gzip;q=1, gzip;q=0.000": false,
	} {
		w := get(h, "Accept-Encoding", ae)
		gzipped := w.Header().Get("Content-Encoding") == "gzip"
		if w.Code != 200 || gzipped != wantGzip || !strings.Contains(w.Header().Get("Vary"), "Accept-Encoding") {
			t.Errorf("Accept-Encoding %q: %d, Content-Encoding %q, Vary %q; want gzip %v", ae, w.Code,
				w.Header().Get("Content-Encoding"), w.Header().Get("Vary"), wantGzip)
			continue
		}
		got := w.Body.Bytes()
		if gzipped {
			zr, err := gzip.NewReader(bytes.NewReader(got))
			if err != nil {
				t.Fatal(err)
			}
			got, _ = io.ReadAll(zr)
		}
		if !bytes.Equal(got, body) {
			t.Errorf("Accept-Encoding %q: the body is not the map", ae)
		}
		if want := map[bool]string{false: `"42.0"`, true: `"42.0-gzip"`}[wantGzip]; w.Header().Get("ETag") != want {
			t.Errorf("Accept-Encoding %q: ETag %s, want %s", ae, w.Header().Get("ETag"), want)
		}
	}

	for _, c := range []struct {
		ae, inm string
		want    int
		etag    string
	}{
		{"gzip", `"42.0-gzip"`, 304, `"42.0-gzip"`},
		{"", `"42.0"`, 304, `"42.0"`},
		{"gzip;q=0", `"42.0"`, 304, `"42.0"`},
		{"gzip", `"41.0-gzip", "42.0-gzip"`, 304, `"42.0-gzip"`},
		{"gzip", `W/"42.0-gzip"`, 304, `"42.0-gzip"`}, // If-None-Match compares weakly
		{"gzip", `*`, 304, `"42.0-gzip"`},
		{"gzip", `"42.0"`, 200, `"42.0-gzip"`}, // holds the identity body, would get gzip
		{"", `"42.0-gzip"`, 200, `"42.0"`},     // holds the gzip body, would get identity
		{"gzip", `"41.0-gzip"`, 200, `"42.0-gzip"`},
	} {
		w := get(h, "Accept-Encoding", c.ae, "If-None-Match", c.inm)
		if w.Code != c.want || w.Header().Get("ETag") != c.etag {
			t.Errorf("Accept-Encoding %q, If-None-Match %s: %d ETag %s, want %d ETag %s", c.ae, c.inm, w.Code,
				w.Header().Get("ETag"), c.want, c.etag)
		}
		if c.want == 304 && w.Body.Len() != 0 {
			t.Errorf("Accept-Encoding %q, If-None-Match %s: a 304 with a body", c.ae, c.inm)
		}
	}
}

// A handler that writes plain bytes to a client that accepts gzip has them compressed by gzhttp,
// with the same ETag as the seat maps' own gzip bodies.
func TestBodiesCompressedByTheMiddlewareAreTaggedAlike(t *testing.T) {
	body := []byte(strings.Repeat("x", 4096))
	h := compressed(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"7.0"`)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	w := get(h, "Accept-Encoding", "gzip")
	if w.Header().Get("Content-Encoding") != "gzip" || w.Header().Get("ETag") != gzipETag(`"7.0"`) {
		t.Fatalf("Content-Encoding %q ETag %s", w.Header().Get("Content-Encoding"), w.Header().Get("ETag"))
	}
}
