package server

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"ticketflow/internal/httpapi"
)

type api struct {
	store *store
}

func (a *api) routes(r chi.Router, secret []byte) {
	r.With(httpapi.Authenticate(secret)).Get("/api/notifications/my", httpapi.Handle(a.mine))
}

// mine is GET /api/notifications/my: the caller's notifications, newest first. The user comes
// from the verified token only, never from the query (the original returned everyone's).
func (a *api) mine(w http.ResponseWriter, r *http.Request) error {
	who, ok := httpapi.Identity(r.Context())
	if !ok {
		return httpapi.Unauthorized("a Bearer token is required")
	}
	page, limit, err := httpapi.Page(r)
	if err != nil {
		return err
	}
	list, err := a.store.forUser(r.Context(), who.UserID, page, limit)
	if err != nil {
		return err
	}
	out := make([]View, 0, len(list))
	for i := range list {
		out = append(out, list[i].view())
	}
	httpapi.WriteJSON(w, http.StatusOK, out)
	return nil
}
