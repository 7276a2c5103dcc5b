package rekorv1

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/go-sql-driver/mysql"
	"github.com/signetproject/signet/tlog"
	"github.com/signetproject/signet/tlog/storage"
)

// A Rekor v1 log on MySQL lives in a database of its own, next to the Rekor
// v2 log's: Tessera's MySQL driver uses fixed table names, so two trees
// cannot share one database. The v1 database holds Tessera's tables for the
// v1 tree and the tables below.

// MySQLDatabaseSuffix is appended to the database name of a mysql:// log
// storage URL to name the database of the Rekor v1 log
// ([OpenMySQL]): "signet" becomes "signet_rekor_v1".
const MySQLDatabaseSuffix = "_rekor_v1"

// v1MySQLSchema is the layout of a [MySQLStore] and of the v1 tree's
// identity; NewMySQLStore creates it when missing.
var v1MySQLSchema = []string{
	// One row per leaf: the entry store. log_index is NULL until the leaf
	// is known to be in the log.
	"CREATE TABLE IF NOT EXISTS `RekorV1Entry` (" +
		"`leaf_hash` BINARY(32) NOT NULL, " +
		"`integrated_time` BIGINT NOT NULL, " +
		"`log_index` BIGINT UNSIGNED NULL, " +
		"PRIMARY KEY (`leaf_hash`))",
	// The search index, keyed by the SHA-256 of the search key so that keys
	// of any length fit in the primary key; search_key is kept for people
	// reading the table.
	"CREATE TABLE IF NOT EXISTS `RekorV1Search` (" +
		"`key_hash` BINARY(32) NOT NULL, " +
		"`uuid` BINARY(32) NOT NULL, " +
		"`search_key` BLOB NOT NULL, " +
		"PRIMARY KEY (`key_hash`, `uuid`))",
	// A single row: how far the stores are reconciled with the tree, and
	// the generation, bumped whenever following restarts from zero.
	"CREATE TABLE IF NOT EXISTS `RekorV1Follow` (" +
		"`id` TINYINT UNSIGNED NOT NULL, " +
		"`followed` BIGINT UNSIGNED NOT NULL, " +
		"`generation` BIGINT UNSIGNED NOT NULL, " +
		"PRIMARY KEY (`id`))",
	"INSERT INTO `RekorV1Follow` (`id`, `followed`, `generation`) VALUES (0, 0, 0) ON DUPLICATE KEY UPDATE `id` = `id`",
	// A single row: the tree ID and what every server sharing the tree must
	// agree on, the checkpoint origin's hostname and the log ID (the hash of
	// the public key).
	"CREATE TABLE IF NOT EXISTS `RekorV1Tree` (" +
		"`id` TINYINT UNSIGNED NOT NULL, " +
		"`tree_id` BIGINT NOT NULL, " +
		"`hostname` VARCHAR(255) NOT NULL, " +
		"`log_id` BINARY(32) NOT NULL, " +
		"PRIMARY KEY (`id`))",
}

// MySQLStore is a [EntryStore] and [SearchIndex] in a MySQL or MariaDB
// database, for a Rekor v1 log that several servers share. Each server
// runs its own [Log] (whose locks work only within the process), so the
// store keeps its state consistent across servers on its own:
//
//   - Put never turns a record with a log index back into one without, and
//     never changes a recorded log index: the first index recorded for a
//     leaf wins. For the same index it keeps the later integrated time,
//     which is the one the appending server returned to its client (another
//     server reconciling the leaf copies the earlier, provisional time).
//   - SetFollowedSize only moves the followed size forward, so servers
//     following the tree concurrently never undo each other's progress.
//     SetFollowedSize(0) and Reset restart following from zero; they start
//     a new generation, and a SetFollowedSize from a follow that began in
//     an earlier generation is ignored, so that no server can mark leaves
//     as followed whose search keys a Reset removed.
//
// The generation a SetFollowedSize applies to is the one the store's last
// FollowedSize call read; [Log] calls them in pairs under one lock.
type MySQLStore struct {
	db *sql.DB

	mu         sync.Mutex
	generation uint64 // read by the last FollowedSize
	seen       bool   // whether FollowedSize was called
}

var (
	_ EntryStore  = (*MySQLStore)(nil)
	_ SearchIndex = (*MySQLStore)(nil)
)

// NewMySQLStore returns the store kept in db's current database, creating
// its tables if needed. The caller keeps ownership of db.
func NewMySQLStore(ctx context.Context, db *sql.DB) (*MySQLStore, error) {
	for _, stmt := range v1MySQLSchema {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return nil, fmt.Errorf("create v1 log tables: %w", err)
		}
	}
	return &MySQLStore{db: db}, nil
}

// Get implements [EntryStore].
func (s *MySQLStore) Get(ctx context.Context, leafHash [32]byte) (EntryRecord, bool, error) {
	var (
		rec   EntryRecord
		index sql.Null[uint64]
	)
	err := s.db.QueryRowContext(ctx, "SELECT `integrated_time`, `log_index` FROM `RekorV1Entry` WHERE `leaf_hash` = ?", leafHash[:]).
		Scan(&rec.IntegratedTime, &index)
	if errors.Is(err, sql.ErrNoRows) {
		return EntryRecord{}, false, nil
	}
	if err != nil {
		return EntryRecord{}, false, fmt.Errorf("read v1 entry record %x: %w", leafHash, err)
	}
	rec.Index, rec.Indexed = index.V, index.Valid
	return rec, true, nil
}

// mysqlV1PutSQL inserts or updates a leaf's record as [MySQLStore]
// describes. MySQL assigns left to right, so integrated_time is computed
// from the old log_index (as it is under MariaDB's
// SIMULTANEOUS_ASSIGNMENT mode).
const mysqlV1PutSQL = "INSERT INTO `RekorV1Entry` (`leaf_hash`, `integrated_time`, `log_index`) VALUES (?, ?, ?) " +
	"ON DUPLICATE KEY UPDATE " +
	"`integrated_time` = CASE " +
	"WHEN `log_index` IS NULL THEN VALUES(`integrated_time`) " +
	"WHEN `log_index` = VALUES(`log_index`) THEN GREATEST(`integrated_time`, VALUES(`integrated_time`)) " +
	"ELSE `integrated_time` END, " +
	"`log_index` = COALESCE(`log_index`, VALUES(`log_index`))"

// Put implements [EntryStore]. Unlike the file store, it keeps an
// existing log index; see [MySQLStore].
func (s *MySQLStore) Put(ctx context.Context, leafHash [32]byte, rec EntryRecord) error {
	index := sql.Null[uint64]{V: rec.Index, Valid: rec.Indexed}
	if _, err := s.db.ExecContext(ctx, mysqlV1PutSQL, leafHash[:], rec.IntegratedTime, index); err != nil {
		return fmt.Errorf("store v1 entry record %x: %w", leafHash, err)
	}
	return nil
}

// FollowedSize implements [EntryStore].
func (s *MySQLStore) FollowedSize(ctx context.Context) (uint64, error) {
	var size, gen uint64
	err := s.db.QueryRowContext(ctx, "SELECT `followed`, `generation` FROM `RekorV1Follow` WHERE `id` = 0").Scan(&size, &gen)
	if err != nil {
		return 0, fmt.Errorf("read v1 followed size: %w", err)
	}
	s.mu.Lock()
	s.generation, s.seen = gen, true
	s.mu.Unlock()
	return size, nil
}

// SetFollowedSize implements [EntryStore]. A size below the recorded one
// is ignored, except 0, which restarts following; see [MySQLStore].
func (s *MySQLStore) SetFollowedSize(ctx context.Context, size uint64) error {
	if size == 0 {
		if _, err := s.db.ExecContext(ctx, "UPDATE `RekorV1Follow` SET `followed` = 0, `generation` = `generation` + 1 WHERE `id` = 0"); err != nil {
			return fmt.Errorf("restart v1 following: %w", err)
		}
		return nil
	}
	s.mu.Lock()
	gen, seen := s.generation, s.seen
	s.mu.Unlock()
	if !seen {
		if _, err := s.FollowedSize(ctx); err != nil {
			return err
		}
		s.mu.Lock()
		gen = s.generation
		s.mu.Unlock()
	}
	// Affecting no row is fine: another server is further ahead, or
	// following restarted since this follow began and this one's progress
	// does not count.
	_, err := s.db.ExecContext(ctx, "UPDATE `RekorV1Follow` SET `followed` = GREATEST(`followed`, ?) WHERE `id` = 0 AND `generation` = ?", size, gen)
	if err != nil {
		return fmt.Errorf("store v1 followed size: %w", err)
	}
	return nil
}

// Add implements [SearchIndex].
func (s *MySQLStore) Add(ctx context.Context, uuid string, keys []string) error {
	leaf, err := parseLeafHash(uuid)
	if err != nil {
		return fmt.Errorf("add v1 search keys: %w", err)
	}
	if len(keys) == 0 {
		return nil
	}
	var q strings.Builder
	q.WriteString("INSERT INTO `RekorV1Search` (`key_hash`, `uuid`, `search_key`) VALUES ")
	args := make([]any, 0, 3*len(keys))
	for i, k := range keys {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?, ?)")
		h := sha256.Sum256([]byte(k))
		args = append(args, h[:], leaf[:], k)
	}
	// Pairs already present stay as they are.
	q.WriteString(" ON DUPLICATE KEY UPDATE `uuid` = `uuid`")
	if _, err := s.db.ExecContext(ctx, q.String(), args...); err != nil {
		return fmt.Errorf("add v1 search keys: %w", err)
	}
	return nil
}

// Lookup implements [SearchIndex]; the UUIDs come sorted.
func (s *MySQLStore) Lookup(ctx context.Context, key string) ([]string, error) {
	h := sha256.Sum256([]byte(key))
	rows, err := s.db.QueryContext(ctx, "SELECT `uuid` FROM `RekorV1Search` WHERE `key_hash` = ? ORDER BY `uuid`", h[:])
	if err != nil {
		return nil, fmt.Errorf("look up v1 search key: %w", err)
	}
	defer rows.Close()
	var uuids []string
	for rows.Next() {
		var u []byte
		if err := rows.Scan(&u); err != nil {
			return nil, fmt.Errorf("look up v1 search key: %w", err)
		}
		uuids = append(uuids, hex.EncodeToString(u))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("look up v1 search key: %w", err)
	}
	return uuids, nil
}

// Reset implements [SearchIndex]. It also restarts following from zero, in
// the same transaction, so that every leaf's keys are added again (by
// whichever server follows first).
func (s *MySQLStore) Reset(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("reset v1 search index: %w", err)
	}
	defer func() { _ = tx.Rollback() }() // after Commit it only returns ErrTxDone
	if _, err := tx.ExecContext(ctx, "DELETE FROM `RekorV1Search`"); err != nil {
		return fmt.Errorf("reset v1 search index: %w", err)
	}
	if _, err := tx.ExecContext(ctx, "UPDATE `RekorV1Follow` SET `followed` = 0, `generation` = `generation` + 1 WHERE `id` = 0"); err != nil {
		return fmt.Errorf("reset v1 search index: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("reset v1 search index: %w", err)
	}
	return nil
}

// OpenMySQL opens (creating if needed) a Rekor v1 log kept entirely in
// MySQL or MariaDB, which several servers can share: its Tessera tree,
// entry store, search index and tree ID live in the database named by url
// (mysql://user:pass@tcp(host:port)/db, as for [storage.NewMySQL]) with
// [MySQLDatabaseSuffix] appended. The database is created on first use if
// the user may; otherwise create it and grant the user its use beforehand.
//
// The tree ID is chosen at random by the first server and recorded with
// hostname and the log ID of key. Every server sharing the log must use the
// same hostname and key, as they sign each other's checkpoints; opening
// fails if they differ from the recorded ones. (To move the log to another
// hostname or key on purpose, update the RekorV1Tree row.)
//
// opts.CheckpointInterval is raised to [storage.MySQLMinCheckpointInterval] if
// lower. See [New] for the other arguments.
func OpenMySQL(ctx context.Context, url, hostname string, key crypto.Signer, opts tlog.Options) (*Log, error) {
	cfg, err := storage.ParseMySQLURL(url)
	if err != nil {
		return nil, err
	}
	// Check hostname and key before touching the database; the tree ID
	// here is a placeholder.
	signer, err := newV1Signer(hostname, 1, key)
	if err != nil {
		return nil, fmt.Errorf("open v1 log: %w", err)
	}
	db, err := openV1Database(ctx, cfg)
	if err != nil {
		return nil, err
	}
	l, err := openV1LogInDB(ctx, db, hostname, signer.logID, key, opts, storage.NewMySQLOn)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("rekor v1 log in database %s: %w", cfg.DBName+MySQLDatabaseSuffix, err)
	}
	l.owned = []io.Closer{db}
	return l, nil
}

// ObjectsPrefix is where a Rekor v1 log's tree lives under a server's
// object-store location ([OpenAWS]).
const ObjectsPrefix = "rekor-v1"

// OpenAWS is [OpenMySQL] with the v1 tree on Tessera's AWS driver
// ([storage.NewAWS]): its checkpoint, tiles and entry bundles are objects
// under objects' prefix plus "/rekor-v1", sequenced in the v1 database,
// which keeps the entry store, search index and tree ID as in
// [OpenMySQL]. opts.CheckpointInterval is raised to
// [storage.AWSMinCheckpointInterval] if lower.
func OpenAWS(ctx context.Context, url, objects, hostname string, key crypto.Signer, opts tlog.Options) (*Log, error) {
	cfg, err := storage.ParseMySQLURL(url)
	if err != nil {
		return nil, err
	}
	loc, err := storage.ParseS3URL(objects)
	if err != nil {
		return nil, err
	}
	signer, err := newV1Signer(hostname, 1, key)
	if err != nil {
		return nil, fmt.Errorf("open v1 log: %w", err)
	}
	db, err := openV1Database(ctx, cfg)
	if err != nil {
		return nil, err
	}
	dsn := cfg.Clone()
	dsn.DBName += MySQLDatabaseSuffix
	newDriver := func(ctx context.Context, db *sql.DB) (storage.Driver, error) {
		return storage.NewAWSOn(ctx, db, dsn, loc.Sub(ObjectsPrefix))
	}
	opts.CheckpointInterval = max(opts.CheckpointInterval, storage.AWSMinCheckpointInterval)
	l, err := openV1LogInDB(ctx, db, hostname, signer.logID, key, opts, newDriver)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("rekor v1 log in database %s and %s: %w", dsn.DBName, loc.Sub(ObjectsPrefix), err)
	}
	l.owned = []io.Closer{db}
	return l, nil
}

// openV1LogInDB opens the v1 log in db's database, its tree on the driver
// newDriver opens there; see OpenMySQL.
func openV1LogInDB(ctx context.Context, db *sql.DB, hostname string, logID [32]byte, key crypto.Signer, opts tlog.Options,
	newDriver func(context.Context, *sql.DB) (storage.Driver, error)) (*Log, error) {
	store, err := NewMySQLStore(ctx, db)
	if err != nil {
		return nil, err
	}
	treeID, err := loadOrCreateV1Tree(ctx, db, hostname, logID)
	if err != nil {
		return nil, err
	}
	driver, err := newDriver(ctx, db)
	if err != nil {
		return nil, err
	}
	opts.CheckpointInterval = max(opts.CheckpointInterval, storage.MySQLMinCheckpointInterval)
	return New(ctx, driver, Stores{Entries: store, Search: store}, hostname, treeID, key, opts)
}

// openV1Database connects to the v1 log's database on the server cfg names,
// creating the database if it does not exist.
func openV1Database(ctx context.Context, cfg *mysql.Config) (*sql.DB, error) {
	db, err := storage.OpenMySQLSuffixed(ctx, cfg, MySQLDatabaseSuffix)
	if err != nil {
		return nil, fmt.Errorf("rekor v1 log %w", err)
	}
	return db, nil
}

// loadOrCreateV1Tree returns the tree ID recorded in db. The first caller
// records a random one with hostname and logID; later callers must pass the
// same hostname and logID.
func loadOrCreateV1Tree(ctx context.Context, db *sql.DB, hostname string, logID [32]byte) (int64, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return 0, fmt.Errorf("generate tree ID: %w", err)
	}
	id := int64(binary.BigEndian.Uint64(b[:])>>1) | 1 // positive, like Trillian's
	// Of servers starting together, the first insert wins and all read it.
	_, err := db.ExecContext(ctx, "INSERT INTO `RekorV1Tree` (`id`, `tree_id`, `hostname`, `log_id`) VALUES (0, ?, ?, ?) ON DUPLICATE KEY UPDATE `id` = `id`",
		id, hostname, logID[:])
	if err != nil {
		return 0, fmt.Errorf("record tree ID: %w", err)
	}
	var (
		treeID      int64
		gotHostname string
		gotLogID    []byte
	)
	err = db.QueryRowContext(ctx, "SELECT `tree_id`, `hostname`, `log_id` FROM `RekorV1Tree` WHERE `id` = 0").Scan(&treeID, &gotHostname, &gotLogID)
	if err != nil {
		return 0, fmt.Errorf("read tree ID: %w", err)
	}
	if treeID <= 0 {
		return 0, fmt.Errorf("recorded tree ID %d is not positive", treeID)
	}
	if gotHostname != hostname {
		return 0, fmt.Errorf("the log's checkpoint origin is for hostname %q, not %q: servers sharing the log must share their public URL's hostname", gotHostname, hostname)
	}
	if string(gotLogID) != string(logID[:]) {
		return 0, fmt.Errorf("the log's key has log ID %x, this server's %x: servers sharing the log must use the same v1 log key", gotLogID, logID)
	}
	return treeID, nil
}
