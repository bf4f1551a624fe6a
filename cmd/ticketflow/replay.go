package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/workflow"

	"ticketflow/cmd/internal/cli"
	"ticketflow/internal/temporalclient"
	"ticketflow/worker"
)

// replay replays workflow histories against this build's workflows: one exported file
// (`temporal workflow show -w <id> --output json`, or the JSON `tctl workflow show` wrote), or
// every workflow a visibility query finds on the server. It exits non-zero, naming the workflow
// and the reason, when a history does not replay (a non-deterministic change).
func replay(ctx context.Context, args []string, out io.Writer) error {
	fs := cli.Flags("ticketflow replay", "", "Replay workflow histories against this build's workflows: one exported file\n"+
		"(temporal workflow show -w <id> --output json, or tctl's JSON), or every workflow a visibility\n"+
		"query finds. Exits non-zero, naming the workflow and the reason, when one does not replay.")
	file := fs.String("file", "", "a history exported as JSON")
	query := fs.String("query", "", `a visibility query, e.g. 'WorkflowType="BookingWorkflow"'`)
	limit := fs.Int("limit", 1000, "at most this many workflows with --query")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if (*file == "") == (*query == "") {
		return errors.New("replay needs --file <history.json> or --query '<visibility query>'")
	}
	replayer, err := worker.NewReplayer()
	if err != nil {
		return err
	}
	logger := log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if *file != "" {
		hist, err := readHistory(*file)
		if err != nil {
			return err
		}
		if err := replayer.ReplayWorkflowHistory(logger, hist); err != nil {
			fmt.Fprintf(out, "FAIL %s: %v\n", *file, err)
			return cli.ExitCode(1)
		}
		fmt.Fprintf(out, "ok   %s (%d events)\n", *file, len(hist.Events))
		return nil
	}

	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	c, err := temporalclient.Dial(ctx, cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	var failed, replayed int
	var token []byte
	for replayed+failed < *limit {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: cfg.TemporalNS, Query: *query, NextPageToken: token, PageSize: 100})
		if err != nil {
			return fmt.Errorf("list workflows: %w", err)
		}
		for _, ex := range resp.Executions {
			id, run := ex.Execution.WorkflowId, ex.Execution.RunId
			err := replayer.ReplayWorkflowExecution(ctx, c.WorkflowService(), logger, cfg.TemporalNS,
				workflow.Execution{ID: id, RunID: run})
			if err != nil {
				failed++
				fmt.Fprintf(out, "FAIL %s (run %s): %v\n", id, run, err)
				continue
			}
			replayed++
		}
		if token = resp.NextPageToken; len(token) == 0 {
			break
		}
	}
	fmt.Fprintf(out, "replayed %d workflow(s), %d failed\n", replayed+failed, failed)
	if failed > 0 {
		return cli.ExitCode(1)
	}
	return nil
}

// readHistory reads an exported history: the JSON of `temporal workflow show --output json`
// ({"events":[...]}), of the older `tctl workflow show` (PascalCase enums, which the SDK's
// decoder also accepts), or a bare array of events.
func readHistory(path string) (*historypb.History, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if t := bytes.TrimSpace(raw); len(t) > 0 && t[0] == '[' {
		raw = append(append([]byte(`{"events":`), t...), '}')
	}
	return client.HistoryFromJSON(bytes.NewReader(raw), client.HistoryJSONOptions{})
}
