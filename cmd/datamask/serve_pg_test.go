package main

import (
	"os/exec"
	"testing"

	"github.com/datamask/datamask/internal/pgtest"
)

// TestServeSIGKILLUnderLoadPostgres: as TestServeSIGKILLUnderLoad, with
// the vault on PostgreSQL (--vault postgres://...).
func TestServeSIGKILLUnderLoadPostgres(t *testing.T) {
	f := newServeFixture(t)
	f.vault = pgtest.Database(t)
	if out, err := exec.Command("datamask", "vault", "migrate", "--vault", f.vault).CombinedOutput(); err != nil {
		t.Fatalf("vault migrate: %v\n%s", err, out)
	}
	sigkillRounds(t, f)
}
