-- Each node's effective taskExecutionLimitations in midPoint's syntax
-- ("_:*,#:1,*:0"), so every node can show a node's running tasks against them.
ALTER TABLE nodes ADD COLUMN execution_limits TEXT NOT NULL DEFAULT '';
