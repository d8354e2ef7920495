package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Retries: attempts of one call, and the first pause between them
// (doubling).
const (
	maxAttempts = 4
	firstPause  = 50 * time.Millisecond
)

// errInternal marks errors of the store itself (a result it cannot read),
// which no retry mends.
type errInternal struct{ error }

// retry runs fn until it succeeds, fails in a way no retry mends, or
// maxAttempts ran (see the package doc). idempotent says fn may run again
// after it was sent to the server.
func (s *Store) retry(ctx context.Context, idempotent bool, fn func(context.Context) error) error {
	pause := firstPause
	var err error
	for attempt := 1; ; attempt++ {
		if cerr := ctx.Err(); cerr != nil {
			if err != nil {
				return fmt.Errorf("%w (after: %v)", cerr, err)
			}
			return cerr
		}
		err = fn(ctx)
		if err == nil || attempt == maxAttempts || !retryable(ctx, err, idempotent) {
			return err
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
		pause *= 2
	}
}

// retryable reports whether running a call again after err cannot change
// its result.
func retryable(ctx context.Context, err error, idempotent bool) bool {
	if ctx.Err() != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var internal errInternal
	if errors.As(err, &internal) {
		return false
	}
	if pgconn.SafeToRetry(err) {
		return true // nothing reached the server
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "40001", pe.Code == "40P01":
			return true // serialization failure, deadlock: rolled back
		case strings.HasPrefix(pe.Code, "08"), pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03":
			return idempotent // connection exception, shutdown, starting up
		}
		return false
	}
	// Not the server's answer: the connection broke (reset, EOF, closed
	// by a restart); whether the statement ran is unknown.
	return idempotent
}

// wrap prefixes the store's errors, keeping the cause reachable
// (*pgconn.PgError with errors.As, context errors with errors.Is).
func (s *Store) wrap(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if errors.Is(err, ErrNotMigrated) {
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "42P01" || pe.Code == "3F000") {
		return fmt.Errorf("%w: table %q", ErrNotMigrated, s.table)
	}
	return fmt.Errorf("pgstore: %w", err)
}
