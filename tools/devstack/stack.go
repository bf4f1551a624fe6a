package devstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"ticketflow/internal/config"
)

// layoutVersion is the version of the .data layout. Bump it when a change makes an old data dir
// unusable; Run then refuses the old dir with a message instead of failing obscurely.
const layoutVersion = "1"

// Stack is the local stack of one data dir.
type Stack struct {
	cfg *Settings
	log *slog.Logger
	sup *supervisor
	bin string // this executable (ticketflow-dev), which also runs the FerretDB process
	app string // the production binary, which runs every application process
}

// New prepares a stack for cfg; nothing starts until Run.
func New(cfg *Settings, log *slog.Logger) (*Stack, error) {
	bin, err := os.Executable()
	if err != nil {
		return nil, err
	}
	app, err := AppBinary()
	if err != nil {
		return nil, err
	}
	return &Stack{cfg: cfg, log: log, bin: bin, app: app,
		sup: newSupervisor(cfg.LogDir(), RunDir(cfg), log)}, nil
}

// AppBinary is the production binary the stack runs its application processes with:
// TICKETFLOW_BIN, or the `ticketflow` beside this executable (make build puts both in bin/). The
// stack runs the very binary a deployment runs, not the tooling around it.
func AppBinary() (string, error) {
	bin := os.Getenv("TICKETFLOW_BIN")
	if bin == "" {
		self, err := os.Executable()
		if err != nil {
			return "", err
		}
		bin = filepath.Join(filepath.Dir(self), "ticketflow")
	}
	if st, err := os.Stat(bin); err != nil || st.IsDir() {
		return "", fmt.Errorf("the production binary %s is missing: build it with `make build` (or set TICKETFLOW_BIN)", bin)
	}
	return filepath.Abs(bin)
}

// RunDir holds the pid files of the stack's processes and its ready marker.
func RunDir(cfg *Settings) string { return filepath.Join(cfg.DataDir, "run") }

// PIDFile is the file holding the current pid of one process of the stack (fault tests read it).
func PIDFile(cfg *Settings, process string) string {
	return filepath.Join(RunDir(cfg), process+".pid")
}

// Kill kills one process of a running stack with SIGKILL, as a fault test does. With hold > 0 the
// supervisor waits that long before restarting it (a broker outage); otherwise it restarts it
// after its usual backoff. It returns the pid it killed.
func Kill(cfg *Settings, process string, hold time.Duration) (int, error) {
	pid, ok := livePID(PIDFile(cfg, process))
	if !ok {
		return 0, fmt.Errorf("%s is not running", process)
	}
	holdFile := filepath.Join(RunDir(cfg), process+".hold")
	if hold > 0 {
		if err := os.WriteFile(holdFile, []byte(hold.String()+"\n"), 0o644); err != nil {
			return 0, err
		}
		time.AfterFunc(hold, func() { _ = os.Remove(holdFile) })
	}
	// The process group: a child such as the JVM or postgres' backends goes with its leader.
	if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	return pid, nil
}

// Restart stops one process of a running stack (SIGTERM, its process group: it shuts down as in
// a deployment) for the supervisor to start it again at once — with what its EnvFile then says —
// and returns the pid it stopped. A restart asked for is not a crash: the crash-loop rule does not
// count it.
func Restart(cfg *Settings, process string) (int, error) {
	pid, ok := livePID(PIDFile(cfg, process))
	if !ok {
		return 0, fmt.Errorf("%s is not running", process)
	}
	if err := os.WriteFile(filepath.Join(RunDir(cfg), process+".restart"), nil, 0o644); err != nil {
		return 0, err
	}
	if err := syscall.Kill(-pid, syscall.SIGTERM); err != nil {
		if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
			return 0, err
		}
	}
	return pid, nil
}

// Release lets a held process restart now.
func Release(cfg *Settings, process string) {
	_ = os.Remove(filepath.Join(RunDir(cfg), process+".hold"))
}

// WaitRestarted waits until process runs with a pid other than old and, if url is not empty,
// answers 200 there.
func WaitRestarted(ctx context.Context, cfg *Settings, process string, old int, url string) error {
	for {
		if pid, ok := livePID(PIDFile(cfg, process)); ok && pid != old {
			if url == "" || httpOK(ctx, url) == nil {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s did not come back: %w", process, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func readyFile(cfg *Settings) string { return filepath.Join(RunDir(cfg), "ready") }

// stackGOGC is the Go garbage collector's target (GOGC) for the stack's processes when the
// environment sets none. Most of them (TicketFlow's, Temporal's dev server, FerretDB, Mailpit,
// Jaeger) keep heaps of 10–50 MB and, at Go's default of 100, collect several times a second in a
// sale (the inventory 3–4 times): 400 lets each heap grow to five times its live data between
// collections, which on one shared 2-core machine took a confirmed booking's CPU from 132.8 and
// 132.4 ms to 118.9 and 122.9 ms, runs alternated (BENCHMARKS.md, issue 24, 2026-12-07
// afternoon). The price is memory: a room server following ten thousand streams (400 MB live)
// peaks near 2 GB instead of 800 MB.
const stackGOGC = "400"

// collectLessOften sets GOGC for every process the stack starts (they inherit this process's
// environment), unless it is set already.
func collectLessOften() {
	if os.Getenv("GOGC") == "" {
		os.Setenv("GOGC", stackGOGC)
	}
}

// Run starts the whole stack, prints where everything is, and supervises it until ctx ends or a
// process keeps crashing. It always stops what it started before returning.
// afterReady, when not nil, runs once everything is up (the demo seed).
func (s *Stack) Run(ctx context.Context, out io.Writer, afterReady func(context.Context) error) (err error) {
	began := time.Now()
	if removed, err := resetAfterLostFaultDisks(s.cfg.DataDir, s.cfg.FaultDisk("postgres")); err != nil {
		return err
	} else if len(removed) > 0 {
		fmt.Fprintf(out, "the fault disks of %s are new (a reboot?): its other stores start afresh too (removed %s)\n",
			s.cfg.DataDir, strings.Join(removed, ", "))
	}
	if err := s.checkDataDir(); err != nil {
		return err
	}
	if err := s.claim(); err != nil {
		return err
	}
	collectLessOften()
	defer os.Remove(PIDFile(s.cfg, "dev"))
	defer os.Remove(readyFile(s.cfg))
	// The ports are given back after every process has stopped (defers run last first).
	if ports, err := reservePorts(s.cfg.serverPorts()); err != nil {
		s.log.Debug("the stack's ports are not reserved from client connections", "err", err)
	} else if len(ports) > 0 {
		s.log.Debug("the stack's ports are reserved from client connections", "ports", ports)
		defer func() {
			if err := releasePorts(ports); err != nil {
				s.log.Warn("the stack's reserved ports were not given back", "ports", ports, "err", err)
			}
		}()
	}
	defer s.sup.stopAll(s.cfg.ShutdownTimeout)

	infra, later, err := s.infrastructure()
	if err != nil {
		return err
	}
	for _, c := range append(infra, later) { // an infrastructure component is named for its process
		if c != nil {
			c.nice = s.niceOf(c.name)
		}
	}
	fmt.Fprintf(out, "starting infrastructure (logs in %s)\n", s.cfg.LogDir())
	if err := s.sup.startGroup(ctx, infra); err != nil {
		return err
	}
	fmt.Fprintf(out, "infrastructure ready after %s; starting TicketFlow\n", time.Since(began).Round(100*time.Millisecond))
	if err := s.sup.startGroup(ctx, s.applications()); err != nil {
		return err
	}
	if afterReady != nil {
		if err := afterReady(ctx); err != nil {
			return err
		}
	}
	if err := os.WriteFile(readyFile(s.cfg), []byte(time.Now().Format(time.RFC3339)+"\n"), 0o644); err != nil {
		return err
	}
	s.banner(out, time.Since(began))
	if later != nil {
		fmt.Fprintf(out, "  %s is not built yet: traces start once %s is there (make run builds it in the background; log %s)\n",
			later.name, s.tool(later.name), filepath.Join(s.cfg.LogDir(), later.name+"-build.log"))
		go s.startWhenBuilt(ctx, out, later)
	}

	select {
	case <-ctx.Done():
		fmt.Fprintln(out, "stopping TicketFlow ...")
		return nil
	case err := <-s.sup.fatal:
		fmt.Fprintf(out, "stopping TicketFlow: %v\n", err)
		return err
	}
}

// startWhenBuilt starts an infrastructure component whose binary was not there when the stack
// came up, as soon as it appears.
func (s *Stack) startWhenBuilt(ctx context.Context, out io.Writer, c *component) {
	for !fileExists(s.tool(c.name)) {
		select {
		case <-ctx.Done():
			return
		case <-time.After(2 * time.Second):
		}
	}
	time.Sleep(time.Second) // the build may still be writing it
	if err := s.sup.startGroup(ctx, []*component{c}); err != nil {
		fmt.Fprintf(out, "%s was built but did not start: %v\n", c.name, err)
		return
	}
	fmt.Fprintf(out, "%s is built and running: traces from now on at %s\n", c.name, s.cfg.JaegerURL)
}

func (s *Stack) banner(out io.Writer, took time.Duration) {
	c := s.cfg
	fmt.Fprintf(out, `
TicketFlow is up (%s).
  Gateway (REST API)   %s/api   health: %s/health/all
  Waiting-room server  %s   (the crowd's places and streams)
  Temporal web UI      http://127.0.0.1:%d   (gRPC %s, namespace %s)
  Mailpit API (email)  %s/api/v1/messages
  Kafka                %s
  Prometheus           %s   dashboard: %s/consoles/ticketflow.html
  Jaeger (traces)      %s/api/traces   a booking's: bin/ticketflow-dev trace <bookingId>
  Logs                 %s/<process>.log
`, took.Round(100*time.Millisecond), c.URLs[config.Gateway], c.URLs[config.Gateway], c.URLs[config.Room], c.TemporalUIPort, c.TemporalAddr, c.TemporalNS,
		c.MailpitURL, strings.Join(c.KafkaBrokers, ","), c.PrometheusURL, c.PrometheusURL, c.JaegerURL, c.LogDir())
	if c.Replicas > 1 {
		fmt.Fprintf(out, "  Replicas (%d of each process):\n", c.Replicas)
		for _, name := range config.Processes {
			var at []string
			for k := 0; k < c.Replicas; k++ {
				at = append(at, fmt.Sprintf("%s :%d", ReplicaName(name, k), c.ReplicaPort(name, k)))
			}
			fmt.Fprintf(out, "    %-13s %s\n", name, strings.Join(at, ", "))
		}
	}
	fmt.Fprintln(out, "Press Ctrl-C to stop.")
}

// checkDataDir creates the data dir, or refuses one written by an incompatible version.
func (s *Stack) checkDataDir() error {
	for _, d := range []string{s.cfg.DataDir, s.cfg.LogDir(), RunDir(s.cfg)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	vf := filepath.Join(s.cfg.DataDir, "LAYOUT_VERSION")
	b, err := os.ReadFile(vf)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return os.WriteFile(vf, []byte(layoutVersion+"\n"), 0o644)
	case err != nil:
		return err
	case strings.TrimSpace(string(b)) != layoutVersion:
		return fmt.Errorf("data dir %s was written by an incompatible TicketFlow (layout %s, this one needs %s): run `make clean` to start afresh",
			s.cfg.DataDir, strings.TrimSpace(string(b)), layoutVersion)
	}
	return nil
}

// claim records this supervisor's pid, refusing to start a second stack on the same data dir.
func (s *Stack) claim() error {
	if pid, ok := RunningPID(s.cfg); ok {
		return fmt.Errorf("a TicketFlow stack is already running on %s (pid %d): use it, or stop it with `ticketflow-dev stack down`", s.cfg.DataDir, pid)
	}
	_ = os.Remove(readyFile(s.cfg))
	if err := recordBuild(s.cfg); err != nil {
		return err
	}
	return os.WriteFile(PIDFile(s.cfg, "dev"), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644)
}

// RunningPID returns the pid of a live supervisor of this data dir.
func RunningPID(cfg *Settings) (int, bool) {
	return livePID(PIDFile(cfg, "dev"))
}

func livePID(file string) (int, bool) {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	if err := syscall.Kill(pid, 0); err != nil {
		return 0, false
	}
	return pid, true
}

// Ready reports whether a running stack of this data dir has finished starting.
func Ready(cfg *Settings) bool {
	if _, ok := RunningPID(cfg); !ok {
		return false
	}
	_, err := os.Stat(readyFile(cfg))
	return err == nil
}

// applications are TicketFlow's own processes, each `ticketflow serve <name>` of the production
// binary, TICKETFLOW_REPLICAS of each: replica k (from 0) of a process is named <name>-<k+1>
// (the first keeps the bare name) and listens on its port + 10·k.
func (s *Stack) applications() []*component {
	var out []*component
	for _, name := range config.Processes {
		for k := 0; k < s.cfg.Replicas; k++ {
			name, port := name, s.cfg.ReplicaPort(name, k)
			url := fmt.Sprintf("http://127.0.0.1:%d/health", port)
			// A gateway or room replica also serves its metrics on an admin port of its own.
			admin := s.cfg.AdminPortOf(name, k)
			var prepare func(context.Context) error
			if admin != 0 {
				prepare = func(context.Context) error {
					return checkFree(admin, "the "+name+"'s admin port (metrics)", config.PortEnv(name+"_admin"))
				}
			}
			out = append(out, &component{
				name:    ReplicaName(name, k),
				port:    port,
				portEnv: config.PortEnv(name),
				prepare: prepare,
				command: func() (*exec.Cmd, error) {
					cmd := exec.Command(s.app, "serve", name)
					cmd.Env = append(s.childEnv(), "TICKETFLOW_LISTEN_PORT="+strconv.Itoa(port))
					cmd.Env = append(cmd.Env, s.cfg.faultEnv(name, k)...)
					cmd.Env = append(cmd.Env, replicaEnv(s.cfg, ReplicaName(name, k))...)
					if admin != 0 {
						cmd.Env = append(cmd.Env, "TICKETFLOW_ADMIN_PORT="+strconv.Itoa(admin))
					}
					return cmd, nil
				},
				ready:     func(ctx context.Context) error { return httpOK(ctx, url) },
				readyWait: 45 * time.Second,
				nice:      s.niceOf(name),
			})
		}
	}
	return out
}

// background are the processes of the confirmation pipeline and the observers: everything a
// booking needs after its seats are decided, and the room servers, which the waiting crowd follows
// its places on. The seat decision runs through the gateway, booking, inventory, PostgreSQL and
// Redis (and user and event, which it reads), and a buyer waits on it.
var background = map[string]bool{"kafka": true, "ferretdb": true, "temporal": true, "mailpit": true,
	"prometheus": true, "jaeger": true, config.Worker: true, config.Bridge: true, config.Payment: true,
	config.Notification: true, config.Ticket: true, config.Room: true}

// niceOf is the nice value a process starts with: the configured one for the background, so that
// on one shared machine the seat decision is served first (BENCHMARKS.md measures the effect).
func (s *Stack) niceOf(process string) int {
	if background[process] {
		return s.cfg.BackgroundNice
	}
	return 0
}

// ReplicaName names replica k (from 0) of a process: the process's name, then name-2, name-3…
func ReplicaName(process string, k int) string {
	if k == 0 {
		return process
	}
	return fmt.Sprintf("%s-%d", process, k+1)
}

// childEnv is the environment of every child: where the stack's servers are, marked as the local
// stack (Settings.ProcessEnv).
func (s *Stack) childEnv() []string { return s.cfg.ProcessEnv() }

var httpClient = &http.Client{Timeout: 2 * time.Second}

func httpOK(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

// Pause stops one process of a running stack (SIGSTOP, its whole process group) for d, then lets
// it go on (SIGCONT): a process that hangs without dying, as a stalled disk or a GC pause makes
// one. Its connections stay open and requests queue; nothing restarts it.
func Pause(cfg *Settings, process string, d time.Duration) (int, error) {
	pid, ok := livePID(PIDFile(cfg, process))
	if !ok {
		return 0, fmt.Errorf("%s is not running", process)
	}
	if err := syscall.Kill(-pid, syscall.SIGSTOP); err != nil {
		if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
			return 0, err
		}
	}
	time.Sleep(d)
	if err := syscall.Kill(-pid, syscall.SIGCONT); err != nil {
		_ = syscall.Kill(pid, syscall.SIGCONT)
	}
	return pid, nil
}
