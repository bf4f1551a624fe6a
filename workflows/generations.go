package workflows

import "go.temporal.io/sdk/workflow"

// versionOneDecider marks the generations of BookingWorkflow, in one marker: one GetVersion, so
// one TemporalChangeVersion upsert per run, however many generations there are. A run takes the
// code of its generation for as long as it is open, and its history replays against it
// (workflows/testdata/v<generation>, TestCommittedHistoriesReplay):
//   - no marker: generations 0 to 3, runs started before generation 4; they take
//     legacyBookingWorkflow (legacy.go);
//   - 1, generation 4: the workflow is the only decider of its booking;
//   - 2, generation 5: a wait that ends before its timer cancels the timer (mechanics.go,
//     awaitFor), so a decided booking is not woken again when its hold would have ended;
//   - 3, generation 6: the workflow's own hold comes back as DecideHold's decision, translated
//     by inventory.Decision as the booking service's request path translates it (one
//     translation of a seat decision); generations 4 and 5 read HoldSeats' errors (legacy.go);
//   - 4, generation 7: when a CONFIRMED booking's wait for its event ends, the run asks the event
//     service for the event's date now (EventStartsAt) and waits on if the event was postponed;
//     earlier runs close at the date copied when the booking was made;
//   - 5, generation 8: the booking's tickets are issued once it is CONFIRMED, before
//     booking.confirmed, and revoked first when it is cancelled after confirmation (tickets.go);
//   - 6, generation 9: a payment result the bridge sealed (the payment of record it checked) is
//     acted on at once (mechanics.go, sealedRecord); earlier runs read the record again;
//   - 7, generation 10: a CONFIRMED booking taken up by a new run (ModeConfirmed, or a repair that
//     finds the record CONFIRMED) issues its tickets and publishes booking.confirmed unless it is
//     already on the topic (completeConfirmation), for the earlier run may have closed between
//     the record and those steps; earlier runs only wait for the event (or only issue tickets).
//
// `ticketflow generations` counts the open runs of each generation (Generations below): the code
// of a generation can go once it counts none (docs/architecture.md, "Generations").
const versionOneDecider = "one-decider"

const (
	genOneDecider     workflow.Version = 1
	genCancelledWaits workflow.Version = 2
	genOneTranslation workflow.Version = 3
	genFreshEventDate workflow.Version = 4
	genTickets        workflow.Version = 5
	genSealedPayment  workflow.Version = 6
	// genConfirmationTakenUp: generation 10.
	genConfirmationTakenUp workflow.Version = 7

	// currentGeneration is the marker new runs record.
	currentGeneration = genConfirmationTakenUp
)

// Generation is one generation of BookingWorkflow as `ticketflow generations` counts its open
// runs: its number, where its code is, and a visibility query that selects its runs.
type Generation struct {
	Numbers string // "0-3", "4", …
	Code    string
	Query   string
}

// Generations are every generation whose runs may still be open, oldest first.
var Generations = []Generation{
	{"0-3", "legacy.go: legacyBookingWorkflow, CancelConfirmedBookingWorkflow",
		`WorkflowType = "CancelConfirmedBookingWorkflow" OR (WorkflowType = "BookingWorkflow" AND ` +
			`(TemporalChangeVersion IS NULL OR TemporalChangeVersion NOT IN ("one-decider-1", "one-decider-2", "one-decider-3", "one-decider-4", "one-decider-5", "one-decider-6", "one-decider-7")))`},
	{"4", "legacy.go: legacyHold; mechanics.go: awaitFor's AwaitWithTimeout",
		`WorkflowType = "BookingWorkflow" AND TemporalChangeVersion = "one-decider-1"`},
	{"5", "legacy.go: legacyHold",
		`WorkflowType = "BookingWorkflow" AND TemporalChangeVersion = "one-decider-2"`},
	{"6", "booking.go: keep closes at the event date copied at booking",
		`WorkflowType = "BookingWorkflow" AND TemporalChangeVersion = "one-decider-3"`},
	{"7", "tickets.go: issueTickets and revokeTickets do nothing",
		`WorkflowType = "BookingWorkflow" AND TemporalChangeVersion = "one-decider-4"`},
	{"8", "booking.go: reads the payment of record again after the bridge's result",
		`WorkflowType = "BookingWorkflow" AND TemporalChangeVersion = "one-decider-5"`},
	{"9", "booking.go: a CONFIRMED booking taken up by a new run is not announced again",
		`WorkflowType = "BookingWorkflow" AND TemporalChangeVersion = "one-decider-6"`},
	{"10", "booking.go (current)",
		`WorkflowType = "BookingWorkflow" AND TemporalChangeVersion = "one-decider-7"`},
}
