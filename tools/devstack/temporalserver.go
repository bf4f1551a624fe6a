package devstack

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/durationpb"

	"ticketflow/internal/lifecycle"
	"ticketflow/internal/temporalclient"
)

// temporalServerBin is the full Temporal server `make tools` builds from tools/temporalserver.
const temporalServerBin = "temporal-server"

// temporalHistoryShards is the full server's shard count. It is fixed when its database is first
// set up: a data dir keeps the count it was created with.
const temporalHistoryShards = 4

// temporalFull is TEMPORAL_SERVER=full: the full Temporal server (tools/temporalserver, 1.29.1) on
// the stack's PostgreSQL, pgx plugin, several history shards, with the CLI's web UI. It creates its
// databases and schemas itself; the namespace and the search attributes are registered here.
func (s *Stack) temporalFull() *component {
	return &component{
		name: "temporal", port: s.cfg.TemporalPort, portEnv: "TEMPORAL_PORT",
		prepare: func(context.Context) error {
			return checkFree(s.cfg.TemporalUIPort, "the Temporal web UI", "TEMPORAL_UI_PORT")
		},
		command: func() (*exec.Cmd, error) {
			return exec.Command(s.tool(temporalServerBin), "--ip", "127.0.0.1",
				"--port", strconv.Itoa(s.cfg.TemporalPort), "--ui-port", strconv.Itoa(s.cfg.TemporalUIPort),
				"--pg-port", strconv.Itoa(s.cfg.PostgresPort), "--history-shards", strconv.Itoa(temporalHistoryShards),
				"--log-level", "warn"), nil
		},
		ready:      s.temporalHealthy,
		afterReady: s.registerTemporalNamespace,
		readyWait:  90 * time.Second,
	}
}

// registerTemporalNamespace registers the namespace and the search attributes a fresh full server
// lacks, then waits until its frontend accepts a query that names every search attribute (its
// namespace cache refreshes every few seconds).
func (s *Stack) registerTemporalNamespace(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	nc, err := client.NewNamespaceClient(client.Options{HostPort: s.cfg.TemporalAddr, Logger: quietTemporalLogger{}})
	if err != nil {
		return err
	}
	defer nc.Close()
	err = nc.Register(ctx, &workflowservice.RegisterNamespaceRequest{Namespace: s.cfg.TemporalNS,
		WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour)})
	var exists *serviceerror.NamespaceAlreadyExists
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("register namespace %s: %w", s.cfg.TemporalNS, err)
	}
	c, err := client.DialContext(ctx, client.Options{HostPort: s.cfg.TemporalAddr, Namespace: s.cfg.TemporalNS,
		Logger: quietTemporalLogger{}})
	if err != nil {
		return err
	}
	defer c.Close()
	defs := map[string]enums.IndexedValueType{}
	var query []string
	for _, sa := range lifecycle.SearchAttributeDefs {
		defs[sa.Name] = sa.Indexed
		query = append(query, sa.Name+" IS NULL")
	}
	for {
		// Right after the namespace is registered, the server may not know it yet: retry.
		err := temporalclient.RegisterSearchAttributes(ctx, c, s.cfg.TemporalNS, defs)
		if err == nil {
			_, err = c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
				Namespace: s.cfg.TemporalNS, PageSize: 1, Query: strings.Join(query, " OR ")})
		}
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("namespace %s and its search attributes: %w", s.cfg.TemporalNS, err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}
