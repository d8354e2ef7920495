package hierarchy

import (
	"errors"
	"strings"
)

// Errors of the key store, matched with errors.Is. Errors of DynamoDB and
// AWS KMS calls are wrapped, so errors.As still finds the AWS error
// (smithy.APIError, *types.InvalidCiphertextException, ...).
var (
	// ErrBranchKeyNotFound: the key store has no item for the branch key
	// (or the version, or the beacon key) asked for.
	ErrBranchKeyNotFound = errors.New("hierarchy: branch key not found")

	// ErrInvalidBranchKeyItem: the key store's item is not a branch key
	// item this key store can use: an attribute is missing, of the wrong
	// type or inconsistent with the key asked for, or the item names a KMS
	// key other than the key store's. An item whose attributes were changed
	// after it was written fails in AWS KMS instead (every attribute is in
	// the encryption context of its key), with InvalidCiphertextException.
	ErrInvalidBranchKeyItem = errors.New("hierarchy: invalid branch key item")

	// ErrBranchKeyExists: CreateKey was given a branch key id that the key
	// store already holds.
	ErrBranchKeyExists = errors.New("hierarchy: branch key already exists")

	// ErrActiveKeyChanged: VersionKey found the active branch key changed
	// between reading it and writing the new version (another VersionKey
	// ran at the same time); nothing was written.
	ErrActiveKeyChanged = errors.New("hierarchy: the active branch key changed during VersionKey")
)

// unprefixed shows an error of this package without its "hierarchy: "
// prefix, for wrapping it in another error of this package; errors.Is and
// errors.As see through it.
type unprefixed struct{ err error }

func (u unprefixed) Error() string { return strings.TrimPrefix(u.err.Error(), "hierarchy: ") }

func (u unprefixed) Unwrap() error { return u.err }

// inner returns err for wrapping in an error of this package.
func inner(err error) error {
	if err == nil || !strings.HasPrefix(err.Error(), "hierarchy: ") {
		return err
	}
	return unprefixed{err}
}
