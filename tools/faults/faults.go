// Package faults makes the faults of `ticketflow-dev chaos` that leave a process alive and wrong,
// on a fault-injecting local stack (devstack.Settings.Faults): toxics on its Toxiproxy links
// (replies lost, links slowed or cut), a filesystem that fills, a CPU quota, Redis squeezed
// into a tiny maxmemory, and processes restarted with their clock offset. Each fault returns
// the function that takes it back; taking back is safe to call twice.
package faults

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
	"github.com/redis/go-redis/v9"

	"ticketflow/tools/devstack"
)

// Restore takes a fault back.
type Restore func() error

// once makes a Restore safe to call more than once.
func once(f func() error) Restore {
	var o sync.Once
	var err error
	return func() error {
		o.Do(func() { err = f() })
		return err
	}
}

// --- Toxiproxy ---------------------------------------------------------------------------------

// Toxic is one toxic to put on a proxy of the stack.
type Toxic struct {
	Proxy      string  // the proxy's name (devstack.FaultProxy.Name)
	Type       string  // a Toxiproxy toxic type: latency, timeout, reset_peer, lost_reply, ...
	Stream     string  // "downstream" (the server's replies) or "upstream" (the client's requests)
	Toxicity   float32 // share of connections it acts on (1: all)
	Attributes map[string]any
}

// Links is the stack's Toxiproxy.
type Links struct {
	client *toxiclient.Client
	cfg    *devstack.Settings
}

// NewLinks reaches the Toxiproxy of a fault-injecting stack.
func NewLinks(cfg *devstack.Settings) (*Links, error) {
	if !cfg.Faults {
		return nil, errors.New("not a fault-injecting stack: start it with TICKETFLOW_FAULTS=1 (make chaos and make test do)")
	}
	return &Links{client: toxiclient.NewClient(cfg.ToxiproxyURL()), cfg: cfg}, nil
}

// Add puts the toxics on their proxies, each named name (one toxic per name and proxy and
// stream); the Restore removes them.
func (l *Links) Add(name string, toxics ...Toxic) (Restore, error) {
	var added []Toxic
	remove := func() error {
		var errs []error
		for _, t := range added {
			p, err := l.client.Proxy(t.Proxy)
			if err == nil {
				err = p.RemoveToxic(toxicName(name, t.Stream))
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("remove toxic %s from %s: %w", name, t.Proxy, err))
			}
		}
		return errors.Join(errs...)
	}
	for _, t := range toxics {
		p, err := l.client.Proxy(t.Proxy)
		if err != nil {
			_ = remove()
			return nil, fmt.Errorf("proxy %s: %w", t.Proxy, err)
		}
		if _, err := p.AddToxic(toxicName(name, t.Stream), t.Type, t.Stream, t.Toxicity, toxiclient.Attributes(t.Attributes)); err != nil {
			_ = remove()
			return nil, fmt.Errorf("add toxic %s (%s) to %s: %w", name, t.Type, t.Proxy, err)
		}
		added = append(added, t)
	}
	return once(remove), nil
}

func toxicName(name, stream string) string { return name + "-" + stream }

// Lost sums, over the proxies, the replies the lost_reply toxic called name has lost so far.
func (l *Links) Lost(name string, proxies ...string) (int64, error) {
	var n int64
	for _, px := range proxies {
		p, err := l.client.Proxy(px)
		if err != nil {
			return n, err
		}
		ts, err := p.Toxics()
		if err != nil {
			return n, err
		}
		for _, t := range ts {
			if t.Name == toxicName(name, "downstream") {
				if v, ok := t.Attributes["lost"].(float64); ok {
					n += int64(v)
				}
			}
		}
	}
	return n, nil
}

// Reset removes every toxic of every proxy (a run's clean start).
func (l *Links) Reset() error { return l.client.ResetState() }

// --- disk --------------------------------------------------------------------------------------

// Fill fills the filesystem mounted at dir (a fault-injecting stack's tmpfs, Settings.FaultDisk)
// as another tenant of a disk would: it shrinks it to what it holds, then writes a ballast file
// (dir/.ballast, beside the server's data) until nothing is left, so that the server's next
// allocation fails. The Restore removes the ballast and gives the size back. It returns the
// filesystem's size while full.
func Fill(dir string) (Restore, int64, error) {
	if dir == "" {
		return nil, 0, errors.New("the stack has no filesystem of its own for this server (a fault-injecting stack run as root has)")
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return nil, 0, err
	}
	used := int64(st.Blocks-st.Bfree) * st.Bsize
	size := (used + 64<<10 + 4095) / 4096 * 4096
	if err := resize(dir, size); err != nil {
		return nil, 0, err
	}
	ballast := filepath.Join(dir, ".ballast")
	restore := once(func() error {
		err := os.Remove(ballast)
		if os.IsNotExist(err) {
			err = nil
		}
		return errors.Join(err, resize(dir, devstack.FaultDiskSize))
	})
	f, err := os.OpenFile(ballast, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, 0, errors.Join(err, restore())
	}
	zeros := make([]byte, 4096)
	for {
		if _, err := f.Write(zeros); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				break
			}
			f.Close()
			return nil, 0, errors.Join(err, restore())
		}
	}
	f.Close()
	return restore, size, nil
}

// Free is what the filesystem at dir has left, in bytes.
func Free(dir string) (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * st.Bsize, nil
}

func resize(dir string, size int64) error {
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_REMOUNT, "size="+strconv.FormatInt(size, 10)); err != nil {
		return fmt.Errorf("resize the tmpfs at %s to %d bytes: %w", dir, size, err)
	}
	return nil
}

// --- CPU ---------------------------------------------------------------------------------------

// cgroupCPU is the cgroup v1 cpu controller's root (cgroup v2: cpu.max under cgroupV2).
const (
	cgroupCPU = "/sys/fs/cgroup/cpu"
	cgroupV2  = "/sys/fs/cgroup"
)

// Starve holds every process of the stack's named processes (their process groups) to share of
// one core: a CFS quota in a cgroup of their own when the machine lets us make one, else
// SIGSTOP/SIGCONT duty cycling at that share. method says which.
func Starve(cfg *devstack.Settings, share float64, processes ...string) (restore Restore, method string, err error) {
	var pids []int
	for _, p := range processes {
		b, err := os.ReadFile(devstack.PIDFile(cfg, p))
		if err != nil {
			return nil, "", fmt.Errorf("%s is not running: %w", p, err)
		}
		leader, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		pids = append(pids, group(leader)...)
	}
	if restore, err := cgroupQuota(cfg, share, pids); err == nil {
		return restore, "cgroup CPU quota", nil
	}
	return dutyCycle(share, pids), "SIGSTOP/SIGCONT duty cycle", nil
}

// group lists the processes of a process group.
func group(pgid int) []int {
	out := []int{pgid}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == pgid {
			continue
		}
		if g, err := syscall.Getpgid(pid); err == nil && g == pgid {
			out = append(out, pid)
		}
	}
	return out
}

// cgroupQuota moves pids into a new cpu cgroup with a quota of share of a core.
func cgroupQuota(cfg *devstack.Settings, share float64, pids []int) (Restore, error) {
	name := fmt.Sprintf("ticketflow-starve-%d", cfg.FaultPort)
	period := 100000
	quota := int(share * float64(period))
	var dir, procs, back string
	var limit func() error
	if fi, err := os.Stat(filepath.Join(cgroupCPU, "cpu.cfs_quota_us")); err == nil && !fi.IsDir() {
		dir, back = filepath.Join(cgroupCPU, name), filepath.Join(cgroupCPU, origin(pids[0], "cpu"))
		limit = func() error {
			if err := os.WriteFile(filepath.Join(dir, "cpu.cfs_period_us"), []byte(strconv.Itoa(period)), 0o644); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dir, "cpu.cfs_quota_us"), []byte(strconv.Itoa(quota)), 0o644)
		}
	} else if _, err := os.Stat(filepath.Join(cgroupV2, "cgroup.controllers")); err == nil {
		dir, back = filepath.Join(cgroupV2, name), filepath.Join(cgroupV2, origin(pids[0], ""))
		limit = func() error {
			return os.WriteFile(filepath.Join(dir, "cpu.max"), []byte(fmt.Sprintf("%d %d", quota, period)), 0o644)
		}
	} else {
		return nil, errors.New("no cgroup cpu controller")
	}
	procs = "cgroup.procs"
	if err := os.Mkdir(dir, 0o755); err != nil && !os.IsExist(err) {
		return nil, err
	}
	if err := limit(); err != nil {
		_ = os.Remove(dir)
		return nil, err
	}
	move := func(to string, pids []int) error {
		var errs []error
		for _, pid := range pids {
			if err := os.WriteFile(filepath.Join(to, procs), []byte(strconv.Itoa(pid)), 0o644); err != nil && !errors.Is(err, syscall.ESRCH) {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	}
	if err := move(dir, pids); err != nil {
		_ = move(back, pids)
		_ = os.Remove(dir)
		return nil, err
	}
	return once(func() error {
		b, _ := os.ReadFile(filepath.Join(dir, procs))
		var in []int
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil {
				in = append(in, pid)
			}
		}
		err := move(back, in)
		for i := 0; i < 50; i++ { // a cgroup is removable once its last task has left
			if rerr := os.Remove(dir); rerr == nil || os.IsNotExist(rerr) {
				return err
			}
			time.Sleep(100 * time.Millisecond)
		}
		return errors.Join(err, fmt.Errorf("remove cgroup %s", dir))
	}), nil
}

// origin is the cgroup (path below the hierarchy's root) of pid for a v1 controller ("" for the
// v2 hierarchy), where it goes back to.
func origin(pid int, controller string) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.SplitN(line, ":", 3) // id:controllers:path
		if len(f) != 3 {
			continue
		}
		for _, c := range strings.Split(f[1], ",") {
			if c == controller {
				return f[2]
			}
		}
	}
	return "/"
}

// dutyCycle lets pids run share of every 100 ms, stopped the rest, until the Restore.
func dutyCycle(share float64, pids []int) Restore {
	stop := make(chan struct{})
	done := make(chan struct{})
	signal := func(sig syscall.Signal) {
		for _, pid := range pids {
			_ = syscall.Kill(pid, sig)
		}
	}
	run := time.Duration(share * float64(100*time.Millisecond))
	go func() {
		defer close(done)
		for {
			signal(syscall.SIGCONT)
			select {
			case <-stop:
				return
			case <-time.After(run):
			}
			signal(syscall.SIGSTOP)
			select {
			case <-stop:
				signal(syscall.SIGCONT)
				return
			case <-time.After(100*time.Millisecond - run):
			}
		}
	}()
	return once(func() error {
		close(stop)
		<-done
		signal(syscall.SIGCONT)
		return nil
	})
}

// --- Redis -------------------------------------------------------------------------------------

// SqueezeRedis sets the stack's Redis to a maxmemory of what it uses plus room bytes, with the
// eviction policy given (allkeys-lru evicts anything; the stack's volatile-lru evicts only keys
// with a TTL and refuses writes of others). The Restore puts back what was there.
func SqueezeRedis(ctx context.Context, addr string, room int64, policy string) (Restore, error) {
	c := redis.NewClient(&redis.Options{Addr: addr})
	old, err := c.ConfigGet(ctx, "maxmemory*").Result()
	if err != nil {
		c.Close()
		return nil, err
	}
	info, err := c.Info(ctx, "memory").Result()
	if err != nil {
		c.Close()
		return nil, err
	}
	var used int64
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
			used, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	if err := c.ConfigSet(ctx, "maxmemory-policy", policy).Err(); err != nil {
		c.Close()
		return nil, err
	}
	if err := c.ConfigSet(ctx, "maxmemory", strconv.FormatInt(used+room, 10)).Err(); err != nil {
		c.Close()
		return nil, err
	}
	return once(func() error {
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, k := range []string{"maxmemory", "maxmemory-policy"} {
			if err := c.ConfigSet(ctx, k, old[k]).Err(); err != nil {
				return err
			}
		}
		return nil
	}), nil
}

// RedisEvicted is the count of keys Redis has evicted since it started.
func RedisEvicted(ctx context.Context, addr string) (int64, error) {
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	info, err := c.Info(ctx, "stats").Result()
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "evicted_keys:"); ok {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, nil
}

// --- restarts with another environment ---------------------------------------------------------

// Restart restarts one replica of an application process (devstack.Restart) with env as the
// extra environment it is started again with (nil: none), and waits until it answers its health
// check again.
func Restart(ctx context.Context, cfg *devstack.Settings, replica string, env []string, health string) error {
	file := devstack.EnvFile(cfg, replica)
	if env == nil {
		if err := os.Remove(file); err != nil && !os.IsNotExist(err) {
			return err
		}
	} else if err := os.WriteFile(file, []byte(strings.Join(env, "\n")+"\n"), 0o644); err != nil {
		return err
	}
	pid, err := devstack.Restart(cfg, replica)
	if err != nil {
		return err
	}
	return devstack.WaitRestarted(ctx, cfg, replica, pid, health)
}
