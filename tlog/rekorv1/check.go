package rekorv1

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/signetproject/signet/tlog"
	"github.com/signetproject/signet/tlog/storage"
	"golang.org/x/mod/sumdb/note"
)

// CheckDir is [tlog.CheckLogDir] for the Rekor v1 log kept in dir (a
// server's <data-dir>/rekor-v1), against its ECDSA P-256 public key.
func CheckDir(ctx context.Context, dir string, pub *ecdsa.PublicKey) (*tlog.CheckReport, error) {
	tiles := filepath.Join(dir, "tiles")
	return tlog.CheckStored(ctx, storage.POSIXRecord(tiles), tlog.NewDirSource(tiles), v1Verifier(pub))
}

// CheckMySQL is [CheckDir] for the Rekor v1 log kept beside the
// MySQL database at url (see [OpenMySQL]).
func CheckMySQL(ctx context.Context, url string, pub *ecdsa.PublicKey) (*tlog.CheckReport, error) {
	cfg, err := storage.ParseMySQLURL(url)
	if err != nil {
		return nil, err
	}
	v1 := cfg.Clone()
	v1.DBName += MySQLDatabaseSuffix
	db, err := storage.OpenMySQL(ctx, v1)
	if err != nil {
		return nil, fmt.Errorf("connect to the Rekor v1 log database %s: %w", v1.DBName, err)
	}
	defer db.Close()
	d, err := storage.NewMySQLOn(ctx, db)
	if err != nil {
		return nil, err
	}
	src, err := storage.DirectReader(d)
	if err != nil {
		return nil, err
	}
	return tlog.CheckStored(ctx, d, src, v1Verifier(pub))
}

// CheckAWS is [CheckDir] for the Rekor v1 log kept on Tessera's AWS
// driver (see [OpenAWS]).
func CheckAWS(ctx context.Context, url, objects string, pub *ecdsa.PublicKey) (*tlog.CheckReport, error) {
	d, db, err := storage.NewAWSSuffix(ctx, url, MySQLDatabaseSuffix, objects, ObjectsPrefix)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	src, err := storage.DirectReader(d)
	if err != nil {
		return nil, err
	}
	return tlog.CheckStored(ctx, d, src, v1Verifier(pub))
}

// v1Verifier makes the verifier of the checkpoints of a Rekor v1 log's
// tree, whose origin is "<hostname>/rekor-v1/<treeID>".
func v1Verifier(pub *ecdsa.PublicKey) func(origin string) ([]note.Verifier, error) {
	return func(origin string) ([]note.Verifier, error) {
		host, id, ok := strings.Cut(origin, "/rekor-v1/")
		treeID, err := strconv.ParseInt(id, 10, 64)
		if !ok || err != nil {
			return nil, fmt.Errorf("checkpoint origin %q is not a Rekor v1 tree's: %w", origin, tlog.ErrIntegrity)
		}
		s, err := newV1Signer(host, treeID, pubSigner{pub})
		if err != nil {
			return nil, err
		}
		return []note.Verifier{treeNoteVerifier{s}}, nil
	}
}

// pubSigner is a crypto.Signer that has only a public key, for verifiers
// built from signers.
type pubSigner struct{ pub *ecdsa.PublicKey }

func (p pubSigner) Public() crypto.PublicKey { return p.pub }
func (p pubSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("public key only")
}
