package bus

import (
	"context"
	"net/http"
	"time"

	"github.com/segmentio/kafka-go"

	"ticketflow/internal/httpapi"
)

// HealthCheck is a health-answer check that a broker accepts connections.
func HealthCheck(brokers []string) httpapi.Check {
	return httpapi.Check{Name: "kafka", Ping: func(ctx context.Context) error {
		conn, err := (&kafka.Dialer{Timeout: 2 * time.Second}).DialContext(ctx, "tcp", brokers[0])
		if err != nil {
			return err
		}
		return conn.Close()
	}}
}

// StatsHandler answers GET /stats with each consumer's counters: handled, retried, dead-lettered,
// lag. It is how an operator sees a consumer falling behind or dead-lettering.
func StatsHandler(consumers ...*Consumer) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		out := make([]Stats, 0, len(consumers))
		for _, c := range consumers {
			out = append(out, c.Stats())
		}
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{"consumers": out})
	}
}
