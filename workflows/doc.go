// Package workflows holds BookingWorkflow, the booking saga on Temporal: hold the seats, take the
// payment, confirm, and compensate in reverse when a step fails, the hold expires or the buyer
// cancels. Code here is deterministic and does no I/O; everything that touches the world is an
// activity in package activities.
package workflows
