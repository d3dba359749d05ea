package gormrepo_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"cadre/db/dbtest"
	"cadre/domain/task"
	"cadre/infrastructure/gormrepo"
)

// TestTaskUniqueKey: a unique key is held by one task until it closes, on
// every dialect, and the refusal names the holder.
func TestTaskUniqueKey(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			repo := gormrepo.New(openMigrated(t, dialect))
			add := func(key string) (*task.Task, error) {
				now := time.Now().UTC()
				tk := &task.Task{OID: uuid.NewString(), Name: "keyed", Handler: "noop", Params: map[string]any{}, Role: task.Standalone,
					State: task.Runnable, Result: task.InProgress, UniqueKey: key, Version: 1, CreatedAt: now, ModifiedAt: now}
				return tk, repo.TasksAdd(ctx, tk)
			}
			holder := func(err error) string {
				var dup *task.DuplicateKeyError
				if !errors.As(err, &dup) {
					t.Fatalf("err = %v, want a DuplicateKeyError", err)
				}
				return dup.OID
			}

			first, err := add("nightly")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := add("nightly"); holder(err) != first.OID {
				t.Fatalf("second create names %s as the holder, want %s", holder(err), first.OID)
			}
			for range 2 {
				if _, err := add(""); err != nil {
					t.Fatalf("tasks without a key never conflict: %v", err)
				}
			}
			if _, err := repo.TasksUpdate(ctx, first.OID, func(tk *task.Task) error { return tk.Close(task.Success, "", time.Now()) }); err != nil {
				t.Fatal(err)
			}
			second, err := add("nightly")
			if err != nil {
				t.Fatalf("the key of a closed task is free again: %v", err)
			}
			_, err = repo.TasksUpdate(ctx, first.OID, func(tk *task.Task) error { return tk.RunNow() })
			if holder(err) != second.OID {
				t.Fatalf("reopening the closed task names %s, want %s", holder(err), second.OID)
			}
			if got, _ := repo.TasksGet(ctx, first.OID); got.State != task.Closed {
				t.Fatalf("the refused reopen left the task %s", got.State)
			}

			t.Run("concurrent creates: one wins", func(t *testing.T) {
				var wg sync.WaitGroup
				errs := make([]error, 4)
				oids := make([]string, 4)
				for i := range errs {
					wg.Add(1)
					go func() {
						defer wg.Done()
						tk, err := add("race")
						oids[i], errs[i] = tk.OID, err
					}()
				}
				wg.Wait()
				var won string
				for i, err := range errs {
					if err == nil {
						if won != "" {
							t.Fatalf("two creates with the same key succeeded: %s and %s", won, oids[i])
						}
						won = oids[i]
					}
				}
				if won == "" {
					t.Fatalf("no create succeeded: %v", errs)
				}
				for _, err := range errs {
					if err != nil && holder(err) != won {
						t.Fatalf("a loser names %s, want the winner %s", holder(err), won)
					}
				}
			})
		})
	}
}
