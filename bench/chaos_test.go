package bench

import (
	"fmt"
	"testing"
	"time"

	"cadre/node/proctest/chaos"
)

// BenchmarkChaos runs each database fault of the fault matrix
// (tests/chaos, issue 19) once, on three nodes running a no-op task of
// 2,500 buckets of one 15 ms item (2 workers per node), with the harness of
// the matrix (node/proctest/chaos), and prints one line per fault:
//
//	cadre chaos fault=refuse-3s nodes=3 recovery_s=0.02 close_s=4.10 lost=0 doubled=0 exited=0 repairs=0
//
// recovery_s is from the end of the fault until bucket progress resumed:
// the first bucket completion the nodes stamped after the fault ended, or,
// when none came after it, until the task closed ("never" when neither
// happened within a minute). close_s is from the end of the fault until the
// task was seen CLOSED. lost counts buckets not COMPLETE at the end,
// doubled counts completions beyond a bucket's first, exited counts node
// processes that exited, repairs is cadre_repairs_total by kind summed
// over the nodes ("unexported" when a node's /metrics lacks it). The matrix asserts these; the benchmark only reports.
func BenchmarkChaos(b *testing.B) {
	work := chaos.Workload{Buckets: 2500, Items: 1, DelayMs: 15, PerNode: 2}
	for _, f := range chaos.Faults() {
		b.Run("fault="+f.Name, func(b *testing.B) {
			r := chaos.Run(b, chaos.Case{Fault: f, Workload: work, InjectAt: 50, CloseWithin: time.Minute})
			repairs := r.RepairString()
			if len(r.RepairsMissing) > 0 {
				repairs = "unexported"
			}
			fmt.Printf("cadre chaos fault=%s nodes=3 recovery_s=%s close_s=%s lost=%d doubled=%d exited=%d repairs=%s\n",
				f.Name, seconds(r.Recovery()), seconds(r.Closed), r.Lost, r.Doubled, len(r.Exited), repairs)
			if r.Recovery() >= 0 {
				b.ReportMetric(r.Recovery().Seconds(), "recovery_s")
			}
		})
	}
}

// seconds is d in seconds with two decimals, "never" for -1.
func seconds(d time.Duration) string {
	if d < 0 {
		return "never"
	}
	return fmt.Sprintf("%.2f", d.Seconds())
}
