// Package cli is cadre's command-line client: `cadre nodes`, `cadre tasks`,
// `cadre task create|show|watch|suspend|resume|run-now|delete`. It talks to
// any node's REST API (or a load balancer in front of them) through the
// generated client in apiclient, so it works from any machine that reaches
// the API, not only from a node's host.
package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"cadre/apiclient"
)

// Exit statuses of Run.
const (
	ExitOK      = 0 // done; for watch, the task closed with SUCCESS
	ExitFailed  = 1 // the API refused or could not be reached; for watch, the task closed with an error
	ExitUsage   = 2 // the command line is wrong
	defaultURL  = "http://localhost:8080"
	defaultUser = "administrator"
)

// commands are the first words Handles recognises.
var commands = []string{"nodes", "tasks", "task"}

// Handles reports whether args (without the program name) are a client
// command, which main runs with Run instead of starting a node.
func Handles(args []string) bool {
	return len(args) > 0 && slices.Contains(commands, args[0])
}

// Usage is the client part of `cadre --help`.
const Usage = `Client commands (talk to a node's REST API):
  cadre nodes                          the cluster's nodes: state, scheduler, last check-in
  cadre tasks [--state S] [--handler H] [--parent OID] [--limit N]
                                       tasks with their state and progress
  cadre task create --name N --handler H [--params JSON] [--cron EXPR | --interval SECONDS]
                    [--numeric FROM:TO:SIZE] [--per-node N | --workers N] [--group G]
                    [--suspended] [--watch]
                                       create a task and print its OID (--json FILE sends a whole body)
  cadre task show OID                  one task in full (JSON)
  cadre task watch OID                 a progress bar until the task closes; exit 1 unless it succeeded
  cadre task suspend|resume|run-now|delete OID

  Every client command takes --url URL (env CADRE_URL, default http://localhost:8080;
  with the context path if the node has one, e.g. https://host:8443/midpoint),
  --user NAME (env CADRE_USER, default administrator), --cacert FILE (env CADRE_CACERT:
  the CA of a node's HTTPS certificate, besides the system's) and reads the password
  from CADRE_PASSWORD; nodes and tasks take --json for the raw answer.
`

// env reads the process environment; tests replace it.
type env struct {
	ctx    context.Context
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
}

// Run executes a client command and returns the exit status.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	e := env{ctx: ctx, stdout: stdout, stderr: stderr, getenv: getenv}
	if len(args) == 0 {
		fmt.Fprint(stderr, Usage)
		return ExitUsage
	}
	var err error
	switch args[0] {
	case "nodes":
		err = e.nodes(args[1:])
	case "tasks":
		err = e.tasks(args[1:])
	case "task":
		err = e.task(args[1:])
	default:
		err = usageErrorf("unknown command %q", args[0])
	}
	var usage *usageError
	var failed *taskFailedError
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, Usage)
		return ExitOK
	case errors.As(err, &usage):
		fmt.Fprintf(stderr, "cadre %s: %v\n\n%s", args[0], err, Usage)
		return ExitUsage
	case errors.As(err, &failed):
		fmt.Fprintf(stderr, "cadre %s: %v\n", args[0], err)
		return ExitFailed
	default:
		fmt.Fprintf(stderr, "cadre %s: %v\n", args[0], err)
		return ExitFailed
	}
}

type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// taskFailedError is a watched task that closed without SUCCESS.
type taskFailedError struct{ msg string }

func (e *taskFailedError) Error() string { return e.msg }

// conn holds the connection flags every command takes.
type conn struct {
	url, user, cacert string
	json              bool
}

func (e env) flags(name string, c *conn, withJSON bool) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // Run prints the usage once, with the error
	c.url = firstNonEmpty(e.getenv("CADRE_URL"), defaultURL)
	c.user = firstNonEmpty(e.getenv("CADRE_USER"), defaultUser)
	fs.StringVar(&c.url, "url", c.url, "node or load balancer URL")
	fs.StringVar(&c.user, "user", c.user, "user name; the password comes from CADRE_PASSWORD")
	c.cacert = e.getenv("CADRE_CACERT")
	fs.StringVar(&c.cacert, "cacert", c.cacert, "PEM file of the CA that signed the node's certificate (besides the system's)")
	if withJSON {
		fs.BoolVar(&c.json, "json", false, "print the API's JSON answer")
	}
	return fs
}

// parse reads flags and positional arguments in any order and checks the
// number of positional ones.
func parse(fs *flag.FlagSet, args []string, positional int) ([]string, error) {
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageErrorf("%v", err)
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		rest = append(rest, args[0])
		args = args[1:]
	}
	if len(rest) != positional {
		if positional == 0 {
			return nil, usageErrorf("unexpected argument %q", rest[0])
		}
		return nil, usageErrorf("want %d argument(s), got %d", positional, len(rest))
	}
	return rest, nil
}

// client builds the API client; the password comes only from the
// environment, so it does not show in the process list or shell history.
func (e env) client(c conn) (*apiclient.ClientWithResponses, error) {
	if !strings.HasPrefix(c.url, "http://") && !strings.HasPrefix(c.url, "https://") {
		return nil, usageErrorf("--url %q: want http://host:port or https://host:port", c.url)
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	if c.cacert != "" {
		pem, err := os.ReadFile(c.cacert)
		if err != nil {
			return nil, usageErrorf("--cacert: %v", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, usageErrorf("--cacert %s: no PEM certificate in it", c.cacert)
		}
		hc.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	}
	return apiclient.New(c.url, c.user, e.getenv("CADRE_PASSWORD"), hc)
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// stdoutIsTerminal reports whether w is a terminal (for the progress bar).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
