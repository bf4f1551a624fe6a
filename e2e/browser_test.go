//go:build integration

package e2e

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"ticketflow/internal/config"
	"ticketflow/tools/seed"
)

// TestBrowserBooking runs e2e/browser/booking.spec.mjs: Debian's headless Chromium, driven by
// playwright-core, signs up, books with tok_visa (CONFIRMED, RESERVED on a second page), with
// tok_chargeDeclined (FAILED with the decline message) and tok_noResponse (LOCKED), and cancels,
// through the web page the gateway serves at "/"; the second page comes through a second gateway
// replica. On an event with a waiting room the page shows the buyer's place moving toward the
// front (followed at the room server), then the seat map with the time left to book, and books with the admission. "My tickets"
// shows a QR code per confirmed seat; a door-staff page admits a ticket once, refuses it again and
// refuses garbage, then, offline, refuses a revoked ticket, admits a valid one from the keys and
// list it fetched last, and uploads that scan once online. Screenshots land in
// e2e/browser/screenshots.
func TestBrowserBooking(t *testing.T) {
	cfg := loadConfig(t)
	chromium := os.Getenv("CHROMIUM_PATH")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("the browser test needs Debian's Chromium at %s (%v): run make tools, or sudo apt-get install -y chromium", chromium, err)
	}
	node := lookTool(t, "node", "sudo apt-get install -y nodejs npm")
	// The second browser's page comes through another gateway replica: the page works through
	// either gateway, and what one buyer does through one reaches a page served by the other.
	second := startGateway(t, cfg.Ports[config.Gateway]+44)
	env := append(os.Environ(),
		"GATEWAY_URL="+cfg.URLs[config.Gateway],
		"SECOND_GATEWAY_URL="+second,
		"ROOM_URL="+cfg.URLs[config.Room],
		"CHROMIUM_PATH="+chromium,
		"ADMIN_EMAIL="+seed.AdminEmail,
		"ADMIN_PASSWORD="+seed.AdminPassword,
		"PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1", // playwright-core never downloads one; make sure
	)
	dir := "browser"
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "playwright-core", "package.json")); err != nil {
		npm := lookTool(t, "npm", "sudo apt-get install -y npm")
		runStreaming(t, 5*time.Minute, dir, env, npm, "ci", "--no-audit", "--no-fund")
	}
	runStreaming(t, 5*time.Minute, dir, env, node, "booking.spec.mjs")
}

// lookTool finds a program on PATH or fails the test saying how to install it.
func lookTool(t *testing.T, name, install string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is missing from PATH: %s", name, install)
	}
	return p
}

// runStreaming runs a command in dir, logging its output line by line as it comes (go test -v
// shows it live), and fails the test if it exits non-zero or outlives timeout. On timeout the
// whole process group it started is killed (a browser test leaves no Chromium behind).
func runStreaming(t *testing.T, timeout time.Duration, dir string, env []string, name string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			t.Log(sc.Text())
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	t.Logf("$ (cd %s && %s %s)", dir, filepath.Base(name), strings.Join(args, " "))
	err := cmd.Run()
	pw.Close()
	<-done
	if ctx.Err() != nil {
		t.Fatalf("%s %s: killed after %s", filepath.Base(name), strings.Join(args, " "), timeout)
	}
	if err != nil {
		t.Fatalf("%s %s: %v", filepath.Base(name), strings.Join(args, " "), err)
	}
}
