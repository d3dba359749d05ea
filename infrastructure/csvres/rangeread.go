package csvres

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"cadre/app/handlers"
)

// indexEvery is how many data rows lie between two entries of a file's row
// index: a range read seeks to the entry at or before its first row and
// parses at most this many rows too many.
const indexEvery = 256

// indexCacheSize bounds the files whose row index a reader keeps.
const indexCacheSize = 32

// rowIndex locates every indexEvery-th data row of one version of a file.
type rowIndex struct {
	cols []string
	offs []int64 // byte offset of the line data row i*indexEvery starts on
	line []int   // and that line's number
	rows int     // data rows in the file
}

type indexKey struct {
	path  string
	size  int64
	mtime time.Time
}

// indexes is the reader's cache of row indexes, by file version. Workers
// that ask for the same file at once wait for one build.
type indexes struct {
	mu       sync.Mutex
	byID     map[indexKey]*rowIndex
	keys     []indexKey // oldest first
	building singleflight.Group
}

func (x *indexes) get(k indexKey) *rowIndex {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.byID[k]
}

func (x *indexes) put(k indexKey, idx *rowIndex) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.byID == nil {
		x.byID = map[indexKey]*rowIndex{}
	}
	if _, ok := x.byID[k]; !ok {
		x.keys = append(x.keys, k)
	}
	x.byID[k] = idx
	for len(x.keys) > indexCacheSize {
		delete(x.byID, x.keys[0])
		x.keys = x.keys[1:]
	}
}

// ReadRange returns data rows [from, to) of the file at path, the same rows
// Read would return at those indexes. The first read of a version of a file
// (by path, size and modification time) scans it once to index where its
// rows start; every later range seeks there and parses only its own rows, so
// a bucketed import reads the file about once per node, not once per bucket.
func (f *Files) ReadRange(ctx context.Context, path string, from, to int) ([]handlers.Row, error) {
	file, real, err := f.open(path)
	if errors.Is(err, ErrOutsideResources) {
		return nil, err
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("csv resource %s: file does not exist: %w", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("csv resource %s: %w", path, err)
	}
	defer file.Close()
	st, err := file.Stat()
	if err != nil {
		return nil, fmt.Errorf("csv resource %s: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		// A device or a pipe cannot seek: read it whole, within the limits.
		rows, err := f.parse(ctx, file, path)
		if err != nil {
			return nil, err
		}
		from, to = min(max(from, 0), len(rows)), min(max(to, 0), len(rows))
		return rows[from:max(from, to)], nil
	}
	if maxFile := f.maxFileBytes(); st.Size() > maxFile {
		return nil, fmt.Errorf("csv resource %s: %w: %d bytes, the limit is %d bytes", path, ErrFileTooLarge, st.Size(), maxFile)
	}
	key := indexKey{path: real, size: st.Size(), mtime: st.ModTime()}
	idx := f.index.get(key)
	if idx == nil {
		built, err, _ := f.index.building.Do(fmt.Sprintf("%s\x00%d\x00%d", key.path, key.size, key.mtime.UnixNano()), func() (any, error) {
			idx, err := f.buildIndex(ctx, file, path)
			if err == nil {
				f.index.put(key, idx)
			}
			return idx, err
		})
		if err != nil {
			return nil, err
		}
		idx = built.(*rowIndex)
	}
	from, to = min(max(from, 0), idx.rows), min(max(to, 0), idx.rows)
	if from >= to {
		return nil, nil
	}
	cp := from / indexEvery
	if _, err := file.Seek(idx.offs[cp], io.SeekStart); err != nil {
		return nil, fmt.Errorf("csv resource %s: %w", path, err)
	}
	lr := &lines{r: bufio.NewReaderSize(file, 16<<10), max: f.maxLineBytes(), next: idx.line[cp] - 1, read: idx.offs[cp]}
	rows := make([]handlers.Row, 0, to-from)
	for i := cp * indexEvery; i < to; i++ {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		rec, err := lr.record()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("csv resource %s changed while it was read: row %d is gone", path, i)
		}
		if err != nil {
			return nil, fmt.Errorf("csv resource %s: %w", path, err)
		}
		if i >= from {
			rows = append(rows, rowOf(rec, idx.cols, path))
		}
	}
	return rows, nil
}

// buildIndex scans a whole file once, recording where every indexEvery-th
// data row starts; it keeps no rows.
func (f *Files) buildIndex(ctx context.Context, file *os.File, path string) (*rowIndex, error) {
	maxFile := f.maxFileBytes()
	lr := &lines{r: bufio.NewReaderSize(&io.LimitedReader{R: file, N: maxFile + 1}, 64<<10), max: f.maxLineBytes()}
	cols, err := header(lr, path, maxFile)
	if err != nil {
		return nil, err
	}
	idx := &rowIndex{cols: cols}
	err = eachRecord(ctx, lr, path, maxFile, func(rec record) {
		if idx.rows%indexEvery == 0 {
			idx.offs = append(idx.offs, rec.off)
			idx.line = append(idx.line, rec.line)
		}
		idx.rows++
	})
	if err != nil {
		return nil, err
	}
	return idx, nil
}
