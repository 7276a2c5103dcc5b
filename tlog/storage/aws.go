package storage

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/go-sql-driver/mysql"
	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/api/layout"
	taws "github.com/transparency-dev/tessera/storage/aws"
)

// AWSMinCheckpointInterval is the shortest checkpoint interval Tessera's
// AWS driver accepts. The driver also integrates sequenced entries once a
// second, so appends on it wait one to two seconds.
const AWSMinCheckpointInterval = time.Second

// S3Location is where a log's objects live in an S3-compatible object
// store: a bucket, a key prefix, and for stores other than Amazon S3 the
// endpoint (addressed path-style) and region. Credentials come from the
// AWS SDK's default chain (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY,
// a shared config profile, an instance role…), never from the URL.
type S3Location struct {
	Bucket   string
	Prefix   string // without leading or trailing slash; empty for the bucket's root
	Endpoint string // e.g. http://127.0.0.1:7070; empty for Amazon S3
	Region   string // empty for the SDK's default
}

// ParseS3URL parses an object-store location given as
// s3://BUCKET[/PREFIX][?endpoint=URL&region=REGION].
func ParseS3URL(raw string) (*S3Location, error) {
	fail := func(why string) (*S3Location, error) {
		return nil, fmt.Errorf("log objects %q: %s; want s3://BUCKET[/PREFIX][?endpoint=http://host:port&region=REGION]", redactURL(raw), why)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fail(err.Error())
	}
	if u.Scheme != "s3" {
		return fail("the scheme is not s3://")
	}
	if u.User != nil {
		return fail("credentials do not go in the URL (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or use the AWS SDK's other sources)")
	}
	if u.Host == "" {
		return fail("no bucket")
	}
	if u.Opaque != "" || u.Fragment != "" || u.Port() != "" {
		return fail("not a bucket name")
	}
	loc := &S3Location{Bucket: u.Host, Prefix: strings.Trim(u.Path, "/")}
	if strings.Contains(loc.Prefix, "//") || strings.Contains("/"+loc.Prefix+"/", "/../") || strings.Contains("/"+loc.Prefix+"/", "/./") {
		return fail("the prefix has empty, . or .. segments")
	}
	for k, v := range u.Query() {
		if len(v) != 1 {
			return fail(fmt.Sprintf("parameter %q given %d times", k, len(v)))
		}
		switch k {
		case "endpoint":
			e, err := url.Parse(v[0])
			if err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" {
				return fail(fmt.Sprintf("endpoint %q is not an http:// or https:// URL", v[0]))
			}
			loc.Endpoint = v[0]
		case "region":
			if v[0] == "" {
				return fail("empty region")
			}
			loc.Region = v[0]
		default:
			return fail(fmt.Sprintf("unknown parameter %q (known: endpoint, region)", k))
		}
	}
	return loc, nil
}

// redactURL hides credentials someone put in a URL by mistake.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	u.User = nil
	return u.Scheme + "://***@" + strings.TrimPrefix(u.String(), u.Scheme+"://")
}

// Sub returns the location of name under l's prefix: a log's own place
// beside the server's other logs.
func (l S3Location) Sub(name string) *S3Location {
	l.Prefix = strings.Trim(path.Join(l.Prefix, name), "/")
	return &l
}

// String returns l as an s3:// URL.
func (l S3Location) String() string {
	u := url.URL{Scheme: "s3", Host: l.Bucket}
	if l.Prefix != "" {
		u.Path = "/" + l.Prefix
	}
	q := url.Values{}
	if l.Endpoint != "" {
		q.Set("endpoint", l.Endpoint)
	}
	if l.Region != "" {
		q.Set("region", l.Region)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// s3Client returns an S3 client for l and the SDK configuration it was
// made from (nil when l is Amazon S3 with the SDK's defaults, which is
// what Tessera's AWS driver calls its supported configuration).
func (l *S3Location) s3Client(ctx context.Context) (*s3.Client, *aws.Config, func(*s3.Options), error) {
	var opts []func(*config.LoadOptions) error
	region := l.Region
	if region == "" && l.Endpoint != "" {
		region = "us-east-1" // S3-compatible stores take any; the SDK wants one
	}
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("AWS SDK configuration: %w", err)
	}
	endpoint := l.Endpoint
	s3opts := func(o *s3.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
			o.UsePathStyle = true
		}
	}
	client := s3.NewFromConfig(cfg, s3opts)
	if l.Endpoint == "" && l.Region == "" {
		return client, nil, nil, nil
	}
	return client, &cfg, s3opts, nil
}

// NewAWS opens a log on Tessera's AWS driver: entries are sequenced in the
// MySQL or MariaDB database at dbURL (mysql://user:pass@tcp(host:port)/db,
// as for [NewMySQL]) and the log's checkpoint, tiles and entry bundles are
// objects under objects (s3://BUCKET[/PREFIX]?endpoint=…, see
// [ParseS3URL]). Several servers may share both. The signed-checkpoint
// record is the SignetSignedCheckpoint table of that database. It returns
// the driver plus the database handle (close it after the log).
func NewAWS(ctx context.Context, dbURL, objects string) (Driver, *sql.DB, error) {
	return NewAWSSuffix(ctx, dbURL, "", objects, "")
}

// NewAWSSuffix is [NewAWS] for a server's other logs: the database named
// as dbURL's plus dbSuffix (created if missing, as [NewMySQLSuffix] does)
// and the objects under objects' prefix plus "/"+sub.
func NewAWSSuffix(ctx context.Context, dbURL, dbSuffix, objects, sub string) (Driver, *sql.DB, error) {
	cfg, err := ParseMySQLURL(dbURL)
	if err != nil {
		return nil, nil, err
	}
	loc, err := ParseS3URL(objects)
	if err != nil {
		return nil, nil, err
	}
	if sub != "" {
		loc = loc.Sub(sub)
	}
	db, err := openLogDB(ctx, cfg, dbSuffix)
	if err != nil {
		return nil, nil, err
	}
	dsn := cfg.Clone()
	dsn.DBName += dbSuffix
	d, err := NewAWSOn(ctx, db, dsn, loc)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return d, db, nil
}

// NewAWSOn opens Tessera's AWS driver on db, the database dsn names
// (Tessera opens its own connections to it), and the objects at loc. It
// checks that the bucket answers, and refuses a database that holds a log
// of Tessera's MySQL driver not yet copied to the object store (see
// [MigrateToAWS]).
func NewAWSOn(ctx context.Context, db *sql.DB, dsn *mysql.Config, loc *S3Location) (Driver, error) {
	return openAWS(ctx, db, dsn, loc, true)
}

// openLogDB connects to the database cfg names plus suffix, creating it
// if suffix is not empty and it does not exist.
func openLogDB(ctx context.Context, cfg *mysql.Config, suffix string) (*sql.DB, error) {
	if suffix != "" {
		return OpenMySQLSuffixed(ctx, cfg, suffix)
	}
	db, err := OpenMySQL(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to MySQL database %s on %s: %w", cfg.DBName, cfg.Addr, err)
	}
	return db, nil
}

// openAWS is NewAWSOn; with checkMigrated false it also opens a database
// holding a MySQL driver's log, to migrate it.
func openAWS(ctx context.Context, db *sql.DB, dsn *mysql.Config, loc *S3Location, checkMigrated bool) (*awsDriver, error) {
	if _, err := db.ExecContext(ctx, signedCheckpointSchema); err != nil {
		return nil, fmt.Errorf("create log tables: %w", err)
	}
	var name string
	if err := db.QueryRowContext(ctx, "SELECT DATABASE()").Scan(&name); err != nil {
		return nil, fmt.Errorf("name of the log database: %w", err)
	}
	client, sdk, s3opts, err := loc.s3Client(ctx)
	if err != nil {
		return nil, err
	}
	d := &awsDriver{
		record:  &mysqlDriver{db: db, name: name},
		db:      db,
		dbName:  name,
		objects: &s3Objects{client: client, loc: loc},
	}
	if err := d.objects.checkBucket(ctx); err != nil {
		return nil, err
	}
	if size, err := d.unmigratedMySQLLog(ctx); err != nil {
		return nil, err
	} else if size > 0 && checkMigrated {
		return nil, fmt.Errorf("MySQL database %s holds a log of %d entries kept by Tessera's MySQL driver (--log-storage without --log-objects) that is not in %s: "+
			"stop the servers and copy it with `signet log migrate`, or run without --log-objects: %w", name, size, loc, ErrNotMigrated)
	}
	dsn = dsn.Clone()
	inner, err := taws.New(ctx, taws.Config{
		SDKConfig:    sdk,
		S3Options:    s3opts,
		Bucket:       loc.Bucket,
		BucketPrefix: loc.Prefix,
		DSN:          dsn.FormatDSN(),
		MaxOpenConns: 32,
	})
	if err != nil {
		return nil, fmt.Errorf("tessera AWS storage: %w", err)
	}
	d.inner = inner.(appendLifecycle)
	return d, nil
}

// ErrNotMigrated is returned when a log's database holds a log of
// Tessera's MySQL driver and the object store is asked to keep it.
var ErrNotMigrated = errors.New("log not migrated to the object store")

// ErrMovedToObjects is returned when a log's database shows that the log
// moved to an object store and Tessera's MySQL driver is asked to keep it.
var ErrMovedToObjects = errors.New("log moved to the object store")

// signedCheckpointSchema is the signed-checkpoint record's table, as in
// mysqlSchema.
const signedCheckpointSchema = "CREATE TABLE IF NOT EXISTS `SignetSignedCheckpoint` (`id` TINYINT UNSIGNED NOT NULL, `size` BIGINT UNSIGNED NOT NULL, `note` MEDIUMBLOB NOT NULL, PRIMARY KEY(`id`))"

// awsDriver is Tessera's AWS driver plus the signed-checkpoint record in
// the SignetSignedCheckpoint table of its database, which Tessera never
// writes.
type awsDriver struct {
	inner   appendLifecycle
	record  *mysqlDriver // for LoadSigned and StoreSigned only
	db      *sql.DB
	dbName  string
	objects *s3Objects
}

// Appender implements Tessera's append lifecycle by delegation. The log
// reader it returns reads tiles and entry bundles itself: Tessera's AWS
// reader reports a missing one with an error that no longer says so (it
// formats it with %v), where the logs' readers, their HTTP handlers and
// their consistency guard need os.ErrNotExist.
func (d *awsDriver) Appender(ctx context.Context, opts *tessera.AppendOptions) (*tessera.Appender, tessera.LogReader, error) {
	a, r, err := d.inner.Appender(ctx, opts)
	if err != nil {
		return nil, nil, err
	}
	return a, awsLogReader{LogReader: r, exact: awsReader{o: d.objects, entriesPath: opts.EntriesPath()}}, nil
}

// awsLogReader is Tessera's AWS log reader with tiles and entry bundles
// read as awsReader reads them, a missing partial one replaced by the full
// one (which Tessera's garbage collection leaves), as Tessera's readers do.
type awsLogReader struct {
	tessera.LogReader
	exact awsReader
}

func (r awsLogReader) ReadTile(ctx context.Context, level, index uint64, p uint8) ([]byte, error) {
	return partialOrFull(ctx, p, func(ctx context.Context, p uint8) ([]byte, error) { return r.exact.ReadTile(ctx, level, index, p) })
}

func (r awsLogReader) ReadEntryBundle(ctx context.Context, index uint64, p uint8) ([]byte, error) {
	return partialOrFull(ctx, p, func(ctx context.Context, p uint8) ([]byte, error) { return r.exact.ReadEntryBundle(ctx, index, p) })
}

// partialOrFull reads the resource of width p with read, or the full one
// if p > 0 and the partial one is missing.
func partialOrFull(ctx context.Context, p uint8, read func(context.Context, uint8) ([]byte, error)) ([]byte, error) {
	b, err := read(ctx, p)
	if p > 0 && errors.Is(err, os.ErrNotExist) {
		if full, ferr := read(ctx, 0); ferr == nil {
			return full, nil
		}
	}
	return b, err
}

func (d *awsDriver) LoadSigned(ctx context.Context) ([]byte, error) { return d.record.LoadSigned(ctx) }

// StoreSigned records note unless a larger tree is already recorded, as
// the MySQL driver's record does.
func (d *awsDriver) StoreSigned(ctx context.Context, note []byte) error {
	return d.record.StoreSigned(ctx, note)
}

// TreeState reads the tree Tessera's AWS driver integrated from its
// IntCoord table, which it updates in the transaction that integrates.
func (d *awsDriver) TreeState(ctx context.Context) (uint64, []byte, error) {
	var (
		size uint64
		root []byte
	)
	err := d.db.QueryRowContext(ctx, "SELECT `seq`, `rootHash` FROM `IntCoord` WHERE `id` = 0").Scan(&size, &root)
	if err != nil {
		return 0, nil, fmt.Errorf("read tree state (IntCoord in %s): %w", d.dbName, err)
	}
	return size, root, nil
}

func (d *awsDriver) Where() string {
	return fmt.Sprintf("object store %s with MySQL database %s", d.objects.loc, d.dbName)
}

// mysqlErrNoTable is MySQL's error number for an unknown table
// (ER_NO_SUCH_TABLE).
const mysqlErrNoTable = 1146

// unmigratedMySQLLog returns the size of the log Tessera's MySQL driver
// keeps in d's database if the AWS driver holds none there yet, else 0.
func (d *awsDriver) unmigratedMySQLLog(ctx context.Context) (uint64, error) {
	state, err := tableSize(ctx, d.db, "SELECT `size` FROM `TreeState` WHERE `id` = 0")
	if err != nil || state == 0 {
		return 0, err
	}
	seq, err := tableSize(ctx, d.db, "SELECT `seq` FROM `IntCoord` WHERE `id` = 0")
	if err != nil || seq > 0 {
		return 0, err
	}
	next, err := tableSize(ctx, d.db, "SELECT `next` FROM `SeqCoord` WHERE `id` = 0")
	if err != nil || next > 0 {
		return 0, err
	}
	return state, nil
}

// tableSize runs a query for one number; a missing table or row is 0.
func tableSize(ctx context.Context, db *sql.DB, query string) (uint64, error) {
	var n uint64
	err := db.QueryRowContext(ctx, query).Scan(&n)
	var me *mysql.MySQLError
	switch {
	case errors.Is(err, sql.ErrNoRows), errors.As(err, &me) && me.Number == mysqlErrNoTable:
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("%s: %w", query, err)
	}
	return n, nil
}

// s3Objects reads and writes a log's objects by their exact names under a
// location's prefix.
type s3Objects struct {
	client *s3.Client
	loc    *S3Location
}

func (o *s3Objects) key(name string) string {
	if o.loc.Prefix == "" {
		return name
	}
	return o.loc.Prefix + "/" + name
}

// checkBucket checks that the bucket exists and answers.
func (o *s3Objects) checkBucket(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	_, err := o.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(o.loc.Bucket)})
	if err == nil {
		return nil
	}
	var nf *types.NotFound
	var nb *types.NoSuchBucket
	if errors.As(err, &nf) || errors.As(err, &nb) {
		return fmt.Errorf("object store %s: bucket %q does not exist (create it first)", o.loc, o.loc.Bucket)
	}
	return fmt.Errorf("object store %s: cannot reach bucket %q: %w", o.loc, o.loc.Bucket, err)
}

// get returns the object name; a missing one is an error wrapping
// os.ErrNotExist.
func (o *s3Objects) get(ctx context.Context, name string) ([]byte, error) {
	out, err := o.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(o.loc.Bucket), Key: aws.String(o.key(name))})
	if err != nil {
		var nk *types.NoSuchKey
		if errors.As(err, &nk) {
			return nil, fmt.Errorf("%s: %w", name, os.ErrNotExist)
		}
		return nil, fmt.Errorf("read %s from %s: %w", name, o.loc, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, fmt.Errorf("read %s from %s: %w", name, o.loc, err)
	}
	return b, nil
}

// Content types and caching of a log's objects, as Tessera's AWS driver
// writes them.
const (
	objectContentType     = "application/octet-stream"
	objectCacheControl    = "max-age=604800,immutable"
	checkpointContentType = "text/plain; charset=utf-8"
	checkpointCache       = "no-cache"
)

// put writes the object name.
func (o *s3Objects) put(ctx context.Context, name string, data []byte) error {
	ct, cc := objectContentType, objectCacheControl
	if name == layout.CheckpointPath {
		ct, cc = checkpointContentType, checkpointCache
	}
	_, err := o.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:       aws.String(o.loc.Bucket),
		Key:          aws.String(o.key(name)),
		Body:         bytes.NewReader(data),
		ContentType:  aws.String(ct),
		CacheControl: aws.String(cc),
	})
	if err != nil {
		return fmt.Errorf("write %s to %s: %w", name, o.loc, err)
	}
	return nil
}

// awsReader reads an AWS log's objects exactly as named: unlike Tessera's
// reader, a missing partial tile or bundle is not replaced by a full one.
type awsReader struct {
	o           *s3Objects
	entriesPath func(uint64, uint8) string
}

func (r awsReader) ReadCheckpoint(ctx context.Context) ([]byte, error) {
	return r.o.get(ctx, layout.CheckpointPath)
}

func (r awsReader) ReadTile(ctx context.Context, level, index uint64, p uint8) ([]byte, error) {
	return r.o.get(ctx, layout.TilePath(level, index, p))
}

func (r awsReader) ReadEntryBundle(ctx context.Context, index uint64, p uint8) ([]byte, error) {
	return r.o.get(ctx, r.entriesPath(index, p))
}
