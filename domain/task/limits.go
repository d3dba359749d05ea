package task

import (
	"fmt"
	"strconv"
	"strings"
)

// Special execution-group names of midPoint's taskExecutionLimitations.
const (
	// LimitUnnamed ("_") stands for tasks without an execution group.
	LimitUnnamed = "_"
	// LimitThisNode ("#") stands for the node's own id: the group of the
	// worker tasks pinned to it.
	LimitThisNode = "#"
	// LimitOthers ("*") stands for every group not listed otherwise.
	LimitOthers = "*"
)

// Unlimited is the Limit of a group with no bound.
const Unlimited = -1

// GroupLimit bounds how many tasks of one execution group run on a node at
// once. Group is a group name or one of LimitUnnamed, LimitThisNode,
// LimitOthers; Limit is a count (0 = never on this node) or Unlimited.
type GroupLimit struct {
	Group string
	Limit int
}

// String writes the limit in midPoint's syntax ("g:3", "g:*").
func (l GroupLimit) String() string {
	if l.Limit == Unlimited {
		return l.Group + ":*"
	}
	return l.Group + ":" + strconv.Itoa(l.Limit)
}

// ParseLimits reads midPoint's taskExecutionLimitations syntax: comma-separated
// "group:N" entries, where a bare "group" or "group:*" is unlimited and
// "group:0" keeps the group off the node. A group may be listed once.
func ParseLimits(s string) ([]GroupLimit, error) {
	var out []GroupLimit
	seen := map[string]bool{}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		group, limit, hasLimit := strings.Cut(item, ":")
		group, limit = strings.TrimSpace(group), strings.TrimSpace(limit)
		l := GroupLimit{Group: group, Limit: Unlimited}
		switch {
		case group == "":
			return nil, fmt.Errorf("%q has no group name (use _ for tasks without a group)", item)
		case seen[group]:
			return nil, fmt.Errorf("group %q is listed twice", group)
		case hasLimit && limit != "*":
			n, err := strconv.Atoi(limit)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("%q: the limit must be a whole number from 0, or * for no limit", item)
			}
			l.Limit = n
		}
		seen[group] = true
		out = append(out, l)
	}
	return out, nil
}

// FormatLimits writes limits in midPoint's syntax, the inverse of ParseLimits.
func FormatLimits(ls []GroupLimit) string {
	parts := make([]string, len(ls))
	for i, l := range ls {
		parts[i] = l.String()
	}
	return strings.Join(parts, ",")
}

// DefaultLimits are midPoint's limitations when none are configured: tasks
// without a group and the node's own workers run unbounded, every other
// group not at all (extra lists groups the node also runs unbounded).
func DefaultLimits(extra ...string) []GroupLimit {
	out := []GroupLimit{{LimitUnnamed, Unlimited}, {LimitThisNode, Unlimited}}
	for _, g := range extra {
		out = append(out, GroupLimit{g, Unlimited})
	}
	return append(out, GroupLimit{LimitOthers, 0})
}

// MergeLimits lays configured limits over base: a group listed in both takes
// the configured limit, the others keep their order.
func MergeLimits(base, configured []GroupLimit) []GroupLimit {
	out := make([]GroupLimit, 0, len(base)+len(configured))
	override := map[string]int{}
	for _, l := range configured {
		override[l.Group] = l.Limit
	}
	for _, l := range base {
		if n, ok := override[l.Group]; ok {
			l.Limit = n
			delete(override, l.Group)
		}
		out = append(out, l)
	}
	for _, l := range configured {
		if _, ok := override[l.Group]; ok {
			out = append(out, l)
		}
	}
	return out
}

// LimitFor returns the index in ls of the entry that governs a task of
// execution group on node nodeID: the group's own entry, else "_" for the
// unnamed group or "#" for the node's id, else "*"; -1 when none applies.
func LimitFor(ls []GroupLimit, group, nodeID string) int {
	alias := ""
	switch group {
	case "":
		alias = LimitUnnamed
	case nodeID:
		alias = LimitThisNode
	}
	others := -1
	for i, l := range ls {
		switch {
		case group != "" && l.Group == group, alias != "" && l.Group == alias:
			return i
		case l.Group == LimitOthers:
			others = i
		}
	}
	return others
}

// LimitUse is a limit with the number of tasks of its groups running on the
// node now.
type LimitUse struct {
	GroupLimit
	Running int64
}

// Usage matches the node's running tasks, counted per execution group, to its
// limits: each count goes to the entry LimitFor picks (counts no entry
// governs, such as tasks started before a restart with other limits, are left out).
func Usage(ls []GroupLimit, nodeID string, runningPerGroup map[string]int64) []LimitUse {
	out := make([]LimitUse, len(ls))
	for i, l := range ls {
		out[i].GroupLimit = l
	}
	for group, n := range runningPerGroup {
		if i := LimitFor(ls, group, nodeID); i >= 0 {
			out[i].Running += n
		}
	}
	return out
}
