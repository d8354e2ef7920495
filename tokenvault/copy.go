package tokenvault

import (
	"bytes"
	"context"
	"errors"
	"fmt"
)

// CopyStats says what [Copy] did.
type CopyStats struct {
	// Copied counts the records written to the destination.
	Copied int
	// Present counts the records the destination held already, the same
	// (a copy run before, or the vault's key).
	Present int
	// Failed counts the records not copied: the destination holds their
	// token or fingerprint with another record ([ErrTokenTaken]), or the
	// source could not read them back ([ErrTampered]). FirstErr is the
	// first of their errors.
	Failed   int
	FirstErr error
}

// ErrOtherVault is returned by [Copy] when the destination already holds
// another vault: records of two vaults cannot share a store.
var ErrOtherVault = errors.New("tokenvault: the destination store holds another vault (another vault key): copy into an empty store")

// Copy copies every record of the store src into dst as it is, still
// encrypted, the vault's own key included: a vault opened on dst with the
// keys and policies of src's detokenizes every token of src, and convergent
// values keep their tokens. It needs no key and decrypts nothing; it moves
// a vault between stores (an embedded file to PostgreSQL or DynamoDB, and
// back). dst must be empty or hold a copy of the same vault (Copy is safe
// to run again: records already there count as Present); otherwise Copy
// fails with [ErrOtherVault] before writing anything. Records written to
// src during the copy may be missed: run it again, or stop writing first.
func Copy(ctx context.Context, dst, src Store) (CopyStats, error) {
	var st CopyStats
	if dst == nil || src == nil {
		return st, errors.New("tokenvault: Copy: nil store")
	}
	keys, err := src.Get(ctx, []Key{vaultKey})
	if err != nil {
		return st, fmt.Errorf("tokenvault: Copy: reading the source's vault key: %w", err)
	}
	if keys[0] == nil {
		return st, errors.New("tokenvault: Copy: the source store holds no vault (no vault key): nothing to copy")
	}
	have, err := dst.Get(ctx, []Key{vaultKey})
	if err != nil {
		return st, fmt.Errorf("tokenvault: Copy: reading the destination's vault key: %w", err)
	}
	if have[0] != nil && !bytes.Equal(have[0].Ciphertext, keys[0].Ciphertext) {
		return st, ErrOtherVault
	}
	fail := func(err error) {
		st.Failed++
		if st.FirstErr == nil {
			st.FirstErr = err
		}
	}
	// The vault's key first, so that a copy stopped half way is a vault.
	if have[0] == nil {
		res, err := dst.Create(ctx, []Record{*keys[0]})
		if err != nil {
			return st, err
		}
		if res[0].Outcome != Created {
			return st, ErrOtherVault
		}
	}
	cursor := ""
	for {
		page, next, err := src.List(ctx, ListRequest{Cursor: cursor, Limit: MaxBatch})
		if err != nil {
			return st, err
		}
		// What the destination holds already (a copy run before) is
		// counted, not written again.
		keys := make([]Key, len(page))
		for i, r := range page {
			keys[i] = r.Key
		}
		there, err := dst.Get(ctx, keys)
		if err != nil {
			return st, err
		}
		recs := page[:0:0]
		for i, r := range page {
			switch {
			case r.Ciphertext == nil:
				fail(ErrTampered)
			case there[i] != nil && bytes.Equal(there[i].Ciphertext, r.Ciphertext):
				st.Present++
			case there[i] != nil:
				fail(ErrTokenTaken)
			default:
				recs = append(recs, r)
			}
		}
		res, err := dst.Create(ctx, recs)
		if err != nil {
			return st, err
		}
		if len(res) != len(recs) {
			return st, fmt.Errorf("tokenvault: the store returned %d results for %d records", len(res), len(recs))
		}
		var taken []Key
		var takenAt []int
		for k, r := range res {
			switch r.Outcome {
			case Created:
				st.Copied++
			case TokenTaken:
				taken, takenAt = append(taken, recs[k].Key), append(takenAt, k)
			case FingerprintTaken:
				if r.Existing != nil && r.Existing.Token == recs[k].Token && bytes.Equal(r.Existing.Ciphertext, recs[k].Ciphertext) {
					st.Present++
				} else {
					fail(fmt.Errorf("%w: under a convergent policy, the destination gives the value another token", ErrTokenTaken))
				}
			default:
				return st, fmt.Errorf("tokenvault: the store returned an invalid outcome %d", r.Outcome)
			}
		}
		if len(taken) > 0 {
			got, err := dst.Get(ctx, taken)
			if err != nil {
				return st, err
			}
			for j, k := range takenAt {
				if got[j] != nil && bytes.Equal(got[j].Ciphertext, recs[k].Ciphertext) {
					st.Present++
				} else {
					fail(ErrTokenTaken)
				}
			}
		}
		if next == "" {
			return st, nil
		}
		cursor = next
	}
}
