package cli

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"cadre/apiclient"
)

// barWidth is the number of cells of the progress bar.
const barWidth = 30

// unreachableFor is how long watch keeps retrying a node that does not answer
// (a restart, a load balancer switching nodes) before it gives up.
const unreachableFor = 30 * time.Second

func (e env) taskWatch(args []string) error {
	var c conn
	fs := e.flags("task watch", &c, false)
	every := fs.Duration("every", time.Second, "how often to read the task")
	rest, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	if *every <= 0 {
		return usageErrorf("--every %v: want a positive duration", *every)
	}
	api, err := e.client(c)
	if err != nil {
		return err
	}
	return e.watch(api, rest[0], *every)
}

// watch shows the task's progress until it closes: on a terminal one bar
// redrawn in place, otherwise one line whenever the progress changes. It
// returns nil when the task closed with SUCCESS.
func (e env) watch(api *apiclient.ClientWithResponses, oid string, every time.Duration) error {
	tty := isTerminal(e.stdout)
	last := ""
	var failingSince time.Time
	for {
		resp, err := api.GetTaskWithResponse(e.ctx, oid)
		if err == nil {
			err = apiclient.Check(resp.HTTPResponse, resp.Body, http.StatusOK)
		}
		var apiErr *apiclient.Error
		switch {
		case errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound:
			return fmt.Errorf("task %s: %w", oid, err)
		case err != nil && e.ctx.Err() != nil:
			return e.ctx.Err()
		case err != nil:
			if failingSince.IsZero() {
				failingSince = time.Now()
			}
			if time.Since(failingSince) > unreachableFor {
				return fmt.Errorf("task %s: no answer for %v: %w", oid, unreachableFor, err)
			}
			fmt.Fprintf(e.stderr, "\ncadre task watch: %v (retrying)\n", err)
		default:
			failingSince = time.Time{}
			t := resp.JSON200
			line := progressLine(t)
			switch {
			case tty:
				fmt.Fprintf(e.stdout, "\r%s\x1b[K", line)
			case line != last:
				fmt.Fprintln(e.stdout, line)
			}
			last = line
			if t.ExecutionState == apiclient.ExecutionStateCLOSED {
				if tty {
					fmt.Fprintln(e.stdout)
				}
				summary := fmt.Sprintf("task %s closed: %s (%s)", oid, orDash(string(t.ResultStatus)), progressText(t.Progress))
				if t.ResultStatus != apiclient.TaskResultStatusSUCCESS {
					if t.Message != nil && *t.Message != "" {
						summary += ": " + *t.Message
					}
					return &taskFailedError{summary}
				}
				fmt.Fprintln(e.stdout, summary)
				return nil
			}
		}
		select {
		case <-e.ctx.Done():
			if tty {
				fmt.Fprintln(e.stdout)
			}
			return e.ctx.Err()
		case <-time.After(every):
		}
	}
}

// progressLine is one line of the bar:
// "[#########---------------------]  30%  3/10 buckets, 30 items  RUNNING on node1".
// A task without buckets shows its item count and no percentage.
func progressLine(t *apiclient.Task) string {
	p := t.Progress
	bar, percent := strings.Repeat(".", barWidth), "   -"
	if p.BucketsTotal > 0 {
		done := int(p.BucketsComplete * barWidth / p.BucketsTotal)
		bar = strings.Repeat("#", done) + strings.Repeat("-", barWidth-done)
		percent = fmt.Sprintf("%3d%%", p.BucketsComplete*100/p.BucketsTotal)
	} else if t.ExecutionState == apiclient.ExecutionStateCLOSED {
		bar, percent = strings.Repeat("#", barWidth), "100%"
	}
	state := string(t.ExecutionState)
	if t.Node != "" {
		state += " on " + t.Node
	}
	return fmt.Sprintf("[%s] %s  %s  %s", bar, percent, progressText(p), state)
}
