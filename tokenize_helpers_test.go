package datamask_test

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/datamask/datamask"
)

// memVault is a token vault in memory for the tests of the JSON side of
// tokenization: its tokens are a function of policy and value, so that
// expected documents can be written down. Policy "num" gives tokens that
// are JSON numbers; "unknown" fails whole calls; any other policy gives
// "tok_" and 8 hex digits. The package tokenvault's real vault is tested
// through DataMasker in tokenize_vault_test.go.
type memVault struct {
	mu     sync.Mutex
	values map[string]string // tenant, policy and token -> value
	calls  atomic.Int64
	sizes  []int // the size of each batch, in call order
	// refuse, if not empty, is a value that gets errRefused.
	refuse string
	// onCall, if set, runs at the start of each call (it may cancel,
	// panic or block).
	onCall func(ctx context.Context, call int64)
	// badLengths makes the results one short.
	badLengths bool
}

var _ datamask.TokenVault = (*memVault)(nil)

var (
	errRefused       = errors.New("memvault: the policy cannot tokenize this value")
	errNotFound      = errors.New("memvault: no such token")
	errUnknownPolicy = errors.New("memvault: unknown policy")
)

func newMemVault() *memVault { return &memVault{values: map[string]string{}} }

// memToken is the token memVault gives value under policy.
func memToken(policy, value string) string {
	h := fnv.New32a()
	h.Write([]byte(policy + "\x00" + value))
	if policy == "num" {
		return fmt.Sprintf("9%09d", h.Sum32()%1_000_000_000)
	}
	return fmt.Sprintf("tok_%08x", h.Sum32())
}

func (v *memVault) call(ctx context.Context, policy string, n int) error {
	c := v.calls.Add(1)
	v.mu.Lock()
	v.sizes = append(v.sizes, n)
	v.mu.Unlock()
	if v.onCall != nil {
		v.onCall(ctx, c)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if policy == "unknown" {
		return fmt.Errorf("%w %q", errUnknownPolicy, policy)
	}
	return nil
}

func (v *memVault) results(n int) ([]string, []error) {
	if v.badLengths {
		n--
	}
	return make([]string, n), make([]error, n)
}

func (v *memVault) TokenizeBatch(ctx context.Context, tenant, policy string, values []string) ([]string, []error, error) {
	if err := v.call(ctx, policy, len(values)); err != nil {
		return nil, nil, err
	}
	tokens, errs := v.results(len(values))
	v.mu.Lock()
	defer v.mu.Unlock()
	for i := range tokens {
		if v.refuse != "" && values[i] == v.refuse {
			errs[i] = errRefused
			continue
		}
		tok := memToken(policy, values[i])
		for k := 1; ; k++ { // a collision (long fuzzing): another token
			if old, ok := v.values[tenant+"\x00"+policy+"\x00"+tok]; !ok || old == values[i] {
				break
			}
			tok = memToken(policy, values[i]+"\x00"+strconv.Itoa(k))
		}
		tokens[i] = tok
		v.values[tenant+"\x00"+policy+"\x00"+tok] = values[i]
	}
	return tokens, errs, nil
}

func (v *memVault) DetokenizeBatch(ctx context.Context, tenant, policy string, tokens []string) ([]string, []error, error) {
	if err := v.call(ctx, policy, len(tokens)); err != nil {
		return nil, nil, err
	}
	values, errs := v.results(len(tokens))
	v.mu.Lock()
	defer v.mu.Unlock()
	for i := range values {
		val, ok := v.values[tenant+"\x00"+policy+"\x00"+tokens[i]]
		if !ok {
			errs[i] = errNotFound
			continue
		}
		values[i] = val
	}
	return values, errs, nil
}
