package node

import (
	"log/slog"
	"os"
	"time"
)

// ApprovalPauseEnv holds every approval task run between giving the role and
// marking its case applied (a Go duration such as "5s"), for tests that kill
// the node in that window and prove the role is still given exactly once.
const ApprovalPauseEnv = "CADRE_TEST_APPROVAL_PAUSE"

// approvalPause reads ApprovalPauseEnv; unset or malformed is no pause.
func approvalPause(log *slog.Logger) time.Duration {
	v := os.Getenv(ApprovalPauseEnv)
	if v == "" {
		return 0
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		log.Warn("ignored: not a duration", "env", ApprovalPauseEnv, "value", v)
		return 0
	}
	log.Warn("approval tasks pause for testing", "pause", d)
	return d
}
