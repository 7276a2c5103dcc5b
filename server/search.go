package server

import (
	"context"
	"database/sql"
	"path/filepath"
	"time"

	"github.com/signetproject/signet/search"
)

// searchFollowInterval is how often the server indexes new log entries.
const searchFollowInterval = time.Second

// openSearch opens the search index and envelope store next to the logs
// (files under DataDir/search, or tables in the MySQL database) and starts
// following the logs in the background until Close.
func (s *Server) openSearch(ctx context.Context) error {
	var (
		index     search.Index
		envelopes search.EnvelopeStore
	)
	if db, ok := s.logDB.(*sql.DB); ok {
		x, err := search.NewMySQLIndex(ctx, db)
		if err != nil {
			return err
		}
		if envelopes, err = search.NewMySQLEnvelopeStore(ctx, db); err != nil {
			return err
		}
		index = x
	} else {
		x, env, err := search.OpenFiles(filepath.Join(s.opts.DataDir, "search"))
		if err != nil {
			return err
		}
		index, envelopes, s.searchClose = x, env, x.Close
	}
	svc, err := search.NewService(index, envelopes, s.log, s.v1log)
	if err != nil {
		return err
	}
	s.search = svc
	fctx, stop := context.WithCancel(ctx)
	s.stopFollow, s.followDone = stop, make(chan struct{})
	go s.followLogs(fctx)
	return nil
}

// followLogs indexes new entries now and then every searchFollowInterval.
func (s *Server) followLogs(ctx context.Context) {
	defer close(s.followDone)
	t := time.NewTicker(searchFollowInterval)
	defer t.Stop()
	for {
		if err := s.search.Follow(ctx); err != nil && ctx.Err() == nil {
			s.logger.Warn("search index: following the logs", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// closeSearch stops following and closes the embedded index.
func (s *Server) closeSearch() {
	if s.stopFollow != nil {
		s.stopFollow()
		<-s.followDone
		s.stopFollow = nil
	}
	if s.searchClose != nil {
		if err := s.searchClose(); err != nil {
			s.logger.Warn("search index: close", "err", err)
		}
		s.searchClose = nil
	}
}

// Search returns the server's log search.
func (s *Server) Search() *search.Service { return s.search }
