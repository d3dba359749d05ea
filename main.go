// Command cadre runs one node of the Cadre clustered repository and task
// service, or one of its administrative commands (cadre --help lists them).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"cadre/infrastructure/config"
	"cadre/interfaces/cli"
	"cadre/interfaces/cmdline"
	"cadre/node"
)

func main() {
	if cli.Handles(os.Args[1:]) { // cadre nodes, tasks, task …: a client of a node's REST API
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
		stop()
		os.Exit(code)
	}
	cmd, err := cmdline.Parse(os.Args[1:])
	if errors.Is(err, cmdline.ErrHelp) {
		cmdline.PrintUsage(os.Stdout)
		fmt.Fprint(os.Stdout, "\n"+cli.Usage)
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "cadre:", err)
		os.Exit(2)
	}
	cfg, err := config.Load(cmd.ConfigArgs, os.Environ())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	log := node.NewLogger(os.Stderr, cfg)
	if cmd.Name == cmdline.ResetPassword {
		os.Exit(resetPassword(cmd, cfg))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// Listen first, so the process answers /healthz (and /readyz 503) while
	// it waits for its database.
	front, err := node.Listen(cfg, log)
	if err != nil {
		log.Error("start-up failed", "err", err)
		os.Exit(1)
	}
	n, err := front.Open(ctx)
	if err != nil {
		_ = front.Close(context.Background())
		if ctx.Err() != nil { // SIGTERM while waiting: a clean stop
			log.Info("stopped before the node was ready", "err", err)
			return
		}
		log.Error("start-up failed", "err", err)
		code := node.ExitStatus(err)
		if code != node.ExitFailure { // one plain line besides the log, as config.Load prints
			fmt.Fprintln(os.Stderr, "cadre:", err)
		}
		os.Exit(code)
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

// resetPassword runs `cadre admin reset-password` and returns the exit status.
func resetPassword(cmd cmdline.Command, cfg *config.Config) int {
	password := ""
	if cmd.PasswordFile != "" {
		data, err := os.ReadFile(cmd.PasswordFile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "cadre admin reset-password: --password-file:", err)
			return 2
		}
		password = strings.TrimRight(string(data), "\r\n")
	}
	set, err := node.ResetPassword(context.Background(), cfg, node.NewLogger(os.Stderr, cfg), cmd.User, password)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cadre admin reset-password:", err)
		return 1
	}
	fmt.Printf("password of %s reset; the user is enabled and their sessions are ended (a node that served one in the last 30 s may accept it until then)\n", cmd.User)
	if cmd.PasswordFile == "" {
		fmt.Printf("new password: %s\n", set)
	}
	return 0
}
