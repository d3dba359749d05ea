// Command cadre runs one node of the Cadre clustered repository and task service.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"cadre/infrastructure/config"
	"cadre/node"
)

func main() {
	cfg, err := config.Load(os.Args[1:], os.Environ())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	log := node.NewLogger(os.Stderr, cfg)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	n, err := node.New(ctx, cfg, log)
	if err != nil {
		log.Error("start-up failed", "err", err)
		os.Exit(1)
	}
	log = n.Log // from here on every line carries the resolved node id
	if n.GeneratedPassword != "" {
		fmt.Fprintf(os.Stderr, "\n  administrator password (shown once): %s\n\n", n.GeneratedPassword)
	}
	if err := n.Start(ctx); err != nil {
		log.Error("start-up failed", "err", err)
		_ = n.Stop(context.Background())
		os.Exit(1)
	}
	<-ctx.Done()
	stop()
	log.Info("stopping")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := n.Stop(shutdownCtx); err != nil && !errors.Is(err, context.Canceled) {
		log.Error("shutdown", "err", err)
		os.Exit(1)
	}
	log.Info("stopped")
}
