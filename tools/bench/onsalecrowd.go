package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"ticketflow/tools/devstack"
	"ticketflow/tools/loadgen"
	"ticketflow/tools/progress"
)

// The on-sale's waiting crowd (every buyer's join, and its stream or polls until let in) runs in
// a process of its own, `ticketflow-dev onsale-crowd`, at the background's CPU priority
// (OnSaleOptions.CrowdNice; CrowdNice below), while this process books for the buyers it lets in. Ten thousand
// buyers' streams cost a load generator on the stack's machine about 0.4 of a core over the sale,
// which a real crowd's browsers spend on machines of their own: in one process with the admitted
// buyers' requests, that CPU took the cores from the processes that decide, and the decisions'
// times counted the load generator's own queueing. The gateways' side of the crowd (the pushes and
// polls it answers) is not moved: it is the system's cost, and stays in the figures.

// CrowdNice is the crowd process's default nice value, that of the stack's background (the room
// servers, the confirmation pipeline: TICKETFLOW_BACKGROUND_NICE's default). At 19, in a
// scheduling group of its own, the crowd starved whenever the stack took both cores (in the
// opening's rush of joins, every run), read its streams seconds late, then caught up at 0.5–0.8
// of a core: the staleness `position_fresh_p99_ms` counted there was the load generator's own
// queueing, all of it in the 15 s after opening (BENCHMARKS.md, "Waiting room (issue 25),
// 2026-12-07, afternoon"). At 10 it still yields to the decision path (nice 0), and competes with
// it more than at 19: the decisions' figure is measured under a harder crowd, not an easier one.
const CrowdNice = 10

// crowdPlan is what the crowd process needs: the event, when it opens, and each buyer.
type crowdPlan struct {
	EventID string
	Opens   time.Time
	Options OnSaleOptions
	Buyers  []crowdBuyer
}

type crowdBuyer struct {
	UserID, Email, Token string
	Early, Poll          bool
	At                   time.Time
}

// crowdMsg is one line the crowd writes to its standard output.
type crowdMsg struct {
	Kind string `json:"k"` // admitted, status, final

	// admitted: buyer I was let in with Token until Until.
	I     int       `json:"i,omitempty"`
	Token string    `json:"token,omitempty"`
	Until time.Time `json:"until,omitempty"`

	// status, every 250 ms: buyers joined so far, waiting now, whose wait has ended (let in or
	// not), and when the places first said sold out (unix ns).
	Joined    int   `json:"joined,omitempty"`
	Waiting   int64 `json:"waiting,omitempty"`
	Ended     int64 `json:"ended,omitempty"`
	SoldOutAt int64 `json:"soldOutAt,omitempty"`

	Final *crowdFinal `json:"final,omitempty"`
}

// crowdFinal is what the crowd measured, sent once its buyers have stopped.
type crowdFinal struct {
	Joined, WaitingPeak  int
	JoinErrors, Failures int64
	FreshStream          []time.Duration
	FreshPoll            []time.Duration
	Buyers               []crowdResult // by buyer index
}

type crowdResult struct {
	Number            int64
	Drawn             bool
	JoinStart, Joined time.Time
	Admitted, Until   time.Time
}

// OnSaleCrowd is `ticketflow-dev onsale-crowd`: the crowd of the plan in planPath, until stop
// ends (its parent closes it) or every buyer's wait has ended; it writes crowdMsg lines to out.
func OnSaleCrowd(ctx context.Context, cfg *devstack.Settings, planPath string, stop io.Reader, out io.Writer) error {
	raw, err := os.ReadFile(planPath)
	if err != nil {
		return err
	}
	var plan crowdPlan
	if err := json.Unmarshal(raw, &plan); err != nil {
		return fmt.Errorf("%s: %w", planPath, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		_, _ = io.Copy(io.Discard, stop)
		cancel()
	}()
	var mu sync.Mutex
	enc := json.NewEncoder(out)
	send := func(m crowdMsg) {
		mu.Lock()
		defer mu.Unlock()
		_ = enc.Encode(m)
	}
	r := &OnSaleResult{Codes: map[string]int{}}
	run := &onSaleRun{r: r, ev: loadgen.Event{ID: plan.EventID}, opens: plan.Opens, o: plan.Options}
	rbs := make([]*roomBuyer, len(plan.Buyers))
	index := map[*roomBuyer]int{}
	for i, b := range plan.Buyers {
		rbs[i] = &roomBuyer{b: loadgen.BuyerOf(cfg, i, b.UserID, b.Email, b.Token), early: b.Early, poll: b.Poll, at: b.At}
		index[rbs[i]] = i
	}
	run.admit = func(_ context.Context, rb *roomBuyer, token, _ string) {
		send(crowdMsg{Kind: "admitted", I: index[rb], Token: token, Until: rb.admittedUntil})
	}
	var wg sync.WaitGroup
	for _, rb := range rbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			run.buyer(ctx, rb, nil) // nil: no report (the bench process reports the joins)
		}()
	}
	status := func() {
		run.mu.Lock()
		joined := r.Joined
		run.mu.Unlock()
		send(crowdMsg{Kind: "status", Joined: joined, Waiting: run.waiting.Load(), Ended: run.finished.Load(), SoldOutAt: run.soldOutAt.Load()})
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			status()
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	wg.Wait()
	close(done)
	status()
	<-ctx.Done() // the parent has read the last status; it asks for the figures by closing stop
	f := &crowdFinal{Joined: r.Joined, WaitingPeak: r.WaitingPeak, JoinErrors: r.JoinErrors, Failures: r.Failures,
		FreshStream: r.FreshStream, FreshPoll: r.FreshPoll, Buyers: make([]crowdResult, len(rbs))}
	for i, rb := range rbs {
		f.Buyers[i] = crowdResult{Number: rb.number, Drawn: rb.drawn, JoinStart: rb.joinStart, Joined: rb.joined,
			Admitted: rb.admitted, Until: rb.admittedUntil}
	}
	send(crowdMsg{Kind: "final", Final: f})
	return nil
}

// crowd is the parent's handle on the crowd process.
type crowd struct {
	cmd      *exec.Cmd
	stdin    io.WriteCloser
	read     chan error    // the reader's end: nil after the final message
	gone     chan struct{} // closed once the crowd's output has ended (it exited)
	bookings sync.WaitGroup
	inFlight atomic.Int64 // bookings of admitted buyers not yet answered
	ended    atomic.Int64
	final    *crowdFinal
	plan     string
}

// setAutogroupNice gives the scheduling group of process pid's session the nice value nice
// (proc(5), /proc/[pid]/autogroup) and reports whether it could: not where the kernel does not
// group by session.
func setAutogroupNice(pid, nice int) bool {
	if on, err := os.ReadFile("/proc/sys/kernel/sched_autogroup_enabled"); err != nil || strings.TrimSpace(string(on)) != "1" {
		return false // the file may still be writable, to no effect
	}
	return os.WriteFile("/proc/"+strconv.Itoa(pid)+"/autogroup", []byte(strconv.Itoa(nice)), 0) == nil
}

// startCrowd starts the crowd process for rbs at nice, and books for each buyer it lets in.
func (s *onSaleRun) startCrowd(ctx context.Context, rbs []*roomBuyer, nice int, prog *progress.Reporter) (*crowd, error) {
	plan := crowdPlan{EventID: s.ev.ID, Opens: s.opens, Options: s.o, Buyers: make([]crowdBuyer, len(rbs))}
	for i, rb := range rbs {
		plan.Buyers[i] = crowdBuyer{UserID: rb.b.UserID, Email: rb.b.Email, Token: rb.b.Token, Early: rb.early, Poll: rb.poll, At: rb.at}
	}
	f, err := os.CreateTemp("", "onsale-crowd-*.json")
	if err != nil {
		return nil, err
	}
	if err := json.NewEncoder(f).Encode(plan); err != nil {
		f.Close()
		return nil, err
	}
	f.Close()
	self := s.o.CrowdBinary
	if self == "" {
		if self, err = os.Executable(); err != nil {
			return nil, err
		}
	}
	c := &crowd{read: make(chan error, 1), gone: make(chan struct{}), plan: f.Name()}
	c.cmd = exec.Command("nice", "-n", strconv.Itoa(nice), self, "onsale-crowd", "--plan", f.Name())
	// A session of its own, whose scheduling group gets the same nice: where the kernel groups
	// processes by session (sched_autogroup, on in most distributions' kernels), a nice value counts
	// only within the group, and the crowd in the bench's session took a share of the cores equal
	// to the whole stack's whenever it wanted one. (It still stops when this process closes its
	// standard input, or dies.)
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	c.cmd.Stderr = os.Stderr
	if c.stdin, err = c.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := c.cmd.Start(); err != nil {
		return nil, err
	}
	s.r.CrowdGrouped = setAutogroupNice(c.cmd.Process.Pid, nice)
	path := "/api/events/" + s.ev.ID + "/queue"
	go func() {
		// It reads to the end whatever it meets, so that the crowd never blocks on a full pipe.
		var bad error
		var joined int
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<30)
		for sc.Scan() {
			var m crowdMsg
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				if bad == nil {
					bad = fmt.Errorf("onsale-crowd: %.200q: %w", sc.Text(), err)
				}
				continue
			}
			switch m.Kind {
			case "admitted":
				rb := rbs[m.I]
				rb.admitted, rb.admittedUntil = time.Now(), m.Until
				s.mu.Lock()
				s.r.Admitted++
				s.mu.Unlock()
				c.bookings.Add(1)
				c.inFlight.Add(1)
				go func() {
					defer c.bookings.Done()
					defer c.inFlight.Add(-1)
					s.book(ctx, rb, m.Token, path)
				}()
			case "status":
				prog.Add(int64(m.Joined - joined))
				joined = m.Joined
				s.waiting.Store(m.Waiting)
				c.ended.Store(m.Ended)
				if m.SoldOutAt != 0 {
					s.soldOutAt.CompareAndSwap(0, m.SoldOutAt)
				}
			case "final":
				c.final = m.Final
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		switch {
		case bad != nil:
			c.read <- bad
		case c.final == nil:
			c.read <- fmt.Errorf("onsale-crowd ended without its figures: %v", sc.Err())
		default:
			c.read <- nil
		}
		close(c.gone)
	}()
	return c, nil
}

// finished reports whether every buyer's wait has ended and every booking of the admitted, or
// the crowd process has ended (stop says how).
func (c *crowd) finished(n int) bool {
	select {
	case <-c.gone:
		return true
	default:
	}
	// The crowd reports a buyer's end after its admission, so every booking counted in flight
	// began before the last buyer was counted ended.
	return c.ended.Load() >= int64(n) && c.inFlight.Load() == 0
}

// stop asks the crowd for its figures, waits for them and for the bookings, and merges them into
// the run's result and rbs.
func (c *crowd) stop(s *onSaleRun, rbs []*roomBuyer) error {
	defer os.Remove(c.plan)
	_ = c.stdin.Close()
	var err error
	select {
	case err = <-c.read:
	case <-time.After(time.Minute):
		err = errors.New("onsale-crowd did not send its figures within a minute of being asked")
	}
	if err != nil {
		_ = c.cmd.Process.Kill()
	}
	if werr := c.cmd.Wait(); err == nil && werr != nil {
		err = fmt.Errorf("onsale-crowd: %w", werr)
	}
	c.bookings.Wait()
	if err != nil {
		return err
	}
	f := c.final
	s.mu.Lock()
	defer s.mu.Unlock()
	s.r.Joined, s.r.WaitingPeak = f.Joined, f.WaitingPeak
	s.r.JoinErrors += f.JoinErrors
	s.r.Failures += f.Failures
	s.r.FreshStream, s.r.FreshPoll = f.FreshStream, f.FreshPoll
	for i, b := range f.Buyers {
		if i < len(rbs) {
			rbs[i].number, rbs[i].drawn, rbs[i].joinStart, rbs[i].joined = b.Number, b.Drawn, b.JoinStart, b.Joined
			if rbs[i].admittedUntil.IsZero() {
				rbs[i].admitted, rbs[i].admittedUntil = b.Admitted, b.Until
			}
		}
	}
	return nil
}

// cpu is the crowd process's CPU so far, in ms.
func (c *crowd) cpu() float64 {
	t, _, _ := procTicks(c.cmd.Process.Pid)
	return t * 10
}
