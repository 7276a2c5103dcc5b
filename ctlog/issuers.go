package ctlog

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/signetproject/signet/keys"
)

// IssuerStore keeps the issuer certificates entries name by SHA-256
// fingerprint (static-ct-api /issuer/<hex fingerprint>).
type IssuerStore interface {
	// AddIssuer stores der under fp; storing the same certificate again
	// succeeds, storing different bytes under an existing fp fails.
	AddIssuer(ctx context.Context, fp [32]byte, der []byte) error
	// Issuer returns the certificate stored under fp; a missing one's
	// error wraps fs.ErrNotExist.
	Issuer(ctx context.Context, fp [32]byte) ([]byte, error)
}

// DirIssuers stores issuers as files dir/issuer/<hex fingerprint>, each
// written atomically, beside the log's tiles.
type DirIssuers struct{ dir string }

// NewDirIssuers returns the issuer store under dir.
func NewDirIssuers(dir string) *DirIssuers { return &DirIssuers{dir: filepath.Join(dir, "issuer")} }

// AddIssuer implements IssuerStore.
func (d *DirIssuers) AddIssuer(_ context.Context, fp [32]byte, der []byte) error {
	p := filepath.Join(d.dir, hex.EncodeToString(fp[:]))
	if old, err := os.ReadFile(p); err == nil {
		if !bytes.Equal(old, der) {
			return fmt.Errorf("issuer %x: stored certificate differs", fp)
		}
		return nil
	}
	return keys.WriteFileAtomic(p, der, 0o644)
}

// Issuer implements IssuerStore.
func (d *DirIssuers) Issuer(_ context.Context, fp [32]byte) ([]byte, error) {
	return os.ReadFile(filepath.Join(d.dir, hex.EncodeToString(fp[:])))
}

// MySQLIssuers stores issuers in the table CTIssuer of a MySQL database,
// the one holding the CT log's Tessera tables.
type MySQLIssuers struct{ db *sql.DB }

// NewMySQLIssuers creates the CTIssuer table if needed.
func NewMySQLIssuers(ctx context.Context, db *sql.DB) (*MySQLIssuers, error) {
	_, err := db.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS `CTIssuer` (`fingerprint` BINARY(32) NOT NULL, `der` MEDIUMBLOB NOT NULL, PRIMARY KEY (`fingerprint`))")
	if err != nil {
		return nil, fmt.Errorf("create CT issuer table: %w", err)
	}
	return &MySQLIssuers{db: db}, nil
}

// AddIssuer implements IssuerStore.
func (m *MySQLIssuers) AddIssuer(ctx context.Context, fp [32]byte, der []byte) error {
	if _, err := m.db.ExecContext(ctx, "INSERT IGNORE INTO `CTIssuer` (`fingerprint`, `der`) VALUES (?, ?)", fp[:], der); err != nil {
		return fmt.Errorf("store issuer %x: %w", fp, err)
	}
	old, err := m.Issuer(ctx, fp)
	if err != nil {
		return err
	}
	if !bytes.Equal(old, der) {
		return fmt.Errorf("issuer %x: stored certificate differs", fp)
	}
	return nil
}

// Issuer implements IssuerStore.
func (m *MySQLIssuers) Issuer(ctx context.Context, fp [32]byte) ([]byte, error) {
	var der []byte
	err := m.db.QueryRowContext(ctx, "SELECT `der` FROM `CTIssuer` WHERE `fingerprint` = ?", fp[:]).Scan(&der)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("issuer %x: %w", fp, fs.ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("read issuer %x: %w", fp, err)
	}
	return der, nil
}
