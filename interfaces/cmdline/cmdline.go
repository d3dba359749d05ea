// Package cmdline reads cadre's command line: which command to run and
// whether its arguments are ones cadre knows. The configuration itself
// (--config and the -D properties) is read by infrastructure/config; this
// package only makes sure nothing else slips through unnoticed, and prints
// the usage.
package cmdline

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// ErrHelp is returned by Parse when the user asked for the usage
// (-h, -help, --help or help); print Usage and exit 0.
var ErrHelp = errors.New("help requested")

// UsageError is a command line cadre does not understand; exit 2.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg + " (cadre --help lists every command and flag)" }

// Command names.
const (
	// Serve runs a node; it is what a bare `cadre [flags]` does.
	Serve = "serve"
	// ResetPassword sets a user's password directly in the repository.
	ResetPassword = "admin reset-password"
)

// Command is one parsed command line.
type Command struct {
	// Name is Serve or ResetPassword.
	Name string
	// ConfigArgs are the --config and -D arguments, for config.Load.
	ConfigArgs []string
	// User is the user whose password reset-password sets (default "administrator").
	User string
	// PasswordFile holds the new password for reset-password; empty = generate one.
	PasswordFile string
}

// Parse reads args (without the program name).
func Parse(args []string) (Command, error) {
	for _, a := range args {
		if a == "-h" || a == "-help" || a == "--help" || a == "help" {
			return Command{}, ErrHelp
		}
	}
	cmd := Command{Name: Serve}
	rest := args
	if len(rest) > 0 && rest[0] == "admin" {
		if len(rest) < 2 || rest[1] != "reset-password" {
			sub := "nothing"
			if len(rest) >= 2 {
				sub = fmt.Sprintf("%q", rest[1])
			}
			return Command{}, &UsageError{Msg: fmt.Sprintf("cadre admin: unknown subcommand %s; the admin command has reset-password", sub)}
		}
		cmd = Command{Name: ResetPassword, User: "administrator"}
		rest = rest[2:]
	}
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		name, value, hasValue := strings.Cut(a, "=")
		switch {
		case strings.HasPrefix(a, "-D"):
			cmd.ConfigArgs = append(cmd.ConfigArgs, a)
		case name == "--config" || name == "-config":
			if !hasValue {
				if i+1 >= len(rest) {
					return Command{}, &UsageError{Msg: a + " needs a file name"}
				}
				i++
				value = rest[i]
			}
			cmd.ConfigArgs = append(cmd.ConfigArgs, "--config="+value)
		case cmd.Name == ResetPassword && (name == "--user" || name == "--password-file"):
			if !hasValue {
				if i+1 >= len(rest) {
					return Command{}, &UsageError{Msg: a + " needs a value"}
				}
				i++
				value = rest[i]
			}
			if value == "" {
				return Command{}, &UsageError{Msg: name + " needs a value"}
			}
			if name == "--user" {
				cmd.User = value
			} else {
				cmd.PasswordFile = value
			}
		case strings.HasPrefix(a, "-"):
			return Command{}, &UsageError{Msg: fmt.Sprintf("unknown flag %q", a)}
		default:
			return Command{}, &UsageError{Msg: fmt.Sprintf("unknown command %q", a)}
		}
	}
	return cmd, nil
}

// PrintUsage writes the usage text.
func PrintUsage(w io.Writer) {
	_, _ = io.WriteString(w, usage)
}

const usage = `Cadre: a clustered repository and task-management service.

Usage:
  cadre [--config FILE] [-Dkey=value ...]
        run one node (web UI at /ui/, REST API at /api/v1/)
  cadre admin reset-password [--user NAME] [--password-file FILE] [--config FILE] [-Dkey=value ...]
        set a user's password (default user: administrator) directly in the
        repository the configuration points at, enable the user and print the
        new password; works while nodes are running or stopped
  cadre --help
        this text

Flags:
  --config FILE           configuration file (default: $MIDPOINT_HOME/config.xml,
                          else ./var/config.xml, when it exists)
  -Dmidpoint.<path>=V     any configuration key, with dots for slashes:
                          -Dmidpoint.nodeId=node1
                          -Dmidpoint.repository.jdbcUrl=jdbc:postgresql://db:5432/cadre
                          -Dmidpoint.taskManager.clustered=true
  -Dmidpoint.<path>_FILE=F  read the value from file F (for secrets)
  -Dmidpoint.home=DIR     home directory: database, reports, config.xml (default ./var)
  -Dserver.port=N         HTTP port (default 8080; 0 = any free port)
  -h, --help              print this text and exit

Where configuration comes from, weakest first:
  built-in defaults → config.xml → environment variables MP_SET_midpoint_<path>
  (MP_SET_midpoint_taskManager_clustered=true; a _FILE suffix reads a file)
  → -D arguments on the command line.

Every key, its default and meaning: docs/configuration.md and config.example.xml.
Exit status: 0 after a clean stop, 1 when start-up fails, 2 for a bad command
line or configuration, 3 when the database is still unreachable after
repository/initializationFailTimeout (default 5m; meanwhile /healthz answers
and /readyz says 503).
`
