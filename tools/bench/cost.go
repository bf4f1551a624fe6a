package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/proto"

	"ticketflow/internal/config"
	"ticketflow/internal/lifecycle"
	"ticketflow/internal/temporalclient"
	"ticketflow/tools/devstack"
)

// Cost accounting: what one confirmed booking costs the machine (CPU of every process of the
// stack, read from /proc around the sale and its drain) and the Temporal server (history events
// and round trips, from the histories of a sample of bookings), and the same for one workflow of
// the ceiling.

// loadGenerator names this process (the buyers, and the ceiling's worker) in the CPU table.
const loadGenerator = "load generator"

// Cost is the price of a run's unit of work (a confirmed booking, or a ceiling workflow).
type Cost struct {
	Units   int                // confirmed bookings, or ceiling workflows
	Window  time.Duration      // wall time the CPU was read over
	CPU     map[string]float64 // ms of CPU over the window, per process
	Idle    map[string]float64 // ms of CPU per second each process used with no load, just before
	History HistoryCost
}

// HistoryCost is the mean shape of a sample of histories.
type HistoryCost struct {
	Sampled                     int
	Events                      float64
	WorkflowTasks               float64
	ActivityTasks               float64
	LocalActivities             float64 // markers of local activities
	VersionMarkers              float64 // markers of workflow.GetVersion
	Upserts                     float64 // search-attribute upserts
	Timers                      float64 // timers started
	Wakeups                     float64 // timers still to fire before the run's last one: a workflow task each, later
	Signals, Updates            float64
	RoundTrips                  float64 // calls to the server so far (see roundTrips)
	Bytes                       float64 // encoded size of the history
	FirstEventToLastEventMillis float64
}

// PerUnit is the CPU of one process per unit, in ms.
func (c *Cost) PerUnit(process string) float64 {
	if c.Units == 0 {
		return 0
	}
	return c.CPU[process] / float64(c.Units)
}

// IdlePerUnit is the part of PerUnit the process would have used idle over the window.
func (c *Cost) IdlePerUnit(process string) float64 {
	if c.Units == 0 {
		return 0
	}
	return min(c.CPU[process], c.Idle[process]*c.Window.Seconds()) / float64(c.Units)
}

// Total is the CPU of every process per unit, in ms, and the idle part of it.
func (c *Cost) Total() (total, idle float64) {
	for p := range c.CPU {
		total += c.PerUnit(p)
		idle += c.IdlePerUnit(p)
	}
	return total, idle
}

// cpuMeter reads the CPU of every process of the stack and of this one.
type cpuMeter struct {
	cfg   *devstack.Settings
	names []string
	at    time.Time
	start map[string]float64
}

func startCPU(cfg *devstack.Settings) *cpuMeter {
	m := &cpuMeter{cfg: cfg, names: stackProcesses(cfg)}
	m.start, m.at = m.read(), time.Now()
	return m
}

func (m *cpuMeter) read() map[string]float64 {
	now := cpuOf(m.cfg, m.names...)
	now[loadGenerator] = selfCPU()
	return now
}

// stop returns the CPU each process used since the meter started, in ms.
func (m *cpuMeter) stop() (map[string]float64, time.Duration) {
	now, took := m.read(), time.Since(m.at)
	out := map[string]float64{}
	for n, v := range now {
		out[n] = v - m.start[n]
	}
	return out, took
}

// idleCPU measures what each process uses per second with no load (ms of CPU per second).
func idleCPU(cfg *devstack.Settings, over time.Duration) map[string]float64 {
	m := startCPU(cfg)
	time.Sleep(over)
	used, took := m.stop()
	for n, v := range used {
		used[n] = v / took.Seconds()
	}
	return used
}

// stackProcesses names every process of the running stack that has a pid file, replicas under
// their process's name.
func stackProcesses(cfg *devstack.Settings) []string {
	files, _ := filepath.Glob(filepath.Join(devstack.RunDir(cfg), "*.pid"))
	names := append([]string(nil), config.Processes...)
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".pid")
		if name == "dev" || slices.Contains(names, name) || isReplica(name) {
			continue
		}
		names = append(names, name)
	}
	return names
}

func isReplica(name string) bool {
	base, k, ok := strings.Cut(name, "-")
	n, err := strconv.Atoi(k)
	return ok && err == nil && n > 1 && slices.Contains(config.Processes, base)
}

func selfCPU() float64 {
	ticks, _, ok := procTicks(os.Getpid())
	if !ok {
		return 0
	}
	return ticks * 10
}

// --- histories ---------------------------------------------------------------------------------

// sampleConfirmed returns the workflow ids of up to n confirmed bookings of the event.
func sampleConfirmed(ctx context.Context, cfg *devstack.Settings, eventID string, n int) ([]string, error) {
	conn, err := pgx.Connect(ctx, cfg.PostgresDSN(config.BookingsDB))
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT id FROM bookings WHERE event_id = $1 AND status = 'CONFIRMED'
		ORDER BY random() LIMIT $2`, eventID, n)
	if err != nil {
		return nil, err
	}
	bookingIDs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	out := make([]string, len(bookingIDs))
	for i, id := range bookingIDs {
		out[i] = lifecycle.WorkflowID(id)
	}
	return out, err
}

// histories reads the histories of the workflows (their latest runs) and returns their mean
// shape. waits is the calls a caller makes to wait for each result (the ceiling's run.Get).
func histories(ctx context.Context, cfg *devstack.Settings, workflowIDs []string, waits int) (HistoryCost, error) {
	c, err := temporalclient.Dial(ctx, cfg.Config)
	if err != nil {
		return HistoryCost{}, err
	}
	defer c.Close()
	var sum HistoryCost
	for _, id := range workflowIDs {
		var events []*history.HistoryEvent
		it := c.GetWorkflowHistory(ctx, id, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			e, err := it.Next()
			if err != nil {
				return HistoryCost{}, fmt.Errorf("history of %s: %w", id, err)
			}
			events = append(events, e)
		}
		h := shapeOf(events)
		h.RoundTrips += float64(waits)
		sum.add(h)
	}
	return sum.mean(), nil
}

// shapeOf counts what a history cost the server. Round trips: the start, each signal, update and
// cancel request, and a poll and a completion for each workflow task and each activity task. Not
// counted: queries, and the client's calls that read (the bench's own history reads).
func shapeOf(events []*history.HistoryEvent) HistoryCost {
	h := HistoryCost{Sampled: 1, Events: float64(len(events))}
	pending := map[string]time.Time{} // timer id → when it fires
	for _, e := range events {
		h.Bytes += float64(proto.Size(e)) // what the server stores and sends
		switch e.GetEventType() {
		case enums.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
			h.RoundTrips++
		case enums.EVENT_TYPE_WORKFLOW_TASK_STARTED:
			h.WorkflowTasks++
			h.RoundTrips += 2
		case enums.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			h.ActivityTasks++
			h.RoundTrips += 2
		case enums.EVENT_TYPE_MARKER_RECORDED:
			if e.GetMarkerRecordedEventAttributes().GetMarkerName() == "Version" {
				h.VersionMarkers++
			} else {
				h.LocalActivities++
			}
		case enums.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
			h.Upserts++
		case enums.EVENT_TYPE_TIMER_STARTED:
			h.Timers++
			a := e.GetTimerStartedEventAttributes()
			pending[a.GetTimerId()] = e.GetEventTime().AsTime().Add(a.GetStartToFireTimeout().AsDuration())
		case enums.EVENT_TYPE_TIMER_FIRED:
			delete(pending, e.GetTimerFiredEventAttributes().GetTimerId())
		case enums.EVENT_TYPE_TIMER_CANCELED:
			delete(pending, e.GetTimerCanceledEventAttributes().GetTimerId())
		case enums.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
			h.Signals++
			h.RoundTrips++
		case enums.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
			h.Updates++
			h.RoundTrips++
		case enums.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED:
			h.RoundTrips++
		}
	}
	// A timer due before the run's last pending one (a confirmed booking's wait for its event)
	// wakes the workflow for a task of its own later.
	var last time.Time
	for _, at := range pending {
		if at.After(last) {
			last = at
		}
	}
	for _, at := range pending {
		if at.Before(last) {
			h.Wakeups++
		}
	}
	if n := len(events); n > 0 {
		h.FirstEventToLastEventMillis = float64(events[n-1].GetEventTime().AsTime().Sub(events[0].GetEventTime().AsTime()).Milliseconds())
	}
	return h
}

func (h *HistoryCost) add(o HistoryCost) {
	h.Sampled += o.Sampled
	h.Events += o.Events
	h.WorkflowTasks += o.WorkflowTasks
	h.ActivityTasks += o.ActivityTasks
	h.LocalActivities += o.LocalActivities
	h.VersionMarkers += o.VersionMarkers
	h.Upserts += o.Upserts
	h.Timers += o.Timers
	h.Wakeups += o.Wakeups
	h.Signals += o.Signals
	h.Updates += o.Updates
	h.RoundTrips += o.RoundTrips
	h.Bytes += o.Bytes
	h.FirstEventToLastEventMillis += o.FirstEventToLastEventMillis
}

func (h HistoryCost) mean() HistoryCost {
	if h.Sampled == 0 {
		return h
	}
	n := float64(h.Sampled)
	return HistoryCost{Sampled: h.Sampled, Events: h.Events / n, WorkflowTasks: h.WorkflowTasks / n,
		ActivityTasks: h.ActivityTasks / n, LocalActivities: h.LocalActivities / n, VersionMarkers: h.VersionMarkers / n,
		Upserts: h.Upserts / n, Timers: h.Timers / n, Wakeups: h.Wakeups / n, Signals: h.Signals / n,
		Updates: h.Updates / n, RoundTrips: h.RoundTrips / n, Bytes: h.Bytes / n,
		FirstEventToLastEventMillis: h.FirstEventToLastEventMillis / n}
}

// --- the server -------------------------------------------------------------------------------

// ServerInfo says which Temporal server the stack runs.
type ServerInfo struct {
	Kind    string // "dev" (the CLI's dev server, SQLite) or "full" (another persistence store)
	Version string
	Store   string
	Shards  int32
}

func serverInfo(ctx context.Context, cfg *devstack.Settings) (ServerInfo, error) {
	c, err := temporalclient.Dial(ctx, cfg.Config)
	if err != nil {
		return ServerInfo{}, err
	}
	defer c.Close()
	info, err := c.WorkflowService().GetClusterInfo(ctx, &workflowservice.GetClusterInfoRequest{})
	if err != nil {
		return ServerInfo{}, err
	}
	s := ServerInfo{Kind: "full", Version: info.GetServerVersion(), Store: info.GetPersistenceStore(),
		Shards: info.GetHistoryShardCount()}
	if strings.Contains(s.Store, "sqlite") {
		s.Kind = "dev"
	}
	return s, nil
}

// --- printing ---------------------------------------------------------------------------------

// printCost writes the CPU table (processes by cost, the small ones together) and the history.
func printCost(w io.Writer, title string, c *Cost) {
	fmt.Fprintf(w, "%s (CPU over %s, %d of them; ms each, and the part the process uses idle)\n",
		title, c.Window.Round(100*time.Millisecond), c.Units)
	names := make([]string, 0, len(c.CPU))
	for n := range c.CPU {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return c.CPU[names[i]] > c.CPU[names[j]] })
	var rest, restIdle float64
	for _, n := range names {
		ms := c.PerUnit(n)
		if ms < 0.5 {
			rest += ms
			restIdle += c.IdlePerUnit(n)
			continue
		}
		fmt.Fprintf(w, "  %-16s %6.1f ms  (idle %.1f)\n", n, ms, c.IdlePerUnit(n))
	}
	if rest > 0 {
		fmt.Fprintf(w, "  %-16s %6.1f ms  (idle %.1f)\n", "others", rest, restIdle)
	}
	total, idle := c.Total()
	fmt.Fprintf(w, "  %-16s %6.1f ms  (idle %.1f); %.0f%% of the machine's %d cores over the window\n", "total", total, idle,
		100*total*float64(c.Units)/float64(c.Window.Milliseconds())/float64(cores()), cores())
	if h := c.History; h.Sampled > 0 {
		fmt.Fprintf(w, "  history (mean of %d): %.1f events, %.1f workflow tasks, %.1f activity tasks, %.1f local activities,\n"+
			"    %.1f version markers, %.1f search-attribute upserts, %.1f timers (%.1f still to wake it), %.1f signals,\n"+
			"    %.1f updates, %.1f KB; %.1f server round trips so far (+%.1f when its timers wake it)\n",
			h.Sampled, h.Events, h.WorkflowTasks, h.ActivityTasks, h.LocalActivities, h.VersionMarkers, h.Upserts,
			h.Timers, h.Wakeups, h.Signals, h.Updates, h.Bytes/1024, h.RoundTrips, 2*h.Wakeups)
	}
}

func cores() int { return runtime.NumCPU() }
