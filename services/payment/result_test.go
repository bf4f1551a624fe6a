package payment

import (
	"testing"
	"time"

	"ticketflow/internal/bus"
)

// A record's Result is a payment.processed payload its topic's schema takes, whatever became of
// the payment since. Found by chaos kills: a payment voided while the provider charged reads
// REFUNDED with "voided: cancelled by the buyer", and its Result was a SUCCESS carrying that
// failureReason, which the topic refuses (re-sent, it was dead-lettered).
func TestResultIsAPaymentProcessedTheTopicTakes(t *testing.T) {
	base := View{ID: "2a98370d-b82d-565a-89a0-421b31d3a1e6", BookingID: "098a3a29-9576-4561-9982-b492c6e8d321",
		AmountMinor: 1000, Currency: "EUR", ProviderRef: "mock_ch_2a6c786eb26fc3c4"}
	for _, c := range []struct {
		name          string
		status        string
		failureReason string
		want          string
	}{
		{"succeeded", StatusSucceeded, "", bus.PaymentSuccess},
		// As the payment service published it (FAILED: the void is the outcome); a SUCCESS re-sent
		// was dead-lettered as "status SUCCESS differs from the payment of record" (make test's
		// short chaos run).
		{"voided while the provider charged", StatusRefunded, "voided: cancelled by the buyer", bus.PaymentFailed},
		{"declined", StatusFailed, "card declined", bus.PaymentFailed},
	} {
		v := base
		v.Status, v.FailureReason = c.status, c.failureReason
		res := Record{Found: true, View: v}.Result()
		msg, err := bus.NewMessage(bus.TopicPaymentProcessed, res.BookingID, "test:"+c.name, time.Now(), res)
		if err != nil {
			t.Fatal(err)
		}
		km, err := msg.Kafka()
		if err != nil {
			t.Fatal(err)
		}
		env, err := bus.DecodeEnvelope(bus.TopicPaymentProcessed, km.Value)
		if err == nil {
			var p bus.PaymentProcessed
			err = bus.DecodePayload(env, &p)
		}
		if err != nil || res.Status != c.want {
			t.Errorf("%s: Result %+v: status %s (want %s), the topic says %v", c.name, res, res.Status, c.want, err)
		}
	}
}
