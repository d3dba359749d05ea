package node

import (
	"io"
	"log/slog"

	"cadre/infrastructure/config"
)

// NewLogger builds the node's slog logger: text by default, JSON with
// logging/format=json.
func NewLogger(w io.Writer, cfg *config.Config) *slog.Logger {
	var h slog.Handler
	if cfg.Logging.Format == "json" {
		h = slog.NewJSONHandler(w, nil)
	} else {
		h = slog.NewTextHandler(w, nil)
	}
	return slog.New(h) // node.New adds the resolved node id to every line
}
