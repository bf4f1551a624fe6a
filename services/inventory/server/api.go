package server

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/klauspost/compress/gzhttp"

	"ticketflow/internal/httpapi"
	"ticketflow/internal/ids"
	"ticketflow/internal/money"
	"ticketflow/internal/seatplan"
	"ticketflow/services/inventory"
)

// api is the inventory's HTTP surface: the public seat map, and the internal operations of the
// saga and of the event service.
type api struct {
	store *store
	maps  *seatMaps
	hub   *hub
}

func (a *api) routes(r chi.Router, internalToken string) {
	r.Get("/api/inventory/events/{eventId}/seats", compressed(httpapi.Handle(a.getSeatMap)))
	r.Get("/api/inventory/events/{eventId}/seats/status", compressed(httpapi.Handle(a.getStatus)))
	r.Get("/api/inventory/events/{eventId}/seats/layout", compressed(httpapi.Handle(a.getLayout)))
	r.Get("/api/inventory/events/{eventId}/seats/stream", httpapi.Handle(a.stream))
	r.Route("/internal", func(r chi.Router) {
		r.Use(httpapi.InternalOnly(internalToken))
		r.Post("/events/{eventId}/seats", httpapi.Handle(a.createSeats))
		r.Post("/events/{eventId}/quote", httpapi.Handle(a.quote))
		r.Get("/events/{eventId}/availability", httpapi.Handle(a.availability))
		r.Post("/bookings/{bookingId}/hold", httpapi.Handle(a.hold))
		r.Post("/bookings/{bookingId}/confirm", httpapi.Handle(a.confirm))
		r.Post("/bookings/{bookingId}/release", httpapi.Handle(a.release))
	})
}

func eventParam(r *http.Request) (string, error) {
	id := chi.URLParam(r, "eventId")
	if !ids.IsUUID(id) {
		return "", httpapi.NotFound("event")
	}
	return id, nil
}

// seatMap is the seat map of the event in the path, as it is now.
func (a *api) seatMap(r *http.Request) (*snapshot, error) {
	eventID, err := eventParam(r)
	if err != nil {
		return nil, err
	}
	m, err := a.maps.get(r.Context(), eventID)
	if errors.Is(err, inventory.ErrNoSeatPlan) {
		return nil, httpapi.NotFound("event")
	}
	return m, err
}

// getSeatMap is the contract's full seat map. Like the status snapshot it carries a strong ETag
// (its version) and is compressed when the client accepts gzip.
func (a *api) getSeatMap(w http.ResponseWriter, r *http.Request) error {
	m, err := a.seatMap(r)
	if err != nil {
		return err
	}
	serveCached(w, r, m.ETag(), "no-cache", m.full, func() []byte { full, _ := m.gzipped(); return full })
	return nil
}

// getStatus is the compact status snapshot (see StatusSnapshot).
func (a *api) getStatus(w http.ResponseWriter, r *http.Request) error {
	m, err := a.seatMap(r)
	if err != nil {
		return err
	}
	serveCached(w, r, m.ETag(), "no-cache", m.status, func() []byte { _, st := m.gzipped(); return st })
	return nil
}

// getLayout is the event's seat plan in status-index order; it never changes.
func (a *api) getLayout(w http.ResponseWriter, r *http.Request) error {
	eventID, err := eventParam(r)
	if err != nil {
		return err
	}
	l, err := a.maps.layout(r.Context(), eventID)
	if errors.Is(err, inventory.ErrNoSeatPlan) {
		return httpapi.NotFound("event")
	}
	if err != nil {
		return err
	}
	serveCached(w, r, l.etag, "public, max-age=86400", l.body, func() []byte { return l.gz })
	return nil
}

// compressed negotiates the seat maps' content coding (gzhttp: Accept-Encoding read by its q-values,
// so "gzip;q=0" in any spelling refuses gzip; Vary: Accept-Encoding on every answer). A seat map's
// gzip bytes are built once per version (seatmap.go) and sent by serveCached; were a handler to
// write plain bytes to a client that accepts gzip, gzhttp would compress them itself, tagging the
// ETag the same way (gzipETag).
var compressed = func() func(http.Handler) http.HandlerFunc {
	wrap, err := gzhttp.NewWrapper(gzhttp.EnableZstd(false), gzhttp.SuffixETag(gzipSuffix))
	if err != nil {
		panic(err) // the options are constants
	}
	return wrap
}()

// gzipSuffix marks the ETag of a gzip body: a strong ETag names one representation, and the
// gzip and identity bodies are two (RFC 9110 section 8.8.3.3).
const gzipSuffix = "-gzip"

// gzipETag is the ETag of the gzip representation of the body tagged etag ("42.0" → "42.0-gzip").
func gzipETag(etag string) string {
	if i := strings.LastIndexByte(etag, '"'); i > 0 {
		return etag[:i] + gzipSuffix + etag[i:]
	}
	return etag + gzipSuffix
}

// gzipNegotiated reports whether gzhttp chose gzip for this answer: it hands the handler its own
// GzipResponseWriter only then (zstd is off). The handler then sends the gzip bytes built once per
// version itself — with Content-Encoding set, gzhttp passes them through — instead of gzhttp
// compressing the same map again for every reader.
func gzipNegotiated(w http.ResponseWriter) bool {
	switch w.(type) {
	case *gzhttp.GzipResponseWriter, gzhttp.GzipResponseWriterWithCloseNotify:
		return true
	}
	return false
}

// serveCached answers with a cached JSON body in the negotiated coding, under that representation's
// strong ETag. The standard library's ServeContent answers the conditions (If-None-Match → 304, by
// the representation's own ETag), HEAD and Content-Length.
func serveCached(w http.ResponseWriter, r *http.Request, etag, cacheControl string, body []byte, gz func() []byte) {
	h := w.Header()
	h.Set("Cache-Control", cacheControl)
	h.Set("Content-Type", "application/json")
	if gzipNegotiated(w) {
		body, etag = gz(), gzipETag(etag)
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("ETag", etag)
	// Whole snapshots only: the API offers no byte ranges (a Range header is ignored, and
	// ServeContent's Accept-Ranges is not sent).
	r = r.Clone(r.Context())
	r.Header.Del("Range")
	r.Header.Del("If-Range")
	http.ServeContent(noRanges{w}, r, "", time.Time{}, bytes.NewReader(body))
}

// noRanges drops the Accept-Ranges header http.ServeContent sets.
type noRanges struct{ http.ResponseWriter }

func (n noRanges) WriteHeader(code int) {
	n.Header().Del("Accept-Ranges")
	n.ResponseWriter.WriteHeader(code)
}

func (n noRanges) Write(b []byte) (int, error) {
	n.Header().Del("Accept-Ranges") // a first Write sends the headers
	return n.ResponseWriter.Write(b)
}

// Unwrap lets gzhttp and http.ResponseController reach the writer beneath.
func (n noRanges) Unwrap() http.ResponseWriter { return n.ResponseWriter }

// availability is GET /internal/events/{eventId}/availability (Client.Availability).
func (a *api) availability(w http.ResponseWriter, r *http.Request) error {
	m, err := a.seatMap(r)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, m.summary)
	return nil
}

// createSeats is POST /internal/events/{eventId}/seats (Client.LoadSeats).
func (a *api) createSeats(w http.ResponseWriter, r *http.Request) error {
	eventID, err := eventParam(r)
	if err != nil {
		return err
	}
	var req inventory.SeatPlan
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	if !money.Known(req.Currency) {
		return httpapi.FieldError("currency", "must be an ISO-4217 code")
	}
	seats, err := seatplan.Expand(req.Sections)
	if err != nil {
		return err
	}
	count, created, err := a.store.createSeats(r.Context(), eventID, req.Currency, seats)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		w.Header().Set("Location", "/api/inventory/events/"+eventID+"/seats")
	}
	httpapi.WriteJSON(w, status, inventory.SeatsLoaded{EventID: eventID, SeatCount: count, Created: created})
	return nil
}

// checkSeats refuses a request that does not name an event and what one booking may ask for
// (seatplan.CheckBooking), and puts its quantities in their one form.
func checkSeats(q *inventory.SeatsRequest) error {
	if !ids.IsUUID(q.EventID) {
		return httpapi.FieldError("eventId", "must be an event id")
	}
	var err error
	q.Quantities, err = seatplan.CheckBooking(q.SeatIDs, q.Quantities)
	return err
}

func (a *api) quote(w http.ResponseWriter, r *http.Request) error {
	eventID, err := eventParam(r)
	if err != nil {
		return err
	}
	var req inventory.QuoteRequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	if req.Quantities, err = seatplan.CheckBooking(req.SeatIDs, req.Quantities); err != nil {
		return err
	}
	q, err := a.store.quote(r.Context(), eventID, req)
	if err != nil {
		return seatsAPIError(err)
	}
	httpapi.WriteJSON(w, http.StatusOK, q)
	return nil
}

// seatsAPIError maps the store's business errors to the contract's answers; Client maps them
// back (see errorOf).
func seatsAPIError(err error) error {
	var se *inventory.SeatsError
	var bl *inventory.BuyerLimitError
	switch {
	case errors.Is(err, inventory.ErrNoSeatPlan):
		return httpapi.NotFound("event")
	case errors.As(err, &se) && errors.Is(err, inventory.ErrUnknownSeat):
		details := map[string]any{"unknownSeatIds": orEmpty(se.SeatIDs)}
		what := "seat"
		if len(se.Sections) > 0 {
			details["unknownSections"] = se.Sections
			if len(se.SeatIDs) == 0 {
				what = "section"
			}
		}
		return httpapi.NotFound(what).WithDetails(details)
	case errors.As(err, &se) && errors.Is(err, inventory.ErrUnavailable):
		details := map[string]any{"unavailableSeatIds": orEmpty(se.SeatIDs)}
		if len(se.Sections) > 0 {
			details["unavailableSections"] = se.Sections
		}
		return httpapi.Conflict(inventory.CodeSeatsUnavailable, "some seats are not available").WithDetails(details)
	case errors.Is(err, inventory.ErrHoldLost):
		return httpapi.Conflict(inventory.CodeHoldLost, "the booking no longer holds all of its seats")
	case errors.Is(err, inventory.ErrBookingReleased):
		return httpapi.Conflict(inventory.CodeBookingReleased, "the booking's seats were released; it cannot hold seats again")
	case errors.As(err, &bl):
		return httpapi.Conflict(inventory.CodeBuyerLimit, bl.Error()).WithDetails(map[string]any{"limit": bl.Limit, "live": bl.Live})
	}
	return err
}

func bookingParam(r *http.Request) (string, error) {
	id := chi.URLParam(r, "bookingId")
	if !ids.IsUUID(id) {
		return "", httpapi.NotFound("booking")
	}
	return id, nil
}

func (a *api) hold(w http.ResponseWriter, r *http.Request) error {
	bookingID, err := bookingParam(r)
	if err != nil {
		return err
	}
	var req inventory.HoldRequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	req.BookingID = bookingID
	places := inventory.SeatsRequest{EventID: req.EventID, SeatIDs: req.SeatIDs, Quantities: req.Quantities}
	if err := checkSeats(&places); err != nil {
		return err
	}
	req.Quantities = places.Quantities
	if req.HoldUntil.IsZero() {
		return httpapi.FieldError("holdUntil", "is required")
	}
	if req.MaxSeatsPerBuyer < 0 || len(req.BuyerID) > 64 {
		return httpapi.FieldError("maxSeatsPerBuyer", "must be 0 (no limit) or more, with a buyerId of at most 64 bytes")
	}
	if err := a.store.hold(r.Context(), req); err != nil {
		return seatsAPIError(err)
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"bookingId": bookingID, "eventId": req.EventID,
		"seatIds": orEmpty(req.SeatIDs), "quantities": req.Quantities, "holdUntil": req.HoldUntil.UTC()})
	return nil
}

func (a *api) confirm(w http.ResponseWriter, r *http.Request) error {
	bookingID, req, err := a.seatsBody(r)
	if err != nil {
		return err
	}
	if err := a.store.confirm(r.Context(), bookingID, req); err != nil {
		return seatsAPIError(err)
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"bookingId": bookingID,
		"confirmed": len(req.SeatIDs) + seatplan.Places(req.Quantities)})
	return nil
}

func (a *api) release(w http.ResponseWriter, r *http.Request) error {
	bookingID, req, err := a.seatsBody(r)
	if err != nil {
		return err
	}
	n, err := a.store.release(r.Context(), req.EventID, bookingID, req.SeatIDs)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"bookingId": bookingID, "released": n})
	return nil
}

func (a *api) seatsBody(r *http.Request) (string, inventory.SeatsRequest, error) {
	bookingID, err := bookingParam(r)
	if err != nil {
		return "", inventory.SeatsRequest{}, err
	}
	var req inventory.SeatsRequest
	if err := httpapi.Decode(r, &req); err != nil {
		return "", req, err
	}
	return bookingID, req, checkSeats(&req)
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
