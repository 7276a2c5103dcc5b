// Package jsonlines keeps an append-only file of JSON records, one a line,
// each synced to disk before Append returns: the embedded storage of
// signet's search indexes and of the Rekor v1 log's entry store. Opening
// the file replays its records; a last line left incomplete by a crash is
// cut off.
package jsonlines

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"sync"
)

// File is an open JSON-lines file. Its methods are safe for concurrent
// use.
type File struct {
	mu   sync.Mutex
	path string
	f    *os.File
}

// Open opens the file at path, creating it if missing, and calls replay
// with each complete line in order, without its newline. A line replay
// refuses makes Open fail, naming the line's offset and wrapping replay's
// error; with skipDamaged it is skipped instead, and counted. A last line
// without a newline, left by a crash, is cut off. Appends go after the
// last complete line. Close the file when done.
func Open(path string, replay func(line []byte) error, skipDamaged bool) (f *File, skipped int, err error) {
	osf, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, 0, fmt.Errorf("open %s: %w", path, err)
	}
	good, skipped, err := replayLines(osf, replay, skipDamaged)
	if err != nil {
		osf.Close()
		return nil, 0, fmt.Errorf("read %s: %w", path, err)
	}
	if err := osf.Truncate(good); err != nil {
		osf.Close()
		return nil, 0, fmt.Errorf("truncate %s: %w", path, err)
	}
	if _, err := osf.Seek(good, io.SeekStart); err != nil {
		osf.Close()
		return nil, 0, fmt.Errorf("seek %s: %w", path, err)
	}
	return &File{path: path, f: osf}, skipped, nil
}

// replayLines calls replay for every newline-terminated line of r and
// returns the offset just past the last one, and how many lines replay
// refused when skipDamaged.
func replayLines(r io.Reader, replay func([]byte) error, skipDamaged bool) (off int64, skipped int, err error) {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			return off, skipped, nil // line, if any, is incomplete
		}
		if err != nil {
			return 0, 0, err
		}
		if err := replay(bytes.TrimSuffix(line, []byte("\n"))); err != nil {
			if !skipDamaged {
				return 0, 0, fmt.Errorf("record at offset %d: %w", off, err)
			}
			skipped++
		}
		off += int64(len(line))
	}
}

// Append writes the JSON encodings of records as lines and syncs the file.
func (j *File) Append(records ...any) error {
	var buf bytes.Buffer
	for _, r := range records {
		js, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("encode record: %w", err)
		}
		buf.Write(js)
		buf.WriteByte('\n')
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return fmt.Errorf("write %s: %w", j.path, os.ErrClosed)
	}
	if _, err := j.f.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("write %s: %w", j.path, err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", j.path, err)
	}
	return nil
}

// Replace replaces every record of the file with records, atomically: it
// writes them to a temporary file beside it, syncs it and renames it over
// the file. replaced reports whether the new records are the file's, which
// they are after the rename even when syncing the directory then fails
// (the error says so: a crash may bring back the old records); on any
// earlier error the file is as it was. Appends go after the new records.
func (j *File) Replace(records iter.Seq[any]) (replaced bool, err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return false, fmt.Errorf("replace %s: %w", j.path, os.ErrClosed)
	}
	tmp := j.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return false, fmt.Errorf("replace %s: %w", j.path, err)
	}
	w := bufio.NewWriterSize(f, 64<<10)
	enc := json.NewEncoder(w)
	for r := range records {
		if err = enc.Encode(r); err != nil {
			break
		}
	}
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = os.Rename(tmp, j.path)
	}
	if err != nil {
		f.Close()
		os.Remove(tmp)
		return false, fmt.Errorf("replace %s: %w", j.path, err)
	}
	// The file at path is the new one from here on, even if syncing its
	// directory fails: appends must not go to the old one.
	j.f.Close()
	j.f = f // positioned after the records written
	if err := syncDir(filepath.Dir(j.path)); err != nil {
		return true, fmt.Errorf("replace %s: replaced, but a crash may bring back the old records: sync directory: %w", j.path, err)
	}
	return true, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Close closes the file.
func (j *File) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return nil
	}
	err := j.f.Close()
	j.f = nil
	if err != nil {
		return fmt.Errorf("close %s: %w", j.path, err)
	}
	return nil
}
