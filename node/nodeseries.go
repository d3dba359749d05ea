package node

import (
	"sync"

	appcluster "cadre/app/cluster"
	"cadre/infrastructure/metrics"
)

// nodeSeries keeps cadre_node_up in step with the node rows: one series per
// listed node, and none for a node whose row is gone (removed by cleanup).
type nodeSeries struct {
	mu    sync.Mutex
	known map[string]bool
}

func (s *nodeSeries) sync(m *metrics.Metrics, views []appcluster.NodeView) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.known == nil {
		s.known = map[string]bool{}
	}
	listed := make(map[string]bool, len(views))
	for _, v := range views {
		listed[v.ID], s.known[v.ID] = true, true
		m.NodeUp(v.ID, v.Alive && v.OperationalState == "UP")
	}
	for id := range s.known {
		if !listed[id] {
			m.ForgetNode(id)
			delete(s.known, id)
		}
	}
}
