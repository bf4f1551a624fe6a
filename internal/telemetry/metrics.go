package telemetry

import (
	"errors"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Registry holds the metrics this process serves at /metrics: the Go runtime's and the process's
// own, then whatever each part of the process registers when it starts (so a process shows only
// the metrics of the parts it runs).
var Registry = prometheus.NewRegistry()

func init() {
	Registry.MustRegister(
		collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(
			collectors.MetricsGC, collectors.MetricsMemory, collectors.MetricsScheduler)),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
}

// Register adds collectors to Registry. Registering the same collector again is not an error, so
// a part started twice in one process (or in tests) registers its metrics where it starts.
func Register(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := Registry.Register(c); err != nil {
			var already prometheus.AlreadyRegisteredError
			if !errors.As(err, &already) {
				panic(err) // two different metrics of one name: a programming error
			}
		}
	}
}

// MetricsHandler serves Registry in the Prometheus exposition format.
func MetricsHandler() http.Handler {
	return promhttp.HandlerFor(Registry, promhttp.HandlerOpts{Registry: Registry, MaxRequestsInFlight: 4})
}

// LatencyBuckets are the histogram buckets (seconds) of TicketFlow's latencies: from a
// millisecond (a cached read) to a minute (a booking confirmed after a slow payment).
var LatencyBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}
