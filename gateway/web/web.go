// Package web is TicketFlow's small browser frontend: plain HTML, CSS and JavaScript embedded in
// the gateway binary and served at "/". The page calls the REST API under /api on the same origin.
package web

import (
	"embed"
	"encoding/json"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"ticketflow/internal/httpapi"
	"ticketflow/internal/money"
	"ticketflow/internal/router"
)

//go:embed static
var static embed.FS

// files is the static folder as the root of the site.
var files = func() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err)
	}
	return sub
}()

// currencies is /currencies.json: every currency's ISO 4217 exponent, from package money, so the
// page shows amounts in minor units with the decimals every other place uses.
var currencies = func() []byte {
	raw, err := json.Marshal(money.Exponents())
	if err != nil {
		panic(err)
	}
	return raw
}()

// Handler serves index.html for "/", /currencies.json, and the assets beside them by name. Anything else is the
// contract's 404 envelope; a method other than GET or HEAD is a 405. connect are the origins other
// than its own that the page may call (the room servers', where it follows a place in a line);
// its Content-Security-Policy allows those and no other.
func Handler(connect ...string) http.Handler {
	csp := "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"
	if len(connect) > 0 {
		csp = "default-src 'self'; connect-src 'self' " + strings.Join(connect, " ") + "; img-src 'self' data:; frame-ancestors 'none'"
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			router.MethodNotAllowed(w, r)
			return
		}
		name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
		if name == "" {
			name = "index.html"
		}
		h := w.Header()
		if name == "currencies.json" {
			h.Set("Cache-Control", "max-age=3600")
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("Content-Security-Policy", "default-src 'none'")
			httpapi.WriteRaw(w, http.StatusOK, currencies)
			return
		}
		if info, err := fs.Stat(files, name); err != nil || info.IsDir() {
			httpapi.WriteError(w, r, httpapi.NotFound("route"))
			return
		}
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", csp)
		http.ServeFileFS(w, r, files, name)
	})
}
