package datamask

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/datamask/datamask/esdk"
)

// TestDecryptErrorMapping checks how every esdk error class of Decrypt
// maps to the package's errors, the esdk error staying reachable.
func TestDecryptErrorMapping(t *testing.T) {
	wrapped := func(err error) error { return fmt.Errorf("esdk: Decrypt: %w", err) }
	tests := []struct {
		err   error
		check func(error) bool
		want  string
	}{
		{esdk.ErrInvalidMessage, func(err error) bool { return errors.Is(err, ErrDecryptValue) }, "ErrDecryptValue"},
		{esdk.ErrLegacySuite, func(err error) bool {
			return errors.Is(err, ErrDecryptValue) && strings.Contains(err.Error(), "legacy algorithm suite")
		}, "ErrDecryptValue naming the legacy suite"},
		{esdk.ErrTooManyEncryptedDataKeys, func(err error) bool { return errors.Is(err, ErrDecryptValue) }, "ErrDecryptValue"},
		{&esdk.ContextMismatchError{Keys: []string{"k"}}, func(err error) bool {
			var cme *ContextMismatchError
			return errors.As(err, &cme) && len(cme.Keys) == 1 && cme.Keys[0] == "k"
		}, "*ContextMismatchError with the keys"},
		{&esdk.NoDecryptKeyError{Errors: []error{errors.New("x")}}, func(err error) bool {
			var dke *DecryptKeyError
			return errors.As(err, &dke)
		}, "*DecryptKeyError"},
		{errors.New("a keyring gave up"), func(err error) bool {
			var dke *DecryptKeyError
			return errors.As(err, &dke)
		}, "*DecryptKeyError"},
		{context.Canceled, func(err error) bool {
			var dke *DecryptKeyError
			return errors.Is(err, context.Canceled) && !errors.As(err, &dke) && !errors.Is(err, ErrDecryptValue)
		}, "context.Canceled as it is"},
		{context.DeadlineExceeded, func(err error) bool { return err == context.DeadlineExceeded }, "context.DeadlineExceeded as it is"},
	}
	for _, tt := range tests {
		for _, in := range []error{tt.err, wrapped(tt.err)} {
			got := decryptError(in)
			if in != tt.err && tt.err == context.DeadlineExceeded {
				continue
			}
			if !tt.check(got) || !errors.Is(got, tt.err) {
				t.Errorf("decryptError(%v) = %v, want %s keeping the cause", in, got, tt.want)
			}
		}
	}
}
