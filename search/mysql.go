package search

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// mysqlSchema is the layout of a [MySQLIndex] and [MySQLEnvelopeStore],
// in the Rekor v2 log's database next to Tessera's tables.
var mysqlSchema = []string{
	// One row per indexed entry of either log: the time results are
	// ordered by and the summary (JSON) they show, kept across resets.
	"CREATE TABLE IF NOT EXISTS `SignetSearchEntry` (" +
		"`log` TINYINT UNSIGNED NOT NULL, `idx` BIGINT UNSIGNED NOT NULL, `time` BIGINT NOT NULL, " +
		"`summary` MEDIUMBLOB NULL, PRIMARY KEY (`log`, `idx`))",
	// One row per key and entry, keyed by the SHA-256 of the key so that
	// keys of any length fit; time is the entry's, copied so that a page
	// of results is read in order from the secondary index.
	"CREATE TABLE IF NOT EXISTS `SignetSearchKey` (" +
		"`key_hash` BINARY(32) NOT NULL, `log` TINYINT UNSIGNED NOT NULL, `idx` BIGINT UNSIGNED NOT NULL, " +
		"`time` BIGINT NOT NULL, " +
		"PRIMARY KEY (`key_hash`, `log`, `idx`), KEY `by_time` (`key_hash`, `time`, `log`, `idx`))",
	// One row per log: how far it is indexed, in which generation.
	"CREATE TABLE IF NOT EXISTS `SignetSearchFollow` (" +
		"`log` TINYINT UNSIGNED NOT NULL, `followed` BIGINT UNSIGNED NOT NULL, `generation` BIGINT UNSIGNED NOT NULL, " +
		"PRIMARY KEY (`log`))",
	"INSERT INTO `SignetSearchFollow` (`log`, `followed`, `generation`) VALUES (1, 0, 0), (2, 0, 0) ON DUPLICATE KEY UPDATE `log` = `log`",
	"CREATE TABLE IF NOT EXISTS `SignetEnvelope` (" +
		"`leaf_hash` BINARY(32) NOT NULL, `envelope` MEDIUMBLOB NOT NULL, PRIMARY KEY (`leaf_hash`))",
}

// mysqlKeyRows is the most key rows one INSERT writes.
const mysqlKeyRows = 2000

// MySQLIndex is an [Index] in a MySQL or MariaDB database that several
// servers share; each follows the logs and adds what it reads, which is
// idempotent. A followed size only grows within a generation, and Reset
// starts a new one, so a server following during a reset cannot mark
// leaves as indexed whose keys the reset removed.
type MySQLIndex struct{ db *sql.DB }

var _ Index = (*MySQLIndex)(nil)

// NewMySQLIndex returns the index kept in db's current database, creating
// its tables (and those of [MySQLEnvelopeStore]) if needed. The caller
// keeps ownership of db.
func NewMySQLIndex(ctx context.Context, db *sql.DB) (*MySQLIndex, error) {
	if err := createMySQLTables(ctx, db); err != nil {
		return nil, err
	}
	return &MySQLIndex{db: db}, nil
}

func createMySQLTables(ctx context.Context, db *sql.DB) error {
	for _, stmt := range mysqlSchema {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("create search tables: %w", err)
		}
	}
	return nil
}

// Add implements [Index] in one transaction.
func (x *MySQLIndex) Add(ctx context.Context, entries []IndexEntry) error {
	if len(entries) == 0 {
		return nil
	}
	tx, err := x.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("add to search index: %w", err)
	}
	defer func() { _ = tx.Rollback() }() // after Commit it only returns ErrTxDone
	var q strings.Builder
	args := make([]any, 0, 3*len(entries))
	q.WriteString("INSERT INTO `SignetSearchEntry` (`log`, `idx`, `time`, `summary`) VALUES ")
	for i, e := range entries {
		if e.Log == 0 {
			return fmt.Errorf("add to search index: entry %d has no log", e.Index)
		}
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?, ?, ?)")
		var sum []byte
		if e.Summary != nil {
			if sum, err = json.Marshal(e.Summary); err != nil {
				return fmt.Errorf("add to search index: %w", err)
			}
		}
		args = append(args, uint8(e.Log), e.Index, e.Time, sum)
	}
	q.WriteString(" ON DUPLICATE KEY UPDATE `time` = `time`, `summary` = COALESCE(`summary`, VALUES(`summary`))")
	if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
		return fmt.Errorf("add to search index: %w", err)
	}
	// Keys take the entry's recorded time, which an earlier Add may have
	// set.
	q.Reset()
	args = args[:0]
	q.WriteString("SELECT `log`, `idx`, `time` FROM `SignetSearchEntry` WHERE (`log`, `idx`) IN (")
	for i, e := range entries {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?)")
		args = append(args, uint8(e.Log), e.Index)
	}
	q.WriteString(")")
	times := make(map[entryRef]int64, len(entries))
	rows, err := tx.QueryContext(ctx, q.String(), args...)
	if err != nil {
		return fmt.Errorf("add to search index: %w", err)
	}
	for rows.Next() {
		var (
			log uint8
			ref entryRef
			t   int64
		)
		if err := rows.Scan(&log, &ref.index, &t); err != nil {
			rows.Close()
			return fmt.Errorf("add to search index: %w", err)
		}
		ref.log = Log(log)
		times[ref] = t
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("add to search index: %w", err)
	}
	// In statements of at most mysqlKeyRows rows, well within MySQL's
	// 65,535 placeholders.
	type keyRow struct {
		hash  [32]byte
		entry IndexEntry
	}
	var krows []keyRow
	for _, e := range entries {
		for _, k := range e.Keys {
			krows = append(krows, keyRow{sha256.Sum256([]byte(k)), e})
		}
	}
	for len(krows) > 0 {
		chunk := krows[:min(len(krows), mysqlKeyRows)]
		krows = krows[len(chunk):]
		q.Reset()
		args = args[:0]
		q.WriteString("INSERT INTO `SignetSearchKey` (`key_hash`, `log`, `idx`, `time`) VALUES ")
		for i, r := range chunk {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?)")
			args = append(args, r.hash[:], uint8(r.entry.Log), r.entry.Index, times[entryRef{r.entry.Log, r.entry.Index}])
		}
		q.WriteString(" ON DUPLICATE KEY UPDATE `time` = VALUES(`time`)")
		if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
			return fmt.Errorf("add to search index: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("add to search index: %w", err)
	}
	return nil
}

// Lookup implements [Index].
func (x *MySQLIndex) Lookup(ctx context.Context, keys []string, offset, limit int) ([]Posting, int, error) {
	if len(keys) == 0 || limit < 0 {
		return nil, 0, nil
	}
	hashes := make([]any, len(keys))
	marks := make([]string, len(keys))
	for i, k := range keys {
		h := sha256.Sum256([]byte(k))
		hashes[i], marks[i] = h[:], "?"
	}
	in := "`key_hash` IN (" + strings.Join(marks, ", ") + ")"
	var total int
	if err := x.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM (SELECT DISTINCT `log`, `idx` FROM `SignetSearchKey` WHERE "+in+") t", hashes...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("search index: %w", err)
	}
	rows, err := x.db.QueryContext(ctx, "SELECT DISTINCT `time`, `log`, `idx` FROM `SignetSearchKey` WHERE "+in+
		" ORDER BY `time` DESC, `log` DESC, `idx` DESC LIMIT ? OFFSET ?", append(hashes, limit, max(offset, 0))...)
	if err != nil {
		return nil, 0, fmt.Errorf("search index: %w", err)
	}
	defer rows.Close()
	var page []Posting
	for rows.Next() {
		var p Posting
		var log uint8
		if err := rows.Scan(&p.Time, &log, &p.Index); err != nil {
			return nil, 0, fmt.Errorf("search index: %w", err)
		}
		p.Log = Log(log)
		page = append(page, p)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("search index: %w", err)
	}
	if err := x.summaries(ctx, page); err != nil {
		return nil, 0, err
	}
	return page, total, nil
}

// summaries fills in the summaries of page.
func (x *MySQLIndex) summaries(ctx context.Context, page []Posting) error {
	if len(page) == 0 {
		return nil
	}
	marks := make([]string, len(page))
	args := make([]any, 0, 2*len(page))
	at := make(map[entryRef]int, len(page))
	for i, p := range page {
		marks[i] = "(?, ?)"
		args = append(args, uint8(p.Log), p.Index)
		at[entryRef{p.Log, p.Index}] = i
	}
	rows, err := x.db.QueryContext(ctx, "SELECT `log`, `idx`, `summary` FROM `SignetSearchEntry` WHERE `summary` IS NOT NULL AND (`log`, `idx`) IN ("+strings.Join(marks, ", ")+")", args...)
	if err != nil {
		return fmt.Errorf("search index: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			log uint8
			idx uint64
			raw []byte
		)
		if err := rows.Scan(&log, &idx, &raw); err != nil {
			return fmt.Errorf("search index: %w", err)
		}
		var sum Summary
		if err := json.Unmarshal(raw, &sum); err != nil {
			return fmt.Errorf("search index: summary of %s entry %d: %w", Log(log), idx, err)
		}
		page[at[entryRef{Log(log), idx}]].Summary = &sum
	}
	return rows.Err()
}

// Followed implements [Index].
func (x *MySQLIndex) Followed(ctx context.Context, log Log) (uint64, uint64, error) {
	var size, gen uint64
	err := x.db.QueryRowContext(ctx, "SELECT `followed`, `generation` FROM `SignetSearchFollow` WHERE `log` = ?", uint8(log)).Scan(&size, &gen)
	if err != nil {
		return 0, 0, fmt.Errorf("search index followed size: %w", err)
	}
	return size, gen, nil
}

// SetFollowed implements [Index].
func (x *MySQLIndex) SetFollowed(ctx context.Context, log Log, size, generation uint64) error {
	_, err := x.db.ExecContext(ctx, "UPDATE `SignetSearchFollow` SET `followed` = GREATEST(`followed`, ?) WHERE `log` = ? AND `generation` = ?",
		size, uint8(log), generation)
	if err != nil {
		return fmt.Errorf("search index followed size: %w", err)
	}
	return nil
}

// Reset implements [Index] in one transaction.
func (x *MySQLIndex) Reset(ctx context.Context) error {
	tx, err := x.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("reset search index: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, "DELETE FROM `SignetSearchKey`"); err != nil {
		return fmt.Errorf("reset search index: %w", err)
	}
	if _, err := tx.ExecContext(ctx, "UPDATE `SignetSearchFollow` SET `followed` = 0, `generation` = `generation` + 1"); err != nil {
		return fmt.Errorf("reset search index: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("reset search index: %w", err)
	}
	return nil
}

// MySQLEnvelopeStore is an [EnvelopeStore] in a MySQL or MariaDB
// database.
type MySQLEnvelopeStore struct{ db *sql.DB }

// NewMySQLEnvelopeStore returns the store kept in db's current database,
// creating its table if needed. The caller keeps ownership of db.
func NewMySQLEnvelopeStore(ctx context.Context, db *sql.DB) (*MySQLEnvelopeStore, error) {
	if err := createMySQLTables(ctx, db); err != nil {
		return nil, err
	}
	return &MySQLEnvelopeStore{db: db}, nil
}

// Put implements [EnvelopeStore].
func (s *MySQLEnvelopeStore) Put(ctx context.Context, leaf [32]byte, envelope []byte) error {
	if len(envelope) > MaxEnvelopeSize {
		return fmt.Errorf("envelope of %d bytes exceeds %d", len(envelope), MaxEnvelopeSize)
	}
	_, err := s.db.ExecContext(ctx, "INSERT INTO `SignetEnvelope` (`leaf_hash`, `envelope`) VALUES (?, ?) ON DUPLICATE KEY UPDATE `envelope` = VALUES(`envelope`)", leaf[:], envelope)
	if err != nil {
		return fmt.Errorf("store envelope: %w", err)
	}
	return nil
}

// Get implements [EnvelopeStore].
func (s *MySQLEnvelopeStore) Get(ctx context.Context, leaf [32]byte) ([]byte, bool, error) {
	var env []byte
	err := s.db.QueryRowContext(ctx, "SELECT `envelope` FROM `SignetEnvelope` WHERE `leaf_hash` = ?", leaf[:]).Scan(&env)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read envelope: %w", err)
	}
	return env, true, nil
}
