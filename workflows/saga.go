package workflows

import "go.temporal.io/sdk/workflow"

// saga is the list of compensations of the steps done so far. Each is registered right after its
// step succeeds, and they run in reverse order.
type saga struct {
	steps []compensation
}

type compensation struct {
	name string
	undo func(ctx workflow.Context)
}

func (s *saga) add(name string, undo func(ctx workflow.Context)) {
	s.steps = append(s.steps, compensation{name, undo})
}

func (s *saga) clear() { s.steps = nil }

// compensate runs the compensations in reverse. ctx is the run's disconnected context, so that
// cancelling the workflow cannot skip them; each retries until it succeeds (see step).
func (s *saga) compensate(ctx workflow.Context) {
	for i := len(s.steps) - 1; i >= 0; i-- {
		workflow.GetLogger(ctx).Debug("compensating", "step", s.steps[i].name)
		s.steps[i].undo(ctx)
	}
	s.steps = nil
}
