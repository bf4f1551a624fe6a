package main

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// notInProduction are package path prefixes the production binary must not link: the local-stack
// tooling, and what only the tooling needs (FerretDB embeds SQLite and carries drivers for MySQL
// and SAP HANA). Each costs size and brings vulnerabilities the deployment would ship for nothing.
var notInProduction = []struct{ prefix, why string }{
	{"ticketflow/tools/", "local-stack tooling belongs to cmd/ticketflow-dev"},
	{"github.com/FerretDB/", "FerretDB is the local stack's MongoDB stand-in"},
	{"modernc.org/sqlite", "SQLite backs FerretDB in the local stack only"},
	{"github.com/mattn/go-sqlite3", "no SQLite in production"},
	{"github.com/go-sql-driver/mysql", "TicketFlow uses no MySQL"},
	{"github.com/SAP/go-hdb", "TicketFlow uses no SAP HANA"},
}

// TestProductionBinaryLinksNoTooling runs `go list -deps` on this command, as the Dockerfile
// builds it, and fails on any package the production binary must not contain.
func TestProductionBinaryLinksNoTooling(t *testing.T) {
	deps := depsOf(t, ".")
	for _, bad := range notInProduction {
		var found []string
		for _, dep := range deps {
			if strings.HasPrefix(dep, bad.prefix) {
				found = append(found, dep)
			}
		}
		if len(found) > 0 {
			t.Errorf("cmd/ticketflow depends on %d package(s) under %s (%s), e.g. %s; find the import with `go list -deps -f '{{.ImportPath}}: {{.Imports}}' ./cmd/ticketflow`",
				len(found), bad.prefix, bad.why, found[0])
		}
	}
}

// TestSharedPackagesImportOnlyShared holds the layering of docs/architecture.md's code map: a
// package under internal/ is a shared library, so it imports no process, saga or tooling package
// (services, gateway, bridge, worker, workflows, activities, tools), only other internal packages.
func TestSharedPackagesImportOnlyShared(t *testing.T) {
	cmd := exec.Command(goTool(), "list", "-f", `{{.ImportPath}}:{{join .Imports " "}}`, "ticketflow/internal/...")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 10 {
		t.Fatalf("go list listed %d internal packages; expected every shared library", len(lines))
	}
	for _, line := range lines {
		pkg, imports, _ := strings.Cut(line, ":")
		for _, imp := range strings.Fields(imports) {
			if strings.HasPrefix(imp, "ticketflow/") && !strings.HasPrefix(imp, "ticketflow/internal/") {
				t.Errorf("%s imports %s: a shared library may import only ticketflow/internal/...", pkg, imp)
			}
		}
	}
}

// notInTheSaga are what the saga's packages must not link: the servers of the services and the
// drivers and router they are built on. The workflow, its activities and the bridge reach the
// services through their contract packages (services/<name>: client, wire types, codes) only.
var notInTheSaga = []struct{ prefix, why string }{
	{"github.com/jackc/pgx", "PostgreSQL belongs to the services that own it"},
	{"go.mongodb.org/mongo-driver", "MongoDB belongs to the services that own it"},
	{"github.com/redis/go-redis", "Redis belongs to the inventory's cache and the gateway's limits"},
	{"github.com/go-chi/", "routers belong to the processes that serve an API"},
}

// TestTheSagaLinksNoServer holds the saga apart from the servers: `go list -deps` of workflows,
// activities and bridge names no database driver, no router and no services/*/server package.
func TestTheSagaLinksNoServer(t *testing.T) {
	for _, dep := range depsOf(t, "ticketflow/workflows", "ticketflow/activities", "ticketflow/bridge") {
		for _, bad := range notInTheSaga {
			if strings.HasPrefix(dep, bad.prefix) {
				t.Errorf("the saga links %s (%s); find the import with `go list -deps -f '{{.ImportPath}}: {{.Imports}}' ./workflows ./activities ./bridge`", dep, bad.why)
			}
		}
		if strings.HasPrefix(dep, "ticketflow/services/") && strings.HasSuffix(dep, "/server") {
			t.Errorf("the saga links %s: import the service's contract (its parent package) instead", dep)
		}
	}
}

// TestServersAreImportedOnlyByTheBinary keeps each service's server to itself: only the
// production binary's serve command (and the tooling's benchmark of the hold statement) imports a
// services/*/server package; everyone else uses the service's contract.
func TestServersAreImportedOnlyByTheBinary(t *testing.T) {
	cmd := exec.Command(goTool(), "list", "-f", `{{.ImportPath}}:{{join .Imports " "}}`, "ticketflow/...")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	allowed := map[string]bool{"ticketflow/cmd/ticketflow": true, "ticketflow/tools/bench": true}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, ":")
		for _, imp := range strings.Fields(imports) {
			if strings.HasPrefix(imp, "ticketflow/services/") && strings.HasSuffix(imp, "/server") && !allowed[pkg] {
				t.Errorf("%s imports %s: use the service's contract package instead", pkg, imp)
			}
		}
	}
}

// depsOf is `go list -deps` of the packages, built as the Dockerfile builds (no cgo).
func depsOf(t *testing.T, pkgs ...string) []string {
	t.Helper()
	cmd := exec.Command(goTool(), append([]string{"list", "-deps"}, pkgs...)...)
	cmd.Env = append(cmd.Environ(), "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 50 {
		t.Fatalf("go list -deps listed %d packages; expected the whole dependency graph", len(deps))
	}
	return deps
}

// goTool is the go command of the toolchain running the test.
func goTool() string {
	g := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := exec.LookPath(g); err != nil {
		return "go"
	}
	return g
}
