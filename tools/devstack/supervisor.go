// Package devstack runs TicketFlow's local stack without Docker: the real infrastructure servers
// (PostgreSQL, Redis, Kafka, FerretDB, Temporal, Mailpit) and every application process, each as
// its own OS process with its own log file, health-checked, restarted with backoff when it dies
// (as a container runtime would) and stopped in reverse order.
package devstack

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// component is one supervised process.
type component struct {
	name       string
	port       int    // the port it must own; checked free before the first start
	portEnv    string // the variable that moves that port, for the error message
	prepare    func(ctx context.Context) error
	command    func() (*exec.Cmd, error)
	ready      func(ctx context.Context) error
	afterReady func(ctx context.Context) error // once, after the first time it is ready
	stopSignal syscall.Signal
	readyWait  time.Duration
	nice       int // started under nice(1) with this value when positive
	group      int // the startGroup call it came in, from 0 (the infrastructure)

	mu       sync.Mutex
	cmd      *exec.Cmd
	exited   chan struct{}
	restarts []time.Time
	stopping bool
}

// crash-loop rule: more than maxRestarts restarts within restartWindow stops the stack. With the
// backoff (0.5 s doubling to 8 s) that is about a minute of a process failing at every start
// before the stack gives up: enough to ride out an outage of what it needs — Kafka exits at each
// start while its disk is full, and a full disk held 20 s by make chaos's disk-full class killed
// it 5 and 6 times in two runs; with 5 allowed, the sixth stopped the whole stack.
const (
	maxRestarts   = 10
	restartWindow = 2 * time.Minute
)

// ErrCrashLoop is returned by Run when a process keeps dying.
var ErrCrashLoop = errors.New("crash loop")

type supervisor struct {
	logDir string
	runDir string
	log    *slog.Logger
	mu     sync.Mutex // guards comps: a component may start after the others (startWhenBuilt)
	comps  []*component
	groups int // startGroup calls so far
	// stopped: stopAll has begun; nothing starts after it.
	stopped bool
	fatal   chan error
	// backoffBase is the first restart delay; it doubles per recent restart, up to 16x.
	backoffBase time.Duration
}

func newSupervisor(logDir, runDir string, log *slog.Logger) *supervisor {
	return &supervisor{logDir: logDir, runDir: runDir, log: log, fatal: make(chan error, 1),
		backoffBase: 500 * time.Millisecond}
}

func (s *supervisor) logPath(name string) string  { return filepath.Join(s.logDir, name+".log") }
func (s *supervisor) pidPath(name string) string  { return filepath.Join(s.runDir, name+".pid") }
func (s *supervisor) holdPath(name string) string { return filepath.Join(s.runDir, name+".hold") }

// restartPath marks a process stopped on purpose to run again (Restart): its exit is no crash.
func (s *supervisor) restartPath(name string) string { return filepath.Join(s.runDir, name+".restart") }

// checkPort fails when another process already listens on the component's port.
func checkPort(c *component) error {
	if c.port == 0 {
		return nil
	}
	return checkFree(c.port, c.name, c.portEnv)
}

// startGroup starts every component of a group in order, then waits until all are ready.
func (s *supervisor) startGroup(ctx context.Context, group []*component) error {
	s.mu.Lock()
	g := s.groups
	s.groups++
	s.mu.Unlock()
	for _, c := range group {
		if err := checkPort(c); err != nil {
			return err
		}
	}
	for _, c := range group {
		if c.prepare != nil {
			if err := c.prepare(ctx); err != nil {
				return fmt.Errorf("%s: %w", c.name, err)
			}
		}
		s.mu.Lock()
		stopped := s.stopped
		if !stopped {
			if err := s.start(c); err != nil {
				s.mu.Unlock()
				return fmt.Errorf("start %s: %w", c.name, err)
			}
			c.group = g
			s.comps = append(s.comps, c)
		}
		s.mu.Unlock()
		if stopped {
			return errors.New("the stack is stopping")
		}
	}
	errs := make(chan error, len(group))
	for _, c := range group {
		go func(c *component) { errs <- s.waitReady(ctx, c) }(c)
	}
	var first error
	for range group {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	if first != nil {
		return first
	}
	for _, c := range group {
		if c.afterReady != nil {
			if err := c.afterReady(ctx); err != nil {
				return fmt.Errorf("%s: %w", c.name, err)
			}
		}
	}
	return nil
}

func (s *supervisor) waitReady(ctx context.Context, c *component) error {
	wait := c.readyWait
	if wait == 0 {
		wait = 60 * time.Second
	}
	deadline := time.Now().Add(wait)
	var last error
	for time.Now().Before(deadline) {
		c.mu.Lock()
		exited := c.exited
		c.mu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-exited:
			// The monitor restarts it; keep waiting, the crash-loop rule bounds this.
		default:
		}
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		last = c.ready(rctx)
		cancel()
		if last == nil {
			s.log.Info("ready", "process", c.name)
			return nil
		}
		time.Sleep(150 * time.Millisecond)
	}
	return fmt.Errorf("%s did not become ready within %s (%v); last lines of %s:\n%s",
		c.name, wait, last, s.logPath(c.name), tail(s.logPath(c.name), 20))
}

// start launches the component's process and a monitor that restarts it when it dies.
func (s *supervisor) start(c *component) error {
	cmd, err := c.command()
	if err != nil {
		return err
	}
	logf, err := os.OpenFile(s.logPath(c.name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(logf, "\n=== %s starting at %s ===\n", c.name, time.Now().Format(time.RFC3339))
	cmd.Stdout, cmd.Stderr = logf, logf
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	// Own process group: a Ctrl-C in the terminal reaches only the supervisor, which then stops
	// the children in order. Pdeathsig: children never outlive a killed supervisor.
	cmd.SysProcAttr.Setpgid = true
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	if c.nice > 0 {
		// nice(1) execs the command: the pid, process group and every thread it starts keep the
		// lower priority.
		niceBin, err := exec.LookPath("nice")
		if err != nil {
			logf.Close()
			return err
		}
		cmd.Args = append([]string{"nice", "-n", strconv.Itoa(c.nice), cmd.Path}, cmd.Args[1:]...)
		cmd.Path = niceBin
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	_ = os.WriteFile(s.pidPath(c.name), []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644)
	exited := make(chan struct{})
	c.mu.Lock()
	c.cmd, c.exited = cmd, exited
	c.mu.Unlock()
	go func() {
		err := cmd.Wait()
		logf.Close()
		close(exited)
		s.onExit(c, err)
	}()
	return nil
}

func (s *supervisor) onExit(c *component, err error) {
	c.mu.Lock()
	if c.stopping {
		c.mu.Unlock()
		return
	}
	if os.Remove(s.restartPath(c.name)) == nil {
		// Stopped to run again (a fault class's restart with another environment): at once, and
		// not counted against the crash-loop rule.
		c.mu.Unlock()
		if err := s.start(c); err != nil {
			s.fail(fmt.Errorf("restart %s: %w", c.name, err))
			return
		}
		s.log.Info("restarted on request", "process", c.name)
		return
	}
	now := time.Now()
	recent := c.restarts[:0]
	for _, t := range c.restarts {
		if now.Sub(t) < restartWindow {
			recent = append(recent, t)
		}
	}
	c.restarts = append(recent, now)
	n := len(c.restarts)
	c.mu.Unlock()

	s.log.Warn("process died", "process", c.name, "err", err, "restart", n)
	fmt.Fprintf(os.Stderr, "\n%s exited (%v); last lines of %s:\n%s\n", c.name, err, s.logPath(c.name), tail(s.logPath(c.name), 15))
	if n > maxRestarts {
		s.fail(fmt.Errorf("%w: %s died %d times within %s; see %s", ErrCrashLoop, c.name, n, restartWindow, s.logPath(c.name)))
		return
	}
	backoff := time.Duration(1<<min(n-1, 4)) * s.backoffBase // 0.5s, 1s, 2s, 4s, 8s
	time.Sleep(backoff)
	// A fault test that wants the process down for a while leaves <name>.hold in the run dir.
	for fileExists(s.holdPath(c.name)) {
		c.mu.Lock()
		stopping := c.stopping
		c.mu.Unlock()
		if stopping {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.mu.Lock()
	stopping := c.stopping
	c.mu.Unlock()
	if stopping {
		return
	}
	if err := s.start(c); err != nil {
		s.fail(fmt.Errorf("restart %s: %w", c.name, err))
		return
	}
	s.log.Info("restarted", "process", c.name, "after", backoff)
}

func (s *supervisor) fail(err error) {
	select {
	case s.fatal <- err:
	default:
	}
}

// stopAll stops the started components a group at a time, the last group started first (the
// applications before the infrastructure they use). The components of a later group, which
// started side by side, stop side by side: one at a time, the application processes' stops added
// up to about 10 s (each Kafka consumer leaves its group, each server drains). The first group,
// the infrastructure, stops one at a time in reverse order as before: in it the full Temporal
// server and FerretDB keep their data in PostgreSQL, which goes last.
func (s *supervisor) stopAll(grace time.Duration) {
	s.mu.Lock()
	s.stopped = true
	comps := s.comps
	s.mu.Unlock()
	for end := len(comps); end > 0; {
		begin := end - 1
		for begin > 0 && comps[begin-1].group == comps[end-1].group {
			begin--
		}
		if comps[begin].group == 0 {
			for i := end - 1; i >= begin; i-- {
				s.stop(comps[i], grace)
			}
			end = begin
			continue
		}
		var wg sync.WaitGroup
		for _, c := range comps[begin:end] {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.stop(c, grace)
			}()
		}
		wg.Wait()
		end = begin
	}
}

// stop stops one component: its stop signal, then SIGKILL after the grace period.
func (s *supervisor) stop(c *component, grace time.Duration) {
	c.mu.Lock()
	c.stopping = true
	cmd, exited := c.cmd, c.exited
	c.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	sig := c.stopSignal
	if sig == 0 {
		sig = syscall.SIGTERM
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-exited:
	case <-time.After(grace):
		s.log.Warn("did not stop in time; killing", "process", c.name)
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}
	_ = os.Remove(s.pidPath(c.name))
	s.log.Info("stopped", "process", c.name)
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return "  (no log)"
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > 64<<10 {
		_, _ = f.Seek(-64<<10, io.SeekEnd)
	}
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	for i := range lines {
		lines[i] = "  | " + lines[i]
	}
	return strings.Join(lines, "\n")
}
