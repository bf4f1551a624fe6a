package server

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"ticketflow/internal/telemetry"
)

// The booking service's metrics: what an on-call engineer watches during a sale.
var (
	// bookingsTotal counts bookings entering each status: PENDING when a booking is stored with
	// its seats decided or deciding, then its one terminal status (CONFIRMED, FAILED, EXPIRED,
	// CANCELLED) when its workflow records it — once per booking and status, however often the
	// workflow's activity is retried.
	bookingsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ticketflow_bookings_total",
		Help: "Bookings that entered each status (PENDING when stored; then the terminal status the workflow recorded).",
	}, []string{"status"})

	// decisionSeconds is the time a buyer waits for the seat decision (POST /api/bookings and a
	// booking from Kafka), by the answer's status code: 202 held, 409 refused, 503 undecided.
	decisionSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "ticketflow_booking_decision_seconds",
		Help:    "Time to decide a booking request's seats, by the status code of the answer.",
		Buckets: telemetry.LatencyBuckets,
	}, []string{"code"})

	// holdSeconds is the inventory's seat hold within the decision, by outcome: held, refused
	// (seats taken, unknown, buyer limit) or unknown (timeout or failure: the workflow decides).
	holdSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "ticketflow_seat_hold_seconds",
		Help:    "Latency of the inventory's seat hold within a booking's decision, by outcome.",
		Buckets: telemetry.LatencyBuckets,
	}, []string{"outcome"})

	// confirmSeconds is the time from a booking's creation to its CONFIRMED status: the hold,
	// the payment and the confirmation, as the buyer lives it.
	confirmSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "ticketflow_booking_confirm_seconds",
		Help:    "Time from a booking's creation to its confirmation.",
		Buckets: telemetry.LatencyBuckets,
	})

	// reconcileRepairs counts the reconciler's repairs: a workflow started for a booking that had
	// none (unstarted), a new run for one whose run closed abnormally (closed).
	reconcileRepairs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ticketflow_reconciler_repairs_total",
		Help: "Bookings the reconciler repaired: workflow never started (unstarted), run closed abnormally (closed).",
	}, []string{"kind"})
)

func registerMetrics() {
	telemetry.Register(bookingsTotal, decisionSeconds, holdSeconds, confirmSeconds, reconcileRepairs)
}

func codeLabel(status int) string { return strconv.Itoa(status) }
