// Package server is signet's HTTP adapter: one port serving the keyless CA
// (Fulcio-compatible API), the trust root and signing config, the built-in
// development OIDC issuer, health and metrics. It owns no domain logic; it
// decodes requests, calls the domain packages and encodes their answers.
package server

import (
	"context"
	"crypto"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/transparency-dev/tessera"
	"golang.org/x/time/rate"

	"github.com/signetproject/signet/ca"
	"github.com/signetproject/signet/ctlog"
	"github.com/signetproject/signet/oidc"
	"github.com/signetproject/signet/search"
	"github.com/signetproject/signet/tlog"
	"github.com/signetproject/signet/tlog/rekorv1"
	"github.com/signetproject/signet/tlog/storage"
	"github.com/signetproject/signet/trustroot"
	"github.com/signetproject/signet/tsa"
	"github.com/signetproject/signet/tuf"
)

// Options configure a Server.
type Options struct {
	// DataDir holds keys and certificates; created on first start.
	DataDir string
	// BaseURL is the URL clients reach this server at, e.g.
	// http://127.0.0.1:8080. The dev issuer lives at BaseURL/oidc.
	BaseURL string
	// Config lists the trusted OIDC issuers.
	Config Config
	// InsecureDevIssuer mounts the built-in development OIDC issuer, which
	// signs a token for any identity anyone asks for.
	InsecureDevIssuer bool
	// Logger receives request logs; nil discards them.
	Logger *slog.Logger
	// HTTPClient is used to reach remote OIDC issuers; nil means a client
	// with a 10 s timeout.
	HTTPClient *http.Client
	// LogStorage selects where the transparency logs live: "" for files
	// under DataDir (embedded), or "mysql://user:pass@tcp(host:port)/db" for
	// a MySQL/MariaDB database that several servers can share (the Rekor v1
	// log uses a second database, db_rekor_v1; see rekorv1.OpenMySQL).
	// Servers sharing a database must share their keys and public URL
	// hostname.
	LogStorage string
	// LogObjects, with a mysql:// LogStorage, moves the logs onto Tessera's
	// AWS driver: their checkpoints, tiles and entry bundles become objects
	// in the S3-compatible object store it names
	// (s3://BUCKET[/PREFIX]?endpoint=…&region=…, see storage.ParseS3URL;
	// the Rekor v2 log at the prefix, the Rekor v1 tree under rekor-v1/,
	// the CT log under ct/), sequenced in LogStorage's databases, which
	// keep the v1 API's entry store and the search indexes as without it.
	// A log kept by the MySQL driver alone is moved with `signet log
	// migrate`.
	LogObjects string
	// TUFRepo is the repo/ directory of an offline TUF directory (signet
	// tuf init): its root and targets metadata and target files, signed
	// with the offline keys. When set, the server serves the repository
	// at /tuf/, signing snapshot and timestamp with its online key.
	TUFRepo string
	// TUFRefreshInterval is how often the server rereads TUFRepo and renews
	// snapshot and timestamp; zero means 10 seconds.
	TUFRefreshInterval time.Duration
	// KeysFrom, when set, is a directory holding the server's complete key
	// material as `signet server init-keys --secret` stores it (a mounted
	// Secret). It is copied into DataDir before the keys are loaded, and a
	// start that would have to create any key material is refused, so
	// replicas sharing the Secret never diverge.
	KeysFrom string
	// CTRootsFile, when set, is a PEM file of CA certificates the CT log
	// accepts chains to besides the CA's own root (ctlog.ParseRoots), so
	// another CA (a Fulcio) can log its precertificates here through
	// <url>/ct/ct/v1/add-pre-chain (its RFC 6962 log URL is <url>/ct).
	CTRootsFile string
	// CTNotAfterStart and CTNotAfterLimit, when not zero, bound the
	// NotAfter of the certificates other CAs submit to the CT log to
	// [CTNotAfterStart, CTNotAfterLimit) (ctlog.Options); expired ones
	// are refused whatever they are. The server's own CA is not held to
	// them.
	CTNotAfterStart, CTNotAfterLimit time.Time
	// CTSubmissionRate, when positive, bounds the RFC 6962 submissions
	// (add-chain, add-pre-chain) the CT log takes from all clients
	// together to that many a second, with bursts of up to a second's
	// worth (at least one); beyond it a submission is answered 429 with
	// Retry-After before its body is read. The server's own CA logs
	// in-process and is not counted.
	CTSubmissionRate float64
}

// Server is a configured signet server.
type Server struct {
	opts          Options
	logger        *slog.Logger
	ca            *ca.CA
	verifier      *oidc.Verifier
	dev           *oidc.DevIssuer // nil unless InsecureDevIssuer
	log           *tlog.Log
	v1log         *rekorv1.Log
	ct            *ctlog.Log
	ctDB          io.Closer     // nil for file storage
	ownCAKeys     [][]byte      // SubjectPublicKeyInfo of each certificate of the CA's chain
	ctSubmissions *rate.Limiter // nil without Options.CTSubmissionRate
	tufKey        crypto.Signer
	tuf           *tuf.Repository // nil without Options.TUFRepo
	stopTUF       func()          // stops and waits for the TUF refresher
	tsa           *tsa.Authority
	stopLog       context.CancelFunc
	logDB         io.Closer // nil for file storage
	search        *search.Service
	searchClose   func() error // closes the embedded index
	stopFollow    context.CancelFunc
	followDone    chan struct{}
	trustedRoot   []byte
	signingConfig []byte
	metrics       *metrics
	handler       http.Handler

	probeKeys      map[string]crypto.Signer // signing keys /readyz probes, besides the logs'
	retiredDevKeys []string                 // dev issuer keys this data dir retired
	ready          readiness
}

// New loads or creates the server's key material and builds its handler.
func New(opts Options) (*Server, error) {
	base, err := url.Parse(opts.BaseURL)
	if err != nil || base.Scheme == "" || base.Host == "" {
		return nil, fmt.Errorf("base URL %q must be absolute, like http://127.0.0.1:8080", opts.BaseURL)
	}
	opts.BaseURL = strings.TrimRight(opts.BaseURL, "/")
	if err := opts.Config.Validate(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.CTSubmissionRate < 0 || math.IsNaN(opts.CTSubmissionRate) || math.IsInf(opts.CTSubmissionRate, 0) {
		return nil, fmt.Errorf("CT submission rate %v: want a finite number of submissions a second, or 0 for no bound", opts.CTSubmissionRate)
	}
	var extraCTRoots []*x509.Certificate
	if opts.CTRootsFile != "" {
		if extraCTRoots, err = readCTRoots(opts.CTRootsFile); err != nil {
			return nil, err
		}
	}
	m, err := loadSharedMaterial(opts.DataDir, opts.KeysFrom, opts.InsecureDevIssuer, time.Now())
	if err != nil {
		return nil, err
	}
	authority, err := ca.New(m.caKey, m.caChain)
	if err != nil {
		return nil, err
	}
	verifier, err := oidc.NewVerifier(opts.Config.AllIssuers(), oidc.VerifierOptions{HTTPClient: opts.HTTPClient})
	if err != nil {
		return nil, err
	}
	timestamper, err := tsa.NewAuthority(m.tsaKey, m.tsaChain, tsa.Options{})
	if err != nil {
		return nil, fmt.Errorf("timestamp authority: %w", err)
	}
	s := &Server{opts: opts, logger: opts.Logger, ca: authority, verifier: verifier, tsa: timestamper,
		probeKeys: map[string]crypto.Signer{"ca": m.caKey, "tsa": m.tsaKey, "ct": m.ctKey}, retiredDevKeys: m.retiredDevKeys}
	if opts.CTSubmissionRate > 0 {
		s.ctSubmissions = rate.NewLimiter(rate.Limit(opts.CTSubmissionRate), max(1, int(opts.CTSubmissionRate)))
	}
	if opts.TUFRepo != "" {
		s.probeKeys["tuf"] = m.tufKey // signs snapshot and timestamp online
	}
	if m.retiredNow != "" {
		opts.Logger.Warn("this data directory ran the INSECURE dev OIDC issuer before; its key is retired, so tokens it signed no longer verify. "+
			"Certificates it vouched for were issued by this CA and are in the transparency log: do not trust identities from them",
			"retired_key", m.retiredNow)
	}
	// The log's background work (batching, checkpoints) lives until Close.
	logCtx, stopLog := context.WithCancel(context.Background())
	logOpts := tlog.DefaultOptions()
	// Checkpoints signed before a rotation of the log's key are the log's.
	retiredLogKeys, err := RetiredLogKeys(opts.DataDir)
	if err != nil {
		stopLog()
		return nil, fmt.Errorf("transparency log: %w", err)
	}
	for _, k := range retiredLogKeys {
		logOpts.RetiredKeys = append(logOpts.RetiredKeys, k)
	}
	var driver tessera.Driver
	switch {
	case opts.LogObjects != "" && !strings.HasPrefix(opts.LogStorage, "mysql://"):
		err = fmt.Errorf("--log-objects %q needs a --log-storage mysql://… database to sequence the logs in", opts.LogObjects)
	case opts.LogStorage == "":
		driver, err = storage.NewPOSIX(logCtx, filepath.Join(opts.DataDir, "log"))
	case strings.HasPrefix(opts.LogStorage, "mysql://") && opts.LogObjects != "":
		var db *sql.DB
		driver, db, err = storage.NewAWS(logCtx, opts.LogStorage, opts.LogObjects)
		if err == nil {
			s.logDB = db
		}
		logOpts.CheckpointInterval = storage.AWSMinCheckpointInterval
		logOpts.PollInterval = awsPollInterval
	case strings.HasPrefix(opts.LogStorage, "mysql://"):
		var db *sql.DB
		driver, db, err = storage.NewMySQL(logCtx, opts.LogStorage)
		if err == nil {
			s.logDB = db
		}
		logOpts.CheckpointInterval = storage.MySQLMinCheckpointInterval
	default:
		err = fmt.Errorf("unknown --log-storage %q: want empty (files in the data dir) or mysql://user:pass@tcp(host:port)/db", opts.LogStorage)
	}
	if err != nil {
		stopLog()
		return nil, fmt.Errorf("transparency log storage: %w", err)
	}
	if s.log, err = tlog.New(logCtx, driver, base.Hostname(), m.logKey, logOpts); err != nil {
		stopLog()
		if s.logDB != nil {
			s.logDB.Close()
		}
		return nil, fmt.Errorf("transparency log: %w", err)
	}
	s.stopLog = stopLog
	if s.logDB != nil {
		// Replicas share the Rekor v1 log too: tree, entry records and
		// search index in the database, signed with the same v1 key.
		v1Opts := tlog.DefaultOptions()
		v1Opts.CheckpointInterval = max(storage.MySQLMinCheckpointInterval, storage.AWSMinCheckpointInterval)
		if opts.LogObjects != "" {
			v1Opts.PollInterval = awsPollInterval
		}
		if opts.LogObjects != "" {
			s.v1log, err = rekorv1.OpenAWS(logCtx, opts.LogStorage, opts.LogObjects, base.Hostname(), m.v1LogKey, v1Opts)
		} else {
			s.v1log, err = rekorv1.OpenMySQL(logCtx, opts.LogStorage, base.Hostname(), m.v1LogKey, v1Opts)
		}
	} else {
		s.v1log, err = rekorv1.OpenDir(logCtx, filepath.Join(opts.DataDir, "rekor-v1"), base.Hostname(), m.v1LogKey, tlog.DefaultOptions())
	}
	if err != nil {
		s.Close(context.Background())
		return nil, fmt.Errorf("rekor v1 log: %w", reindexHint(err, opts.DataDir))
	}
	for _, c := range m.caChain {
		s.ownCAKeys = append(s.ownCAKeys, c.RawSubjectPublicKeyInfo)
	}
	ctRoots := append(slices.Clip(m.caChain[len(m.caChain)-1:]), extraCTRoots...)
	if s.ct, s.ctDB, err = openCTLog(logCtx, opts, base.Hostname(), m.ctKey, ctRoots); err != nil {
		s.Close(context.Background())
		return nil, fmt.Errorf("certificate transparency log: %w", err)
	}
	if err := s.openSearch(logCtx); err != nil {
		s.Close(context.Background())
		return nil, fmt.Errorf("search index: %w", reindexHint(err, opts.DataDir))
	}
	if opts.InsecureDevIssuer {
		if s.dev, err = oidc.NewDevIssuer(opts.BaseURL+"/oidc", m.devKey); err != nil {
			s.Close(context.Background())
			return nil, err
		}
		if err := verifier.AddStaticIssuer(s.dev.Config(), s.dev.PublicKey()); err != nil {
			s.Close(context.Background())
			return nil, err
		}
	}
	if err := s.buildTrustDocuments(); err != nil {
		s.Close(context.Background())
		return nil, err
	}
	s.tufKey = m.tufKey
	if opts.TUFRepo != "" {
		if s.tuf, err = tuf.OpenRepository(opts.TUFRepo, filepath.Join(opts.DataDir, "tuf"), m.tufKey, tuf.RepositoryOptions{}); err != nil {
			s.Close(context.Background())
			return nil, err
		}
		s.stopTUF = s.refreshTUF(opts.TUFRefreshInterval)
	}
	s.metrics = newMetrics(verifier.Issuers())
	s.metrics.registry.MustRegister(
		integrityMetric("log", s.log.IntegrityFailures),
		integrityMetric("rekor-v1", s.v1log.IntegrityFailures),
		integrityMetric("ct", s.ct.IntegrityFailures),
	)
	s.handler = s.routes()
	return s, nil
}

// refreshTUF rereads the TUF repository and renews its online metadata
// every interval until the returned function is called.
func (s *Server) refreshTUF(interval time.Duration) func() {
	if interval <= 0 {
		interval = 10 * time.Second
	}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		var last string // the failure last logged: each is logged once, not every interval
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				err := s.tuf.Refresh()
				switch {
				case err == nil && last != "":
					s.logger.Info("TUF repository refreshed again")
					last = ""
				case err != nil && err.Error() != last:
					last = err.Error()
					if errors.Is(err, fs.ErrNotExist) {
						s.logger.Warn("TUF repository not there (create it with `signet tuf init`); serving the metadata read before, if any", "err", err)
					} else {
						s.logger.Error("TUF repository refresh failed; serving the previous metadata", "err", err)
					}
				}
			}
		}
	}()
	return func() { close(stop); <-done }
}

// Close stops the transparency log after every acknowledged entry is
// committed to a checkpoint. Call it once, after the HTTP server stopped.
func (s *Server) Close(ctx context.Context) error {
	if s.verifier != nil {
		s.verifier.Close()
	}
	if s.stopTUF != nil {
		s.stopTUF()
		s.stopTUF = nil
	}
	s.closeSearch()
	err := s.log.Close(ctx)
	if s.v1log != nil {
		if cerr := s.v1log.Close(ctx); err == nil {
			err = cerr
		}
	}
	if s.ct != nil {
		if cerr := s.ct.Close(ctx); err == nil {
			err = cerr
		}
	}
	s.stopLog()
	for _, db := range []io.Closer{s.logDB, s.ctDB} {
		if db != nil {
			if cerr := db.Close(); err == nil {
				err = cerr
			}
		}
	}
	return err
}

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// CAChain returns the CA's certificate chain, issuing certificate first.
func (s *Server) CAChain() []*x509.Certificate { return s.ca.Chain() }

// RefreshTUF rereads the TUF repository now, rather than at the next
// refresh interval. It fails when the server publishes no repository.
func (s *Server) RefreshTUF() error {
	if s.tuf == nil {
		return errors.New("no TUF repository (Options.TUFRepo)")
	}
	return s.tuf.Refresh()
}

// DevIssuer returns the built-in development issuer, or nil.
func (s *Server) DevIssuer() *oidc.DevIssuer { return s.dev }

// Registry returns the Prometheus registry holding the server's metrics.
func (s *Server) Registry() *prometheus.Registry { return s.metrics.registry }

func (s *Server) buildTrustDocuments() error {
	start := s.ca.Chain()[len(s.ca.Chain())-1].NotBefore
	var err error
	tsaChain := s.tsa.Chain()
	// Keys rotated out stay trusted for what they signed while in use.
	h, err := loadHistory(s.opts.DataDir)
	if err != nil {
		return err
	}
	material := trustroot.Material{
		CertificateAuthorities: []trustroot.MaterialAuthority{{URI: s.opts.BaseURL, Chain: s.ca.Chain(), Start: h.start(RotateCA, start), Operator: "signet"}},
		TimestampAuthorities:   []trustroot.MaterialAuthority{{URI: s.opts.BaseURL + "/api/v1/timestamp", Chain: tsaChain, Start: h.start(RotateTSA, tsaChain[0].NotBefore), Operator: "signet"}},
		Tlogs: []trustroot.MaterialLog{{
			BaseURL: s.opts.BaseURL, PublicKey: s.log.PublicKey(), LogID: s.log.LogID(),
			Start: h.start(RotateTlog, start), Operator: "signet",
		}, {
			BaseURL: s.opts.BaseURL, PublicKey: s.v1log.PublicKey(), LogID: s.v1log.LogID(),
			Start: start, Operator: "signet (Rekor v1 API)",
		}},
		CTLogs: []trustroot.MaterialLog{{
			BaseURL: s.opts.BaseURL + "/ct", PublicKey: s.ct.PublicKey(), LogID: s.ct.ID(),
			Start: h.start(RotateCT, start), Operator: "signet",
		}},
	}
	if err := s.retiredMaterial(h, &material, s.log.Origin()); err != nil {
		return err
	}
	s.trustedRoot, err = trustroot.BuildTrustedRoot(material)
	if err != nil {
		return fmt.Errorf("trusted root: %w", err)
	}
	services := trustroot.SigningServices{
		CAs: []trustroot.Service{{URL: s.opts.BaseURL, MajorAPIVersion: 1, Start: start, Operator: "signet"}},
		Tlogs: []trustroot.Service{
			{URL: s.opts.BaseURL, MajorAPIVersion: 2, Start: start, Operator: "signet"},
			{URL: s.opts.BaseURL, MajorAPIVersion: 1, Start: start, Operator: "signet"},
		},
		TSAs: []trustroot.Service{{URL: s.opts.BaseURL + "/api/v1/timestamp", MajorAPIVersion: 1, Start: tsaChain[0].NotBefore, Operator: "signet"}},
	}
	if s.dev != nil {
		services.OIDCProviders = []trustroot.Service{{URL: s.dev.URL(), MajorAPIVersion: 1, Start: start, Operator: "signet (insecure dev issuer)"}}
	}
	s.signingConfig, err = trustroot.BuildSigningConfig(services)
	if err != nil {
		return fmt.Errorf("signing config: %w", err)
	}
	return nil
}

// ctMySQLDatabaseSuffix names the CT log's database beside the log
// storage database: "signet" becomes "signet_ct".
const ctMySQLDatabaseSuffix = "_ct"

// awsPollInterval is how often appends waiting on a log on the object
// store read its checkpoint: each read is a GET request, billed on S3, and
// Tessera's AWS driver integrates once a second anyway.
const awsPollInterval = 50 * time.Millisecond

// CTObjectsPrefix is where the CT log's objects live under the object
// store location of Options.LogObjects, as its URL path is under the
// server's.
const CTObjectsPrefix = "ct"

// readCTRoots reads Options.CTRootsFile.
func readCTRoots(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("CT roots: %w", err)
	}
	roots, err := ctlog.ParseRoots(data)
	if err != nil {
		return nil, fmt.Errorf("CT roots %s: %w", path, err)
	}
	return roots, nil
}

// openCTLog opens the certificate transparency log in the data dir (or in
// its own MySQL database beside the transparency log's), with origin
// "<hostname>/ct", accepting chains to roots (the CA's root and
// Options.CTRootsFile's).
func openCTLog(ctx context.Context, opts Options, hostname string, key crypto.Signer, roots []*x509.Certificate) (*ctlog.Log, io.Closer, error) {
	ctOpts := ctlog.DefaultOptions()
	ctOpts.NotAfterStart, ctOpts.NotAfterLimit = opts.CTNotAfterStart, opts.CTNotAfterLimit
	// Checkpoints signed before a rotation of the CT log's key are its own.
	h, err := loadHistory(opts.DataDir)
	if err != nil {
		return nil, nil, err
	}
	if ctOpts.RetiredKeys, err = h.retiredCTKeys(); err != nil {
		return nil, nil, err
	}
	var (
		driver  tessera.Driver
		issuers ctlog.IssuerStore
		db      *sql.DB
	)
	if opts.LogStorage == "" {
		dir := filepath.Join(opts.DataDir, "ct")
		if driver, err = storage.NewPOSIX(ctx, dir); err != nil {
			return nil, nil, err
		}
		issuers = ctlog.NewDirIssuers(dir)
	} else {
		if opts.LogObjects != "" {
			driver, db, err = storage.NewAWSSuffix(ctx, opts.LogStorage, ctMySQLDatabaseSuffix, opts.LogObjects, CTObjectsPrefix)
		} else {
			driver, db, err = storage.NewMySQLSuffix(ctx, opts.LogStorage, ctMySQLDatabaseSuffix)
		}
		if err != nil {
			return nil, nil, err
		}
		if issuers, err = ctlog.NewMySQLIssuers(ctx, db); err != nil {
			db.Close()
			return nil, nil, err
		}
		ctOpts.CheckpointInterval = max(ctOpts.CheckpointInterval, storage.MySQLMinCheckpointInterval, storage.AWSMinCheckpointInterval)
	}
	l, err := ctlog.New(ctx, driver, issuers, hostname+"/ct", key, roots, ctOpts)
	if err != nil {
		if db != nil {
			db.Close()
		}
		return nil, nil, err
	}
	if db == nil {
		return l, nil, nil
	}
	return l, db, nil
}

// Serve serves on ln until ctx is cancelled, then shuts down gracefully,
// giving in-flight requests up to 10 seconds.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := hs.Shutdown(shutdownCtx)
	if serveErr := <-errc; !errors.Is(serveErr, http.ErrServerClosed) && err == nil {
		err = serveErr
	}
	return err
}

// reindexHint adds, to the error of opening a search index with a damaged
// record, the command that rebuilds the index from the logs.
func reindexHint(err error, dataDir string) error {
	if errors.Is(err, search.ErrDamagedIndex) || errors.Is(err, rekorv1.ErrDamagedIndex) {
		return fmt.Errorf("%w; rebuild the index from the logs with `signet log reindex --data-dir %s` while the server is stopped", err, dataDir)
	}
	return err
}
