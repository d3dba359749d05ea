package cluster

import "time"

// EventKind names what happened in the cluster.
type EventKind string

// Event kinds an operator sees in the activity view.
const (
	// EventNodeJoined: a node registered and checks in.
	EventNodeJoined EventKind = "node-joined"
	// EventNodeLeft: a node stopped gracefully and marked itself DOWN.
	EventNodeLeft EventKind = "node-left"
	// EventNodeDead: Actor declared Node dead; Millis is how long recovering
	// its work took.
	EventNodeDead EventKind = "node-dead"
	// EventNodeReturned: a node declared dead checked in again.
	EventNodeReturned EventKind = "node-returned"
	// EventBucketFenced: Node tried to complete a bucket that had been
	// handed to another worker; the completion was refused.
	EventBucketFenced EventKind = "bucket-fenced"
	// EventSchedulerStopped and EventSchedulerStarted: an operator paused or
	// resumed Node's scheduler.
	EventSchedulerStopped EventKind = "scheduler-stopped"
	EventSchedulerStarted EventKind = "scheduler-started"
	// EventConformance: Node is in ERROR and does not schedule (Message says why).
	EventConformance EventKind = "conformance-error"
	// EventRepair: Actor's repair pass healed an inconsistent state a
	// database fault or a lost node left behind (Message says which).
	EventRepair EventKind = "repair"
	// EventCaughtUp: a node applied changes from the change log whose
	// signed push never reached it.
	EventCaughtUp EventKind = "caught-up-from-log"
)

// Event is one entry of the cluster's activity.
type Event struct {
	ID int64
	// At is the database clock when the event was stored.
	At   time.Time
	Kind EventKind
	// Node is the node the event is about; Actor the node that saw or did it.
	Node, Actor string
	Message     string
	// Millis is a duration that belongs to the event (recovery time), 0 if none.
	Millis int64
}
