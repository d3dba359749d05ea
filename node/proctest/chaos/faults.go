package chaos

import (
	"testing"
	"time"

	"cadre/node/proctest/faultproxy"
)

// Fault is one database fault: the cluster it needs and how to inject it.
type Fault struct {
	Name    string
	Options Options
	// Inject starts the fault and returns once it has ended (the database
	// is reachable again).
	Inject func(tb testing.TB, c *Cluster)
}

// Faults are the database faults of issue 19's matrix, in the order the
// matrix runs them.
func Faults() []Fault {
	return []Fault{
		{Name: "refuse-3s", Inject: func(tb testing.TB, c *Cluster) {
			c.Proxy.Refuse()
			time.Sleep(3 * time.Second)
			accept(tb, c.Proxy)
		}},
		{Name: "reset", Inject: func(tb testing.TB, c *Cluster) {
			tb.Logf("reset %d connections", c.Proxy.Reset())
		}},
		{Name: "latency-300ms", Inject: func(tb testing.TB, c *Cluster) {
			c.Proxy.SetLatency(300 * time.Millisecond)
			time.Sleep(4 * time.Second)
			c.Proxy.SetLatency(0)
		}},
		{Name: "blackhole-5s", Inject: func(tb testing.TB, c *Cluster) {
			lift := c.Proxy.Blackhole()
			time.Sleep(5 * time.Second)
			lift()
		}},
		// Longer than nodeTimeout at the defaults: every node loses its
		// check-ins, and when the database returns they judge each other.
		{Name: "refuse-16s", Options: Options{DefaultTimings: true}, Inject: func(tb testing.TB, c *Cluster) {
			c.Proxy.Refuse()
			c.Proxy.Reset()
			time.Sleep(16 * time.Second)
			accept(tb, c.Proxy)
		}},
		{Name: "too-many-clients", Inject: func(tb testing.TB, c *Cluster) {
			c.Proxy.Reject(&faultproxy.TooManyClients)
			c.Proxy.Reset()
			time.Sleep(4 * time.Second)
			c.Proxy.Reject(nil)
		}},
		// The repository stays up; the separate job-store database refuses
		// and drops every connection.
		{Name: "jobstore-down", Options: Options{SeparateJobStore: true}, Inject: func(tb testing.TB, c *Cluster) {
			c.JobProxy.Refuse()
			c.JobProxy.Reset()
			time.Sleep(5 * time.Second)
			accept(tb, c.JobProxy)
		}},
		// A restart as clients see it, without restarting the shared
		// server: every session ends, then the server answers "starting up"
		// until its recovery ends.
		{Name: "restart", Inject: func(tb testing.TB, c *Cluster) {
			c.Proxy.Reject(&faultproxy.StartingUp)
			c.Proxy.Reset()
			time.Sleep(2 * time.Second)
			c.Proxy.Reject(nil)
		}},
		// The primary dies (immediate stop) and the standby is promoted; the
		// nodes' multi-host URL must lead them to the new primary.
		{Name: "failover", Options: Options{Replica: true}, Inject: func(tb testing.TB, c *Cluster) {
			c.Replica.Failover(tb)
		}},
	}
}

func accept(tb testing.TB, p *faultproxy.Proxy) {
	if err := p.Accept(); err != nil {
		tb.Fatal(err)
	}
}
