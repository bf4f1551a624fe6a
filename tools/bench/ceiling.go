package bench

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"ticketflow/internal/ids"
	"ticketflow/internal/temporalclient"
	"ticketflow/tools/devstack"
	"ticketflow/tools/progress"
)

// The ceiling: what the Temporal server of the stack sustains for a bare workflow of three no-op
// activities, at the benchmark's concurrency. A booking saga that does real work should beat it.

func noop(context.Context) error { return nil }

func bareWorkflow(ctx workflow.Context) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 3}})
	for i := 0; i < 3; i++ {
		if err := workflow.ExecuteActivity(ctx, noop).Get(ctx, nil); err != nil {
			return err
		}
	}
	return nil
}

// ceiling runs n bare workflows with `concurrency` callers, each starting one and waiting for its
// result, on a worker in this process, and returns completed workflows per second and the ids of
// up to sample of them.
func ceiling(ctx context.Context, cfg *devstack.Settings, n, concurrency, sample int, prog *progress.Reporter) (float64, []string, error) {
	c, err := temporalclient.Dial(ctx, cfg.Config)
	if err != nil {
		return 0, nil, err
	}
	defer c.Close()
	queue := "bench-ceiling-" + ids.New()[:8]
	w := sdkworker.New(c, queue, sdkworker.Options{MaxConcurrentWorkflowTaskPollers: 8, MaxConcurrentActivityTaskPollers: 8})
	w.RegisterWorkflow(bareWorkflow)
	w.RegisterActivity(noop)
	if err := w.Start(); err != nil {
		return 0, nil, err
	}
	defer w.Stop()
	var next, failed atomic.Int64
	var mu sync.Mutex
	var done []string
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < concurrency; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) && ctx.Err() == nil {
				run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: queue}, bareWorkflow)
				if err == nil {
					err = run.Get(ctx, nil)
				}
				if err != nil {
					failed.Add(1)
					continue
				}
				prog.Add(1)
				mu.Lock()
				if len(done) < sample {
					done = append(done, run.GetID())
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	completed := float64(int64(n) - failed.Load())
	return completed / time.Since(start).Seconds(), done, nil
}
