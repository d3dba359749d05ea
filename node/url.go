package node

// URL is this node's intra-cluster URL: the one its node row holds and its
// peers call (DESIGN §3), shown everywhere the node names itself (start-up
// log, dashboard). Before the node has registered it is where it listens.
func (n *Node) URL() string {
	if n.Cluster != nil {
		if u := n.Cluster.Self().URL; u != "" {
			return u
		}
	}
	return n.LocalURL()
}
