// Package workflows holds BookingWorkflow, the booking saga on Temporal: hold the seats, take the
// payment, confirm, and compensate in reverse when a step fails, the hold expires or the buyer
// cancels. Code here is deterministic and does no I/O; everything that touches the world is an
// activity in package activities. Its names, ids and the types of its inputs and answers are
// package lifecycle's, which the booking service and the bridge use without importing this one.
package workflows

// HistoryGeneration names the folder of workflows/testdata that `make histories` writes: bump it
// with every versioned change to the workflows, so the histories of each earlier generation —
// what running workflows look like — stay and keep being replayed.
const HistoryGeneration = 10
