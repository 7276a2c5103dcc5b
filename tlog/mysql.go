package tlog

import (
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera"
	tmysql "github.com/transparency-dev/tessera/storage/mysql"
)

// mysqlSchema is the table layout Tessera's MySQL driver (schema
// compatibility version 1) expects; NewMySQLDriver creates it when missing.
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
	// signedRecord). Tessera never writes it.
	"CREATE TABLE IF NOT EXISTS `SignetSignedCheckpoint` (`id` TINYINT UNSIGNED NOT NULL, `size` BIGINT UNSIGNED NOT NULL, `note` MEDIUMBLOB NOT NULL, PRIMARY KEY(`id`))",
}

// MySQLMinCheckpointInterval is the shortest checkpoint interval Tessera's
// MySQL driver accepts; appends on MySQL wait about this long.
const MySQLMinCheckpointInterval = time.Second

// ParseMySQLURL turns "mysql://user:pass@tcp(host:port)/db" (or a bare
// go-sql-driver DSN) into a driver config.
func ParseMySQLURL(u string) (*mysql.Config, error) {
	dsn := strings.TrimPrefix(u, "mysql://")
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("log storage %q: want mysql://user:pass@tcp(host:port)/database: %w", redactDSN(u), err)
	}
	if cfg.DBName == "" {
		return nil, fmt.Errorf("log storage %q: no database name", redactDSN(u))
	}
	return cfg, nil
}

// redactDSN hides the password of a DSN for error messages.
func redactDSN(u string) string {
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

// NewMySQLDriver connects to the database at url, creates Tessera's tables
// if needed, and returns the driver plus the database handle (close it
// after the log). Several servers may share one database.
func NewMySQLDriver(ctx context.Context, url string) (tessera.Driver, *sql.DB, error) {
	cfg, err := ParseMySQLURL(url)
	if err != nil {
		return nil, nil, err
	}
	db, err := openMySQL(ctx, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to MySQL %s: %w", redactDSN(url), err)
	}
	driver, err := newMySQLDriver(ctx, db)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return driver, db, nil
}

// NewMySQLDriverSuffix is [NewMySQLDriver] on a sibling database: the one
// named as url's plus suffix ("signet" and "_ct" give "signet_ct"), created
// if missing. Other Tessera logs of a server (the CT log) live there.
func NewMySQLDriverSuffix(ctx context.Context, url, suffix string) (tessera.Driver, *sql.DB, error) {
	cfg, err := ParseMySQLURL(url)
	if err != nil {
		return nil, nil, err
	}
	db, err := openSuffixedDatabase(ctx, cfg, suffix)
	if err != nil {
		return nil, nil, err
	}
	driver, err := newMySQLDriver(ctx, db)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return driver, db, nil
}

// openMySQL connects to the database cfg names and checks that it answers.
func openMySQL(ctx context.Context, cfg *mysql.Config) (*sql.DB, error) {
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

// newMySQLDriver creates Tessera's tables in db's database if needed and
// returns the Tessera driver for them.
func newMySQLDriver(ctx context.Context, db *sql.DB) (tessera.Driver, error) {
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
