package dbesdk

import (
	"slices"
	"strings"
	"testing"
)

func TestPartiQLIdentifiers(t *testing.T) {
	for _, tt := range []struct {
		stmt      string
		want, not []string
	}{
		{`SELECT * FROM "users" WHERE pk = 'a'`, []string{"users", "pk", "SELECT", "FROM"}, nil},
		{`select email from users.by_email where email = 'users'`, []string{"users.by_email", "users", "by_email", "email"}, nil},
		{`INSERT INTO "odd ""name""" VALUE {'pk': 'users'}`, []string{`odd "name"`}, []string{"users"}},
		{`UPDATE "users"."gsi" SET x = 'it''s users' WHERE pk = ?`, []string{"users", "gsi", "x"}, []string{"s", "it"}},
		{`DELETE FROM other WHERE pk = 'x`, []string{"other", "pk"}, nil}, // an unterminated literal ends the statement
	} {
		got := partiQLIdentifiers(tt.stmt)
		for _, w := range tt.want {
			if !slices.Contains(got, w) {
				t.Errorf("partiQLIdentifiers(%q) = %q, want %q among them", tt.stmt, got, w)
			}
		}
		for _, n := range tt.not {
			if slices.Contains(got, n) {
				t.Errorf("partiQLIdentifiers(%q) = %q, want no %q (it is in a string literal)", tt.stmt, got, n)
			}
		}
	}
}

// FuzzPartiQLIdentifiers: the tokenizer ends on every input, and what is in
// a string literal is never an identifier.
func FuzzPartiQLIdentifiers(f *testing.F) {
	for _, s := range []string{`SELECT * FROM "t" WHERE a = 'b'`, `"unterminated`, `'it''s'`, `a.b.c`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, id := range partiQLIdentifiers(s) {
			if len(id) > len(s) {
				t.Fatalf("identifier %q is longer than the statement", id)
			}
		}
		quoted := "'" + strings.ReplaceAll(s, "'", "''") + "'"
		if ids := partiQLIdentifiers(quoted); len(ids) != 0 {
			t.Fatalf("partiQLIdentifiers(%q) = %q, want none: it is one string literal", quoted, ids)
		}
	})
}
