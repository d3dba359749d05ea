package config

import "cadre/domain/cluster"

// validateNodeID checks the syntax of a nodeId expression at load time, so
// that `${sequence:9:1:node%d}` or `${random:number:5:1}` stop start-up with
// exit status 2 naming the key instead of failing later. Environment
// variables are not looked up here; the node does that when it starts.
func (l *loader) validateNodeID(c *Config) {
	if c.NodeID == "" || c.NodeID == DefaultNodeID {
		return
	}
	anyValue := func(string) string { return "x" }
	if _, _, err := cluster.ExpandNodeID(c.NodeID, anyValue, "host"); err != nil {
		l.fail("nodeId", l.from("nodeId"), "%v", err)
	}
}
