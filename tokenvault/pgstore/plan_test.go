package pgstore

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/datamask/datamask/internal/pgtest"
)

// TestPlans checks the plans of the store's statements as PostgreSQL
// caches them (generic plans) on a table of 20,000 records that has no
// statistics yet, as a new vault's table has: every lookup is an index
// scan driven by the keys or fingerprints asked for, never a scan of the
// table or of a whole tenant and policy.
func TestPlans(t *testing.T) {
	ctx := context.Background()
	url := pgtest.Database(t)
	s, err := OpenForMigrate(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, q := range []string{
		`INSERT INTO tokenvault_records SELECT 'acme', 'convergent', ('tok_'||g)::bytea, sha256(g::text::bytea), '\x00', CASE WHEN g % 2 = 0 THEN g END FROM generate_series(1, 20000) g`,
		`SET plan_cache_mode = force_generic_plan`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	b := `ARRAY['acme'::bytea]`
	for _, tc := range []struct {
		name, sql, args string
		want            string
	}{
		{"get", s.sql.get, b + `, ARRAY['convergent'::bytea], ARRAY['tok_7'::bytea]`, "Index Scan using tokenvault_records_pkey"},
		{"byFingerprint", s.sql.byFingerprint, b + `, ARRAY['convergent'::bytea], ARRAY['\x01'::bytea]`, "Index Scan using tokenvault_records_fingerprint"},
		{"resolve", s.sql.resolve, b + `, ARRAY['convergent'::bytea], ARRAY['tok_7'::bytea], ARRAY['\x01'::bytea]`, "Index Scan using tokenvault_records_fingerprint"},
		{"delete", s.sql.delete, b + `, ARRAY['convergent'::bytea], ARRAY['tok_7'::bytea]`, "Index Scan using tokenvault_records_pkey"},
		{"deleteExpired", s.sql.deleteExpired, `5, 10`, "Tid Scan"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tx, err := conn.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback(ctx)
			if _, err := tx.Exec(ctx, `PREPARE p AS `+tc.sql); err != nil {
				t.Fatal(err)
			}
			defer conn.Exec(ctx, `DEALLOCATE p`)
			rows, err := tx.Query(ctx, `EXPLAIN EXECUTE p(`+tc.args+`)`)
			if err != nil {
				t.Fatal(err)
			}
			lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				t.Fatal(err)
			}
			plan := strings.Join(lines, "\n")
			// A join filter is a scan of a whole tenant and policy for
			// each key, through an index prefix.
			if !strings.Contains(plan, tc.want) || strings.Contains(plan, "Seq Scan on tokenvault_records") || strings.Contains(plan, "Join Filter") {
				t.Errorf("plan of %s, want %q, no join filter and no sequential scan of the table:\n%s", tc.name, tc.want, plan)
			}
		})
	}
}
