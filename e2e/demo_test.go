//go:build integration

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ticketflow/internal/config"
)

// TestDemoScript runs the README's demo, scripts/demo.sh, against this stack: a tok_visa booking
// end to end (202, CONFIRMED, RESERVED seats, my bookings, the confirmation email in Mailpit, the
// workflow in Temporal, its messages on the six contract topics) and a tok_chargeDeclined booking
// ending FAILED with its seat AVAILABLE again. The script exits non-zero on any unexpected answer.
func TestDemoScript(t *testing.T) {
	cfg := loadConfig(t)
	for _, tool := range []string{"bash", "curl", "jq", "kcat"} {
		lookTool(t, tool, "run make tools, or sudo apt-get install -y "+tool)
	}
	temporal := filepath.Join(cfg.ToolsDir, "bin", "temporal")
	if _, err := os.Stat(temporal); err != nil {
		// TICKETFLOW_TOOLS_DIR unset: .tools is relative to the repository, not to e2e/.
		if abs, aerr := filepath.Abs(filepath.Join("..", ".tools", "bin", "temporal")); aerr == nil {
			temporal = abs
		}
		if _, err := os.Stat(temporal); err != nil {
			t.Fatalf("the Temporal CLI is missing (%v): run make tools", err)
		}
	}
	env := append(os.Environ(),
		"GATEWAY_URL="+cfg.URLs[config.Gateway],
		"MAILPIT_URL="+cfg.MailpitURL,
		"TEMPORAL_ADDRESS="+cfg.TemporalAddr,
		"TEMPORAL_NAMESPACE="+cfg.TemporalNS,
		"KAFKA_BROKERS="+strings.Join(cfg.KafkaBrokers, ","),
		"TEMPORAL_CLI="+temporal,
		"EVENT_ID=", // the script picks an event, as it does for a reader of the README
	)
	runStreaming(t, 3*time.Minute, "..", env, "bash", "scripts/demo.sh")
}
