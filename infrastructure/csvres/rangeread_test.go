package csvres_test

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"cadre/infrastructure/csvres"
)

// TestReadRangeMatchesRead: every range of rows read by seeking through the
// row index is exactly the slice of a whole read, across index entries and
// through multi-line quoted cells and broken quoting.
func TestReadRangeMatchesRead(t *testing.T) {
	var b strings.Builder
	b.WriteString("name,fullName,emailAddress\n")
	for i := range 1500 {
		switch {
		case i%97 == 5:
			fmt.Fprintf(&b, "u%d,\"Two\nLines %d\",u%d@example.com\n", i, i, i)
		case i%211 == 7:
			fmt.Fprintf(&b, "u%d,\"never closed,u%d@example.com\n", i, i)
		case i%101 == 9:
			b.WriteString("\n") // blank line, skipped
			fmt.Fprintf(&b, "u%d,Full %d,u%d@example.com\n", i, i, i)
		default:
			fmt.Fprintf(&b, "u%d,Full %d,u%d@example.com\n", i, i, i)
		}
	}
	path := write(t, b.String())
	r := csvres.New(filepath.Dir(path))
	ctx := context.Background()
	all, err := r.Read(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	for _, rg := range [][2]int{{0, 10}, {250, 262}, {255, 257}, {256, 512}, {700, 1000}, {1490, 1600}, {-5, 3}, {2000, 2100}, {0, len(all)}} {
		got, err := r.ReadRange(ctx, path, rg[0], rg[1])
		if err != nil {
			t.Fatal(err)
		}
		from, to := min(max(rg[0], 0), len(all)), min(max(rg[1], 0), len(all))
		want := all[from:max(from, to)]
		if len(got) != len(want) {
			t.Fatalf("range %v: %d rows, want %d", rg, len(got), len(want))
		}
		for i := range want {
			if got[i].Line != want[i].Line || !reflect.DeepEqual(got[i].Fields, want[i].Fields) || (got[i].Err == nil) != (want[i].Err == nil) {
				t.Fatalf("range %v row %d = %+v, want %+v", rg, from+i, got[i], want[i])
			}
		}
	}
}

// TestReadRangeConcurrent: workers reading ranges of a file nobody has
// indexed yet, all at once, get the rows a whole read gives.
func TestReadRangeConcurrent(t *testing.T) {
	var b strings.Builder
	b.WriteString("name\n")
	for i := range 3000 {
		fmt.Fprintf(&b, "u%d\n", i)
	}
	path := write(t, b.String())
	r := csvres.New(filepath.Dir(path))
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			from := w * 300
			rows, err := r.ReadRange(ctx, path, from, from+300)
			if err != nil {
				errs <- err
				return
			}
			for i, row := range rows {
				if want := fmt.Sprintf("u%d", from+i); row.Fields["name"] != want {
					errs <- fmt.Errorf("range from %d row %d = %q, want %q", from, i, row.Fields["name"], want)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
