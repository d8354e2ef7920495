// Package storetest is the conformance suite and the shared benchmarks of
// [tokenvault.Store]: every store, the embedded one, the servers' ones and
// users' own, runs the same tests and benchmarks.
//
// Start with [Run] in a test of the store's package, and [Benchmark] in a
// benchmark:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t testing.TB) tokenvault.Store {
//			s, err := mystore.Open(...) // a new, empty store
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// The suite checks every rule of the Store interface's documentation
// through the Store methods alone: create never overwrites, keys are
// scoped by tenant and policy, the fingerprint index is unique and follows
// deletes and swaps, expiry sweeps, listing with a cursor sees each record
// once, results are copies. It then runs a [tokenvault.Vault] on the store
// under concurrency: 100 goroutines tokenizing the same values under a
// convergent policy get one token per value, and under a random policy no
// token is issued twice. Each test calls newStore for a store of its own,
// and tests may run in parallel.
package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/datamask/datamask/tokenvault"
)

// NewStore returns a new, empty store for one test or benchmark, and
// arranges (t.Cleanup) for it to be closed.
type NewStore func(t testing.TB) tokenvault.Store

// Run runs the conformance suite on the stores newStore returns.
func Run(t *testing.T, newStore NewStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s tokenvault.Store)
	}{
		{"CreateGet", testCreateGet},
		{"CreateNeverOverwrites", testCreateNeverOverwrites},
		{"KeysScoped", testKeysScoped},
		{"Fingerprints", testFingerprints},
		{"Swap", testSwap},
		{"Delete", testDelete},
		{"DeleteExpired", testDeleteExpired},
		{"List", testList},
		{"Copies", testCopies},
		{"FullBatch", testFullBatch},
		{"CanceledContext", testCanceledContext},
		{"ConcurrentCreate", testConcurrentCreate},
		{"VaultRoundTrip", testVaultRoundTrip},
		{"VaultConvergentConcurrency", testVaultConvergentConcurrency},
		{"VaultRandomConcurrency", testVaultRandomConcurrency},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newStore(t))
		})
	}
}

var bg = context.Background()

func key(tenant, policy, token string) tokenvault.Key {
	return tokenvault.Key{Tenant: tenant, Policy: policy, Token: token}
}

func randBytes(t testing.TB, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func rec(t testing.TB, k tokenvault.Key, fp []byte) tokenvault.Record {
	return tokenvault.Record{Key: k, Fingerprint: fp, Ciphertext: randBytes(t, 40)}
}

func sameRecord(a, b *tokenvault.Record) bool {
	return a != nil && b != nil && a.Key == b.Key && bytes.Equal(a.Fingerprint, b.Fingerprint) &&
		bytes.Equal(a.Ciphertext, b.Ciphertext) && a.Expires.Equal(b.Expires)
}

func describe(r *tokenvault.Record) string {
	if r == nil {
		return "nil"
	}
	return fmt.Sprintf("{%q %q %q fp %x ct %d bytes expires %v}", r.Tenant, r.Policy, r.Token, r.Fingerprint, len(r.Ciphertext), r.Expires)
}

func create(t testing.TB, s tokenvault.Store, recs ...tokenvault.Record) []tokenvault.CreateResult {
	t.Helper()
	res, err := s.Create(bg, recs)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if len(res) != len(recs) {
		t.Fatalf("Create returned %d results for %d records", len(res), len(recs))
	}
	return res
}

func outcomes(res []tokenvault.CreateResult) []tokenvault.Outcome {
	var o []tokenvault.Outcome
	for _, r := range res {
		o = append(o, r.Outcome)
	}
	return o
}

func get(t testing.TB, s tokenvault.Store, keys ...tokenvault.Key) []*tokenvault.Record {
	t.Helper()
	recs, err := s.Get(bg, keys)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if len(recs) != len(keys) {
		t.Fatalf("Get returned %d records for %d keys", len(recs), len(keys))
	}
	return recs
}

func testCreateGet(t *testing.T, s tokenvault.Store) {
	exp := time.Unix(2_000_000_000, 123456789).UTC()
	a := rec(t, key("acme", "card", "tok_a"), nil)
	b := rec(t, key("acme", "card", "tok_b"), randBytes(t, 32))
	b.Expires = exp
	c := rec(t, key("", "", "vault-key-v1"), nil) // the vault's own records
	res := create(t, s, a, b, c)
	if got := outcomes(res); !slices.Equal(got, []tokenvault.Outcome{tokenvault.Created, tokenvault.Created, tokenvault.Created}) {
		t.Fatalf("Create outcomes = %v, want created x3", got)
	}
	got := get(t, s, b.Key, key("acme", "card", "missing"), a.Key, c.Key)
	for i, want := range []*tokenvault.Record{&b, nil, &a, &c} {
		if want == nil {
			if got[i] != nil {
				t.Errorf("Get(missing) = %s, want nil", describe(got[i]))
			}
			continue
		}
		if !sameRecord(got[i], want) {
			t.Errorf("Get(%q) = %s, want %s", want.Token, describe(got[i]), describe(want))
		}
	}
	if empty := get(t, s); len(empty) != 0 {
		t.Errorf("Get() = %d records", len(empty))
	}
	if res := create(t, s); len(res) != 0 {
		t.Errorf("Create() = %d results", len(res))
	}
}

func testCreateNeverOverwrites(t *testing.T, s tokenvault.Store) {
	a := rec(t, key("acme", "card", "tok_1"), nil)
	create(t, s, a)
	a2 := rec(t, a.Key, randBytes(t, 32))
	res := create(t, s, a2)
	if res[0].Outcome != tokenvault.TokenTaken {
		t.Fatalf("Create of a taken token = %v, want %v", res[0].Outcome, tokenvault.TokenTaken)
	}
	if got := get(t, s, a.Key)[0]; !sameRecord(got, &a) {
		t.Fatalf("after a refused Create, Get = %s, want the first record %s", describe(got), describe(&a))
	}
	// The refused record's fingerprint was not indexed.
	if fr, err := s.GetByFingerprint(bg, "acme", "card", [][]byte{a2.Fingerprint}); err != nil || fr[0] != nil {
		t.Fatalf("GetByFingerprint of a refused record = %v, %v, want nil", fr, err)
	}
	// In one call: the first of two records with one key wins.
	x := rec(t, key("acme", "card", "tok_2"), nil)
	y := rec(t, key("acme", "card", "tok_2"), nil)
	z := rec(t, key("acme", "card", "tok_3"), nil)
	res = create(t, s, x, y, z)
	if got := outcomes(res); !slices.Equal(got, []tokenvault.Outcome{tokenvault.Created, tokenvault.TokenTaken, tokenvault.Created}) {
		t.Fatalf("Create(x, y with x's key, z) = %v, want created, token taken, created", got)
	}
	if got := get(t, s, x.Key)[0]; !sameRecord(got, &x) {
		t.Fatalf("Get = %s, want the first record of the call", describe(got))
	}
}

func testKeysScoped(t *testing.T, s tokenvault.Store) {
	fp := randBytes(t, 32)
	recs := []tokenvault.Record{
		rec(t, key("acme", "card", "T"), fp),
		rec(t, key("acme", "ssn", "T"), fp),
		rec(t, key("globex", "card", "T"), fp),
		rec(t, key("acme\x00card", "", "T"), nil), // scopes must not run together
		rec(t, key("acm", "ecard", "T"), nil),
		rec(t, key("acme", "car", "dT"), nil),
	}
	res := create(t, s, recs...)
	for i, r := range res {
		if r.Outcome != tokenvault.Created {
			t.Fatalf("Create of %s = %v: tokens and fingerprints are unique per tenant and policy only", describe(&recs[i]), r.Outcome)
		}
	}
	var keys []tokenvault.Key
	for _, r := range recs {
		keys = append(keys, r.Key)
	}
	for i, got := range get(t, s, keys...) {
		if !sameRecord(got, &recs[i]) {
			t.Errorf("Get(%s) = %s", describe(&recs[i]), describe(got))
		}
	}
}

func testFingerprints(t *testing.T, s tokenvault.Store) {
	fp1, fp2 := randBytes(t, 32), randBytes(t, 32)
	a := rec(t, key("acme", "email", "A"), fp1)
	create(t, s, a)
	b := rec(t, key("acme", "email", "B"), fp1)
	c := rec(t, key("acme", "email", "C"), fp2)
	d := rec(t, key("acme", "email", "D"), fp2)
	res := create(t, s, b, c, d)
	if got := outcomes(res); !slices.Equal(got, []tokenvault.Outcome{tokenvault.FingerprintTaken, tokenvault.Created, tokenvault.FingerprintTaken}) {
		t.Fatalf("Create outcomes = %v, want fingerprint taken, created, fingerprint taken", got)
	}
	if !sameRecord(res[0].Existing, &a) {
		t.Errorf("Existing = %s, want %s", describe(res[0].Existing), describe(&a))
	}
	if !sameRecord(res[2].Existing, &c) {
		t.Errorf("Existing (same call) = %s, want %s", describe(res[2].Existing), describe(&c))
	}
	if got := get(t, s, b.Key, d.Key); got[0] != nil || got[1] != nil {
		t.Errorf("records refused for their fingerprint were stored: %s, %s", describe(got[0]), describe(got[1]))
	}
	found, err := s.GetByFingerprint(bg, "acme", "email", [][]byte{fp2, randBytes(t, 32), fp1})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 3 || !sameRecord(found[0], &c) || found[1] != nil || !sameRecord(found[2], &a) {
		t.Errorf("GetByFingerprint = %v, want c, nil, a", found)
	}
	for _, scope := range [][2]string{{"acme", "card"}, {"globex", "email"}} {
		found, err := s.GetByFingerprint(bg, scope[0], scope[1], [][]byte{fp1})
		if err != nil || found[0] != nil {
			t.Errorf("GetByFingerprint in %v = %v, %v: the index is per tenant and policy", scope, found, err)
		}
	}
	// A record without a fingerprint is not indexed, and nil fingerprints
	// never collide.
	n1 := rec(t, key("acme", "email", "N1"), nil)
	n2 := rec(t, key("acme", "email", "N2"), nil)
	if got := outcomes(create(t, s, n1, n2)); !slices.Equal(got, []tokenvault.Outcome{tokenvault.Created, tokenvault.Created}) {
		t.Errorf("records without fingerprints = %v, want created twice", got)
	}
}

func testSwap(t *testing.T, s tokenvault.Store) {
	fp := randBytes(t, 32)
	a := rec(t, key("acme", "card", "A"), fp)
	a.Expires = time.Now().Add(time.Hour).UTC()
	create(t, s, a)
	next := a
	next.Ciphertext = randBytes(t, 50)
	next.Expires = time.Now().Add(-time.Hour).UTC()
	if ok, err := s.Swap(bg, a.Key, randBytes(t, 40), &next); err != nil || ok {
		t.Fatalf("Swap with a wrong prev = %v, %v, want false", ok, err)
	}
	if got := get(t, s, a.Key)[0]; !sameRecord(got, &a) {
		t.Fatalf("after a refused Swap, Get = %s", describe(got))
	}
	if ok, err := s.Swap(bg, key("acme", "card", "missing"), a.Ciphertext, nil); err != nil || ok {
		t.Fatalf("Swap of a missing record = %v, %v, want false", ok, err)
	}
	if ok, err := s.Swap(bg, a.Key, a.Ciphertext, &next); err != nil || !ok {
		t.Fatalf("Swap = %v, %v, want true", ok, err)
	}
	if got := get(t, s, a.Key)[0]; !sameRecord(got, &next) {
		t.Fatalf("after Swap, Get = %s, want %s", describe(got), describe(&next))
	}
	if found, err := s.GetByFingerprint(bg, "acme", "card", [][]byte{fp}); err != nil || !sameRecord(found[0], &next) {
		t.Fatalf("after Swap, GetByFingerprint = %v, %v", found, err)
	}
	// The new expiry is the one swept.
	if n, err := s.DeleteExpired(bg, time.Now(), 10); err != nil || n != 1 {
		t.Fatalf("DeleteExpired after Swap to a past expiry = %d, %v, want 1", n, err)
	}
	create(t, s, a)
	if ok, err := s.Swap(bg, a.Key, a.Ciphertext, nil); err != nil || !ok {
		t.Fatalf("Swap to nil = %v, %v, want true", ok, err)
	}
	if got := get(t, s, a.Key)[0]; got != nil {
		t.Fatalf("after Swap to nil, Get = %s", describe(got))
	}
	// The fingerprint is free again.
	b := rec(t, key("acme", "card", "B"), fp)
	if res := create(t, s, b); res[0].Outcome != tokenvault.Created {
		t.Fatalf("Create with the fingerprint of a swapped-out record = %v", res[0].Outcome)
	}
	// And the swapped-out record's expiry entry is gone.
	if n, err := s.DeleteExpired(bg, time.Now().Add(2*time.Hour), 10); err != nil || n != 0 {
		t.Fatalf("DeleteExpired = %d, %v, want 0: a deleted record's expiry must not delete another", n, err)
	}
	if got := get(t, s, b.Key)[0]; !sameRecord(got, &b) {
		t.Fatalf("Get(B) = %s", describe(got))
	}
}

func testDelete(t *testing.T, s tokenvault.Store) {
	fp := randBytes(t, 32)
	a := rec(t, key("acme", "ssn", "A"), fp)
	a.Expires = time.Now().Add(-time.Minute).UTC()
	b := rec(t, key("acme", "ssn", "B"), nil)
	create(t, s, a, b)
	ok, err := s.Delete(bg, []tokenvault.Key{a.Key, key("acme", "ssn", "missing"), b.Key, a.Key})
	if err != nil || !slices.Equal(ok, []bool{true, false, true, false}) {
		t.Fatalf("Delete = %v, %v, want [true false true false]", ok, err)
	}
	if got := get(t, s, a.Key, b.Key); got[0] != nil || got[1] != nil {
		t.Fatalf("after Delete, Get = %s, %s", describe(got[0]), describe(got[1]))
	}
	if found, err := s.GetByFingerprint(bg, "acme", "ssn", [][]byte{fp}); err != nil || found[0] != nil {
		t.Fatalf("after Delete, GetByFingerprint = %v, %v, want nil", found, err)
	}
	if n, err := s.DeleteExpired(bg, time.Now(), 10); err != nil || n != 0 {
		t.Fatalf("DeleteExpired after Delete = %d, %v, want 0", n, err)
	}
	// The token can be issued again.
	if res := create(t, s, rec(t, a.Key, fp)); res[0].Outcome != tokenvault.Created {
		t.Fatalf("Create after Delete = %v", res[0].Outcome)
	}
}

func testDeleteExpired(t *testing.T, s tokenvault.Store) {
	now := time.Now().UTC()
	var expired, live []tokenvault.Record
	for i := range 25 {
		r := rec(t, key("acme", "opaque", fmt.Sprintf("E%02d", i)), randBytes(t, 32))
		r.Expires = now.Add(-time.Duration(i+1) * time.Minute)
		if i == 0 {
			r.Expires = now // expiring at now counts
		}
		expired = append(expired, r)
	}
	for i := range 5 {
		r := rec(t, key("acme", "opaque", fmt.Sprintf("L%02d", i)), nil)
		if i%2 == 0 {
			r.Expires = now.Add(time.Duration(i+1) * time.Minute)
		}
		live = append(live, r)
	}
	create(t, s, append(slices.Clone(expired), live...)...)
	total := 0
	for {
		n, err := s.DeleteExpired(bg, now, 10)
		if err != nil {
			t.Fatal(err)
		}
		if n > 10 {
			t.Fatalf("DeleteExpired(limit 10) = %d", n)
		}
		total += n
		if n < 10 {
			break
		}
	}
	if total != len(expired) {
		t.Fatalf("DeleteExpired deleted %d records, want %d", total, len(expired))
	}
	for _, r := range expired {
		if got := get(t, s, r.Key)[0]; got != nil {
			t.Errorf("expired %q still stored", r.Token)
		}
		found, _ := s.GetByFingerprint(bg, "acme", "opaque", [][]byte{r.Fingerprint})
		if found[0] != nil {
			t.Errorf("expired %q still indexed", r.Token)
		}
	}
	for _, r := range live {
		if got := get(t, s, r.Key)[0]; !sameRecord(got, &r) {
			t.Errorf("live %q = %s", r.Token, describe(got))
		}
	}
	for _, bad := range []int{0, -1, tokenvault.MaxBatch + 1} {
		if _, err := s.DeleteExpired(bg, now, bad); err == nil {
			t.Errorf("DeleteExpired(limit %d) succeeded", bad)
		}
	}
}

func listAll(t *testing.T, s tokenvault.Store, req tokenvault.ListRequest) []tokenvault.Record {
	t.Helper()
	var out []tokenvault.Record
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatal("List: more than 1000 pages")
		}
		page, next, err := s.List(bg, req)
		if err != nil {
			t.Fatalf("List(%+v): %v", req, err)
		}
		if len(page) > req.Limit {
			t.Fatalf("List(limit %d) returned %d records", req.Limit, len(page))
		}
		out = append(out, page...)
		if next == "" {
			return out
		}
		if len(page) == 0 {
			t.Fatal("List returned an empty page with a cursor")
		}
		req.Cursor = next
	}
}

func testList(t *testing.T, s tokenvault.Store) {
	want := map[tokenvault.Key]tokenvault.Record{}
	var batch []tokenvault.Record
	for i := range 60 {
		tenant := []string{"acme", "globex", "acme2"}[i%3]
		policy := []string{"card", "ssn"}[i%2]
		r := rec(t, key(tenant, policy, fmt.Sprintf("tok_%03d", i)), nil)
		batch = append(batch, r)
		want[r.Key] = r
	}
	create(t, s, batch...)
	check := func(name string, req tokenvault.ListRequest, keep func(tokenvault.Key) bool) {
		got := listAll(t, s, req)
		seen := map[tokenvault.Key]bool{}
		for _, r := range got {
			if seen[r.Key] {
				t.Errorf("%s: %s listed twice", name, describe(&r))
			}
			seen[r.Key] = true
			w, ok := want[r.Key]
			if !ok || !keep(r.Key) {
				t.Errorf("%s: listed %s, which the request does not select", name, describe(&r))
			} else if !sameRecord(&r, &w) {
				t.Errorf("%s: listed %s, want %s", name, describe(&r), describe(&w))
			}
		}
		for k := range want {
			if keep(k) && !seen[k] {
				t.Errorf("%s: %v not listed", name, k)
			}
		}
	}
	for _, limit := range []int{1, 7, 20, tokenvault.MaxBatch} {
		check(fmt.Sprintf("all, limit %d", limit), tokenvault.ListRequest{Limit: limit}, func(tokenvault.Key) bool { return true })
	}
	check("tenant acme", tokenvault.ListRequest{Tenant: "acme", Limit: 3}, func(k tokenvault.Key) bool { return k.Tenant == "acme" })
	check("acme/ssn", tokenvault.ListRequest{Tenant: "acme", Policy: "ssn", Limit: 4}, func(k tokenvault.Key) bool { return k.Tenant == "acme" && k.Policy == "ssn" })
	check("no such tenant", tokenvault.ListRequest{Tenant: "acm", Limit: 5}, func(tokenvault.Key) bool { return false })
	for _, bad := range []tokenvault.ListRequest{{Limit: 0}, {Limit: tokenvault.MaxBatch + 1}} {
		if _, _, err := s.List(bg, bad); err == nil {
			t.Errorf("List(%+v) succeeded", bad)
		}
	}
}

func testCopies(t *testing.T, s tokenvault.Store) {
	a := rec(t, key("acme", "card", "A"), randBytes(t, 32))
	orig := tokenvault.Record{Key: a.Key, Fingerprint: bytes.Clone(a.Fingerprint), Ciphertext: bytes.Clone(a.Ciphertext)}
	recs := []tokenvault.Record{a}
	create(t, s, recs...)
	// The caller reuses its buffers.
	a.Fingerprint[0] ^= 0xff
	a.Ciphertext[0] ^= 0xff
	got := get(t, s, orig.Key)[0]
	if !sameRecord(got, &orig) {
		t.Fatalf("the store kept the caller's buffers: Get = %s", describe(got))
	}
	got.Ciphertext[0] ^= 0xff
	got.Fingerprint[0] ^= 0xff
	if again := get(t, s, orig.Key)[0]; !sameRecord(again, &orig) {
		t.Fatalf("a returned record shares the store's memory")
	}
}

func testFullBatch(t *testing.T, s tokenvault.Store) {
	recs := make([]tokenvault.Record, tokenvault.MaxBatch)
	keys := make([]tokenvault.Key, len(recs))
	fps := make([][]byte, len(recs))
	for i := range recs {
		recs[i] = rec(t, key("acme", "opaque", fmt.Sprintf("tok_%04d", i)), randBytes(t, 32))
		keys[i], fps[i] = recs[i].Key, recs[i].Fingerprint
	}
	for i, r := range create(t, s, recs...) {
		if r.Outcome != tokenvault.Created {
			t.Fatalf("record %d: %v", i, r.Outcome)
		}
	}
	for i, got := range get(t, s, keys...) {
		if !sameRecord(got, &recs[i]) {
			t.Fatalf("Get %d = %s", i, describe(got))
		}
	}
	found, err := s.GetByFingerprint(bg, "acme", "opaque", fps)
	if err != nil || len(found) != len(fps) {
		t.Fatalf("GetByFingerprint of %d = %d, %v", len(fps), len(found), err)
	}
	ok, err := s.Delete(bg, keys)
	if err != nil || slices.Contains(ok, false) {
		t.Fatalf("Delete of %d: %v", len(keys), err)
	}
}

func testCanceledContext(t *testing.T, s tokenvault.Store) {
	ctx, cancel := context.WithCancel(bg)
	cancel()
	a := rec(t, key("acme", "card", "A"), nil)
	if _, err := s.Create(ctx, []tokenvault.Record{a}); err == nil {
		t.Error("Create with a canceled context succeeded")
	}
	if _, err := s.Get(ctx, []tokenvault.Key{a.Key}); err == nil {
		t.Error("Get with a canceled context succeeded")
	}
	if got := get(t, s, a.Key)[0]; got != nil {
		t.Error("Create with a canceled context stored the record")
	}
}

// testConcurrentCreate races 100 goroutines on one fingerprint and on one
// token: exactly one wins each race, and the others see the winner.
func testConcurrentCreate(t *testing.T, s tokenvault.Store) {
	const n = 100
	fp := randBytes(t, 32)
	var wg sync.WaitGroup
	results := make([]tokenvault.CreateResult, n)
	sameToken := make([]tokenvault.CreateResult, n)
	for i := range n {
		wg.Go(func() {
			r := rec(t, key("acme", "email", fmt.Sprintf("T%03d", i)), fp)
			res, err := s.Create(bg, []tokenvault.Record{r})
			if err != nil {
				t.Error(err)
				return
			}
			results[i] = res[0]
			r2 := rec(t, key("acme", "opaque", "the-token"), nil)
			res, err = s.Create(bg, []tokenvault.Record{r2})
			if err != nil {
				t.Error(err)
				return
			}
			sameToken[i] = res[0]
		})
	}
	wg.Wait()
	created := 0
	var winner string
	for _, r := range results {
		if r.Outcome == tokenvault.Created {
			created++
		}
	}
	if created != 1 {
		t.Fatalf("%d of %d concurrent creates with one fingerprint succeeded, want 1", created, n)
	}
	found, err := s.GetByFingerprint(bg, "acme", "email", [][]byte{fp})
	if err != nil || found[0] == nil {
		t.Fatalf("GetByFingerprint = %v, %v", found, err)
	}
	winner = found[0].Token
	for i, r := range results {
		if r.Outcome == tokenvault.FingerprintTaken && (r.Existing == nil || r.Existing.Token != winner) {
			t.Fatalf("goroutine %d saw %s as the holder, want %q", i, describe(r.Existing), winner)
		}
	}
	created = 0
	for _, r := range sameToken {
		switch r.Outcome {
		case tokenvault.Created:
			created++
		case tokenvault.TokenTaken:
		default:
			t.Fatalf("concurrent create of one token: %v", r.Outcome)
		}
	}
	if created != 1 {
		t.Fatalf("%d of %d concurrent creates of one token succeeded, want 1", created, n)
	}
}
