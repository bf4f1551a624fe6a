// Package gateway is TicketFlow's front door (:3000): it verifies tokens, strips client-sent
// identity headers, rate-limits per client across every gateway replica, caps bodies, answers
// CORS, and proxies /api/* to the services with the client's address vouched for.
package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/cors"

	"ticketflow/gateway/waitingroom"
	"ticketflow/gateway/web"
	"ticketflow/internal/admission"
	"ticketflow/internal/auth"
	"ticketflow/internal/config"
	"ticketflow/internal/httpapi"
	"ticketflow/internal/ratelimit"
	"ticketflow/internal/router"
	"ticketflow/openapi"
	"ticketflow/services/event"
	"ticketflow/services/inventory"
)

// Gateway is the gateway's state: its configuration, the proxies to each service, the limiter.
type Gateway struct {
	cfg          *config.Config
	secret       []byte
	proxies      map[string]*httputil.ReverseProxy
	limiter      *ratelimit.Shared
	readLimiter  *ratelimit.Shared
	healthClient *http.Client
	room         *waitingroom.Room
	roomRedis    *redis.Client
}

// routes map a path prefix under /api to the service that owns it; claimed, below, the paths of
// one service under another's prefix.
var routes = []struct{ prefix, service string }{
	{"/api/users", config.User},
	{"/api/venues", config.Event},
	{"/api/events", config.Event},
	{"/api/inventory", config.Inventory},
	{"/api/bookings", config.Booking},
	{"/api/payments", config.Payment},
	{"/api/notifications", config.Notification},
	{"/api/tickets", config.Ticket},
	{"/api/checkins", config.Ticket},
}

// claimed are the routes a service serves under the prefix of another (chi patterns): they are
// routed as they are, and chi prefers them to the owner's prefix/* route.
var claimed = []struct{ pattern, service string }{
	{"/api/bookings/{id}/tickets", config.Ticket},
	{"/api/events/{id}/revocations", config.Ticket},
}

// New returns a gateway for cfg that keeps its rate limits in rdb (nil: in this process only).
// Its waiting rooms keep their lines in the Redis at cfg.RedisAddr, through a client of their own.
func New(cfg *config.Config, rdb *redis.Client) (*Gateway, error) {
	return newEdge(cfg, rdb, config.Gateway)
}

// newEdge is New for process (the gateway, or a room server, whose logs say so).
func newEdge(cfg *config.Config, rdb *redis.Client, process string) (*Gateway, error) {
	log := slog.Default().With("process", process)
	g := &Gateway{cfg: cfg, secret: []byte(cfg.JWTSecret), proxies: map[string]*httputil.ReverseProxy{},
		limiter:      ratelimit.NewShared(rdb, "gateway:api", cfg.RateLimit, cfg.RateWindow, log),
		readLimiter:  ratelimit.NewShared(rdb, "gateway:read", cfg.RateLimit*readAllowance, cfg.RateWindow, log),
		healthClient: &http.Client{Timeout: 3 * time.Second},
		roomRedis:    waitingroom.NewRedisClient(cfg.RedisAddr)}
	token := auth.InternalToken(g.secret)
	g.room = waitingroom.New(cfg, g.roomRedis, event.NewClient(cfg.Endpoints[config.Event], token, 3*time.Second),
		inventory.NewClient(cfg.Endpoints[config.Inventory], token, 3*time.Second), log)
	transport := httpapi.TracedTransport(&http.Transport{
		Proxy: nil,
		// The client's Accept-Encoding goes to the service as it is: a transport that asked for
		// gzip on its own would hand a client that did not ask the decoded body under the gzip
		// body's ETag.
		DisableCompression:  true,
		DialContext:         (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 512,
		IdleConnTimeout:     90 * time.Second,
	})
	for _, name := range config.Services {
		targets, err := parseTargets(cfg.Endpoints[name])
		if err != nil {
			return nil, err
		}
		name := name
		bal := &balancer{targets: targets, next: transport}
		g.proxies[name] = &httputil.ReverseProxy{
			Rewrite: func(pr *httputil.ProxyRequest) {
				pr.SetURL(targets[0]) // the balancer picks the replica
				pr.SetXForwarded()    // X-Forwarded-For is the socket peer only: inbound values are dropped
				// The trace context and baggage the services get are the gateway's own (its
				// transport adds them), never the client's.
				for _, h := range []string{"Traceparent", "Tracestate", "Baggage"} {
					pr.Out.Header.Del(h)
				}
				// The client's address, vouched for: what the user service's login throttle counts.
				httpapi.SetClientIP(pr.Out.Header, g.secret, clientFrom(pr.In.Context()))
				if name == config.Booking && pr.In.Method == http.MethodPost && pr.In.URL.Path == "/api/bookings" &&
					pr.In.Header.Get(admission.Header) != "" {
					stampDecision(pr) // an admitted buyer's booking: admittedBooking counts its decision
				}
			},
			Transport:     bal,
			FlushInterval: -1,
			// The gateway already answers with the request's X-Request-Id; the service echoes the
			// same id, which would otherwise appear twice.
			ModifyResponse: func(resp *http.Response) error {
				resp.Header.Del(httpapi.HeaderRequestID)
				if name == config.Booking {
					g.admittedBooking(resp.Request, resp.StatusCode)
				}
				return nil
			},
			ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
				if r.Context().Err() != nil {
					// The client went away: nobody reads an answer, the service did not fail, and a
					// decision it hung up on is not a failed one (or one buyer hanging up on their own
					// bookings would slow everyone's admission).
					httpapi.WriteError(w, r, httpapi.Unavailable("the request was cancelled"))
					return
				}
				if name == config.Booking {
					g.admittedBooking(r, 0) // no answer
				}
				var tooBig *http.MaxBytesError
				if errors.As(err, &tooBig) {
					httpapi.WriteError(w, r, httpapi.TooLarge("request body is too large"))
					return
				}
				slog.WarnContext(r.Context(), "upstream unreachable", "service", name, "err", err)
				httpapi.WriteError(w, r, httpapi.Unavailable(name+" service is unavailable"))
			},
		}
	}
	return g, nil
}

// Routes is the gateway's whole routing table. Each service's prefix is a route of its own, so
// the metrics and spans of the gateway say which service a request went to.
func (g *Gateway) Routes() http.Handler {
	r := router.NewEdgeRouter(g.cfg.MaxBodyBytes)
	r.Use(g.cors)
	r.Get("/health", httpapi.Health(config.Gateway))
	r.Get("/health/all", g.healthAll)
	r.Get("/api/openapi.json", g.clientAddr(g.rateLimit(http.HandlerFunc(serveOpenAPI))).ServeHTTP)
	api := func(service string) http.Handler {
		return g.clientAddr(g.rateLimit(g.ownPaths(g.identity(g.proxyTo(service)))))
	}
	for _, rt := range routes {
		h := api(rt.service)
		r.Handle(rt.prefix, h)
		r.Handle(rt.prefix+"/*", h)
	}
	for _, rt := range claimed {
		r.Handle(rt.pattern, api(rt.service))
	}
	// The waiting rooms' queues are the gateway's own (the line is in Redis, shared by every
	// replica), under the event's path; every other /api/events route goes to the event service.
	g.room.Routes(r, func(h http.Handler) http.Handler { return g.clientAddr(g.rateLimit(g.identity(h))) })
	r.Handle("/api/*", api("")) // no service: 404 in the contract's shape, after the same checks
	r.Handle("/*", web.Handler(g.followOrigins()...))
	return r
}

// Run serves the gateway until ctx ends: the public port, and the admin port with the metrics and
// the profiler (for internal callers). It moves the waiting rooms' lines.
func Run(ctx context.Context, cfg *config.Config) error {
	return serve(ctx, cfg, config.Gateway, cfg.GatewayAdminAddr(), (*Gateway).Routes, (*waitingroom.Room).Run)
}

// serve runs an edge process, the gateway or a room server, until ctx ends: routes on its public
// port, its admin port, and lines (what it does with the waiting rooms' lines in the background).
func serve(ctx context.Context, cfg *config.Config, process, adminAddr string, routes func(*Gateway) http.Handler,
	lines func(*waitingroom.Room, context.Context)) error {
	rdb := ratelimit.NewRedisClient(cfg.RedisAddr)
	defer rdb.Close()
	g, err := newEdge(cfg, rdb, process)
	if err != nil {
		return err
	}
	defer g.roomRedis.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go lines(g.room, ctx)
	admin := make(chan error, 1)
	// The profiler is on the admin port only, never on the public one.
	adminRoutes := router.NewAdminRouter(process, auth.InternalToken(g.secret))
	go func() {
		admin <- httpapi.Serve(ctx, adminAddr, adminRoutes, cfg.ShutdownTimeout)
		cancel() // the admin port is part of the process: without it, stop (and be restarted)
	}()
	err = httpapi.Serve(ctx, cfg.Addr(process), routes(g), cfg.ShutdownTimeout)
	cancel()
	return errors.Join(err, <-admin)
}

// followOrigins is the room servers' origin (WAITING_ROOM_FOLLOW_URL, an origin by its
// validation), which the page calls to follow a place; none when places are followed at the
// gateway.
func (g *Gateway) followOrigins() []string {
	if f := g.cfg.WaitingRoom.FollowURL; f != "" {
		return []string{f}
	}
	return nil
}

// proxyTo forwards to a service the requests its route matched ("" answers 404: no service).
func (g *Gateway) proxyTo(service string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := g.proxies[service]
		if p == nil {
			httpapi.WriteError(w, r, httpapi.NotFound("route"))
			return
		}
		if strings.HasSuffix(r.URL.Path, "/stream") {
			// A server-sent event stream outlives the server's write timeout.
			_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
		}
		p.ServeHTTP(w, r)
	})
}

// admittedBooking tells the waiting room that an admitted buyer's booking (req, as sent to the
// booking service) was answered with status (0: not at all): held, refused for its seats,
// anything but a refusal of the token — so that its meter no longer counts them as about to hold
// seats — and how long the decision took, or that it failed (5xx, no answer): the meter slows
// admission while decisions run slow or fail. Off the answer's path: the buyer does not wait on it.
func (g *Gateway) admittedBooking(req *http.Request, status int) {
	sent, stamped := req.Context().Value(sentAtKey{}).(time.Time) // only admitted buyers' bookings are
	if !stamped || status == http.StatusForbidden || status == http.StatusUnauthorized || status == http.StatusTooManyRequests {
		return
	}
	tok := req.Header.Get(admission.Header)
	took, failed := time.Since(sent), status == 0 || status >= 500
	user := req.Header.Get(httpapi.HeaderUserID)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		g.room.Decided(ctx, tok, user, took, failed)
	}()
}

// stampDecision reads the whole body of an admitted buyer's booking, then notes in its context
// when it leaves for the booking service: the decision is timed from there (admittedBooking), so
// that a buyer's slow upload never counts as a slow decision, which would slow everyone's
// admission. (The body is small: LimitBody bounds it.) A body that cannot be read is sent on
// failing, unstamped: the proxy answers its error.
func stampDecision(pr *httputil.ProxyRequest) {
	if pr.Out.Body != nil && pr.Out.Body != http.NoBody {
		body, err := io.ReadAll(pr.Out.Body)
		if err != nil {
			pr.Out.Body = io.NopCloser(failingReader{err})
			return
		}
		pr.Out.Body, pr.Out.ContentLength, pr.Out.TransferEncoding = io.NopCloser(bytes.NewReader(body)), int64(len(body)), nil
	}
	pr.Out = pr.Out.WithContext(context.WithValue(pr.Out.Context(), sentAtKey{}, time.Now()))
}

// failingReader fails every read with err.
type failingReader struct{ err error }

func (f failingReader) Read([]byte) (int, error) { return 0, f.err }

// sentAtKey is the context key of when an admitted buyer's booking was sent to the booking service.
type sentAtKey struct{}

// ownPaths answers 405 to a method the gateway's own /api routes do not serve, which chi
// otherwise hands to the proxy (the /api/* route takes every method).
func (g *Gateway) ownPaths(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/openapi.json" {
			w.Header().Set("Allow", "GET, HEAD")
			router.MethodNotAllowed(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// serveOpenAPI answers the REST API's OpenAPI 3.1 document (openapi/openapi.json).
func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("ETag", openapiETag)
	if r.Header.Get("If-None-Match") == openapiETag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	_, _ = w.Write(openapi.Document)
}

var openapiETag = fmt.Sprintf(`"%x"`, sha256.Sum256(openapi.Document))

// public reports whether a route may be called without a token: register, login, and reads of
// events (not of a buyer's place in an event's line, nor an event's revocation list, which is
// door staff's), venues, seat maps, the keys that verify tickets and the API's description.
func public(r *http.Request) bool {
	p := r.URL.Path
	switch r.Method {
	case http.MethodPost:
		return p == "/api/users/register" || p == "/api/users/login"
	case http.MethodGet, http.MethodHead:
		if strings.HasPrefix(p, "/api/events/") && (strings.HasSuffix(p, "/queue") || strings.HasSuffix(p, "/queue/stream") ||
			strings.HasSuffix(p, "/revocations")) {
			return false
		}
		return p == "/api/openapi.json" || p == "/api/tickets/keys" || p == "/api/events" || strings.HasPrefix(p, "/api/events/") ||
			p == "/api/venues" || strings.HasPrefix(p, "/api/venues/") ||
			(strings.HasPrefix(p, "/api/inventory/events/") && (strings.HasSuffix(p, "/seats") ||
				strings.HasSuffix(p, "/seats/status") || strings.HasSuffix(p, "/seats/layout") ||
				strings.HasSuffix(p, "/seats/stream")))
	}
	return false
}

// identity removes every identity header the client sent, verifies the token, and forwards the
// verified identity. Protected routes without a valid token end here with 401.
func (g *Gateway) identity(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for name := range r.Header {
			if strings.HasPrefix(strings.ToLower(name), "x-user-") {
				r.Header.Del(name)
			}
		}
		r.Header.Del(httpapi.HeaderInternalToken)
		tok, hasToken := httpapi.BearerToken(r)
		var id auth.Identity
		var err error
		if hasToken {
			id, err = auth.Verify(g.secret, tok)
		}
		switch {
		case hasToken && err == nil:
			r.Header.Set(httpapi.HeaderUserID, id.UserID)
			r.Header.Set(httpapi.HeaderUserEmail, id.Email)
			r.Header.Set(httpapi.HeaderUserRole, id.Role)
		case public(r):
			r.Header.Del("Authorization") // a bad token on a public route is ignored, not forwarded
		case hasToken:
			httpapi.WriteError(w, r, httpapi.Unauthorized("invalid or expired token"))
			return
		default:
			httpapi.WriteError(w, r, httpapi.Unauthorized("a Bearer token is required"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// readAllowance is how many times RATE_LIMIT the public reads (events, venues, seat maps) may be
// called: a page that keeps a seat map live polls it, and must not lock its user out of booking.
const readAllowance = 5

// rateLimit allows RATE_LIMIT requests per RATE_WINDOW per client address (0 turns it off), and
// readAllowance times that for the public reads, counted apart. The counts live in Redis, shared
// by every gateway replica; see ratelimit.Shared for what happens while Redis is unreachable.
func (g *Gateway) rateLimit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limiter := g.limiter
		if (r.Method == http.MethodGet || r.Method == http.MethodHead) && public(r) {
			limiter = g.readLimiter
		}
		if d := limiter.Allow(r.Context(), clientFrom(r.Context())); !d.Allowed {
			retry := int((d.RetryAfter + time.Second - 1) / time.Second)
			httpapi.WriteError(w, r, httpapi.RateLimited("too many requests; retry later").WithRetryAfter(max(retry, 1)))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// corsHeaders are the request headers a page of another allowed origin may send: those of the
// API (auth, bodies, Idempotency-Key, request ids, a waiting room's Admission-Token) and those docs/seatmap.md tells a page to send
// (Last-Event-ID to resume the stream, If-None-Match to revalidate a snapshot).
var corsHeaders = []string{"Authorization", "Content-Type", "Idempotency-Key", "X-Request-Id", "Last-Event-ID", "If-None-Match",
	admission.Header}

// cors answers browser frontends of the configured origins ("*": any), preflights included,
// with rs/cors: it reads Origin and the preflight's Access-Control-Request-* headers as the Fetch
// standard defines them, so no header the API takes is refused by a string compare.
func (g *Gateway) cors(next http.Handler) http.Handler {
	return cors.New(cors.Options{
		AllowedOrigins: g.cfg.CORSOrigins,
		AllowedMethods: []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete},
		AllowedHeaders: corsHeaders,
		ExposedHeaders: []string{"X-Request-Id", "Retry-After", "ETag", "Location"},
		MaxAge:         600,
	}).Handler(next)
}

func parseTargets(urls []string) ([]*url.URL, error) {
	out := make([]*url.URL, 0, len(urls))
	for _, u := range urls {
		t, err := url.Parse(u)
		if err != nil {
			return nil, fmt.Errorf("service URL %q: %w", u, err)
		}
		out = append(out, t)
	}
	return out, nil
}

// balancer spreads the requests for one service over its replicas in turn. A replica that refuses
// the connection (nothing was sent) is skipped for the next one; the request's body is still
// unread then, so it can go to the next replica as it is.
type balancer struct {
	targets []*url.URL
	next    http.RoundTripper
	turn    atomic.Uint64
}

func (b *balancer) RoundTrip(req *http.Request) (*http.Response, error) {
	body := req.Body
	if body != nil {
		req.Body = io.NopCloser(body) // an attempt that fails must not close it for the next
		defer body.Close()
	}
	start := int(b.turn.Add(1) % uint64(len(b.targets)))
	var err error
	for i := range b.targets {
		t := b.targets[(start+i)%len(b.targets)]
		out := req.Clone(req.Context())
		out.URL.Scheme, out.URL.Host, out.Host = t.Scheme, t.Host, t.Host
		var resp *http.Response
		if resp, err = b.next.RoundTrip(out); err == nil || !httpapi.Unreachable(err) {
			return resp, err
		}
	}
	return nil, err
}
