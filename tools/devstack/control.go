package devstack

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"

	"ticketflow/internal/config"
	"ticketflow/tools/progress"
)

// Up makes sure a stack is running on cfg's data dir: it reuses a running one, or starts
// `ticketflow-dev dev` in the background and waits until it is ready. started says which.
func Up(ctx context.Context, cfg *Settings, out io.Writer, wait time.Duration) (started bool, err error) {
	if _, running := RunningPID(cfg); running && !sameBuild(cfg) {
		// A stack left running by an older build would test old code: replace it.
		fmt.Fprintln(out, "the running local stack was started by another build of ticketflow; restarting it")
		if err := Down(cfg, out, time.Minute); err != nil {
			return false, err
		}
	}
	if _, running := RunningPID(cfg); !running {
		if err := spawn(cfg); err != nil {
			return false, err
		}
		started = true
		fmt.Fprintf(out, "starting the local stack in the background (log: %s)\n", devLog(cfg))
	} else {
		fmt.Fprintln(out, "reusing the running local stack")
	}
	begin := time.Now()
	deadline := begin.Add(wait)
	prog := progress.New(out, "stack")
	prog.Phase("start", int64(infraCount(cfg)+len(config.Processes)*cfg.Replicas), "processes started")
	defer prog.End()
	for !Ready(cfg) {
		prog.Set(int64(startedProcesses(cfg)))
		if last := strings.TrimLeft(strings.TrimSpace(tail(devLog(cfg), 1)), "| "); last != "" {
			if i := strings.Index(last, "msg="); i >= 0 {
				last = last[i+len("msg="):] // the supervisor's words, without the time and level
			}
			prog.Note(last)
		}
		if _, running := RunningPID(cfg); !running && time.Since(begin) > 2*time.Second {
			return started, fmt.Errorf("the local stack stopped while starting; last lines of %s:\n%s", devLog(cfg), tail(devLog(cfg), 30))
		}
		if time.Now().After(deadline) {
			return started, fmt.Errorf("the local stack was not ready within %s; last lines of %s:\n%s", wait, devLog(cfg), tail(devLog(cfg), 30))
		}
		select {
		case <-ctx.Done():
			return started, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	return started, nil
}

func devLog(cfg *Settings) string { return filepath.Join(cfg.LogDir(), "dev.log") }

// infraCount is how many infrastructure processes the stack runs (see infrastructure).
func infraCount(cfg *Settings) int {
	if cfg.Faults {
		return 9 // and Toxiproxy
	}
	return 8
}

// startedProcesses counts the stack's processes that are running (their pid files name live
// processes), for the progress of stack up.
func startedProcesses(cfg *Settings) int {
	files, _ := filepath.Glob(filepath.Join(RunDir(cfg), "*.pid"))
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, string(filepath.Separator)+"dev.pid") {
			continue
		}
		if _, ok := livePID(f); ok {
			n++
		}
	}
	return n
}

func buildFile(cfg *Settings) string { return filepath.Join(RunDir(cfg), "build") }

// buildID identifies this executable and the production binary it runs the processes with:
// path, size and modification time of each.
func buildID() string {
	self, _ := os.Executable()
	app, _ := AppBinary()
	var id []string
	for _, bin := range []string{self, app} {
		if st, err := os.Stat(bin); err == nil {
			id = append(id, fmt.Sprintf("%s %d %d", bin, st.Size(), st.ModTime().UnixNano()))
		} else {
			id = append(id, bin)
		}
	}
	return strings.Join(id, "; ")
}

// recordBuild notes which builds the supervisor and its children run.
func recordBuild(cfg *Settings) error {
	return os.WriteFile(buildFile(cfg), []byte(buildID()+"\n"), 0o644)
}

// sameBuild reports whether the running stack was started by this very executable.
func sameBuild(cfg *Settings) bool {
	b, err := os.ReadFile(buildFile(cfg))
	return err == nil && strings.TrimSpace(string(b)) == buildID()
}

// spawn starts `ticketflow-dev dev` detached from this terminal, logging to .data/logs/dev.log.
func spawn(cfg *Settings) error {
	if err := os.MkdirAll(cfg.LogDir(), 0o755); err != nil {
		return err
	}
	if err := os.MkdirAll(RunDir(cfg), 0o755); err != nil {
		return err
	}
	bin, err := os.Executable()
	if err != nil {
		return err
	}
	logf, err := os.OpenFile(devLog(cfg), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(bin, "dev")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	// The supervisor records its own pid; wait briefly for it so RunningPID sees it.
	for i := 0; i < 40; i++ {
		if _, ok := RunningPID(cfg); ok {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	return cmd.Process.Release()
}

// Down stops a running stack of cfg's data dir and waits for it to finish stopping.
func Down(cfg *Settings, out io.Writer, wait time.Duration) error {
	pid, ok := RunningPID(cfg)
	if !ok {
		fmt.Fprintln(out, "no local stack is running")
		return nil
	}
	fmt.Fprintf(out, "stopping the local stack (pid %d)\n", pid)
	_ = syscall.Kill(pid, syscall.SIGTERM)
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		if _, ok := RunningPID(cfg); !ok {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	return fmt.Errorf("the stack did not stop within %s; killed pid %d", wait, pid)
}

// Status prints which processes of the stack are alive.
func Status(cfg *Settings, out io.Writer) bool {
	pid, ok := RunningPID(cfg)
	if !ok {
		fmt.Fprintln(out, "no local stack is running")
		return false
	}
	state := "starting"
	if Ready(cfg) {
		state = "ready"
	}
	fmt.Fprintf(out, "local stack: %s (supervisor pid %d, data %s)\n", state, pid, cfg.DataDir)
	names := []string{"postgres", "redis", "kafka", "ferretdb", "temporal", "mailpit", "jaeger", "prometheus"}
	if cfg.Faults {
		names = append(names, "toxiproxy")
	}
	for _, p := range config.Processes {
		for k := 0; k < cfg.Replicas; k++ {
			names = append(names, ReplicaName(p, k))
		}
	}
	for _, n := range names {
		if p, ok := livePID(PIDFile(cfg, n)); ok {
			fmt.Fprintf(out, "  %-13s pid %d\n", n, p)
		} else {
			fmt.Fprintf(out, "  %-13s not running\n", n)
		}
	}
	return true
}

// RunFerretDB runs the MongoDB-protocol server (FerretDB, SQLite backend) in this process until
// ctx ends. The local stack runs it as its own process, `ticketflow-dev infra ferretdb`.
func RunFerretDB(ctx context.Context, cfg *Settings, log *slog.Logger) error {
	dir := filepath.Join(cfg.DataDir, "ferretdb")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	fc := &ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: fmt.Sprintf("127.0.0.1:%d", cfg.MongoPort)},
		Handler:   "sqlite",
		SQLiteURL: "file:" + strings.TrimSuffix(dir, "/") + "/",
		Logger:    log,
	}
	if cfg.FerretDBBackend == FerretDBPostgreSQL {
		fc.Handler, fc.SQLiteURL, fc.PostgreSQLURL = "postgresql", "", cfg.PostgresDSN(ferretDBDatabase)
	}
	f, err := ferretdb.New(fc)
	if err != nil {
		return err
	}
	log.Info("FerretDB listening", "addr", fmt.Sprintf("127.0.0.1:%d", cfg.MongoPort), "backend", fc.Handler)
	if fc.Handler == "sqlite" {
		go indexIDs(ctx, dir, log)
	}
	return f.Run(ctx)
}
