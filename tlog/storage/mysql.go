package storage

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera"
	tmysql "github.com/transparency-dev/tessera/storage/mysql"
)

// mysqlSchema is the table layout Tessera's MySQL driver (schema
// compatibility version 1) expects; NewMySQL creates it when missing.
var mysqlSchema = []string{
	"CREATE TABLE IF NOT EXISTS Tessera (`id` TINYINT UNSIGNED NOT NULL, `compatibilityVersion` BIGINT UNSIGNED NOT NULL, PRIMARY KEY (`id`))",
	"INSERT IGNORE INTO Tessera (`id`, `compatibilityVersion`) VALUES (0, 1)",
	"CREATE TABLE IF NOT EXISTS `Checkpoint` (`id` TINYINT UNSIGNED NOT NULL, `note` MEDIUMBLOB NOT NULL, `published_at` BIGINT NOT NULL, PRIMARY KEY(`id`))",
	"CREATE TABLE IF NOT EXISTS `TreeState` (`id` TINYINT UNSIGNED NOT NULL, `size` BIGINT UNSIGNED NOT NULL, `root` TINYBLOB NOT NULL, PRIMARY KEY(`id`))",
	// The empty tree's state, which Tessera would write on first start. Its
	// own check-then-insert (SELECT … FOR UPDATE of the missing row) makes
	// servers starting together on a new database deadlock; with the row
	// present it only reads.
	"INSERT INTO `TreeState` (`id`, `size`, `root`) VALUES (0, 0, X'" + hex.EncodeToString(rfc6962.DefaultHasher.EmptyRoot()) + "') ON DUPLICATE KEY UPDATE `id` = `id`",
	"CREATE TABLE IF NOT EXISTS `Subtree` (`level` TINYINT UNSIGNED NOT NULL, `index` BIGINT UNSIGNED NOT NULL, `nodes` MEDIUMBLOB NOT NULL, PRIMARY KEY(`level`, `index`))",
	"CREATE TABLE IF NOT EXISTS `TiledLeaves` (`tile_index` BIGINT UNSIGNED NOT NULL, `size` SMALLINT UNSIGNED NOT NULL, `data` LONGBLOB NOT NULL, PRIMARY KEY(`tile_index`))",
	// signet's own: the last checkpoint the log signed, which its
	// consistency guard checks every new checkpoint against (see
	// Record). Tessera never writes it.
	"CREATE TABLE IF NOT EXISTS `SignetSignedCheckpoint` (`id` TINYINT UNSIGNED NOT NULL, `size` BIGINT UNSIGNED NOT NULL, `note` MEDIUMBLOB NOT NULL, PRIMARY KEY(`id`))",
}

// MySQLMaxDatabaseName is the longest database name MySQL accepts.
const MySQLMaxDatabaseName = 64

// mysqlErrBadDB is MySQL's error number for an unknown database
// (ER_BAD_DB_ERROR).
const mysqlErrBadDB = 1049

// MySQLMinCheckpointInterval is the shortest checkpoint interval Tessera's
// MySQL driver accepts; appends on MySQL wait about this long.
const MySQLMinCheckpointInterval = time.Second

// ParseMySQLURL turns "mysql://user:pass@tcp(host:port)/db" (or a bare
// go-sql-driver DSN) into a driver config.
func ParseMySQLURL(u string) (*mysql.Config, error) {
	dsn := strings.TrimPrefix(u, "mysql://")
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("log storage %q: want mysql://user:pass@tcp(host:port)/database: %w", RedactDSN(u), err)
	}
	if cfg.DBName == "" {
		return nil, fmt.Errorf("log storage %q: no database name", RedactDSN(u))
	}
	return cfg, nil
}

// RedactDSN hides the password of a DSN for error messages.
func RedactDSN(u string) string {
	at := strings.LastIndex(u, "@")
	colon := strings.Index(u, ":")
	if strings.HasPrefix(u, "mysql://") {
		colon = strings.Index(u[len("mysql://"):], ":")
		if colon >= 0 {
			colon += len("mysql://")
		}
	}
	if at < 0 || colon < 0 || colon > at {
		return u
	}
	return u[:colon+1] + "***" + u[at:]
}

// NewMySQL connects to the database at url, creates Tessera's tables
// if needed, and returns the driver plus the database handle (close it
// after the log). Several servers may share one database.
func NewMySQL(ctx context.Context, url string) (Driver, *sql.DB, error) {
	cfg, err := ParseMySQLURL(url)
	if err != nil {
		return nil, nil, err
	}
	db, err := OpenMySQL(ctx, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to MySQL %s: %w", RedactDSN(url), err)
	}
	driver, err := NewMySQLOn(ctx, db)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return driver, db, nil
}

// NewMySQLSuffix is [NewMySQL] on a sibling database: the one
// named as url's plus suffix ("signet" and "_ct" give "signet_ct"), created
// if missing. Other Tessera logs of a server (the CT log) live there.
func NewMySQLSuffix(ctx context.Context, url, suffix string) (Driver, *sql.DB, error) {
	cfg, err := ParseMySQLURL(url)
	if err != nil {
		return nil, nil, err
	}
	db, err := OpenMySQLSuffixed(ctx, cfg, suffix)
	if err != nil {
		return nil, nil, err
	}
	driver, err := NewMySQLOn(ctx, db)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return driver, db, nil
}

// OpenMySQL connects to the database cfg names and checks that it answers.
func OpenMySQL(ctx context.Context, cfg *mysql.Config) (*sql.DB, error) {
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(32)
	db.SetConnMaxIdleTime(time.Minute)
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// NewMySQLOn creates Tessera's tables in db's database if needed and
// returns the Tessera driver for them.
func NewMySQLOn(ctx context.Context, db *sql.DB) (Driver, error) {
	// A log moved to the object store ([MigrateToAWS]) left its old
	// tables here; appending to them would fork it.
	if moved, err := tableSize(ctx, db, "SELECT `seq` FROM `IntCoord` WHERE `id` = 0"); err != nil {
		return nil, err
	} else if moved > 0 {
		return nil, fmt.Errorf("the log in this database runs on an object store (Tessera's AWS driver, %d entries): start with --log-objects: %w", moved, ErrMovedToObjects)
	}
	return newMySQLOn(ctx, db)
}

// newMySQLOn is NewMySQLOn without the check that the log did not move.
func newMySQLOn(ctx context.Context, db *sql.DB) (Driver, error) {
	for _, stmt := range mysqlSchema {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return nil, fmt.Errorf("create log tables: %w", err)
		}
	}
	driver, err := tmysql.New(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("tessera MySQL storage: %w", err)
	}
	var name string
	if err := db.QueryRowContext(ctx, "SELECT DATABASE()").Scan(&name); err != nil {
		return nil, fmt.Errorf("name of the log database: %w", err)
	}
	return &mysqlDriver{inner: driver, db: db, name: name}, nil
}

// mysqlDriver is Tessera's MySQL driver plus the signed-checkpoint record
// in the SignetSignedCheckpoint table, which Tessera never writes.
type mysqlDriver struct {
	inner appendLifecycle
	db    *sql.DB
	name  string // database name, for messages
}

// Appender implements Tessera's append lifecycle by delegation.
func (d *mysqlDriver) Appender(ctx context.Context, opts *tessera.AppendOptions) (*tessera.Appender, tessera.LogReader, error) {
	return d.inner.Appender(ctx, opts)
}

func (d *mysqlDriver) LoadSigned(ctx context.Context) ([]byte, error) {
	var note []byte
	err := d.db.QueryRowContext(ctx, "SELECT `note` FROM `SignetSignedCheckpoint` WHERE `id` = 0").Scan(&note)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read signed-checkpoint record: %w", err)
	}
	return note, nil
}

// StoreSigned records note unless a larger tree is already recorded:
// servers sharing the database sign one after another (Tessera holds the
// checkpoint row locked while signing), so the record only grows.
func (d *mysqlDriver) StoreSigned(ctx context.Context, note []byte) error {
	size, err := CheckpointSize(note)
	if err != nil {
		return err
	}
	// MySQL assigns left to right: note is compared with the old size.
	_, err = d.db.ExecContext(ctx, "INSERT INTO `SignetSignedCheckpoint` (`id`, `size`, `note`) VALUES (0, ?, ?) "+
		"ON DUPLICATE KEY UPDATE `note` = IF(VALUES(`size`) >= `size`, VALUES(`note`), `note`), `size` = GREATEST(`size`, VALUES(`size`))",
		size, note)
	if err != nil {
		return fmt.Errorf("record signed checkpoint: %w", err)
	}
	return nil
}

func (d *mysqlDriver) TreeState(ctx context.Context) (uint64, []byte, error) {
	var (
		size uint64
		root []byte
	)
	if err := d.db.QueryRowContext(ctx, "SELECT `size`, `root` FROM `TreeState` WHERE `id` = 0").Scan(&size, &root); err != nil {
		return 0, nil, fmt.Errorf("read tree state: %w", err)
	}
	return size, root, nil
}

func (d *mysqlDriver) Where() string { return "MySQL database " + d.name }

// OpenMySQLSuffixed connects to the database named as cfg's plus
// suffix on the same server, creating it if it does not exist.
func OpenMySQLSuffixed(ctx context.Context, cfg *mysql.Config, suffix string) (*sql.DB, error) {
	other := cfg.Clone()
	other.DBName = cfg.DBName + suffix
	if len(other.DBName) > MySQLMaxDatabaseName {
		return nil, fmt.Errorf("database name %q is longer than %d characters; shorten the log storage database name", other.DBName, MySQLMaxDatabaseName)
	}
	db, err := OpenMySQL(ctx, other)
	var me *mysql.MySQLError
	if errors.As(err, &me) && me.Number == mysqlErrBadDB {
		// First start: create it. The statement is idempotent, so servers
		// starting together may all run it.
		if err = createMySQLDatabase(ctx, cfg, other.DBName); err == nil {
			db, err = OpenMySQL(ctx, other)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("database %s on %s (signet creates it if the user may, or create it and grant the user all rights on it): %w", other.DBName, cfg.Addr, err)
	}
	return db, nil
}

// createMySQLDatabase creates the database name, connecting as cfg says.
func createMySQLDatabase(ctx context.Context, cfg *mysql.Config, name string) error {
	db, err := OpenMySQL(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	quoted := "`" + strings.ReplaceAll(name, "`", "``") + "`"
	if _, err := db.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS "+quoted); err != nil {
		return fmt.Errorf("create database: %w", err)
	}
	return nil
}
