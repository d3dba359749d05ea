package handlers

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"cadre/app/repository"
	"cadre/app/taskmanager"
	"cadre/domain/object"
	"cadre/domain/task"
)

// Report writes a CSV of all users — name, fullName, emailAddress, enabled,
// roles (role names separated by ";") — to this node's report directory as
// <report-oid>.csv, then records a Report object naming the node, the file
// and the task. Params: name (optional; default "Users <UTC timestamp>"; when
// a report of that name exists the timestamp is appended). One progress item
// per user written. Never bucketed: one run makes one file.
type Report struct {
	repo  *repository.Service
	files ReportFiles
	now   func() time.Time
}

// NewReport returns the report handler; now nil means time.Now.
func NewReport(repo *repository.Service, files ReportFiles, now func() time.Time) taskmanager.Handler {
	if now == nil {
		now = time.Now
	}
	return &Report{repo: repo, files: files, now: now}
}

// reportHeader is the first line of a users report.
var reportHeader = []string{"name", "fullName", "emailAddress", "enabled", "roles"}

// Validate implements taskmanager.Handler.
func (h *Report) Validate(params map[string]any, b *task.Bucketing) error {
	if _, err := optionalString(params, "name"); err != nil {
		return err
	}
	return rejectBucketing("report", "one run writes one file", b)
}

// Run implements taskmanager.Handler.
func (h *Report) Run(ctx context.Context, run *taskmanager.Run) error {
	if run.Bucket != nil {
		return errors.New("report cannot run a bucket: one run writes one file")
	}
	name, err := optionalString(run.Task.Params, "name")
	if err != nil {
		return err
	}
	oid := uuid.NewString()
	fileName := oid + ".csv"
	w, path, err := h.files.Create(fileName)
	if err != nil {
		return fmt.Errorf("create report file: %w", err)
	}
	keep := false
	defer func() {
		if !keep {
			if rmErr := h.files.Remove(fileName); rmErr != nil {
				run.Log.Warn("remove unfinished report file", "file", path, "err", rmErr)
			}
		}
	}()
	users, err := h.write(ctx, run, w)
	if closeErr := w.Close(); err == nil && closeErr != nil {
		err = fmt.Errorf("close report file %s: %w", path, closeErr)
	}
	if errors.Is(err, errStopped) {
		return err
	}
	if err != nil {
		return err
	}

	now := h.now().UTC()
	stamp := now.Format("2006-01-02 15:04:05")
	if name == "" {
		name = "Users " + stamp
	}
	rep := &object.Report{Meta: object.Meta{OID: oid, Name: name}, Node: run.Node, FileName: fileName, Task: run.Task.OID, CreatedAt: now}
	_, err = repoFor(h.repo, run).AddSystem(ctx, repository.AddInput{Object: rep})
	if errors.Is(err, object.ErrAlreadyExists) {
		rep.Name = name + " " + stamp
		_, err = repoFor(h.repo, run).AddSystem(ctx, repository.AddInput{Object: rep})
	}
	if err != nil {
		return fmt.Errorf("add report %q: %w", rep.Name, err)
	}
	keep = true
	run.Log.Info("report written", "report", oid, "name", rep.Name, "file", path, "users", users)
	return nil
}

// csvCell keeps a spreadsheet from reading a cell as a formula: a value that
// starts with '=', '+', '-', '@', a tab or a carriage return (a full name
// "=HYPERLINK(…)") gets a leading apostrophe, as OWASP advises for CSV files
// opened in Excel or LibreOffice.
func csvCell(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

// write writes the header and one line per user; it returns how many users it wrote.
func (h *Report) write(ctx context.Context, run *taskmanager.Run, w io.Writer) (int64, error) {
	cw := csv.NewWriter(w)
	if err := cw.Write(reportHeader); err != nil {
		return 0, err
	}
	roleNames := map[string]string{}
	var n int64
	err := eachUserByName(ctx, repoFor(h.repo, run), run, func(u *object.User) error {
		roles := make([]string, 0, len(u.Roles))
		for _, oid := range u.Roles {
			name, ok := roleNames[oid]
			if !ok {
				name = oid // a role that no longer exists shows as its OID
				if o, err := repoFor(h.repo, run).Store().Get(ctx, object.TypeRole, oid); err == nil {
					name = o.ObjectMeta().Name
				} else if !errors.Is(err, object.ErrNotFound) {
					return fmt.Errorf("read role %s: %w", oid, err)
				}
				roleNames[oid] = name
			}
			roles = append(roles, name)
		}
		if err := cw.Write([]string{csvCell(u.Name), csvCell(u.FullName), csvCell(u.EmailAddress), strconv.FormatBool(u.Enabled), csvCell(strings.Join(roles, ";"))}); err != nil {
			return err
		}
		n++
		run.Progress(1, 0)
		return nil
	})
	if err != nil {
		return n, err
	}
	cw.Flush()
	return n, cw.Error()
}
