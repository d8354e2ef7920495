package tokenvault

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"time"
)

// Imported is a token that another system issued, with its value, for
// [Vault.Import].
type Imported struct {
	Token string
	Value string
}

// Import stores tokens that another system issued (AWS's serverless
// tokenization sample, another vault) for their values, in tenant under
// policy, so that they detokenize here as they did there: up to
// [MaxBatch] pairs a call, with the policy's TTL (or [WithTTL]) and
// [WithMetadata] applied to each. Import is safe to run again: a token
// already stored for the same value is not an error.
//
// errs[i] is nil when pairs[i] is stored; [ErrInvalidToken] when its token
// is not of the policy's format (choose a policy of the tokens' format,
// such as FormatUUID for the AWS sample's); a [*ValueError] when the
// policy cannot serve its value; [ErrTokenTaken] when the token already
// stands for another value, or, under a convergent policy, the value
// already has another token; [ErrTampered] when the record in the way
// does not decrypt as it should. err fails the whole call (unknown policy
// or tenant, [ErrTooMany], [ErrUnsupported] for an FF1 policy, whose
// tokens are computed, the store or provider failing).
func (v *Vault) Import(ctx context.Context, tenant, policy string, pairs []Imported, opts ...TokenizeOption) (errs []error, err error) {
	ps, err := v.policy(tenant, policy)
	if err != nil {
		return nil, err
	}
	if !ps.stored() {
		return nil, fmt.Errorf("%w: ff1 tokens are computed from their values, not stored", ErrUnsupported)
	}
	if len(pairs) > MaxBatch {
		return nil, ErrTooMany
	}
	var cfg tokenizeConfig
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("tokenvault: Import: nil TokenizeOption")
		}
		if err := o.applyTokenize(&cfg); err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ttl := ps.spec.TTL
	if cfg.ttlSet {
		ttl = cfg.ttl
	}
	now := v.now()
	var expires time.Time
	if ttl > 0 {
		expires = now.Add(ttl)
	}
	ec := recordContext(tenant, policy)
	errs = make([]error, len(pairs))
	var pending []int
	for i, p := range pairs {
		if errs[i] = ps.checkToken(p.Token); errs[i] != nil {
			continue
		}
		if errs[i] = ps.checkValue(p.Value); errs[i] != nil {
			continue
		}
		pending = append(pending, i)
	}
	recs := make([]Record, len(pending))
	perr := make([]error, len(pending))
	err = forEach(ctx, len(pending), func(k int) {
		i := pending[k]
		pl := payload{token: pairs[i].Token, created: now, expires: expires, meta: cfg.meta, value: pairs[i].Value}
		ct, err := v.provider.Encrypt(ctx, pl.marshal(), ec)
		if err != nil {
			perr[k] = err
			return
		}
		recs[k] = Record{Key: Key{Tenant: tenant, Policy: policy, Token: pairs[i].Token}, Ciphertext: ct, Expires: expires}
		if ps.spec.Convergent {
			recs[k].Fingerprint = ps.fingerprint(tenant, pairs[i].Value)
		}
	})
	if err != nil {
		return nil, err
	}
	for _, e := range perr {
		if e != nil {
			return nil, fmt.Errorf("tokenvault: encrypting a record: %w", e)
		}
	}
	for round := 0; len(pending) > 0; round++ {
		if round == maxCreateRounds {
			return nil, errors.New("tokenvault: Import: records in the way kept changing")
		}
		res, err := v.store.Create(ctx, recs)
		if err != nil {
			return nil, err
		}
		if len(res) != len(recs) {
			return nil, fmt.Errorf("tokenvault: the store returned %d results for %d records", len(res), len(recs))
		}
		var nextPending []int
		var nextRecs []Record
		for k, i := range pending {
			switch res[k].Outcome {
			case Created:
			case TokenTaken:
				again, err := v.sameValue(ctx, ec, recs[k].Key, pairs[i].Value, now)
				if err != nil && !errors.Is(err, ErrTampered) && !errors.Is(err, ErrTokenTaken) {
					return nil, err
				}
				if again {
					nextPending, nextRecs = append(nextPending, i), append(nextRecs, recs[k])
				}
				errs[i] = err
			case FingerprintTaken:
				if res[k].Existing == nil {
					return nil, errors.New("tokenvault: the store reported a taken fingerprint without its record")
				}
				_, err, gone := v.existing(ctx, ec, res[k].Existing, pairs[i].Value, now)
				switch {
				case err != nil && !errors.Is(err, ErrTampered):
					return nil, err
				case gone:
					nextPending, nextRecs = append(nextPending, i), append(nextRecs, recs[k])
				case err != nil:
					errs[i] = err
				default:
					errs[i] = fmt.Errorf("%w: the value already has another token under this convergent policy", ErrTokenTaken)
				}
			default:
				return nil, fmt.Errorf("tokenvault: the store returned an invalid outcome %d", res[k].Outcome)
			}
		}
		pending, recs = nextPending, nextRecs
	}
	return errs, nil
}

// sameValue reads the record holding key, whose token Import found taken:
// nil if it holds value (imported before), ErrTokenTaken if another;
// again if it is gone (deleted, or expired and now deleted).
func (v *Vault) sameValue(ctx context.Context, ec map[string]string, key Key, value string, now time.Time) (again bool, err error) {
	got, err := v.store.Get(ctx, []Key{key})
	if err != nil {
		return false, err
	}
	rec := got[0]
	if rec == nil {
		return true, nil
	}
	p, err := v.open(ctx, ec, rec)
	if err != nil {
		return false, err
	}
	if !p.expires.IsZero() && !now.Before(p.expires) {
		_, err := v.store.Swap(ctx, rec.Key, rec.Ciphertext, nil)
		return err == nil, err
	}
	if subtle.ConstantTimeCompare([]byte(p.value), []byte(value)) != 1 {
		return false, ErrTokenTaken
	}
	return false, nil
}
