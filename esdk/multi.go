package esdk

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// MultiKeyring combines keyrings: on encrypt its generator makes the data key
// and every keyring (generator first, then children in order) adds an
// encrypted copy, so any one of them can decrypt the message; on decrypt it
// tries the generator, then each child, until one decrypts a data key. Build
// it with [NewMultiKeyring]; it is safe for concurrent use if its keyrings
// are.
type MultiKeyring struct {
	generator Keyring
	children  []Keyring
}

var _ Keyring = (*MultiKeyring)(nil)

// NewMultiKeyring returns a multi-keyring. generator may be nil: the keyring
// can then decrypt, and encrypt only materials that already hold a data key
// (its children wrap it). With a nil generator at least one child is needed.
func NewMultiKeyring(generator Keyring, children ...Keyring) (*MultiKeyring, error) {
	if generator == nil && len(children) == 0 {
		return nil, errors.New("esdk: NewMultiKeyring: give a generator keyring, child keyrings or both")
	}
	for i, c := range children {
		if c == nil {
			return nil, fmt.Errorf("esdk: NewMultiKeyring: child keyring %d is nil", i+1)
		}
	}
	return &MultiKeyring{generator: generator, children: append([]Keyring(nil), children...)}, nil
}

// OnEncrypt implements [Keyring]. With a generator, m must not hold a data
// key yet; without one, it must.
func (k *MultiKeyring) OnEncrypt(ctx context.Context, m *EncryptionMaterials) error {
	if k.generator != nil {
		if m.dataKey != nil {
			return errors.New("esdk: multi-keyring: the materials already hold a data key, but this keyring has a generator")
		}
		if err := k.generator.OnEncrypt(ctx, m); err != nil {
			return err
		}
		if m.dataKey == nil {
			return errors.New("esdk: multi-keyring: the generator keyring produced no data key")
		}
	} else if m.dataKey == nil {
		return errors.New("esdk: multi-keyring: no generator keyring, and the materials hold no data key to wrap")
	}
	for _, c := range k.children {
		if err := c.OnEncrypt(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

// OnDecrypt implements [Keyring]. If no keyring decrypts a data key it
// returns a [*NoDecryptKeyError] with every keyring's causes; it stops early
// if ctx is done.
func (k *MultiKeyring) OnDecrypt(ctx context.Context, m *DecryptionMaterials, edks []EncryptedDataKey) error {
	if m.dataKey != nil {
		return nil
	}
	var errs []error
	try := func(kr Keyring) bool {
		err := kr.OnDecrypt(ctx, m, edks)
		if m.dataKey != nil {
			return true
		}
		var nk *NoDecryptKeyError
		switch {
		case errors.As(err, &nk):
			errs = append(errs, nk.Errors...)
		case err != nil:
			errs = append(errs, err)
		default:
			errs = append(errs, errors.New("esdk: a keyring returned no data key and no error"))
		}
		return false
	}
	if k.generator != nil && try(k.generator) {
		return nil
	}
	for _, c := range k.children {
		if err := ctx.Err(); err != nil {
			return err
		}
		if try(c) {
			return nil
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return &NoDecryptKeyError{Errors: errs}
}

// String lists the keyrings.
func (k *MultiKeyring) String() string {
	var b strings.Builder
	b.WriteString("esdk.MultiKeyring{Generator: ")
	if k.generator == nil {
		b.WriteString("none")
	} else {
		b.WriteString(describeKeyring(k.generator))
	}
	b.WriteString(", Children: [")
	for i, c := range k.children {
		if i > 0 {
			b.WriteString(" ")
		}
		b.WriteString(describeKeyring(c))
	}
	b.WriteString("]}")
	return b.String()
}

// describeKeyring uses a keyring's String method if it has one, else only
// its type: printing the fields of a foreign keyring could reveal its key.
func describeKeyring(k Keyring) string {
	if s, ok := k.(fmt.Stringer); ok {
		return s.String()
	}
	return fmt.Sprintf("%T", k)
}

// GoString is String.
func (k *MultiKeyring) GoString() string { return k.String() }

// Format prints String for every verb.
func (k *MultiKeyring) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(k.String())) }
