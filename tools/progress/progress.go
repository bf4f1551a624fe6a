// Package progress prints how long-running tooling (the benchmark, the chaos run, the local
// stack's start) is getting on: a line at least every two seconds with the phase, done/total and
// the rate, so that a terminal never stays silent for minutes.
package progress

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// Every is how often a line is printed while a phase runs.
const Every = time.Second

// Reporter prints the progress of one phase at a time. Its methods are safe for concurrent use;
// a nil *Reporter does nothing.
type Reporter struct {
	out   io.Writer
	name  string // the tool: bench, chaos, stack
	every time.Duration

	mu      sync.Mutex
	phase   string
	unit    string
	total   int64
	started time.Time
	done    atomic.Int64
	note    atomic.Pointer[string]
	stop    chan struct{}
	stopped chan struct{}
}

// New returns a reporter of the tool name writing to out; nothing is printed before Phase.
func New(out io.Writer, name string) *Reporter {
	return &Reporter{out: out, name: name, every: Every}
}

// Phase ends the current phase (with its final line) and starts another, of total units (0 when
// the total is not known).
func (r *Reporter) Phase(phase string, total int64, unit string) {
	if r == nil {
		return
	}
	r.End()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.phase, r.total, r.unit, r.started = phase, total, unit, time.Now()
	r.done.Store(0)
	r.note.Store(nil)
	r.stop, r.stopped = make(chan struct{}), make(chan struct{})
	go r.tick(r.stop, r.stopped)
}

// Add counts n more units done.
func (r *Reporter) Add(n int64) {
	if r != nil {
		r.done.Add(n)
	}
}

// Set says how many units are done.
func (r *Reporter) Set(n int64) {
	if r != nil {
		r.done.Store(n)
	}
}

// Note adds a few words to the next lines (what is being waited for).
func (r *Reporter) Note(s string) {
	if r != nil {
		r.note.Store(&s)
	}
}

// End prints the current phase's final line and stops its ticker.
func (r *Reporter) End() {
	if r == nil {
		return
	}
	r.mu.Lock()
	stop, stopped := r.stop, r.stopped
	r.stop = nil
	r.mu.Unlock()
	if stop == nil {
		return
	}
	close(stop)
	<-stopped
	r.print(true)
}

func (r *Reporter) tick(stop, stopped chan struct{}) {
	defer close(stopped)
	t := time.NewTicker(r.every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			r.print(false)
		}
	}
}

// Line is the progress line of a phase: "bench sale: 1200/5000 buyers (400.0/s), 3s".
func Line(name, phase string, done, total int64, unit string, elapsed time.Duration, final bool) string {
	s := name + " " + phase + ": "
	switch {
	case total > 0:
		s += fmt.Sprintf("%d/%d %s", done, total, unit)
	case unit != "":
		s += fmt.Sprintf("%d %s", done, unit)
	default:
		s += "working"
	}
	if secs := elapsed.Seconds(); unit != "" && secs > 0 {
		s += fmt.Sprintf(" (%.1f/s)", float64(done)/secs)
	}
	s += ", " + elapsed.Round(time.Second).String()
	if final {
		s += ", done"
	}
	return s
}

func (r *Reporter) print(final bool) {
	r.mu.Lock()
	phase, total, unit, started := r.phase, r.total, r.unit, r.started
	r.mu.Unlock()
	line := Line(r.name, phase, r.done.Load(), total, unit, time.Since(started), final)
	if n := r.note.Load(); n != nil && !final {
		line += " — " + *n
	}
	fmt.Fprintln(r.out, line)
}
